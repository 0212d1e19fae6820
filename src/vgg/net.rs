//! VGG19 as a frozen loss network with named taps (`conv1_1` .. `conv5_4`, pre- and post-ReLU).

use burn::tensor::activation::relu;
use burn::tensor::module::{conv2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, TensorData};

use super::weights::{InputConvention, VggWeights};
use crate::conv::{ConvLoad, PadKind, load_conv2d, uses_kernel};
use super::taps::{BLOCK_STARTS, Tap};

/// VGG19's 16 convolutions on a device, with the input normalisation folded in.
#[derive(Clone, Debug)]
pub struct Vgg19 {
    weights: Vec<Tensor<4>>,
    biases: Vec<Tensor<1>>,
    mean: Tensor<4>,
    inv_std: Tensor<4>,
    pub convention: InputConvention,
    /// Every activation is divided by this (see [`Vgg19::new`]).
    pub feature_scale: f64,
}

impl Vgg19 {
    /// Put the weights on `device`. `feature_scale` k divides the first convolution's weights and
    /// every bias by k; since ReLU and max-pooling are positively homogeneous, every activation is
    /// then exactly 1/k of the original, content losses scale by 1/k^2 and style losses by 1/k^4.
    pub fn new(w: &VggWeights, feature_scale: f64, device: &Device) -> Self {
        let k = feature_scale as f32;
        let mut weights = Vec::with_capacity(16);
        let mut biases = Vec::with_capacity(16);
        for (i, c) in w.convs.iter().enumerate() {
            let mut weight = c.weight.clone();
            if i == 0 {
                if w.convention == InputConvention::CaffeBgr {
                    // The file's first layer reads BGR; reorder its inputs so it reads RGB.
                    let plane = 9;
                    for o in 0..c.out_channels {
                        let base = o * c.in_channels * plane;
                        for p in 0..plane {
                            weight.swap(base + p, base + 2 * plane + p);
                        }
                    }
                }
                weight.iter_mut().for_each(|v| *v /= k);
            }
            let bias: Vec<f32> = c.bias.iter().map(|v| v / k).collect();
            weights.push(Tensor::from_data(TensorData::new(weight, [c.out_channels, c.in_channels, 3, 3]), device));
            biases.push(Tensor::from_data(TensorData::new(bias, [c.out_channels]), device));
        }
        let (mean, std) = w.convention.rgb_mean_std();
        let inv: Vec<f32> = std.iter().map(|s| 1.0 / s).collect();
        Self {
            weights,
            biases,
            mean: Tensor::from_data(TensorData::new(mean.to_vec(), [1, 3, 1, 1]), device),
            inv_std: Tensor::from_data(TensorData::new(inv, [1, 3, 1, 1]), device),
            convention: w.convention,
            feature_scale,
        }
    }

    /// Features at `taps` (in the order given) for an RGB 0..1 batch `x`: [b, 3, h, w].
    /// Runs only as deep as the deepest tap.
    pub fn forward(&self, x: Tensor<4>, taps: &[Tap]) -> Vec<Tensor<4>> {
        let mut out: Vec<Option<Tensor<4>>> = vec![None; taps.len()];
        let Some(last) = taps.iter().map(|t| t.conv).max() else { return Vec::new() };
        let kernel = uses_kernel(&x.device());
        let mut h = (x - self.mean.clone()) * self.inv_std.clone(); // [b, 3, h, w]
        for i in 0..=last {
            if i > 0 && BLOCK_STARTS.contains(&i) {
                h = max_pool2d(h, MaxPoolOptions::new([2, 2])); // [b, c, h/2, w/2]
            }
            let (weight, bias) = (self.weights[i].clone(), self.biases[i].clone());
            h = if kernel {
                load_conv2d(h, weight, bias, ConvLoad::padded(1, 1, PadKind::Zero))
            } else {
                conv2d(h, weight, Some(bias), ConvOptions::new([1, 1], [1, 1], [1, 1], 1))
            }; // [b, c_out, h, w]
            for (slot, t) in out.iter_mut().zip(taps) {
                if t.conv == i && !t.relu {
                    *slot = Some(h.clone());
                }
            }
            h = relu(h);
            for (slot, t) in out.iter_mut().zip(taps) {
                if t.conv == i && t.relu {
                    *slot = Some(h.clone());
                }
            }
        }
        out.into_iter().map(|t| t.expect("every tap is at or before the deepest")).collect()
    }
}
