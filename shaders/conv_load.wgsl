// What both convolution kernels (conv2d.wgsl, conv2d_weight_grad.wgsl) share, appended to each:
// the layer's parameters, the folded load (padding and nearest upsampling as index arithmetic) and
// the 8 × 8 block of outputs each invocation accumulates.
// Each kernel declares the constants KS, UP, MODE, the input `x` and the uniform `prm`.

struct Params {
    cin: u32,
    h: u32,        // input height and width (before upsampling)
    w: u32,
    cout: u32,
    ho: u32,       // output height and width
    wo: u32,
    top: u32,      // padding before, rows and columns (in upsampled pixels)
    left: u32,
    kk: u32,       // cin * KS * KS
    slices: u32,   // the weight gradient's slices per image (unused by the forward)
    slice_len: u32, // the weight gradient's pixels per slice (unused by the forward)
    pad0: u32,
}

// Row or column `v` of the virtual input (size `n` · UP) as an index into x, or -1 for a zero.
fn source_index(v: i32, n: u32) -> i32 {
    let vn = i32(n * UP);
    var i = v;
    if (MODE == 1u) {
        if (i < 0) { i = -i; }
        if (i >= vn) { i = 2 * (vn - 1) - i; }
    } else if (MODE == 2u) {
        i = clamp(i, 0, vn - 1);
    }
    if (i < 0 || i >= vn) {
        return -1;
    }
    return i / i32(UP);
}

// Tap k = (ci · KS + ky) · KS + kx of the window whose origin is row y0, column x0 of the virtual
// input of the image at img_base: x's value there, or zero in the zero padding.
fn tap(img_base: u32, y0: i32, x0: i32, k: u32) -> f32 {
    let ci = k / (KS * KS);
    let r = k % (KS * KS);
    let iy = source_index(y0 + i32(r / KS), prm.h);
    let ix = source_index(x0 + i32(r % KS), prm.w);
    if (iy < 0 || ix < 0) {
        return 0.0;
    }
    return x[img_base + (ci * prm.h + u32(iy)) * prm.w + u32(ix)];
}

// One invocation's 8 × 8 outputs in sixteen vec4 registers: c<r><g> is row r (0-7) and the four
// columns of group g (0 or 1). Rows 0-3 and 4-7 are the invocation's two groups of four rows.
struct Block {
    c00: vec4<f32>, c01: vec4<f32>,
    c10: vec4<f32>, c11: vec4<f32>,
    c20: vec4<f32>, c21: vec4<f32>,
    c30: vec4<f32>, c31: vec4<f32>,
    c40: vec4<f32>, c41: vec4<f32>,
    c50: vec4<f32>, c51: vec4<f32>,
    c60: vec4<f32>, c61: vec4<f32>,
    c70: vec4<f32>, c71: vec4<f32>,
}

// block + the outer product of rows (u0: rows 0-3, u1: rows 4-7) and columns (v0: group 0, v1:
// group 1): sixteen vec4 multiply-adds, four per value the caller read from workgroup memory.
fn add_outer(block: Block, u0: vec4<f32>, u1: vec4<f32>, v0: vec4<f32>, v1: vec4<f32>) -> Block {
    var o = block;
    o.c00 = o.c00 + u0.x * v0; o.c01 = o.c01 + u0.x * v1;
    o.c10 = o.c10 + u0.y * v0; o.c11 = o.c11 + u0.y * v1;
    o.c20 = o.c20 + u0.z * v0; o.c21 = o.c21 + u0.z * v1;
    o.c30 = o.c30 + u0.w * v0; o.c31 = o.c31 + u0.w * v1;
    o.c40 = o.c40 + u1.x * v0; o.c41 = o.c41 + u1.x * v1;
    o.c50 = o.c50 + u1.y * v0; o.c51 = o.c51 + u1.y * v1;
    o.c60 = o.c60 + u1.z * v0; o.c61 = o.c61 + u1.z * v1;
    o.c70 = o.c70 + u1.w * v0; o.c71 = o.c71 + u1.w * v1;
    return o;
}
