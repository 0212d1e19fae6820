// The weight gradient of the convolution in conv2d.wgsl, as an implicit GEMM over the same load
// (padding and nearest 2x upsampling folded into the index arithmetic, nothing materialised):
//
//   dW[n][k] = Σ_img Σ_m dY[img][n][m] · A_img[m][k],   with m, n, k and A as in conv2d.wgsl.
//
// The sum over pixels is long (every pixel of every image), so it is split: workgroup z is
// (image, slice) and sums the slice's prm.slice_len pixels into its own partial result,
// partial_sums[z][n][k]; the caller adds the partials. A workgroup of WX × WY invocations computes a tile
// of TN = 4·WY output channels × TKC = 4·WX values of k; invocation (lx, ly) owns channels
// 4·ly .. 4·ly + 3 (one vec4 register each, over its four k) and k 4·lx .. 4·lx + 3. Pixels are
// staged TP at a time through workgroup memory, so each step loads one vec4 of A and one of dY
// and does four vec4 multiply-adds. Browser limits respected: at most 256 invocations, at most
// 16 KiB of workgroup memory, f32, no subgroups.

const WX: u32 = {{ wx }}u;   // invocations along k
const WY: u32 = {{ wy }}u;   // invocations along output channels
const TP: u32 = {{ tp }}u;   // pixels per staged chunk
const NT: u32 = {{ threads }}u;  // WX * WY
const TN: u32 = {{ tn }}u;   // 4 * WY
const TKC: u32 = {{ tkc }}u; // 4 * WX
const A_LOADS: u32 = {{ a_loads }}u; // ceil(TP * TKC / NT)
const D_LOADS: u32 = {{ d_loads }}u; // ceil(TP * TN / NT)
const KS: u32 = {{ ks }}u;       // kernel side
const STRIDE: u32 = {{ stride }}u;
const UP: u32 = {{ up }}u;       // 1, or 2 for nearest-neighbour upsampling before the padding
const MODE: u32 = {{ mode }}u;   // 0: zeros, 1: reflect (excluding the edge), 2: repeat the edge
// Params, source_index and tap: conv_load.wgsl, appended.

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial_sums: array<f32>;
@group(0) @binding(3) var<uniform> prm: Params;

var<workgroup> a_s: array<vec4<f32>, {{ a_staged }}>; // [TP][WX]: a_s[p * WX + k / 4][k % 4]
var<workgroup> d_s: array<vec4<f32>, {{ d_staged }}>; // [TP][WY]: d_s[p * WY + n / 4][n % 4]

// A[m][k] of the image at img_base (zero past the matrix).
fn load_a(img_base: u32, m: u32, k: u32) -> f32 {
    if (m >= prm.ho * prm.wo || k >= prm.kk) {
        return 0.0;
    }
    let y0 = i32((m / prm.wo) * STRIDE) - i32(prm.top);
    let x0 = i32((m % prm.wo) * STRIDE) - i32(prm.left);
    return tap(img_base, y0, x0, k);
}

@compute @workgroup_size({{ wx }}, {{ wy }}, 1)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    let k0 = wid.x * TKC;
    let n0 = wid.y * TN;
    let img = wid.z / prm.slices;
    let m_total = prm.ho * prm.wo;
    let m_begin = (wid.z % prm.slices) * prm.slice_len;
    let m_end = min(m_begin + prm.slice_len, m_total);
    let img_base = img * prm.cin * prm.h * prm.w;
    let dy_base = img * prm.cout * m_total;
    let lx = lid.x;
    let ly = lid.y;
    var acc0 = vec4<f32>(0.0); // channel 4·ly + 0, k 4·lx .. 4·lx + 3
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var p0 = m_begin; p0 < m_end; p0 = p0 + TP) {
        // Pixels fastest in both loads, so neighbouring invocations read neighbouring pixels.
        for (var t = 0u; t < A_LOADS; t = t + 1u) {
            let e = li + NT * t;
            if (e < TP * TKC) {
                let p = e % TP;
                let kl = e / TP;
                let m = p0 + p;
                a_s[p * WX + kl / 4u][kl % 4u] = select(0.0, load_a(img_base, m, k0 + kl), m < m_end);
            }
        }
        for (var t = 0u; t < D_LOADS; t = t + 1u) {
            let e = li + NT * t;
            if (e < TP * TN) {
                let p = e % TP;
                let nl = e / TP;
                let m = p0 + p;
                let n = n0 + nl;
                let ok = m < m_end && n < prm.cout;
                d_s[p * WY + nl / 4u][nl % 4u] = select(0.0, dy[select(0u, dy_base + n * m_total + m, ok)], ok);
            }
        }
        workgroupBarrier();
        for (var p = 0u; p < TP; p = p + 1u) {
            let a = a_s[p * WX + lx];
            let d = d_s[p * WY + ly];
            acc0 = acc0 + d.x * a;
            acc1 = acc1 + d.y * a;
            acc2 = acc2 + d.z * a;
            acc3 = acc3 + d.w * a;
        }
        workgroupBarrier();
    }
    let k_first = k0 + 4u * lx;
    for (var j = 0u; j < 4u; j = j + 1u) {
        let n = n0 + 4u * ly + j;
        if (n < prm.cout) {
            var acc = acc0;
            if (j == 1u) { acc = acc1; } else if (j == 2u) { acc = acc2; } else if (j == 3u) { acc = acc3; }
            let row = (wid.z * prm.cout + n) * prm.kk;
            for (var i = 0u; i < 4u; i = i + 1u) {
                if (k_first + i < prm.kk) {
                    partial_sums[row + k_first + i] = acc[i];
                }
            }
        }
    }
}
