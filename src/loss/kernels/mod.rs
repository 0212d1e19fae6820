//! Custom WGSL kernels for the hot part of every style-transfer step (Gram matrix, style loss,
//! content loss) inside burn's wgpu backend, as a burn backend extension:
//!
//! - on the wgpu backend (`Cube`, WGSL compiler) the ops launch the shaders in `shaders/`;
//! - on every other backend (flex, ndarray) the trait's default bodies run the plain-tensor
//!   reference twins in [`reference`], which are also what the tests compare against;
//! - under autodiff, hand-written backward passes (burn tensor ops: two matmuls) feed
//!   `loss.backward()`.
//!
//! Callers choose per run (`LossConfig::kernels`, CLI `--no-kernels`) between these ops and the
//! plain reference ops of [`crate::loss`] differentiated by burn's autodiff.

#![allow(deprecated)] // the extension macro names burn's NdArray backend, deprecated in 0.22

pub mod check;
mod wgsl;

pub use crate::wgsl::launches;
pub use wgsl::{SplitPolicy, set_split_policy, split_policy};

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, NdArray, backend_extension};
use burn::backend::TensorMetadata;
use burn::tensor::{Shape, Tensor};
#[cfg(feature = "fusion")]
use burn::backend::fusion::custom::TensorSpec;

/// The shape of a Gram matrix of features [b, c, h, w]: [b, c, c].
pub(crate) fn gram_shape(x: &Shape) -> Shape {
    Shape::new([x[0], x[1], x[1]])
}

/// The outputs of [`StyleOps::style_loss_sym`] as burn's fusion records them: the loss [1] and S [b, c, c].
#[cfg(feature = "fusion")]
fn style_loss_sym_outputs(x: &TensorSpec, _a: &TensorSpec, _scale: &f32) -> (TensorSpec, TensorSpec) {
    (TensorSpec::new(Shape::new([1]), x.dtype), TensorSpec::new(gram_shape(&x.shape), x.dtype))
}

// With burn's `fusion` (the crate's `fusion` feature) each op is also recorded lazily on
// `Fusion<CubeBackend>` and runs the `CubeBackend` implementation when the stream executes.
#[backend_extension(Cube, Flex, NdArray, Autodiff, Fusion: cfg(feature = "fusion"))]
pub trait StyleOps: Backend {
    /// Features [b, c, h, w] -> Gram matrices [b, c, c] = F·Fᵀ / (c·h·w).
    #[fusion(dtype = x, shape = gram_shape(x))]
    fn gram(x: FloatTensor<Self>) -> FloatTensor<Self> {
        reference::gram::<Self>(x)
    }
    /// scale · Σ(G(x) − A)², shape [1].
    #[fusion(dtype = x, shape = Shape::new([1]))]
    fn style_loss(x: FloatTensor<Self>, a: FloatTensor<Self>, scale: f32) -> FloatTensor<Self> {
        reference::style_loss::<Self>(x, a, scale)
    }
    /// (scale · Σ(G(x) − A)² with shape [1], S = (G − A) + (G − A)ᵀ): the loss and the [b, c, c]
    /// matrix its gradient is made of (dL/dF = scale · 2 S F / (c·h·w)).
    #[fusion(meta = style_loss_sym_outputs)]
    fn style_loss_sym(x: FloatTensor<Self>, a: FloatTensor<Self>, scale: f32) -> (FloatTensor<Self>, FloatTensor<Self>) {
        reference::style_loss_sym::<Self>(x, a, scale)
    }
    /// scale · Σ(x − p)², shape [1].
    #[fusion(dtype = x, shape = Shape::new([1]))]
    fn content_loss(x: FloatTensor<Self>, p: FloatTensor<Self>, scale: f32) -> FloatTensor<Self> {
        reference::content_loss::<Self>(x, p, scale)
    }
}

impl StyleOps for NdArray {}
impl StyleOps for Flex {}

/// The plain-tensor twins of the kernels (backend-generic primitive ops).
pub mod reference {
    use super::*;

    pub fn gram<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
        let [b, c, h, w] = x.shape().dims::<4>();
        let f = B::float_reshape(x, Shape::new([b, c, h * w])); // [b, c, hw]
        let ft = B::float_swap_dims(f.clone(), 1, 2); // [b, hw, c]
        B::float_div_scalar(B::float_matmul(f, ft), ((c * h * w) as f32).into()) // [b, c, c]
    }

    /// Σ(x − y)², shape [1].
    pub fn sum_sq_diff<B: Backend>(x: FloatTensor<B>, y: FloatTensor<B>) -> FloatTensor<B> {
        let d = B::float_sub(x, y);
        B::float_sum(B::float_mul(d.clone(), d))
    }

    pub fn style_loss<B: Backend>(x: FloatTensor<B>, a: FloatTensor<B>, scale: f32) -> FloatTensor<B> {
        B::float_mul_scalar(sum_sq_diff::<B>(gram::<B>(x), a), scale.into())
    }

    pub fn style_loss_sym<B: Backend>(x: FloatTensor<B>, a: FloatTensor<B>, scale: f32) -> (FloatTensor<B>, FloatTensor<B>) {
        let d = B::float_sub(gram::<B>(x), a);
        let loss = B::float_mul_scalar(B::float_sum(B::float_mul(d.clone(), d.clone())), scale.into());
        (loss, B::float_add(d.clone(), B::float_swap_dims(d, 1, 2)))
    }

    pub fn content_loss<B: Backend>(x: FloatTensor<B>, p: FloatTensor<B>, scale: f32) -> FloatTensor<B> {
        B::float_mul_scalar(sum_sq_diff::<B>(x, p), scale.into())
    }
}

/// Reshape a [1] upstream gradient to rank `r` so that it broadcasts.
fn broadcast_scalar<B: Backend>(g: FloatTensor<B>, r: usize) -> FloatTensor<B> {
    B::float_reshape(g, Shape::from(vec![1usize; r]))
}

#[derive(Debug)]
struct GramBackward;

impl<B: Backend> Backward<B, 1> for GramBackward {
    type State = FloatTensor<B>; // x [b, c, h, w]

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let dg = grads.consume::<B>(&ops.node); // [b, c, c]
        if let Some(node) = node_x {
            let x = ops.state;
            let [b, c, h, w] = x.shape().dims::<4>();
            let f = B::float_reshape(x, Shape::new([b, c, h * w]));
            let sym = B::float_add(dg.clone(), B::float_swap_dims(dg, 1, 2)); // dG + dGᵀ
            let dx = B::float_div_scalar(B::float_matmul(sym, f), ((c * h * w) as f32).into());
            grads.register::<B>(node.id, B::float_reshape(dx, Shape::new([b, c, h, w])));
        }
    }
}

#[derive(Debug)]
struct StyleLossBackward;

impl<B: Backend> Backward<B, 2> for StyleLossBackward {
    /// (x, S = (G − A) + (G − A)ᵀ, D = G − A when A itself needs a gradient, scale)
    type State = (FloatTensor<B>, FloatTensor<B>, Option<FloatTensor<B>>, f32);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_a] = ops.parents;
        let g = broadcast_scalar::<B>(grads.consume::<B>(&ops.node), 3);
        let (x, s, d, scale) = ops.state;
        if let Some(node) = node_x {
            // dL/dF = g · scale · 2 S F / (c·h·w): the factors go on the small c×c matrix, so the
            // big [c, h·w] result comes straight out of one matmul.
            let [b, c, h, w] = x.shape().dims::<4>();
            let f = B::float_reshape(x, Shape::new([b, c, h * w]));
            let factor = B::float_mul_scalar(g.clone(), (2.0 * scale / (c * h * w) as f32).into());
            let dx = B::float_matmul(B::float_mul(s, factor), f);
            grads.register::<B>(node.id, B::float_reshape(dx, Shape::new([b, c, h, w])));
        }
        if let (Some(node), Some(d)) = (node_a, d) {
            grads.register::<B>(node.id, B::float_mul(d, B::float_mul_scalar(g, (-2.0 * scale).into())));
        }
    }
}

#[derive(Debug)]
struct ContentLossBackward;

impl<B: Backend> Backward<B, 2> for ContentLossBackward {
    type State = (FloatTensor<B>, f32); // (D = x − p, scale)

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_p] = ops.parents;
        let (d, scale) = ops.state;
        let g = broadcast_scalar::<B>(grads.consume::<B>(&ops.node), d.shape().num_dims());
        // One pass over the feature map: D · (2 · scale · g).
        let dx = B::float_mul(d, B::float_mul_scalar(g, (2.0 * scale).into()));
        if let Some(node) = node_p {
            grads.register::<B>(node.id, B::float_neg(dx.clone()));
        }
        if let Some(node) = node_x {
            grads.register::<B>(node.id, dx);
        }
    }
}

impl<B: Backend + StyleOps, C: CheckpointStrategy> StyleOps for Autodiff<B, C> {
    fn gram(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let node = x.node();
        let xp = x.into_primitive();
        match GramBackward.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let out = B::gram(xp.clone());
                prep.finish(xp, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::gram(xp)),
        }
    }

    fn style_loss(x: FloatTensor<Self>, a: FloatTensor<Self>, scale: f32) -> FloatTensor<Self> {
        let (nx, na) = (x.node(), a.node());
        let a_needs_grad = a.is_tracked();
        let (xp, ap) = (x.into_primitive(), a.into_primitive());
        match StyleLossBackward.prepare::<C>([nx, na]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (loss, s) = B::style_loss_sym(xp.clone(), ap.clone(), scale);
                // The target's gradient (never needed by burnish itself) takes one more Gram.
                let d = a_needs_grad.then(|| B::float_sub(B::gram(xp.clone()), ap));
                prep.finish((xp, s, d, scale), loss)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::style_loss(xp, ap, scale)),
        }
    }

    fn content_loss(x: FloatTensor<Self>, p: FloatTensor<Self>, scale: f32) -> FloatTensor<Self> {
        let (nx, np) = (x.node(), p.node());
        let (xp, pp) = (x.into_primitive(), p.into_primitive());
        match ContentLossBackward.prepare::<C>([nx, np]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let d = B::float_sub(xp.clone(), pp.clone());
                prep.finish((d, scale), B::content_loss(xp, pp, scale))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::content_loss(xp, pp, scale)),
        }
    }
}

/// Gram matrices [b, c, c] of features [b, c, h, w] through the extension (kernel on wgpu).
pub fn gram(x: Tensor<4>) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as StyleOps>::gram(x.into_dispatch()))
}

/// Style loss of one layer: mean over [b, c, c] of (G(x) − A)².
pub fn style_loss(x: Tensor<4>, target_gram: Tensor<3>) -> Tensor<1> {
    let [b, c, _] = target_gram.dims();
    let scale = 1.0 / (b * c * c) as f32;
    Tensor::from_dispatch(<Dispatch as StyleOps>::style_loss(x.into_dispatch(), target_gram.into_dispatch(), scale))
}

/// Content loss: mean over all elements of (x − p)².
pub fn content_loss(x: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
    let scale = 1.0 / target.shape().num_elements() as f32;
    Tensor::from_dispatch(<Dispatch as StyleOps>::content_loss(x.into_dispatch(), target.into_dispatch(), scale))
}
