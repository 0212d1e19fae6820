//! The feed-forward style network (Johnson et al. 2016) with the now-standard fixes: reflection
//! padding, instance norm, residual blocks and nearest upsampling + convolution. The same struct
//! also runs imported networks of another layout: ml5.js / lengstrom checkpoints (TensorFlow
//! "SAME" zero padding, transposed convolutions, tanh output) and pytorch/examples state dicts.
//!
//! Parameters are kept as flat 1-D tensors in a fixed order (see [`TransformerNet::names`]) so
//! that the optimiser, checkpoints and importers all see one list. Names follow
//! pytorch/examples' `TransformerNet` (`conv1.conv2d.weight`, `in1.weight`, `res1.conv1...`).

use burn::tensor::activation::{relu, tanh};
use burn::tensor::module::{conv_transpose2d, conv2d, interpolate};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions, InterpolateMode, InterpolateOptions, PadMode};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::conv::{ConvLoad, PadKind, fuses_norm, instance_norm_layer, load_conv2d, uses_kernel};

/// How a convolution pads its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Padding {
    /// Reflection padding of k/2 on every side (pytorch/examples, burnish's own networks).
    Reflect,
    /// TensorFlow "SAME" zero padding (extra row/column at the bottom/right).
    TfSame,
}

/// How the decoder doubles the resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Upsample {
    /// Nearest-neighbour 2x, then a stride-1 convolution (no checkerboard artefacts).
    NearestConv,
    /// 3x3 stride-2 transposed convolution with TensorFlow "SAME" semantics (ml5.js).
    Transposed,
}

/// How the last convolution's output becomes pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Output {
    /// The output is already in 0..255 units (pytorch/examples); no norm on the last layer.
    Linear,
    /// Instance norm on the last layer too, then tanh(x) * 150 + 127.5 (lengstrom / ml5.js).
    Tanh150,
}

/// The layout of a network: everything needed besides the parameter values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetSpec {
    /// Channels of the first layer; the encoder uses width, 2·width, 4·width (Johnson: 32).
    pub width: usize,
    pub residual_blocks: usize,
    pub padding: Padding,
    pub upsample: Upsample,
    pub output: Output,
    /// The network sees RGB in 0..input_scale (pytorch/examples: 255, ml5.js: 1).
    pub input_scale: f32,
    pub norm_eps: f64,
    /// Convolutions have biases (pytorch/examples: yes; lengstrom: no).
    pub conv_bias: bool,
}

impl NetSpec {
    /// burnish's own networks: pytorch/examples' layout (so their state dicts load as they are).
    pub fn johnson(width: usize) -> Self {
        Self {
            width,
            residual_blocks: 5,
            padding: Padding::Reflect,
            upsample: Upsample::NearestConv,
            output: Output::Linear,
            input_scale: 255.0,
            norm_eps: 1e-5,
            conv_bias: true,
        }
    }

    /// lengstrom/fast-style-transfer as shipped by ml5.js.
    pub fn ml5() -> Self {
        Self {
            width: 32,
            residual_blocks: 5,
            padding: Padding::TfSame,
            upsample: Upsample::Transposed,
            output: Output::Tanh150,
            input_scale: 1.0,
            norm_eps: 1e-3,
            conv_bias: false,
        }
    }

    /// The network as blocks in order: single layers and residual blocks.
    pub fn blocks(&self) -> Vec<Block> {
        let w = self.width;
        let norm_last = self.output == Output::Tanh150;
        let mut v = vec![
            Block::Layer(Layer::conv("conv1", Some("in1"), 3, w, 9, 1, true)),
            Block::Layer(Layer::conv("conv2", Some("in2"), w, 2 * w, 3, 2, true)),
            Block::Layer(Layer::conv("conv3", Some("in3"), 2 * w, 4 * w, 3, 2, true)),
        ];
        for r in 1..=self.residual_blocks {
            let (c1, n1, c2, n2) = (format!("res{r}.conv1"), format!("res{r}.in1"), format!("res{r}.conv2"), format!("res{r}.in2"));
            v.push(Block::Residual(Layer::conv(&c1, Some(&n1), 4 * w, 4 * w, 3, 1, true), Layer::conv(&c2, Some(&n2), 4 * w, 4 * w, 3, 1, false)));
        }
        let up = |name: &str, norm: &str, cin, cout| {
            let mut l = Layer::conv(name, Some(norm), cin, cout, 3, 2, true);
            l.kind = LayerKind::Up(self.upsample);
            Block::Layer(l)
        };
        v.push(up("deconv1", "in4", 4 * w, 2 * w));
        v.push(up("deconv2", "in5", 2 * w, w));
        v.push(Block::Layer(Layer::conv("deconv3", norm_last.then_some("in6"), w, 3, 9, 1, false)));
        v
    }

    /// The layers in order (a residual block's two layers in turn).
    pub fn layers(&self) -> Vec<Layer> {
        self.blocks()
            .into_iter()
            .flat_map(|b| match b {
                Block::Layer(l) => vec![l],
                Block::Residual(a, b) => vec![a, b],
            })
            .collect()
    }

    /// (name, shape) of every parameter, in the order of [`TransformerNet::params`].
    pub fn param_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let mut out = Vec::new();
        for l in self.layers() {
            let shape = match l.kind {
                // burn / PyTorch transposed-conv layout: [in, out, k, k].
                LayerKind::Up(Upsample::Transposed) => vec![l.cin, l.cout, l.k, l.k],
                _ => vec![l.cout, l.cin, l.k, l.k],
            };
            out.push((format!("{}.conv2d.weight", l.name), shape));
            if self.conv_bias {
                out.push((format!("{}.conv2d.bias", l.name), vec![l.cout]));
            }
            if let Some(n) = &l.norm {
                out.push((format!("{n}.weight"), vec![l.cout]));
                out.push((format!("{n}.bias"), vec![l.cout]));
            }
        }
        out
    }

    pub fn parameter_count(&self) -> usize {
        self.param_shapes().iter().map(|(_, s)| s.iter().product::<usize>()).sum()
    }
}

/// A unit of the network: one layer, or a residual block (two layers and the skip around them).
#[derive(Clone, Debug)]
pub enum Block {
    Layer(Layer),
    Residual(Layer, Layer),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LayerKind {
    Conv { stride: usize },
    Up(Upsample),
}

#[derive(Clone, Debug)]
pub struct Layer {
    pub name: String,
    pub norm: Option<String>,
    pub cin: usize,
    pub cout: usize,
    pub k: usize,
    pub kind: LayerKind,
    pub relu: bool,
}

impl Layer {
    fn conv(name: &str, norm: Option<&str>, cin: usize, cout: usize, k: usize, stride: usize, relu: bool) -> Self {
        Self { name: name.into(), norm: norm.map(Into::into), cin, cout, k, kind: LayerKind::Conv { stride }, relu }
    }
}

/// A network on a device: its layout and its parameters (flat, in [`NetSpec::param_shapes`] order).
#[derive(Clone, Debug)]
pub struct TransformerNet {
    pub spec: NetSpec,
    pub params: Vec<Tensor<1>>,
}

impl TransformerNet {
    /// Parameters from host values, checked against the layout.
    pub fn from_values(spec: NetSpec, values: Vec<Vec<f32>>, device: &Device) -> Self {
        let shapes = spec.param_shapes();
        assert_eq!(shapes.len(), values.len(), "one value vector per parameter");
        let params = values
            .into_iter()
            .zip(&shapes)
            .map(|(v, (name, s))| {
                assert_eq!(v.len(), s.iter().product::<usize>(), "parameter {name}");
                Tensor::from_data(TensorData::new(v, [s.iter().product::<usize>()]), device)
            })
            .collect();
        Self { spec, params }
    }

    /// Fresh parameters as PyTorch initialises them (Kaiming-uniform with a = sqrt(5), i.e.
    /// U(±1/sqrt(fan_in)) for weights and biases; instance-norm scale 1, shift 0), seeded.
    pub fn init(spec: NetSpec, seed: u64, device: &Device) -> Self {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut values = Vec::new();
        let mut fan_in = 1usize;
        for (name, shape) in spec.param_shapes() {
            let n: usize = shape.iter().product();
            let v = if name.ends_with("conv2d.weight") {
                // conv [out, in, k, k]: fan_in = in·k·k; transposed [in, out, k, k]: PyTorch uses out·k·k.
                fan_in = shape[1] * shape[2] * shape[3];
                let bound = 1.0 / (fan_in as f32).sqrt();
                (0..n).map(|_| rng.random_range(-bound..bound)).collect()
            } else if name.ends_with("conv2d.bias") {
                let bound = 1.0 / (fan_in as f32).sqrt();
                (0..n).map(|_| rng.random_range(-bound..bound)).collect()
            } else if name.ends_with(".weight") {
                vec![1.0; n]
            } else {
                vec![0.0; n]
            };
            values.push(v);
        }
        Self::from_values(spec, values, device)
    }

    /// Parameter names in order.
    pub fn names(&self) -> Vec<String> {
        self.spec.param_shapes().into_iter().map(|(n, _)| n).collect()
    }

    /// Parameters as host vectors (one transfer).
    pub async fn values(&self) -> crate::Result<Vec<Vec<f32>>> {
        crate::optim::read_vecs(self.params.clone()).await
    }

    /// Stylize a batch of RGB 0..1 images [b, 3, h, w]; h and w must be multiples of 4 (see
    /// [`TransformerNet::stylize`] for any size). Returns RGB in 0..1 units, unclamped for
    /// [`Output::Linear`] (training wants the raw values).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let paths = Paths { conv_kernel: uses_kernel(&x.device()), fused_norm: fuses_norm() };
        self.forward_with(x, paths)
    }

    /// [`TransformerNet::forward`] through burn's own pad and conv2d on every device (the
    /// reference the convolution kernel is tested against).
    pub fn forward_burn_ops(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_with(x, Paths { conv_kernel: false, fused_norm: false })
    }

    fn forward_with(&self, x: Tensor<4>, paths: Paths) -> Tensor<4> {
        let spec = &self.spec;
        let mut h = if spec.input_scale != 1.0 { x.mul_scalar(spec.input_scale) } else { x };
        let mut p = self.params.iter().cloned();
        for block in spec.blocks() {
            h = match &block {
                Block::Layer(l) => self.layer(l, h, None, &mut p, paths), // conv1 [b, w, h, w]; conv2 [b, 2w, h/2, w/2]; conv3 [b, 4w, h/4, w/4]; deconv1/2 back up; deconv3 [b, 3, h, w]
                Block::Residual(a, b) => {
                    let skip = h.clone(); // [b, 4w, h/4, w/4]
                    let y = self.layer(a, h, None, &mut p, paths);
                    self.layer(b, y, Some(skip), &mut p, paths)
                }
            };
        }
        match spec.output {
            Output::Linear => h.div_scalar(255.0),
            Output::Tanh150 => tanh(h).mul_scalar(150.0 / 255.0).add_scalar(127.5 / 255.0),
        }
    }

    /// One layer: convolution, then (if it has one) instance norm with its affine, then ReLU (if
    /// `l.relu`), then + `skip`, through [`crate::conv`]'s kernels where `paths` says so.
    fn layer(&self, l: &Layer, x: Tensor<4>, skip: Option<Tensor<4>>, p: &mut impl Iterator<Item = Tensor<1>>, paths: Paths) -> Tensor<4> {
        let spec = &self.spec;
        let mut next = |shape: [usize; 4]| p.next().expect("parameter count matches the layout").reshape(shape);
        let k = l.k;
        let weight = match l.kind {
            LayerKind::Up(Upsample::Transposed) => next([l.cin, l.cout, k, k]),
            _ => next([l.cout, l.cin, k, k]),
        };
        let bias = spec.conv_bias.then(|| next([1, 1, 1, l.cout]).reshape([l.cout]));
        let mut y = match l.kind {
            LayerKind::Conv { .. } | LayerKind::Up(Upsample::NearestConv) if paths.conv_kernel => {
                let (stride, up) = match l.kind {
                    LayerKind::Conv { stride } => (stride, 1),
                    _ => (1, 2),
                };
                let load = conv_load(x.dims(), k, stride, up, spec.padding);
                load_conv2d(x, weight, bias.unwrap_or_else(|| zeros_bias(l.cout, &self.params[0])), load)
            }
            LayerKind::Conv { stride } => conv(pad(x, k, stride, spec.padding), weight, bias, stride),
            LayerKind::Up(Upsample::NearestConv) => {
                let [_, _, hh, ww] = x.dims();
                let up = interpolate(x, InterpolateOptions::new(InterpolateMode::Nearest).with_output_size([2 * hh, 2 * ww]));
                conv(pad(up, k, 1, spec.padding), weight, bias, 1)
            }
            LayerKind::Up(Upsample::Transposed) => {
                // TF conv2d_transpose, SAME, stride 2: the adjoint of a SAME conv on the 2n-sized
                // output, which pads 0 before and 1 after; i.e. the full transposed conv cropped to [0, 2n).
                let [_, _, hh, ww] = x.dims();
                let full = conv_transpose2d(x, weight, bias, ConvTransposeOptions::new([2, 2], [0, 0], [0, 0], [1, 1], 1));
                full.narrow(2, 0, 2 * hh).narrow(3, 0, 2 * ww)
            }
        };
        if l.norm.is_some() {
            let (scale, shift) = (next([1, 1, 1, l.cout]).reshape([l.cout]), next([1, 1, 1, l.cout]).reshape([l.cout]));
            if paths.fused_norm {
                return instance_norm_layer(y, scale, shift, skip, l.relu, spec.norm_eps);
            }
            y = instance_norm(y, spec.norm_eps) * scale.reshape([1, l.cout, 1, 1]) + shift.reshape([1, l.cout, 1, 1]);
        }
        let y = if l.relu { relu(y) } else { y };
        match skip {
            Some(s) => y + s,
            None => y,
        }
    }

    /// Stylize one image of any size (at least 1x1): reflect-pad to a multiple of 4, run, crop back,
    /// clamp to 0..1. `x`: [1, 3, h, w].
    pub fn stylize(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        let (ph, pw) = ((4 - h % 4) % 4, (4 - w % 4) % 4);
        let x = if ph + pw > 0 { pad_to(x, ph, pw) } else { x };
        self.forward(x).narrow(2, 0, h).narrow(3, 0, w).clamp(0.0, 1.0)
    }
}

/// Which of [`crate::conv`]'s paths a forward pass takes.
#[derive(Clone, Copy)]
struct Paths {
    /// The convolutions through [`load_conv2d`] (the WGSL kernel on wgpu).
    conv_kernel: bool,
    /// The instance norms through [`instance_norm_layer`] (fused on wgpu and flex).
    fused_norm: bool,
}

/// Pad the bottom/right by (ph, pw) pixels, reflecting where the image is big enough, else repeating the edge.
fn pad_to(x: Tensor<4>, ph: usize, pw: usize) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let mode = if h > ph && w > pw { PadMode::Reflect } else { PadMode::Edge };
    x.pad([(0, 0), (0, 0), (0, ph), (0, pw)], mode)
}

/// A zero bias [cout] for networks without biases, on `like`'s device.
fn zeros_bias(cout: usize, like: &Tensor<1>) -> Tensor<1> {
    Tensor::zeros([cout], &like.device())
}

/// How a layer reads x [b, c, h, w] (upsampled by `up` first): the one padding rule of the
/// network, read in place by the kernel and materialised by [`pad`].
fn conv_load(dims: [usize; 4], k: usize, stride: usize, up: usize, padding: Padding) -> ConvLoad {
    let [_, _, h, w] = dims;
    let (h, w) = (h * up, w * up);
    match padding {
        Padding::Reflect => {
            let p = k / 2;
            // Reflection needs p < size; tiny maps (only in odd tests) fall back to edge padding.
            let mode = if h > p && w > p { PadKind::Reflect } else { PadKind::Edge };
            ConvLoad { stride, upsample: up, pad: [p; 4], mode }
        }
        Padding::TfSame => {
            let (t, b) = tf_same(h, k, stride);
            let (l, r) = tf_same(w, k, stride);
            ConvLoad { stride, upsample: up, pad: [t, b, l, r], mode: PadKind::Zero }
        }
    }
}

/// [`conv_load`]'s padding, materialised (burn's ops path; the kernel reads it in place).
fn pad(x: Tensor<4>, k: usize, stride: usize, padding: Padding) -> Tensor<4> {
    let load = conv_load(x.dims(), k, stride, 1, padding);
    let [t, b, l, r] = load.pad;
    match load.mode {
        PadKind::Reflect => reflect_pad(x, t), // the same p on every side
        PadKind::Edge => x.pad([(0, 0), (0, 0), (t, b), (l, r)], PadMode::Edge),
        PadKind::Zero => x.pad([(0, 0), (0, 0), (t, b), (l, r)], PadMode::Constant(0.0)),
    }
}

/// Reflection padding of p on the last two dims (p < h, w) by slicing, flipping and concatenating:
/// two copies instead of the several of burn's generic pad (2x faster on flex).
pub fn reflect_pad(x: Tensor<4>, p: usize) -> Tensor<4> {
    if p == 0 {
        return x;
    }
    let [_, _, h, w] = x.dims();
    let top = x.clone().narrow(2, 1, p).flip([2]);
    let bottom = x.clone().narrow(2, h - 1 - p, p).flip([2]);
    let x = Tensor::cat(vec![top, x, bottom], 2);
    let left = x.clone().narrow(3, 1, p).flip([3]);
    let right = x.clone().narrow(3, w - 1 - p, p).flip([3]);
    Tensor::cat(vec![left, x, right], 3)
}

/// TensorFlow "SAME" padding (before, after) for size n, kernel k, stride s.
pub fn tf_same(n: usize, k: usize, s: usize) -> (usize, usize) {
    let out = n.div_ceil(s);
    let total = ((out - 1) * s + k).saturating_sub(n);
    (total / 2, total - total / 2)
}

/// A convolution of an already padded input. On burn's CPU backend (flex), whose im2col path
/// handles it badly, a 9x9 convolution to few channels is reformulated with the same arithmetic:
/// a 1x9 convolution with the 9 kernel rows as extra output channels, summed shifted (2.8x
/// faster for the last layer at 256²; the same trick for 3x3 layers measured no gain).
fn conv(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>, stride: usize) -> Tensor<4> {
    let fast = REFORMULATE.load(std::sync::atomic::Ordering::Relaxed) && x.device() == Device::flex();
    conv_valid(x, weight, bias, stride, fast)
}

/// [`conv`] with the choice made by the caller (`reformulate`: allow the flex-friendly forms).
pub fn conv_valid(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>, stride: usize, reformulate: bool) -> Tensor<4> {
    let [cout, cin, k, _] = weight.dims();
    if !(reformulate && stride == 1 && k == 9 && cout <= 16) {
        return conv2d(x, weight, bias, ConvOptions::new([stride, stride], [0, 0], [1, 1], 1));
    }
    // [cout, cin, kh, kw] -> [kh, cout, cin, kw] -> [kh·cout, cin, 1, kw]: one 1x9 convolution
    // whose output channel group dy holds kernel row dy, then the groups summed shifted by dy.
    let [_, _, hp, wp] = x.dims();
    let (h, w) = (hp + 1 - k, wp + 1 - k);
    let y = conv2d(x, weight.permute([2, 0, 1, 3]).reshape([k * cout, cin, 1, k]), None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1));
    let out = (0..k)
        .map(|dy| y.clone().narrow(1, dy * cout, cout).narrow(2, dy, h).narrow(3, 0, w))
        .reduce(|a, b| a + b)
        .expect("k > 0");
    match bias {
        Some(b) => out + b.reshape([1, cout, 1, 1]),
        None => out,
    }
}

/// Whether [`conv`] reformulates convolutions on flex ([`set_flex_reformulation`]).
static REFORMULATE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Turns the flex-friendly convolution forms of [`conv`] on (the default) or off, to compare.
pub fn set_flex_reformulation(on: bool) {
    REFORMULATE.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Instance norm without affine: per image and channel, (x - mean) / sqrt(var + eps), biased variance.
pub fn instance_norm(x: Tensor<4>, eps: f64) -> Tensor<4> {
    let mean = x.clone().mean_dim(3).mean_dim(2);
    let centered = x - mean;
    let var = centered.clone().square().mean_dim(3).mean_dim(2);
    centered / var.add_scalar(eps).sqrt()
}
