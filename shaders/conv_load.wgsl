// What both convolution kernels (conv2d.wgsl, conv2d_weight_grad.wgsl) share, appended to each:
// the layer's parameters and the folded load (padding and nearest upsampling as index arithmetic).
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
