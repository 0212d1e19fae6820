//! The losses. The plain tensor operations here are the reference; on wgpu the same losses run
//! as the WGSL kernels of [`kernels`] unless they are switched off. [`perceptual`] puts them
//! together through VGG19 ([`LossConfig`], [`PerceptualLoss`]).
//!
//! - Gram matrix: G = F Fᵀ / (C·H·W) per image, F the [C, H·W] feature map.
//! - Content loss: mean squared error of features at the content layer.
//! - Style loss: sum over style layers of the mean squared error between Gram matrices.
//! - Total variation: mean squared difference of vertically plus horizontally adjacent pixels.

pub mod kernels;
pub mod perceptual;

pub use perceptual::{LossConfig, LossTargets, LossTerms, PerceptualLoss};

use burn::tensor::Tensor;

/// Gram matrices: through [`kernels`] (WGSL on wgpu) or [`gram_reference`].
pub fn gram(features: Tensor<4>, kernels: bool) -> Tensor<3> {
    if kernels { kernels::gram(features) } else { gram_reference(features) }
}

/// Gram matrices of a batch of feature maps: [b, c, h, w] -> [b, c, c], divided by c·h·w.
pub fn gram_reference(features: Tensor<4>) -> Tensor<3> {
    let [b, c, h, w] = features.dims();
    let f = features.reshape([b, c, h * w]); // [b, c, hw]
    let ft = f.clone().swap_dims(1, 2); // [b, hw, c]
    f.matmul(ft).div_scalar((c * h * w) as f64) // [b, c, c]
}

/// Mean squared error over all elements, shape [1].
pub fn mse<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<1> {
    (a - b).square().mean()
}

/// Content loss: MSE between features and target features.
pub fn content_loss(features: Tensor<4>, target: Tensor<4>, kernels: bool) -> Tensor<1> {
    if kernels { kernels::content_loss(features, target) } else { mse(features, target) }
}

/// Style loss for one layer: MSE between the Gram matrix of `features` and `target_gram`.
pub fn style_layer_loss(features: Tensor<4>, target_gram: Tensor<3>, kernels: bool) -> Tensor<1> {
    if kernels {
        kernels::style_loss(features, target_gram)
    } else {
        mse(gram_reference(features), target_gram)
    }
}

/// Total variation of an image batch [b, 3, h, w], shape [1].
pub fn total_variation(x: Tensor<4>) -> Tensor<1> {
    let [_, _, h, w] = x.dims();
    let mut tv = x.zeros_like().sum();
    if h > 1 {
        let dy = x.clone().narrow(2, 1, h - 1) - x.clone().narrow(2, 0, h - 1);
        tv = tv + dy.square().mean();
    }
    if w > 1 {
        let dx = x.clone().narrow(3, 1, w - 1) - x.narrow(3, 0, w - 1);
        tv = tv + dx.square().mean();
    }
    tv
}
