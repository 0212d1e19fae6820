//! The flex (CPU) implementation of [`ConvOps`]' instance norm: one read for the statistics and
//! one pass that normalises, scales, shifts and applies the ReLU or adds the residual, over each
//! (image, channel) plane in parallel, instead of burn's ~10 full-tensor passes. The convolutions
//! stay burn's on flex (see [`super::uses_kernel`]).

use burn::backend::flex::FlexTensor;
use burn::backend::{Flex, TensorMetadata};
use burn::tensor::{DType, TensorData};
use rayon::prelude::*;

use super::reference;

/// The mean and the biased variance of one plane, two passes summed in f32 lanes (so they
/// vectorise) and totalled in f64.
fn plane_stats(v: &[f32]) -> (f64, f64) {
    const L: usize = 16;
    let lanes_sum = |f: &dyn Fn(f32) -> f32| {
        let mut acc = [0f32; L];
        let chunks = v.chunks_exact(L);
        let tail: f64 = chunks.remainder().iter().map(|&x| f(x) as f64).sum();
        for c in chunks {
            for (a, &x) in acc.iter_mut().zip(c) {
                *a += f(x);
            }
        }
        acc.iter().map(|&a| a as f64).sum::<f64>() + tail
    };
    let n = v.len() as f64;
    let mean = lanes_sum(&|x| x) / n;
    let m = mean as f32;
    let var = lanes_sum(&|x| (x - m) * (x - m)) / n;
    (mean, var)
}

/// x [b, c, h, w] → instance norm (biased variance) · scale [c] + shift [c], then ReLU if
/// `relu`, then + skip [b, c, h, w].
pub(super) fn instance_norm(x: FlexTensor, scale: FlexTensor, shift: FlexTensor, skip: Option<FlexTensor>, relu: bool, eps: f32) -> FlexTensor {
    let all_f32 = [Some(&x), Some(&scale), Some(&shift), skip.as_ref()].iter().flatten().all(|t| t.dtype() == DType::F32);
    if !all_f32 {
        return reference::instance_norm_layer::<Flex>(x, scale, shift, skip, relu, eps);
    }
    let shape = x.shape();
    let [_, c, h, w] = shape.dims::<4>();
    let hw = (h * w).max(1);
    let (x, scale, shift, skip) = (x.to_contiguous(), scale.to_contiguous(), shift.to_contiguous(), skip.map(|s| s.to_contiguous()));
    let xs = x.as_slice::<f32>().expect("contiguous f32");
    let (sc, sh) = (scale.as_slice::<f32>().expect("contiguous f32"), shift.as_slice::<f32>().expect("contiguous f32"));
    let ss = skip.as_ref().map(|s| s.as_slice::<f32>().expect("contiguous f32"));
    let mut out = vec![0f32; xs.len()];
    out.par_chunks_mut(hw).zip(xs.par_chunks(hw)).enumerate().for_each(|(plane, (o, xp))| {
        let ch = plane % c;
        let (mean, var) = plane_stats(xp);
        // y = (x − mean) / √(var + eps) · scale + shift = x · a + b
        let a = sc[ch] as f64 / (var + eps as f64).sqrt();
        let (a, b) = (a as f32, (sh[ch] as f64 - mean * a) as f32);
        match ss {
            Some(s) => {
                let sp = &s[plane * hw..(plane + 1) * hw];
                for ((y, &v), &k) in o.iter_mut().zip(xp).zip(sp) {
                    let t = v * a + b;
                    *y = if relu { t.max(0.0) } else { t } + k;
                }
            }
            None if relu => o.iter_mut().zip(xp).for_each(|(y, &v)| *y = (v * a + b).max(0.0)),
            None => o.iter_mut().zip(xp).for_each(|(y, &v)| *y = v * a + b),
        }
    });
    FlexTensor::from_data(TensorData::new(out, shape))
}
