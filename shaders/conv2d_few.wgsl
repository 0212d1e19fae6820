// 2-D convolution to at most 4 output channels (the style networks' 9×9 layer to RGB), stride 1,
// over NCHW tensors, with the input's padding (zero, reflect or edge) and an optional
// nearest-neighbour 2x upsampling folded into the load as in conv2d.wgsl.
//
// Why not conv2d.wgsl: its tiles have at least 16 output channels, so with 3 of them 13/16 of the
// work is wasted (it measured 3.3x slower than burn's direct convolution on lavapipe). Here each
// invocation computes PX = 8 neighbouring output pixels of one row × all (≤ 4) channels, as eight
// vec4 accumulators (one pixel each, the channels in the lanes). Per input channel and kernel row
// it reads the PX + KS − 1 input values under its eight windows once and the KS weight vectors
// (the same for every invocation: uniform loads), then does PX · KS vec4 multiply-adds: each input
// value read feeds up to KS pixels, against one in a direct convolution with one output per
// invocation. No workgroup memory, no barriers, no subgroups, 64 invocations, f32.
//
//   out[img][n][oy][ox] = bias[n] + Σ_ci Σ_ky Σ_kx w[n][ci][ky][kx] · V[ci][oy + ky − top][ox + kx − left]
//
// with V the virtual input (x upsampled by UP, then padded). A workgroup of 8 × 8 invocations
// covers 8·PX = 64 columns × 8 rows of one image.

const KS: u32 = {{ ks }}u;       // kernel side
const STRIDE: u32 = 1u;          // (stride 1 only; declared for conv_load.wgsl)
const UP: u32 = {{ up }}u;       // 1, or 2 for nearest-neighbour upsampling before the padding
const MODE: u32 = {{ mode }}u;   // 0: zeros, 1: reflect (excluding the edge), 2: repeat the edge
const PX: u32 = 8u;              // output pixels per invocation, along a row
// Params and source_index: conv_load.wgsl, appended.

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> wt: array<f32>;
@group(0) @binding(2) var<storage, read_write> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> prm: Params;

// x's value at column index c of the row starting at `row` (c < 0: a zero of the padding).
fn input_at(row: u32, c: i32) -> f32 {
    return select(0.0, x[row + u32(max(c, 0))], c >= 0);
}

// The weights of tap k = (ci · KS + ky) · KS + kx for output channels 0-3 (zero past cout).
fn weights_at(k: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    for (var n = 0u; n < 4u; n = n + 1u) {
        if (n < prm.cout) {
            v[n] = wt[n * prm.kk + k];
        }
    }
    return v;
}

// Output pixel (oy, ox) of image `img`: the four channels of `acc` plus the bias.
fn store(img: u32, oy: u32, ox: u32, acc: vec4<f32>) {
    if (ox >= prm.wo) {
        return;
    }
    let plane = prm.ho * prm.wo;
    let at = img * prm.cout * plane + oy * prm.wo + ox;
    for (var n = 0u; n < 4u; n = n + 1u) {
        if (n < prm.cout) {
            out[at + n * plane] = acc[n] + bias[n];
        }
    }
}

@compute @workgroup_size(8, 8, 1)
fn main(
    @builtin(global_invocation_id) gid: vec3<u32>,
) {
    let oy = gid.y;
    let ox0 = gid.x * PX;
    let img = gid.z;
    if (oy >= prm.ho || ox0 >= prm.wo) {
        return;
    }
    let img_base = img * prm.cin * prm.h * prm.w;
    // The input column under window column j of this invocation's first pixel, for
    // j = 0 .. PX + KS − 2 (c<j>; -1 for a zero of the padding), fixed for every row and channel.
    let x0 = i32(ox0) - i32(prm.left);
{{ columns }}
    var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0); var a5 = vec4<f32>(0.0); var a6 = vec4<f32>(0.0); var a7 = vec4<f32>(0.0);
    let y0 = i32(oy) - i32(prm.top);
    for (var ci = 0u; ci < prm.cin; ci = ci + 1u) {
        for (var ky = 0u; ky < KS; ky = ky + 1u) {
            let iy = source_index(y0 + i32(ky), prm.h);
            if (iy >= 0) {
                let row = img_base + (ci * prm.h + u32(iy)) * prm.w;
                let k = (ci * KS + ky) * KS;
                // r<j>: the row's values under the windows; w<kx>: the weights of this kernel row;
                // then a<p> += Σ_kx r<p + kx> · w<kx>.
{{ taps }}
            }
        }
    }
    store(img, oy, ox0, a0);
    store(img, oy, ox0 + 1u, a1);
    store(img, oy, ox0 + 2u, a2);
    store(img, oy, ox0 + 3u, a3);
    store(img, oy, ox0 + 4u, a4);
    store(img, oy, ox0 + 5u, a5);
    store(img, oy, ox0 + 6u, a6);
    store(img, oy, ox0 + 7u, a7);
}
