// Instance-norm statistics: one workgroup per (image, channel) plane of x [b, c, h·w] writes the
// plane's mean and 1 / sqrt(biased variance + eps) to stats[2 · plane], stats[2 · plane + 1]. Two
// passes over the plane (the mean, then the squared deviations from it), so the variance does
// not lose precision to a large mean. shaders/reduce.wgsl's workgroup sum is appended.

struct Params {
    hw: u32,
    eps: f32,
    planes: u32,
    pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
@group(0) @binding(2) var<uniform> prm: Params;

@compute @workgroup_size({{ workgroup }}, 1, 1)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let plane = wid.x + wid.y * 65535u;
    if (plane >= prm.planes) {
        return; // past the end of a two-row grid (uniform per workgroup)
    }
    let base = plane * prm.hw;
    var s = 0.0;
    for (var i = li; i < prm.hw; i = i + {{ workgroup }}u) {
        s = s + x[base + i];
    }
    let mean = workgroup_sum(li, s) / f32(prm.hw); // shaders/reduce.wgsl
    // Every invocation has read the sum before the second reduction overwrites it.
    workgroupBarrier();
    var q = 0.0;
    for (var i = li; i < prm.hw; i = i + {{ workgroup }}u) {
        let d = x[base + i] - mean;
        q = q + d * d;
    }
    let variance = workgroup_sum(li, q) / f32(prm.hw);
    if (li == 0u) {
        stats[2u * plane] = mean;
        stats[2u * plane + 1u] = inverseSqrt(variance + prm.eps);
    }
}
