// Batched Gram matrix G = F·Fᵀ / (C·H·W), tiled through workgroup memory, optionally fused with
// the style loss Σ(G − A)² (partial sums per tile).
//
// F: [batch, c, k] (k = H·W), G partials: [splits, batch, c, c]. One workgroup computes one
// TS×TS output tile for one (batch, split); only tiles on or above the diagonal do work and are
// mirrored (G is symmetric). With splits > 1 each workgroup sums a slice of k and the slices are
// added afterwards (small c would otherwise leave most of the GPU idle).
// Limits respected for the browser: TS·TS = 256 invocations, f32 only, no subgroups.

const TS: u32 = {{ tile }}u;
const TSP: u32 = {{ tile_padded }}u; // padded row stride against bank conflicts

struct Params {
    c: u32,
    k: u32,
    tiles: u32,
    tiles_per_split: u32,
    batches: u32,
    splits: u32,
    fused: u32,
    inv_norm: f32,
}

@group(0) @binding(0) var<storage, read_write> feat: array<f32>;
@group(0) @binding(1) var<storage, read_write> target_gram: array<f32>;
@group(0) @binding(2) var<storage, read_write> gram_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss_parts: array<f32>;
@group(0) @binding(4) var<uniform> prm: Params;

var<workgroup> tile_a: array<f32, {{ tile_area_padded }}>;
var<workgroup> tile_b: array<f32, {{ tile_area_padded }}>;
var<workgroup> red: array<f32, {{ tile_area }}>;

@compute @workgroup_size({{ tile }}, {{ tile }}, 1)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    let ti = wid.x;
    let tj = wid.y;
    let split = wid.z % prm.splits;
    let batch = wid.z / prm.splits;
    let c = prm.c;
    let k = prm.k;
    let part_idx = (batch * prm.tiles + ti) * prm.tiles + tj;
    if (tj < ti) {
        // Below the diagonal: the mirror tile (tj, ti) writes these values. Uniform per workgroup.
        if (prm.fused != 0u && li == 0u) {
            loss_parts[part_idx] = 0.0;
        }
        return;
    }
    let lx = lid.x;
    let ly = lid.y;
    let fbase = batch * c * k;
    let nk = (k + TS - 1u) / TS;
    let t0 = split * prm.tiles_per_split;
    let t1 = min(t0 + prm.tiles_per_split, nk);
    var acc = 0.0;
    for (var t = t0; t < t1; t = t + 1u) {
        let kk = t * TS + lx;
        let ra = ti * TS + ly;
        let rb = tj * TS + ly;
        let in_a = ra < c && kk < k;
        let in_b = rb < c && kk < k;
        let va = feat[select(0u, fbase + ra * k + kk, in_a)];
        let vb = feat[select(0u, fbase + rb * k + kk, in_b)];
        tile_a[ly * TSP + lx] = select(0.0, va, in_a);
        tile_b[ly * TSP + lx] = select(0.0, vb, in_b);
        workgroupBarrier();
        for (var q = 0u; q < TS; q = q + 1u) {
            acc = acc + tile_a[ly * TSP + q] * tile_b[lx * TSP + q];
        }
        workgroupBarrier();
    }
    acc = acc * prm.inv_norm;
    let i = ti * TS + ly;
    let j = tj * TS + lx;
    let valid = i < c && j < c;
    if (valid) {
        let gb = (split * prm.batches + batch) * c * c;
        gram_out[gb + i * c + j] = acc;
        if (ti != tj) {
            gram_out[gb + j * c + i] = acc;
        }
    }
    if (prm.fused != 0u) {
        // Only launched fused with splits == 1, so acc is the whole G[i][j].
        var sq = 0.0;
        if (valid) {
            let tb = batch * c * c;
            let d = acc - target_gram[tb + i * c + j];
            sq = d * d;
            if (ti != tj) {
                // The mirror element (j, i) of G is the same value; the target need not be symmetric.
                let e = acc - target_gram[tb + j * c + i];
                sq = sq + e * e;
            }
        }
        red[li] = sq;
        workgroupBarrier();
        for (var s = (TS * TS) / 2u; s > 0u; s = s >> 1u) {
            if (li < s) {
                red[li] = red[li] + red[li + s];
            }
            workgroupBarrier();
        }
        if (li == 0u) {
            loss_parts[part_idx] = red[0];
        }
    }
}
