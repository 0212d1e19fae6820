// 2-D convolution as an implicit GEMM over NCHW tensors, with the input's padding (zero, reflect
// or edge) and an optional nearest-neighbour 2x upsampling folded into the load: the padded,
// upsampled input is never materialised.
//
// Per image: out[n][m] = bias[n] + Σ_k B[k][n] · A[m][k], where
//   m = oy · wo + ox       (output pixel),   n = output channel,   k = (ci · ks + ky) · ks + kx,
//   A[m][k] = V[ci][oy · stride + ky][ox · stride + kx] and V is the virtual input: x upsampled
//             by `up` (1 or 2), then padded by (top, left) before and whatever is left after;
//   B[k][n] = w[n][k]       (weights [cout][cin][ks][ks], row-major: k is contiguous).
// A workgroup of WX × WY invocations computes a tile of TM = 8·WY pixels × TN = 8·WX channels for
// one image. Invocation (lx, ly) owns two groups of 4 pixels (groups ly and ly + WY of the tile)
// × two groups of 4 channels (groups lx and lx + WX): 64 outputs in sixteen vec4 registers. k is
// walked in chunks of TK staged through workgroup memory, k-major, so each step reads two vec4
// of pixels and two vec4 of channels and does sixteen vec4 multiply-adds (four per value read:
// on a CPU adapter every per-invocation read of workgroup memory is a gather, so the count of
// multiply-adds per read sets the speed; a GPU gets the same reuse in registers).
// Browser limits respected: at most 256 invocations, at most 16 KiB of workgroup memory, f32,
// no subgroups.

const WX: u32 = {{ wx }}u;   // invocations along channels
const WY: u32 = {{ wy }}u;   // invocations along pixels
const TK: u32 = {{ tk }}u;   // k per staged chunk
const NT: u32 = {{ threads }}u;  // WX * WY
const TM: u32 = {{ tm }}u;   // 8 * WY
const TN: u32 = {{ tn }}u;   // 8 * WX
const AG: u32 = {{ ag }}u;   // TM / 4: vec4 groups of pixels per k
const BG: u32 = {{ bg }}u;   // TN / 4: vec4 groups of channels per k
const A_LOADS: u32 = {{ a_loads }}u; // ceil(TK * TM / NT)
const B_LOADS: u32 = {{ b_loads }}u; // ceil(TK * TN / NT)
// The layer's shape of load, fixed per pipeline so the index arithmetic divides by constants and
// the padding branch is resolved at compile time.
const KS: u32 = {{ ks }}u;       // kernel side
const STRIDE: u32 = {{ stride }}u;
const UP: u32 = {{ up }}u;       // 1, or 2 for nearest-neighbour upsampling before the padding
const MODE: u32 = {{ mode }}u;   // 0: zeros, 1: reflect (excluding the edge), 2: repeat the edge
// Params, source_index, tap, Block and add_outer: conv_load.wgsl, appended.

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> wt: array<f32>;
@group(0) @binding(2) var<storage, read_write> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> prm: Params;

var<workgroup> a_s: array<vec4<f32>, {{ a_staged }}>; // [TK][AG]: a_s[k * AG + m / 4][m % 4]
var<workgroup> b_s: array<vec4<f32>, {{ b_staged }}>; // [TK][BG]: b_s[k * BG + n / 4][n % 4]

// A[m][k] for the pixel whose window starts at row y0, column x0 of the virtual input (y0 is
// -1000000 for a pixel past the end): zero outside the matrix.
fn load_a(img_base: u32, y0: i32, x0: i32, k: u32) -> f32 {
    if (y0 < -999999 || k >= prm.kk) {
        return 0.0;
    }
    return tap(img_base, y0, x0, k);
}

// Sixteen of this invocation's outputs: pixels m_first .. m_first + 3, channels n_first .. n_first + 3,
// one pixel per accumulator (plus the bias).
fn store(img: u32, m_first: u32, n_first: u32, acc0: vec4<f32>, acc1: vec4<f32>, acc2: vec4<f32>, acc3: vec4<f32>) {
    let m_total = prm.ho * prm.wo;
    let out_base = img * prm.cout * m_total;
    for (var j = 0u; j < 4u; j = j + 1u) {
        let n = n_first + j;
        if (n < prm.cout) {
            let b = bias[n];
            let row = out_base + n * m_total;
            if (m_first < m_total) { out[row + m_first] = acc0[j] + b; }
            if (m_first + 1u < m_total) { out[row + m_first + 1u] = acc1[j] + b; }
            if (m_first + 2u < m_total) { out[row + m_first + 2u] = acc2[j] + b; }
            if (m_first + 3u < m_total) { out[row + m_first + 3u] = acc3[j] + b; }
        }
    }
}

// The window origin of pixel m in the virtual input (-1000000 rows for a pixel past the end).
fn window_origin(m: u32) -> vec2<i32> {
    let y0 = select(-1000000, i32((m / prm.wo) * STRIDE) - i32(prm.top), m < prm.ho * prm.wo);
    return vec2<i32>(y0, i32((m % prm.wo) * STRIDE) - i32(prm.left));
}

// Weight w[n][k] (zero outside).
fn weight(n: u32, k: u32) -> f32 {
    let ok = n < prm.cout;
    return select(0.0, wt[select(0u, n * prm.kk + k, ok)], ok);
}

@compute @workgroup_size({{ wx }}, {{ wy }}, 1)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    let n0 = wid.x * TN;
    let m0 = wid.y * TM;
    let img = wid.z;
    let img_base = img * prm.cin * prm.h * prm.w;
    let lx = lid.x;
    let ly = lid.y;
    // Rows: pixel r of this invocation's eight (0-3: group ly, 4-7: group ly + WY); column groups:
    // channels of group lx (0) and lx + WX (1).
    var c = Block();
    // Each of this invocation's A loads is at a fixed pixel (and k offset) in every chunk: the
    // pixel's window origin is worked out once.
    var y0s: array<i32, A_LOADS>;
    var x0s: array<i32, A_LOADS>;
    for (var t = 0u; t < A_LOADS; t = t + 1u) {
        let o = window_origin(m0 + (li + NT * t) % TM);
        y0s[t] = o.x;
        x0s[t] = o.y;
    }
    let chunks = (prm.kk + TK - 1u) / TK;
    for (var ch = 0u; ch < chunks; ch = ch + 1u) {
        let k0 = ch * TK;
        // A: pixels fastest, so neighbouring invocations read neighbouring pixels.
        for (var t = 0u; t < A_LOADS; t = t + 1u) {
            let e = li + NT * t;
            if (e < TK * TM) {
                let kl = e / TM;
                let ml = e % TM;
                a_s[kl * AG + ml / 4u][ml % 4u] = load_a(img_base, y0s[t], x0s[t], k0 + kl);
            }
        }
        // B: k fastest, so neighbouring invocations read one weight row's neighbouring values.
        for (var t = 0u; t < B_LOADS; t = t + 1u) {
            let e = li + NT * t;
            if (e < TK * TN) {
                let nl = e / TK;
                let kl = e % TK;
                let k = k0 + kl;
                b_s[kl * BG + nl / 4u][nl % 4u] = select(0.0, weight(n0 + nl, k), k < prm.kk);
            }
        }
        workgroupBarrier();
        for (var kl = 0u; kl < TK; kl = kl + 1u) {
            let a0 = a_s[kl * AG + ly];
            let a1 = a_s[kl * AG + ly + WY];
            let b0 = b_s[kl * BG + lx];
            let b1 = b_s[kl * BG + lx + WX];
            c = add_outer(c, a0, a1, b0, b1);
        }
        workgroupBarrier();
    }
    let ma = m0 + 4u * ly;
    let mb = m0 + 4u * (ly + WY);
    let na = n0 + 4u * lx;
    let nb = n0 + 4u * (lx + WX);
    store(img, ma, na, c.c00, c.c10, c.c20, c.c30);
    store(img, ma, nb, c.c01, c.c11, c.c21, c.c31);
    store(img, mb, na, c.c40, c.c50, c.c60, c.c70);
    store(img, mb, nb, c.c41, c.c51, c.c61, c.c71);
}
