// scale·Σ (x − y)² over n elements: each workgroup reduces a grid-strided slice into one partial sum
// (the partials are added by one more reduction). Used for the content loss.

const WG: u32 = {{ workgroup }}u;

struct Params {
    n: u32,
    iters: u32,
    stride: u32,
    scale: f32,
}

@group(0) @binding(0) var<storage, read_write> lhs: array<f32>;
@group(0) @binding(1) var<storage, read_write> rhs: array<f32>;
@group(0) @binding(2) var<storage, read_write> parts: array<f32>;
@group(0) @binding(3) var<uniform> prm: Params;

@compute @workgroup_size({{ workgroup }}, 1, 1)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    var acc = 0.0;
    let base = wid.x * WG + li;
    for (var it = 0u; it < prm.iters; it = it + 1u) {
        let idx = base + it * prm.stride;
        let inside = idx < prm.n;
        let j = select(0u, idx, inside);
        let d = lhs[j] - rhs[j];
        acc = acc + select(0.0, d * d, inside);
    }
    let total = workgroup_sum(li, acc); // shaders/reduce.wgsl
    if (li == 0u) {
        parts[wid.x] = total * prm.scale;
    }
}
