// The live window's display pass: one fullscreen triangle that draws the stylized frame, the
// original frame or both side by side, letterboxed to keep their aspect, with the text overlay on
// top. The frames are read straight from storage buffers holding planar f32 RGB [3, h, w] in
// 0..1: the network's output tensor on the GPU (no copy through the host) and the uploaded
// camera frame. Bilinear filtering, done by hand (storage buffers have no sampler).

struct Params {
    // 0: stylized, 1: original, 2: side by side (original left, stylized right).
    view: u32,
    stylized_w: u32,
    stylized_h: u32,
    original_w: u32,
    original_h: u32,
    target_w: u32,
    target_h: u32,
    overlay_h: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> stylized: array<f32>;
@group(0) @binding(2) var<storage, read> original: array<f32>;
// The overlay: RGBA8 packed in u32, target_w wide, overlay_h rows from the top.
@group(0) @binding(3) var<storage, read> overlay: array<u32>;

struct VertexOut {
    @builtin(position) position: vec4<f32>,
}

@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> VertexOut {
    // A triangle covering the viewport: (-1,-1), (3,-1), (-1,3).
    let x = f32((i << 1u) & 2u) * 2.0 - 1.0;
    let y = f32(i & 2u) * 2.0 - 1.0;
    var out: VertexOut;
    out.position = vec4<f32>(x, y, 0.0, 1.0);
    return out;
}

fn texel_stylized(x: u32, y: u32, c: u32) -> f32 {
    return stylized[(c * params.stylized_h + y) * params.stylized_w + x];
}

fn texel_original(x: u32, y: u32, c: u32) -> f32 {
    return original[(c * params.original_h + y) * params.original_w + x];
}

// Bilinear sample at uv in [0, 1]² of the stylized (which = 0) or original (which = 1) frame.
fn sample(which: u32, uv: vec2<f32>) -> vec3<f32> {
    var w = params.stylized_w;
    var h = params.stylized_h;
    if (which == 1u) {
        w = params.original_w;
        h = params.original_h;
    }
    let p = clamp(uv * vec2<f32>(f32(w), f32(h)) - 0.5, vec2<f32>(0.0), vec2<f32>(f32(w - 1u), f32(h - 1u)));
    let p0 = vec2<u32>(floor(p));
    let p1 = min(p0 + 1u, vec2<u32>(w - 1u, h - 1u));
    let f = p - floor(p);
    var rgb = vec3<f32>(0.0);
    for (var c = 0u; c < 3u; c = c + 1u) {
        var a: f32;
        var b: f32;
        var d: f32;
        var e: f32;
        if (which == 0u) {
            a = texel_stylized(p0.x, p0.y, c);
            b = texel_stylized(p1.x, p0.y, c);
            d = texel_stylized(p0.x, p1.y, c);
            e = texel_stylized(p1.x, p1.y, c);
        } else {
            a = texel_original(p0.x, p0.y, c);
            b = texel_original(p1.x, p0.y, c);
            d = texel_original(p0.x, p1.y, c);
            e = texel_original(p1.x, p1.y, c);
        }
        rgb[c] = mix(mix(a, b, f.x), mix(d, e, f.x), f.y);
    }
    return clamp(rgb, vec3<f32>(0.0), vec3<f32>(1.0));
}

// The frame `which` letterboxed into the panel [x0, x0 + pw) × [0, ph) at pixel `q`; black outside.
fn panel(which: u32, q: vec2<f32>, x0: f32, pw: f32, ph: f32) -> vec3<f32> {
    var w = f32(params.stylized_w);
    var h = f32(params.stylized_h);
    if (which == 1u) {
        w = f32(params.original_w);
        h = f32(params.original_h);
    }
    let scale = min(pw / w, ph / h);
    let size = vec2<f32>(w, h) * scale;
    let origin = vec2<f32>(x0 + (pw - size.x) * 0.5, (ph - size.y) * 0.5);
    let uv = (q - origin) / size;
    if (any(uv < vec2<f32>(0.0)) || any(uv >= vec2<f32>(1.0))) {
        return vec3<f32>(0.0);
    }
    return sample(which, uv);
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let q = in.position.xy;
    let tw = f32(params.target_w);
    let th = f32(params.target_h);
    var rgb: vec3<f32>;
    if (params.view == 2u) {
        let half = floor(tw * 0.5);
        if (q.x < half) {
            rgb = panel(1u, q, 0.0, half, th);
        } else {
            rgb = panel(0u, q, half, tw - half, th);
        }
    } else {
        rgb = panel(params.view, q, 0.0, tw, th);
    }
    let px = vec2<u32>(q);
    if (px.y < params.overlay_h && px.x < params.target_w) {
        let o = unpack4x8unorm(overlay[px.y * params.target_w + px.x]);
        rgb = mix(rgb, o.rgb, o.a);
    }
    return vec4<f32>(rgb, 1.0);
}
