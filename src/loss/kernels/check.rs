//! The kernels against their reference twins on any device, forward and backward: the code behind
//! `tests/numeric.rs` (lavapipe and the CPU) and the browser page `web/check.html` (WebGPU).
//! Reads are async, so it runs in the browser too.

use burn::tensor::{Device, Tensor, TensorData};

use crate::loss::{content_loss, gram_reference, style_layer_loss};

/// Shapes that catch indexing mistakes: tile remainders, 1×1 maps, c = 512, batches, k split.
pub const AWKWARD_SHAPES: [[usize; 4]; 6] = [
    [1, 3, 5, 7],    // c and h·w not multiples of the 16-wide tile
    [1, 64, 1, 1],   // 1×1 maps
    [1, 512, 4, 4],  // c = 512 (Gram fused with the loss)
    [2, 17, 9, 10],  // batch > 1
    [1, 64, 64, 64], // k split across workgroups
    [3, 33, 2, 3],   // batch 3, c just over two tiles
];

/// VGG19's style-layer shapes for a 128² image.
pub const REAL_SHAPES_128: [[usize; 4]; 4] = [[1, 64, 128, 128], [1, 128, 64, 64], [1, 256, 32, 32], [1, 512, 16, 16]];

/// Tolerance on every comparison: 1e-4 of the largest magnitude (f32 sums in another order).
pub const TOLERANCE: f32 = 1e-4;

/// Deterministic values in [−1, 1] (xorshift), the same on every platform.
pub fn pseudo_random(n: usize, seed: u32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(2654435761).wrapping_add(12345);
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state % 20001) as f32 / 10000.0 - 1.0
        })
        .collect()
}

/// Largest |a − b| relative to the largest |b|.
pub fn max_rel_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().map(|v| v.abs()).fold(0f32, f32::max).max(1e-12);
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max) / scale
}

async fn vals<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, String> {
    let data = t.into_data_async().await.map_err(|e| format!("{e:?}"))?;
    data.try_into_vec_as::<f32>().map_err(|e| format!("{e:?}"))
}

fn tensor<const D: usize>(v: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// For each shape (inputs seeded by its position in `shapes`): the Gram matrix, the forward-only
/// style loss, and the loss 1000·style + content with its gradient, kernels against reference.
/// The report gives the errors per shape, whether each is within [`TOLERANCE`] ("ok"), and the
/// WGSL launches counted meanwhile (other work in the process counts too).
pub async fn compare(device: &Device, shapes: &[[usize; 4]]) -> Result<serde_json::Value, String> {
    let launches_before = super::launches();
    let mut rows = Vec::new();
    for (i, &[b, c, h, w]) in shapes.iter().enumerate() {
        let n = b * c * h * w;
        let x = tensor(pseudo_random(n, 1 + i as u32), [b, c, h, w], device);
        let a = tensor(pseudo_random(b * c * c, 100 + i as u32), [b, c, c], device).mul_scalar(0.1);
        let p = tensor(pseudo_random(n, 200 + i as u32), [b, c, h, w], device);

        let gram_err = max_rel_err(&vals(super::gram(x.clone())).await?, &vals(gram_reference(x.clone())).await?);
        let fwd_k = vals(style_layer_loss(x.clone(), a.clone(), true)).await?[0];
        let fwd_r = vals(style_layer_loss(x.clone(), a.clone(), false)).await?[0];

        let mut loss = [0f32; 2];
        let mut grads: Vec<Vec<f32>> = Vec::new();
        for (j, use_kernels) in [true, false].into_iter().enumerate() {
            let xa = x.clone().autodiff().require_grad();
            let l = style_layer_loss(xa.clone(), a.clone(), use_kernels).mul_scalar(1000.0) + content_loss(xa.clone(), p.clone(), use_kernels);
            let g = xa.grad(&l.backward()).ok_or("no gradient")?;
            loss[j] = vals(l.inner()).await?[0];
            grads.push(vals(g).await?);
        }
        let rel = |k: f32, r: f32| (k - r).abs() / r.abs().max(1e-12);
        let (fwd_err, loss_err, grad_err) = (rel(fwd_k, fwd_r), rel(loss[0], loss[1]), max_rel_err(&grads[0], &grads[1]));
        let ok = [gram_err, fwd_err, loss_err, grad_err].iter().all(|e| e.is_finite() && *e < TOLERANCE);
        rows.push(serde_json::json!({
            "shape": [b, c, h, w],
            "gram_rel_err": gram_err,
            "style_loss_forward": { "kernels": fwd_k, "reference": fwd_r, "rel_err": fwd_err },
            "loss_with_grad": { "kernels": loss[0], "reference": loss[1], "rel_err": loss_err },
            "grad_rel_err": grad_err,
            "ok": ok,
        }));
    }
    let ok = rows.iter().all(|r| r["ok"] == true);
    Ok(serde_json::json!({
        "tolerance": TOLERANCE,
        "shapes": rows,
        "wgsl_launches": super::launches() - launches_before,
        "ok": ok,
    }))
}
