//! burnish in the browser: runs burnish's WGSL kernels (Gram matrix, fused style loss, content
//! loss; forward and backward) on the page's WebGPU device and compares them with their
//! plain-tensor reference twins, the same checks `tests/numeric.rs` runs natively on lavapipe.
//!
//! `check.html` calls [`check_kernels`] and prints the JSON report to the console; the headless
//! Chromium test (`web/tests/kernels.mjs`) reads it from there.

use burn::tensor::{Device, Tensor, TensorData};
use burnish::kernels;
use burnish::loss::{content_loss, gram_reference, style_layer_loss};

/// The shapes of `tests/numeric.rs` (tile remainders, 1×1 maps, c = 512, batch > 1, k split over
/// workgroups) plus the four real VGG19 style-layer shapes of a 128² image.
pub const SHAPES: [[usize; 4]; 10] = [
    [1, 3, 5, 7],
    [1, 64, 1, 1],
    [1, 512, 4, 4],
    [2, 17, 9, 10],
    [1, 64, 64, 64],
    [3, 33, 2, 3],
    [1, 64, 128, 128],
    [1, 128, 64, 64],
    [1, 256, 32, 32],
    [1, 512, 16, 16],
];

/// Tolerance on every comparison: 1e-4 of the largest magnitude (f32 sums in another order).
pub const TOLERANCE: f32 = 1e-4;

fn pseudo_random(n: usize, seed: u32) -> Vec<f32> {
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

fn max_rel_err(a: &[f32], b: &[f32]) -> f32 {
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

/// Runs every check on `device`; the report says per shape the errors found and whether they are
/// within [`TOLERANCE`], and how many WGSL kernels were launched.
pub async fn run_checks(device: &Device, adapter: serde_json::Value) -> Result<serde_json::Value, String> {
    let launches_before = kernels::launches();
    let mut rows = Vec::new();
    let mut all_ok = true;
    for (i, [b, c, h, w]) in SHAPES.into_iter().enumerate() {
        let n = b * c * h * w;
        let x = tensor(pseudo_random(n, 1 + i as u32), [b, c, h, w], device);
        let a = tensor(pseudo_random(b * c * c, 100 + i as u32), [b, c, c], device).mul_scalar(0.1);
        let p = tensor(pseudo_random(n, 200 + i as u32), [b, c, h, w], device);

        let gram_err = max_rel_err(&vals(kernels::gram(x.clone())).await?, &vals(gram_reference(x.clone())).await?);
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
        all_ok &= ok;
        rows.push(serde_json::json!({
            "shape": [b, c, h, w],
            "gram_rel_err": gram_err,
            "style_loss_forward": { "kernels": fwd_k, "reference": fwd_r, "rel_err": fwd_err },
            "loss_with_grad": { "kernels": loss[0], "reference": loss[1], "rel_err": loss_err },
            "grad_rel_err": grad_err,
            "ok": ok,
        }));
    }
    let launched = kernels::launches() - launches_before;
    // Per shape at least: the Gram, the forward-only style loss, the style loss with its
    // backward matrix and the content loss.
    let kernels_ran = launched >= 4 * SHAPES.len();
    Ok(serde_json::json!({
        "adapter": adapter,
        "tolerance": TOLERANCE,
        "shapes": rows,
        "wgsl_launches": launched,
        "kernels_ran": kernels_ran,
        "ok": all_ok && kernels_ran,
    }))
}

#[cfg(target_arch = "wasm32")]
mod browser {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = console)]
        fn error(s: &str);
    }

    /// Initialises burn's wgpu backend on the browser's WebGPU adapter and runs the checks;
    /// resolves to the JSON report (a string), rejects with a message.
    #[wasm_bindgen]
    pub async fn check_kernels() -> Result<String, JsValue> {
        std::panic::set_hook(Box::new(|p| error(&format!("panic: {p}"))));
        let (device, setup) = burn::tensor::Device::wgpu_options()
            .init_with_setup_async()
            .await
            .map_err(|e| JsValue::from_str(&format!("no WebGPU device: {e}")))?;
        let info = setup.adapter.get_info();
        let limits = setup.adapter.limits();
        let features = setup.adapter.features();
        let adapter = serde_json::json!({
            "name": info.name,
            "backend": format!("{:?}", info.backend),
            "device_type": format!("{:?}", info.device_type),
            "driver": info.driver,
            "max_compute_invocations_per_workgroup": limits.max_compute_invocations_per_workgroup,
            "max_compute_workgroup_storage_size": limits.max_compute_workgroup_storage_size,
            "shader_f16": features.contains(burn::backend::wgpu::wgpu::Features::SHADER_F16),
        });
        let report = super::run_checks(&device, adapter).await.map_err(|e| JsValue::from_str(&e))?;
        Ok(report.to_string())
    }
}
