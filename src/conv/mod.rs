//! The 2-D convolutions of the style networks and VGG19 with their input's padding and nearest
//! upsampling folded into the load ([`ConvLoad`]), as a burn backend extension in the house style
//! of [`crate::loss::kernels`]:
//!
//! - on the wgpu backend (`Cube`, WGSL compiler) the op launches `shaders/conv2d.wgsl`, an
//!   implicit GEMM that reads the padded, upsampled input through index arithmetic instead of
//!   materialising it, or `shaders/conv2d_direct.wgsl`, a direct convolution with the same load
//!   (on CPU adapters and for ≤ 4 output channels: [`ForwardKernel`]);
//! - on every other backend the trait's default body runs the reference twin in [`reference`]
//!   (burn's upsample, pad and convolution), which is also what the tests compare against;
//! - under autodiff, the backward pass runs the input gradient of a stride-1 convolution through
//!   the same op (a convolution of the output gradient with the flipped, transposed weights) and
//!   the weight gradient through [`ConvOps::load_conv2d_weight_backward`] (on wgpu
//!   `shaders/conv2d_weight_grad.wgsl`, the same load), a strided input gradient through burn's
//!   ops, and folds the gradient of the padding and upsampling back.

#![allow(deprecated)] // the extension macro names burn's NdArray backend, deprecated in 0.22

pub mod check;
mod flex;
mod wgsl;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, NdArray, TensorMetadata, backend_extension};
use burn::tensor::ops::{ConvOptions, InterpolateMode, InterpolateOptions, PadMode};
use burn::tensor::{Device, Shape, Slice, Tensor};

/// What fills the border of a convolution's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PadKind {
    Zero,
    /// Reflection excluding the edge (PyTorch's `ReflectionPad2d`); the padding must be smaller
    /// than the (upsampled) input.
    Reflect,
    /// The edge value repeated.
    Edge,
}

/// How a convolution reads its input: optionally upsampled 2x (nearest), then padded by
/// `pad` = (top, bottom, left, right) pixels of the upsampled image, then strided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConvLoad {
    pub stride: usize,
    /// 1, or 2 for nearest-neighbour 2x upsampling.
    pub upsample: usize,
    pub pad: [usize; 4],
    pub mode: PadKind,
}

impl ConvLoad {
    /// No padding, no upsampling.
    pub fn valid(stride: usize) -> Self {
        Self { stride, upsample: 1, pad: [0; 4], mode: PadKind::Zero }
    }

    /// The same padding p on every side.
    pub fn padded(stride: usize, p: usize, mode: PadKind) -> Self {
        Self { stride, upsample: 1, pad: [p; 4], mode }
    }

    /// Output [height, width] for an input of h × w and a kernel of side k.
    pub fn output_size(&self, h: usize, w: usize, k: usize) -> [usize; 2] {
        let [t, b, l, r] = self.pad;
        let (vh, vw) = (h * self.upsample + t + b, w * self.upsample + l + r);
        [(vh - k) / self.stride + 1, (vw - k) / self.stride + 1]
    }

    /// The output shape [b, cout, ho, wo] of the convolution of x [b, cin, h, w] with weight
    /// [cout, cin, k, k] read this way (also what burn's fusion records before a kernel runs).
    pub fn output_shape(&self, x: &Shape, weight: &Shape) -> Shape {
        let [ho, wo] = self.output_size(x[2], x[3], weight[2]);
        Shape::new([x[0], weight[0], ho, wo])
    }
}

// With burn's `fusion` (the crate's `fusion` feature) each op is also recorded lazily on
// `Fusion<CubeBackend>` and runs the `CubeBackend` implementation when the stream executes.
#[backend_extension(Cube, Flex, NdArray, Autodiff, Fusion: cfg(feature = "fusion"))]
pub trait ConvOps: Backend {
    /// x [b, cin, h, w], weight [cout, cin, k, k], bias [cout] -> [b, cout, ho, wo]: the
    /// convolution of x as `load` reads it.
    #[fusion(dtype = x, shape = load.output_shape(x, weight))]
    fn load_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>, load: ConvLoad) -> FloatTensor<Self> {
        reference::load_conv2d::<Self>(x, weight, bias, load)
    }

    /// The weight gradient of [`ConvOps::load_conv2d`]: x [b, cin, h, w] as `load` reads it and
    /// the output gradient dy [b, cout, ho, wo] -> [cout, cin, k, k] (the shape of `weight`).
    #[fusion(dtype = x, shape = weight)]
    fn load_conv2d_weight_backward(x: FloatTensor<Self>, weight: FloatTensor<Self>, dy: FloatTensor<Self>, load: ConvLoad) -> FloatTensor<Self> {
        reference::load_conv2d_weight_backward::<Self>(x, weight, dy, load)
    }

    /// The rest of a normalised layer: instance norm of x [b, c, h, w] (biased variance), then the
    /// affine scale, shift [c], then ReLU if `relu`.
    #[fusion(dtype = x, shape = x)]
    fn instance_norm_layer(x: FloatTensor<Self>, scale: FloatTensor<Self>, shift: FloatTensor<Self>, relu: bool, eps: f32) -> FloatTensor<Self> {
        reference::instance_norm_layer::<Self>(x, scale, shift, None, relu, eps)
    }

    /// The end of a residual block: instance norm of x, the affine, then + skip [b, c, h, w].
    #[fusion(dtype = x, shape = x)]
    fn instance_norm_residual(x: FloatTensor<Self>, scale: FloatTensor<Self>, shift: FloatTensor<Self>, skip: FloatTensor<Self>, eps: f32) -> FloatTensor<Self> {
        reference::instance_norm_layer::<Self>(x, scale, shift, Some(skip), false, eps)
    }
}

impl ConvOps for NdArray {}

impl ConvOps for Flex {
    fn instance_norm_layer(x: FloatTensor<Self>, scale: FloatTensor<Self>, shift: FloatTensor<Self>, relu: bool, eps: f32) -> FloatTensor<Self> {
        flex::instance_norm(x, scale, shift, None, relu, eps)
    }

    fn instance_norm_residual(x: FloatTensor<Self>, scale: FloatTensor<Self>, shift: FloatTensor<Self>, skip: FloatTensor<Self>, eps: f32) -> FloatTensor<Self> {
        flex::instance_norm(x, scale, shift, Some(skip), false, eps)
    }
}

/// The plain-tensor twins (backend-generic primitive ops) and the adjoint of the load.
pub mod reference {
    use super::*;

    fn burn_mode(mode: PadKind) -> PadMode {
        match mode {
            PadKind::Zero => PadMode::Constant(0.0),
            PadKind::Reflect => PadMode::Reflect,
            PadKind::Edge => PadMode::Edge,
        }
    }

    /// The input as `load` reads it, materialised: [b, c, h·up + t + b, w·up + l + r].
    pub fn load_input<B: Backend>(x: FloatTensor<B>, load: ConvLoad) -> FloatTensor<B> {
        let [_, _, h, w] = x.shape().dims::<4>();
        let x = if load.upsample > 1 {
            let up = load.upsample;
            B::interpolate(x, [h * up, w * up], InterpolateOptions::new(InterpolateMode::Nearest))
        } else {
            x
        };
        let [t, b, l, r] = load.pad;
        if t + b + l + r == 0 {
            return x;
        }
        B::float_pad(x, &[(0, 0), (0, 0), (t, b), (l, r)], burn_mode(load.mode))
    }

    pub fn load_conv2d<B: Backend>(x: FloatTensor<B>, weight: FloatTensor<B>, bias: FloatTensor<B>, load: ConvLoad) -> FloatTensor<B> {
        let s = load.stride;
        B::conv2d(load_input::<B>(x, load), weight, Some(bias), ConvOptions::new([s, s], [0, 0], [1, 1], 1))
    }

    pub fn load_conv2d_weight_backward<B: Backend>(x: FloatTensor<B>, weight: FloatTensor<B>, dy: FloatTensor<B>, load: ConvLoad) -> FloatTensor<B> {
        let s = load.stride;
        B::conv2d_weight_backward(load_input::<B>(x, load), weight, dy, ConvOptions::new([s, s], [0, 0], [1, 1], 1))
    }

    pub fn instance_norm_layer<B: Backend>(x: FloatTensor<B>, scale: FloatTensor<B>, shift: FloatTensor<B>, skip: Option<FloatTensor<B>>, relu: bool, eps: f32) -> FloatTensor<B> {
        let c = x.shape().dims::<4>()[1];
        let mean = B::float_mean_dim(B::float_mean_dim(x.clone(), 3), 2); // [b, c, 1, 1]
        let centered = B::float_sub(x, mean);
        let var = B::float_mean_dim(B::float_mean_dim(B::float_mul(centered.clone(), centered.clone()), 3), 2);
        let norm = B::float_div(centered, B::float_sqrt(B::float_add_scalar(var, eps.into())));
        let per_channel = |t: FloatTensor<B>| B::float_reshape(t, Shape::new([1, c, 1, 1]));
        let y = B::float_add(B::float_mul(norm, per_channel(scale)), per_channel(shift));
        let y = if relu { B::relu(y) } else { y };
        match skip {
            Some(s) => B::float_add(y, s),
            None => y,
        }
    }

    fn narrow<B: Backend>(x: FloatTensor<B>, dim: usize, start: usize, len: usize) -> FloatTensor<B> {
        let mut slices = vec![Slice::from(..); x.shape().num_dims()];
        slices[dim] = Slice::from(start..start + len);
        B::float_slice(x, &slices)
    }

    fn pad_dim<B: Backend>(x: FloatTensor<B>, dim: usize, before: usize, after: usize) -> FloatTensor<B> {
        let mut pads = vec![(0, 0); x.shape().num_dims()];
        pads[dim] = (before, after);
        B::float_pad(x, &pads, PadMode::Constant(0.0))
    }

    /// The adjoint of one dimension's padding: the gradient of the padded n + before + after
    /// values folded onto the n values they were read from.
    fn unpad_dim<B: Backend>(g: FloatTensor<B>, dim: usize, before: usize, after: usize, n: usize, mode: PadKind) -> FloatTensor<B> {
        if before + after == 0 {
            return g;
        }
        let mut acc = narrow::<B>(g.clone(), dim, before, n);
        match mode {
            PadKind::Zero => {}
            PadKind::Reflect => {
                // Padded position i < before reads x[before − i]: flipped, the part covers 1 ..= before.
                if before > 0 {
                    let part = B::float_flip(narrow::<B>(g.clone(), dim, 0, before), &[dim]);
                    acc = B::float_add(acc, pad_dim::<B>(part, dim, 1, n - 1 - before));
                }
                // Position n + j reads x[n − 2 − j]: flipped, the part covers n − 1 − after ..= n − 2.
                if after > 0 {
                    let part = B::float_flip(narrow::<B>(g, dim, before + n, after), &[dim]);
                    acc = B::float_add(acc, pad_dim::<B>(part, dim, n - 1 - after, 1));
                }
            }
            PadKind::Edge => {
                if before > 0 {
                    let part = B::float_sum_dim(narrow::<B>(g.clone(), dim, 0, before), dim);
                    acc = B::float_add(acc, pad_dim::<B>(part, dim, 0, n - 1));
                }
                if after > 0 {
                    let part = B::float_sum_dim(narrow::<B>(g, dim, before + n, after), dim);
                    acc = B::float_add(acc, pad_dim::<B>(part, dim, n - 1, 0));
                }
            }
        }
        acc
    }

    /// The adjoint of [`load_input`]: the gradient with respect to the loaded input folded back
    /// onto x [b, c, h, w].
    pub fn load_input_backward<B: Backend>(g: FloatTensor<B>, x_dims: [usize; 4], load: ConvLoad) -> FloatTensor<B> {
        let [b, c, h, w] = x_dims;
        let up = load.upsample;
        let [t, bm, l, r] = load.pad;
        let g = unpad_dim::<B>(g, 2, t, bm, h * up, load.mode);
        let g = unpad_dim::<B>(g, 3, l, r, w * up, load.mode); // [b, c, h·up, w·up]
        if up == 1 {
            return g;
        }
        // Nearest upsampling's adjoint: each pixel gets the sum of its up × up copies.
        let g = B::float_reshape(g, Shape::new([b, c, h, up, w, up]));
        let g = B::float_sum_dim(B::float_sum_dim(g, 5), 3);
        B::float_reshape(g, Shape::new([b, c, h, w]))
    }
}

#[derive(Debug)]
struct LoadConvBackward;

impl<B: Backend + ConvOps> Backward<B, 3> for LoadConvBackward {
    /// (x, weight, load)
    type State = (FloatTensor<B>, FloatTensor<B>, ConvLoad);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let dy = grads.consume::<B>(&ops.node); // [b, cout, ho, wo]
        let (x, weight, load) = ops.state;
        let x_dims = x.shape().dims::<4>();
        let [cout, cin, k, _] = weight.shape().dims::<4>();
        let s = load.stride;
        let options = ConvOptions::new([s, s], [0, 0], [1, 1], 1);
        if let Some(node) = node_b {
            let db = B::float_sum_dim(B::float_sum_dim(B::float_sum_dim(dy.clone(), 3), 2), 0);
            grads.register::<B>(node.id, B::float_reshape(db, Shape::new([cout])));
        }
        if let Some(node) = node_w {
            grads.register::<B>(node.id, B::load_conv2d_weight_backward(x.clone(), weight.clone(), dy.clone(), load));
        }
        if let Some(node) = node_x {
            let d_loaded = if s == 1 {
                // dL/dV = dy ⋆ flip(Wᵀ) with k − 1 zeros around: the same kernel, another load.
                let flipped = B::float_flip(B::float_swap_dims(weight, 0, 1), &[2, 3]); // [cin, cout, k, k]
                let zeros = B::float_zeros(Shape::new([cin]), &dy.device(), dy.dtype().into());
                B::load_conv2d(dy, flipped, zeros, ConvLoad::padded(1, k - 1, PadKind::Zero))
            } else {
                B::conv2d_x_backward(reference::load_input::<B>(x, load), weight, dy, options)
            };
            grads.register::<B>(node.id, reference::load_input_backward::<B>(d_loaded, x_dims, load));
        }
    }
}

impl<B: Backend + ConvOps, C: CheckpointStrategy> ConvOps for Autodiff<B, C> {
    fn load_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>, load: ConvLoad) -> FloatTensor<Self> {
        let nodes = [x.node(), weight.node(), bias.node()];
        let (xp, wp, bp) = (x.into_primitive(), weight.into_primitive(), bias.into_primitive());
        match LoadConvBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let out = B::load_conv2d(xp.clone(), wp.clone(), bp, load);
                prep.finish((xp, wp, load), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::load_conv2d(xp, wp, bp, load)),
        }
    }

    /// Under autodiff the reference ops of this backend, which burn differentiates (training
    /// keeps burn's instance norm; the fused kernel is for inference).
    fn instance_norm_layer(x: FloatTensor<Self>, scale: FloatTensor<Self>, shift: FloatTensor<Self>, relu: bool, eps: f32) -> FloatTensor<Self> {
        reference::instance_norm_layer::<Self>(x, scale, shift, None, relu, eps)
    }

    fn instance_norm_residual(x: FloatTensor<Self>, scale: FloatTensor<Self>, shift: FloatTensor<Self>, skip: FloatTensor<Self>, eps: f32) -> FloatTensor<Self> {
        reference::instance_norm_layer::<Self>(x, scale, shift, Some(skip), false, eps)
    }
}

/// Whether the networks' convolutions on `device` run through [`load_conv2d`]: on every device but
/// flex (whose own forms in the feed-forward network are faster there), unless switched off.
pub fn uses_kernel(device: &Device) -> bool {
    KERNELS.load(std::sync::atomic::Ordering::Relaxed) && *device != Device::flex()
}

/// Whether the networks' instance norms run through [`instance_norm_layer`] (on wgpu two kernels,
/// on flex one fused pass over the planes, under autodiff burn's ops), unless switched off.
pub fn fuses_norm() -> bool {
    KERNELS.load(std::sync::atomic::Ordering::Relaxed)
}

static KERNELS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Turns the convolution kernel on (the default) or off (burn's pad and conv2d), to compare.
pub fn set_kernels(on: bool) {
    KERNELS.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Which WGSL kernel runs a convolution's forward (and so its input gradient) on wgpu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardKernel {
    /// The direct kernel (`shaders/conv2d_direct.wgsl`) on a CPU adapter (lavapipe: the network
    /// 6.4x burn's ops at 256², where the GEMM kernel reached 3.1x; SwiftShader in Chromium: the
    /// light network 3.95x, the GEMM kernel 1.66-1.69x) and for ≤ 4 output channels; the GEMM
    /// kernel (`shaders/conv2d.wgsl`) on a GPU.
    Auto,
    /// The direct kernel for every convolution it covers (stride ≤ 2).
    Direct,
    /// The GEMM kernel for every convolution to more than 4 channels.
    Gemm,
}

static FORWARD_KERNEL: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Chooses the forward kernel for the whole process ([`ForwardKernel::Auto`] unless set), to compare.
pub fn set_forward_kernel(kernel: ForwardKernel) {
    FORWARD_KERNEL.store(kernel as u8, std::sync::atomic::Ordering::Relaxed);
}

pub fn forward_kernel() -> ForwardKernel {
    match FORWARD_KERNEL.load(std::sync::atomic::Ordering::Relaxed) {
        1 => ForwardKernel::Direct,
        2 => ForwardKernel::Gemm,
        _ => ForwardKernel::Auto,
    }
}

/// The convolution of x [b, cin, h, w] as `load` reads it, with weight [cout, cin, k, k] and
/// bias [cout], through the extension (the WGSL kernel on wgpu): [b, cout, ho, wo].
pub fn load_conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>, load: ConvLoad) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as ConvOps>::load_conv2d(x.into_dispatch(), weight.into_dispatch(), bias.into_dispatch(), load))
}

/// The rest of a normalised layer through the extension (on wgpu: a statistics kernel and one
/// element-wise pass, instead of burn's ~10 launches): instance norm of x [b, c, h, w], then
/// · scale + shift [c], then ReLU if `relu`, then + skip.
pub fn instance_norm_layer(x: Tensor<4>, scale: Tensor<1>, shift: Tensor<1>, skip: Option<Tensor<4>>, relu: bool, eps: f64) -> Tensor<4> {
    let (x, scale, shift, eps) = (x.into_dispatch(), scale.into_dispatch(), shift.into_dispatch(), eps as f32);
    match skip {
        // A residual block's end: no ReLU, the skip added in the same pass.
        Some(skip) if !relu => Tensor::from_dispatch(<Dispatch as ConvOps>::instance_norm_residual(x, scale, shift, skip.into_dispatch(), eps)),
        skip => {
            let y = Tensor::from_dispatch(<Dispatch as ConvOps>::instance_norm_layer(x, scale, shift, relu, eps));
            match skip {
                Some(s) => y + s,
                None => y,
            }
        }
    }
}

/// The same convolution through burn's own ops (upsample, pad, conv2d: the reference twin on
/// the tensor's backend, differentiated by burn's autodiff): the reference path.
pub fn load_conv2d_reference(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>, load: ConvLoad) -> Tensor<4> {
    Tensor::from_dispatch(reference::load_conv2d::<Dispatch>(x.into_dispatch(), weight.into_dispatch(), bias.into_dispatch(), load))
}

/// The weight gradient [cout, cin, k, k] of [`load_conv2d`] for the output gradient dy
/// [b, cout, ho, wo], through the extension (on wgpu `shaders/conv2d_weight_grad.wgsl`), or with
/// `kernel` false through the reference (burn's conv2d_weight_backward on the loaded input): to compare.
pub fn load_conv2d_weight_grad(x: Tensor<4>, weight: Tensor<4>, dy: Tensor<4>, load: ConvLoad, kernel: bool) -> Tensor<4> {
    let (x, weight, dy) = (x.into_dispatch(), weight.into_dispatch(), dy.into_dispatch());
    Tensor::from_dispatch(if kernel {
        <Dispatch as ConvOps>::load_conv2d_weight_backward(x, weight, dy, load)
    } else {
        reference::load_conv2d_weight_backward::<Dispatch>(x, weight, dy, load)
    })
}
