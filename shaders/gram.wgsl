// Batched Gram matrix G = F·Fᵀ / (C·H·W), tiled through workgroup memory with register blocking,
// optionally fused with the style loss scale·Σ(G − A)² (one partial sum per output tile) and with
// the matrix its backward pass needs, S = (G − A) + (G − A)ᵀ, written in place of G.
//
// Outer-product layout: F: [batch, c, k] (k = H·W); output partials: [splits, batch, c, c]. A
// workgroup of 16×16 invocations computes one 64×64 tile for one (batch, split); invocation
// (lx, ly) owns the 4×4 block of rows 4·ly .. 4·ly + 3 and columns 4·lx .. 4·lx + 3. k is walked in
// chunks of TK staged through workgroup memory transposed, k-major ([TK][64 + 4] floats, as vec4),
// so for each k an invocation loads one vec4 of its rows (the same for all lx) and one vec4 of its
// columns (consecutive across lx) and does 4 vec4 multiply-adds.
// (It replaced a row-major layout with dot products that measured the same on an H200 and on
// lavapipe; this one is the textbook register-blocked layout.)
// Only tiles on or above the diagonal work; G is symmetric, so they also write the mirror. With
// splits > 1 each workgroup sums one slice of k and the slices are added afterwards (small c
// would otherwise leave most of the GPU idle).
// Browser limits respected: 256 invocations, under 16 KiB of workgroup memory at the default TK,
// f32 only, no subgroups.

const BT: u32 = {{ block }}u;    // output tile side = 16 * 4
const TK: u32 = {{ chunk }}u;    // k per staged chunk (a multiple of 4, at least 16)
const KV: u32 = {{ chunk_vec4 }}u;  // TK / 4
const PV: u32 = 17u;             // pitch of one staged k in vec4 (64 floats + 4 of padding)
const LOADS: u32 = {{ loads }}u; // ceil(BT * KV / 256) vec4 of F read per invocation and matrix

struct Params {
    c: u32,
    k: u32,
    tiles: u32,
    chunks_per_split: u32,
    batches: u32,
    splits: u32,
    fused: u32,
    inv_norm: f32,
    out_mode: u32,   // 0: write nothing, 1: G (or this split's partial G), 2: S (fused only)
    loss_scale: f32, // multiplies the fused loss partials
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> feat: array<f32>;
@group(0) @binding(1) var<storage, read_write> target_gram: array<f32>;
@group(0) @binding(2) var<storage, read_write> gram_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss_parts: array<f32>;
@group(0) @binding(4) var<uniform> prm: Params;

var<workgroup> a_s: array<vec4<f32>, {{ staged }}>; // [TK][PV]: a_s[k * PV + r / 4][r % 4] = F[row r][k]
var<workgroup> b_s: array<vec4<f32>, {{ staged }}>;

// Four consecutive values F[row][k0 .. k0 + 3] (zero outside the matrix; addresses clamped).
fn load4(fbase: u32, row: u32, k0: u32) -> vec4<f32> {
    let inside_row = row < prm.c;
    let base = fbase + select(0u, row, inside_row) * prm.k;
    var v = vec4<f32>(0.0);
    for (var t = 0u; t < 4u; t = t + 1u) {
        let kk = k0 + t;
        let ok = inside_row && kk < prm.k;
        v[t] = select(0.0, feat[select(0u, base + kk, ok)], ok);
    }
    return v;
}

// Writes G[i][j0 + s] (or S, or nothing; and the mirror) for s = 0..3; returns their squared
// error against the target when the launch is fused (then splits == 1, so g is the whole G[i][j]).
fn emit_row(g: vec4<f32>, i: u32, j0: u32, gb: u32, batch: u32, mirror: bool) -> f32 {
    let c = prm.c;
    let tb = batch * c * c;
    var sq = 0.0;
    for (var s = 0u; s < 4u; s = s + 1u) {
        let j = j0 + s;
        if (i < c && j < c) {
            let v = g[s];
            var a_ij = 0.0;
            var a_ji = 0.0;
            if (prm.fused != 0u) {
                a_ij = target_gram[tb + i * c + j];
                a_ji = target_gram[tb + j * c + i];
                let d = v - a_ij;
                sq = sq + d * d;
                if (mirror) {
                    // The mirror (j, i) has the same G; the target need not be symmetric.
                    let e = v - a_ji;
                    sq = sq + e * e;
                }
            }
            if (prm.out_mode != 0u) {
                // S = 2G − A − Aᵀ is symmetric like G: the same value goes to both places.
                let o = select(v, 2.0 * v - a_ij - a_ji, prm.out_mode == 2u);
                gram_out[gb + i * c + j] = o;
                if (mirror) {
                    gram_out[gb + j * c + i] = o;
                }
            }
        }
    }
    return sq;
}

@compute @workgroup_size(16, 16, 1)
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
    let n_chunks = (k + TK - 1u) / TK;
    let c0 = split * prm.chunks_per_split;
    let c1 = min(c0 + prm.chunks_per_split, n_chunks);
    // Four rows of four outputs in vector registers (a private array indexed at run time would
    // live in memory on most drivers).
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var ch = c0; ch < c1; ch = ch + 1u) {
        for (var m = 0u; m < LOADS; m = m + 1u) {
            let e = li + 256u * m;
            if (e < BT * KV) {
                let row = e / KV;
                let kv = e % KV;
                let k0 = ch * TK + kv * 4u;
                let va = load4(fbase, ti * BT + row, k0);
                let vb = load4(fbase, tj * BT + row, k0);
                let r4 = row / 4u;
                let rc = row % 4u;
                for (var t = 0u; t < 4u; t = t + 1u) {
                    a_s[(kv * 4u + t) * PV + r4][rc] = va[t];
                    b_s[(kv * 4u + t) * PV + r4][rc] = vb[t];
                }
            }
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk = kk + 1u) {
            let a = a_s[kk * PV + ly];
            let b = b_s[kk * PV + lx];
            acc0 = acc0 + a.x * b;
            acc1 = acc1 + a.y * b;
            acc2 = acc2 + a.z * b;
            acc3 = acc3 + a.w * b;
        }
        workgroupBarrier();
    }
    let gb = (split * prm.batches + batch) * c * c;
    let i0 = ti * BT + 4u * ly;
    let j0 = tj * BT + 4u * lx;
    var sq = 0.0;
    sq = sq + emit_row(acc0 * prm.inv_norm, i0, j0, gb, batch, ti != tj);
    sq = sq + emit_row(acc1 * prm.inv_norm, i0 + 1u, j0, gb, batch, ti != tj);
    sq = sq + emit_row(acc2 * prm.inv_norm, i0 + 2u, j0, gb, batch, ti != tj);
    sq = sq + emit_row(acc3 * prm.inv_norm, i0 + 3u, j0, gb, batch, ti != tj);
    if (prm.fused != 0u) {
        // a_s is free after the last barrier of the main loop: reuse it for the reduction.
        a_s[li] = vec4<f32>(sq, 0.0, 0.0, 0.0);
        workgroupBarrier();
        for (var s = 128u; s > 0u; s = s >> 1u) {
            if (li < s) {
                a_s[li] = a_s[li] + a_s[li + s];
            }
            workgroupBarrier();
        }
        if (li == 0u) {
            loss_parts[part_idx] = a_s[0].x * prm.loss_scale;
        }
    }
}
