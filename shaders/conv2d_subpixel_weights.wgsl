// The sub-pixel form of a 3×3 convolution read through a nearest-neighbour 2x upsampling with one
// pixel of padding (the style networks' upsampling layers): output pixel (2·sy + a, 2·sx + b)
// reads upsampled rows 2·sy + a − 1 .. 2·sy + a + 1, which are source rows sy − 1 + a and sy + a
// only (for a = 0: kernel row 0 on row sy − 1, rows 1 and 2 both on row sy; for a = 1: rows 0
// and 1 on sy, row 2 on sy + 1), and the same along columns. So each of the four phases (a, b)
// is a 2×2 convolution of the source with summed weights: 4 multiply-adds per pixel instead of 9.
// The padding carries over: one pixel of reflection (or edge) around the upsampled image is the
// source's edge repeated, zeros are zeros. This kernel sums the weights, one output per invocation:
//
//   e[a][b][n][ci][ty][tx] = Σ_{ky ∈ R(a, ty)} Σ_{kx ∈ R(b, tx)} w[n][ci][ky][kx]
//   R(0, 0) = {0}, R(0, 1) = {1, 2}, R(1, 0) = {0, 1}, R(1, 1) = {2}
//
// and conv2d_direct.wgsl runs the 2×2 convolutions (its sub-pixel form).

@group(0) @binding(0) var<storage, read_write> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> e: array<f32>;
@group(0) @binding(2) var<uniform> planes: vec4<u32>; // x: cout · cin

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= 16u * planes.x) {
        return;
    }
    let tx = i % 2u;
    let ty = (i / 2u) % 2u;
    let plane = (i / 4u) % planes.x;
    let ab = i / (4u * planes.x);
    let a = ab / 2u;
    let b = ab % 2u;
    // R(p, t) = first ..= last: first = t·(1 + p), last = 2·t + p·(1 − t).
    let y_first = ty * (1u + a);
    let y_last = 2u * ty + a * (1u - ty);
    let x_first = tx * (1u + b);
    let x_last = 2u * tx + b * (1u - tx);
    var sum = 0.0;
    for (var ky = y_first; ky <= y_last; ky = ky + 1u) {
        for (var kx = x_first; kx <= x_last; kx = kx + 1u) {
            sum = sum + w[plane * 9u + ky * 3u + kx];
        }
    }
    e[i] = sum;
}
