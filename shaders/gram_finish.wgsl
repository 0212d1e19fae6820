// Finishes a Gram launch that was split over k: G = Σ_s partial_s, then in one pass
//   out_mode 1: writes G,
//   out_mode 2: writes S = (G − A) + (G − A)ᵀ (the matrix the style loss's backward pass needs),
//   out_mode 0: writes nothing,
// and, with a target, one partial of scale·Σ(G − A)² per workgroup (added up by one more
// reduction). Grid-strided over the n = batch·c·c entries.

const WG: u32 = {{ workgroup }}u;

struct Params {
    n: u32,
    c: u32,
    splits: u32,
    out_mode: u32,
    iters: u32,
    stride: u32,
    with_loss: u32,
    loss_scale: f32,
}

@group(0) @binding(0) var<storage, read_write> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> target_gram: array<f32>;
@group(0) @binding(2) var<storage, read_write> gram_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss_parts: array<f32>;
@group(0) @binding(4) var<uniform> prm: Params;

@compute @workgroup_size({{ workgroup }}, 1, 1)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let c = prm.c;
    let cc = c * c;
    var acc = 0.0;
    let base = wid.x * WG + li;
    for (var it = 0u; it < prm.iters; it = it + 1u) {
        let idx = base + it * prm.stride;
        if (idx < prm.n) {
            var g = 0.0;
            for (var s = 0u; s < prm.splits; s = s + 1u) {
                g = g + partial[s * prm.n + idx];
            }
            var a_ij = 0.0;
            var a_ji = 0.0;
            if (prm.with_loss != 0u) {
                let r = idx % cc;
                a_ij = target_gram[idx];
                a_ji = target_gram[idx - r + (r % c) * c + r / c];
                let d = g - a_ij;
                acc = acc + d * d;
            }
            if (prm.out_mode == 1u) {
                gram_out[idx] = g;
            } else if (prm.out_mode == 2u) {
                gram_out[idx] = 2.0 * g - a_ij - a_ji;
            }
        }
    }
    let total = workgroup_sum(li, acc); // shaders/reduce.wgsl
    if (li == 0u) {
        loss_parts[wid.x] = total * prm.loss_scale;
    }
}
