// 2-D convolution as a direct convolution over NCHW tensors, with the input's padding (zero,
// reflect or edge) and an optional nearest-neighbour 2x upsampling folded into the load as in
// conv2d.wgsl: each invocation computes PX (8 or 16) neighbouring output pixels of one row × CG output
// channels (a multiple of 4, at most 16: one vec4 accumulator per pixel and 4 channels).
//
// Why next to conv2d.wgsl: on a CPU adapter (lavapipe, SwiftShader) a load whose address differs
// between the invocations of a SIMD group runs as one scalar load per invocation, while a load at
// an address every invocation shares is one load and a broadcast. The GEMM kernel's inner loop
// reads only per-invocation values from workgroup memory (four multiply-adds per value). Here the
// workgroup's channels come from the workgroup id, so every weight read is a shared-address load,
// and per input channel and kernel row an invocation reads the STRIDE·(PX − 1) + KS input values
// under its eight windows once: each feeds up to KS pixels × CG channels. No workgroup memory, no
// barriers, no subgroups, 64 invocations, f32. For ≤ 4 output channels (the 9×9 layer to RGB) it
// is also what a GPU runs: a GEMM tile of ≥ 16 channels would be mostly idle.
//
//   out[img][n][oy][ox] = bias[n] + Σ_ci Σ_ky Σ_kx w[n][ci][ky][kx] · V[ci][oy·S + ky − top][ox·S + kx − left]
//
// with V the virtual input (x upsampled by UP, then padded) and S the stride. A workgroup of
// 8 × 8 invocations covers a tile of CX·PX columns × WY rows of one image (CX = 8, 4, 2 or 1,
// whichever pads the map least; WY = 64 / CX), for CG channels: workgroup (gx, gy, gz) is
// columns gx·CX·PX .., rows gy·WY .., image gz / GROUPS, channels (gz % GROUPS)·CG ... The
// workgroup stays 8 wide (llvmpipe runs invocations along x in SIMD groups of 8); invocation
// (lx, ly) takes tile column lx % CX and row r = ly·(8 / CX) + lx / CX.
//
// The sub-pixel form (a 3×3 convolution of x upsampled 2x with one pixel of padding; see
// conv2d_subpixel_weights.wgsl): KS = 2, UP = 1, x read directly with its edge repeated (or
// zeros), and wt holds the four phases' 2×2 weights [a][b][cout][cin][2][2]. Workgroup row gy
// covers output rows of one phase a = gy % 2 (source rows (gy / 2)·WY ..), so a, like the
// channels, is the same for the whole workgroup and the weight reads stay shared-address; each
// invocation's PX pixels are PX / 2 source columns × both column phases b.

const KS: u32 = {{ ks }}u;       // kernel side
const STRIDE: u32 = {{ stride }}u;
const UP: u32 = {{ up }}u;       // 1, or 2 for nearest-neighbour upsampling before the padding
const MODE: u32 = {{ mode }}u;   // 0: zeros, 1: reflect (excluding the edge), 2: repeat the edge
const PX: u32 = {{ px }}u;       // output pixels per invocation, along a row
const CX: u32 = {{ cx }}u;       // invocations per output row of the workgroup (8, 4, 2 or 1)
const WY: u32 = {{ wy }}u;       // output rows per workgroup: 64 / CX
const CG: u32 = {{ cg }}u;       // output channels per invocation (4, 8, 12 or 16)
const WHOLE_GROUPS: bool = {{ whole_groups }}; // cout a multiple of CG: no channel past cout
// Params and source_index: conv_load.wgsl, appended.

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> wt: array<f32>;
@group(0) @binding(2) var<storage, read_write> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> prm: Params;

// x's value at column index c of the row starting at `row` (c < 0, or the row outside: a zero
// of the padding). Selects, not branches: without uniformity analysis (SwiftShader) a branch
// masks every load under it.
fn input_at(row: u32, inside: bool, c: i32) -> f32 {
    return select(0.0, x[row + u32(max(c, 0))], inside & (c >= 0)); // &, not &&: no short-circuit branch
}

// The weights of tap k = (ci · KS + ky) · KS + kx for output channels n0 .. n0 + 3 (zero past
// cout). n0 is the same for the whole workgroup, so these are shared-address loads.
fn weights_at(n0: u32, k: u32) -> vec4<f32> {
    if (WHOLE_GROUPS) {
        // No branch: without uniformity analysis (SwiftShader) each would mask the loads.
        let at = n0 * prm.kk + k;
        return vec4<f32>(wt[at], wt[at + prm.kk], wt[at + 2u * prm.kk], wt[at + 3u * prm.kk]);
    }
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j = j + 1u) {
        let n = n0 + j;
        if (n < prm.cout) {
            v[j] = wt[n * prm.kk + k];
        }
    }
    return v;
}

// Output pixel (oy, ox) of image `img`, channels n0 .. n0 + 3: `acc` plus the bias.
fn store(img: u32, oy: u32, ox: u32, n0: u32, acc: vec4<f32>) {
    if (ox >= prm.wo) {
        return;
    }
    let plane = prm.ho * prm.wo;
    let at = img * prm.cout * plane + oy * prm.wo + ox;
    for (var j = 0u; j < 4u; j = j + 1u) {
        let n = n0 + j;
        if (n < prm.cout) {
            out[at + n * plane] = acc[j] + bias[n];
        }
    }
}

@compute @workgroup_size(8, 8, 1)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    let groups = (prm.cout + CG - 1u) / CG;
    let img = wid.z / groups;
    let n0 = (wid.z % groups) * CG;
    let ox0 = (wid.x * CX + lid.x % CX) * PX;
    let r = lid.y * (8u / CX) + lid.x / CX; // the row within the tile
    // oy: the output row; x0, y0: the input column and row under the first pixel's window;
    // wbase: where this workgroup's weights start.
{{ position }}
    if (oy >= prm.ho || ox0 >= prm.wo) {
        return;
    }
    let img_base = img * prm.cin * prm.h * prm.w;
    // c<j>: the input column under window column j of this invocation's first pixel (-1 for a
    // zero of the padding), fixed for every row and channel.
{{ columns }}
    // a<p>_<v>: pixel p, channels n0 + 4v .. n0 + 4v + 3.
{{ accumulators }}
    let plane = prm.h * prm.w;
    // Kernel rows outermost, so each row's source index is worked out once, not per channel.
    for (var ky = 0u; ky < KS; ky = ky + 1u) {
        let iy = source_index(y0 + i32(ky), prm.h);
        let inside = iy >= 0; // false: a row of the zero padding
        let row0 = img_base + u32(max(iy, 0)) * prm.w;
        for (var ci = 0u; ci < prm.cin; ci = ci + 1u) {
            let row = row0 + ci * plane;
            let k = wbase + (ci * KS + ky) * KS;
            // r<j>: the row's values under the windows; w<kx>_<b>_<v>: the weights of this
            // kernel row for column phase b (only b = 0 but in the sub-pixel form); then
            // a<p>_<v> += Σ_kx r<S·p + kx> · w<kx>_0_<v> (sub-pixel: r<p / 2 + b + kx> · w<kx>_<b>_<v>, b = p % 2).
{{ taps }}
        }
    }
{{ stores }}
}
