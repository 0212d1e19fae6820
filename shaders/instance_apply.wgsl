// The rest of an instance-norm layer in one element-wise pass over x [b, c, h·w]:
//   out = (x − mean) · rstd · scale[c] + shift[c], then ReLU (relu = 1), then + skip (has_skip = 1),
// with (mean, rstd) per plane from instance_stats.wgsl.

struct Params {
    n: u32,
    hw: u32,
    c: u32,
    relu: u32,
    has_skip: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
@group(0) @binding(2) var<storage, read_write> scale: array<f32>;
@group(0) @binding(3) var<storage, read_write> shift: array<f32>;
@group(0) @binding(4) var<storage, read_write> skip: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<uniform> prm: Params;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 256u;
    if (i >= prm.n) {
        return;
    }
    let plane = i / prm.hw;
    let ch = plane % prm.c;
    var v = (x[i] - stats[2u * plane]) * stats[2u * plane + 1u] * scale[ch] + shift[ch];
    if (prm.relu != 0u) {
        v = max(v, 0.0);
    }
    if (prm.has_skip != 0u) {
        v = v + skip[i];
    }
    out[i] = v;
}
