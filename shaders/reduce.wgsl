// The workgroup sum shared by the grid-strided reduction kernels (sq_diff_sum.wgsl,
// gram_finish.wgsl): src/loss/kernels/wgsl.rs appends it to their source. It holds barriers, so call it
// from uniform control flow; every invocation gets the sum.

var<workgroup> red: array<f32, {{ workgroup }}>;

fn workgroup_sum(li: u32, v: f32) -> f32 {
    red[li] = v;
    workgroupBarrier();
    for (var s = {{ workgroup }}u / 2u; s > 0u; s = s >> 1u) {
        if (li < s) {
            red[li] = red[li] + red[li + s];
        }
        workgroupBarrier();
    }
    return red[0];
}
