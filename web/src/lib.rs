//! burnish in the browser, on the page's WebGPU device:
//! - [`run_checks`] (`check_kernels` in JS, page `check.html`): burnish's WGSL kernels (Gram
//!   matrix, fused style loss, content loss; forward and backward) against their plain-tensor
//!   reference twins, the same checks `tests/numeric.rs` runs natively on lavapipe;
//! - [`stylize_check`] (`check_stylize`, page `stylize.html`): a style network against the native
//!   CLI's output for the same photo.
//!
//! The pages print their JSON reports to the console; the headless Chromium test
//! (`web/tests/page.mjs`) reads them from there.

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

/// Stylizes `input_png` with the network in `model` (burnish safetensors) on `device` and compares
/// the 8-bit result with `reference_png` (the native CLI's output for the same input and model).
/// Returns the report and the result as RGB bytes.
pub async fn stylize_check(device: &Device, model: &[u8], input_png: &[u8], reference_png: &[u8]) -> Result<(serde_json::Value, image::RgbImage), String> {
    use burnish::imageio::RgbF32;
    use burnish::model::{netio, transformer::TransformerNet};
    let file = netio::load_safetensors(model, std::path::Path::new("model.safetensors")).map_err(|e| e.to_string())?;
    let net = TransformerNet::from_values(file.spec, file.values, device);
    let input = image::load_from_memory(input_png).map_err(|e| format!("input: {e}"))?.to_rgb8();
    let (w, h) = input.dimensions();
    let x = burnish::stylize::gatys::image_tensor(&RgbF32::from_rgb8(&input), device);
    let out = burnish::stylize::gatys::tensor_image_async(&net.stylize(x), w, h).await.map_err(|e| e.to_string())?.to_rgb8();
    let reference = image::load_from_memory(reference_png).map_err(|e| format!("reference: {e}"))?.to_rgb8();
    if reference.dimensions() != out.dimensions() {
        return Err(format!("reference is {:?}, result {:?}", reference.dimensions(), out.dimensions()));
    }
    let diffs: Vec<u8> = out.as_raw().iter().zip(reference.as_raw()).map(|(a, b)| a.abs_diff(*b)).collect();
    let max = diffs.iter().copied().max().unwrap_or(0);
    let mean = diffs.iter().map(|&d| d as f64).sum::<f64>() / diffs.len().max(1) as f64;
    let differing = diffs.iter().filter(|&&d| d > 0).count();
    // f32 on a GPU vs the CPU backend: sums in another order move a few values across a rounding
    // boundary of the 8-bit output, by one level.
    let ok = max <= STYLIZE_MAX_LEVELS && mean < 0.05;
    let report = serde_json::json!({
        "size": [w, h],
        "max_abs_diff_levels": max,
        "mean_abs_diff_levels": mean,
        "differing_values": differing,
        "values": diffs.len(),
        "tolerance": { "max_levels": STYLIZE_MAX_LEVELS, "mean_levels": 0.05 },
        "ok": ok,
    });
    Ok((report, out))
}

/// Largest difference (of 255) allowed between the browser's and the native 8-bit outputs.
pub const STYLIZE_MAX_LEVELS: u8 = 2;

#[cfg(target_arch = "wasm32")]
mod browser {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = console)]
        fn error(s: &str);
    }

    thread_local! {
        static DEVICE: std::cell::RefCell<Option<(burn::tensor::Device, serde_json::Value)>> = const { std::cell::RefCell::new(None) };
    }

    /// burn's wgpu backend on the browser's WebGPU adapter, initialised once per page.
    async fn device() -> Result<(burn::tensor::Device, serde_json::Value), JsValue> {
        if let Some(d) = DEVICE.with(|d| d.borrow().clone()) {
            return Ok(d);
        }
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
        DEVICE.with(|d| *d.borrow_mut() = Some((device.clone(), adapter.clone())));
        Ok((device, adapter))
    }

    /// Runs the kernel checks; resolves to the JSON report (a string), rejects with a message.
    #[wasm_bindgen]
    pub async fn check_kernels() -> Result<String, JsValue> {
        let (device, adapter) = device().await?;
        let report = super::run_checks(&device, adapter).await.map_err(|e| JsValue::from_str(&e))?;
        Ok(report.to_string())
    }

    /// Stylizes `input_png` with `model` and compares with `reference_png`; resolves to
    /// [report JSON (string), width, height, RGB bytes of the result].
    #[wasm_bindgen]
    pub async fn check_stylize(model: Vec<u8>, input_png: Vec<u8>, reference_png: Vec<u8>) -> Result<js_sys::Array, JsValue> {
        let (device, adapter) = device().await?;
        let (mut report, out) = super::stylize_check(&device, &model, &input_png, &reference_png).await.map_err(|e| JsValue::from_str(&e))?;
        report["adapter"] = adapter;
        let result = js_sys::Array::new();
        result.push(&JsValue::from_str(&report.to_string()));
        result.push(&JsValue::from(out.width()));
        result.push(&JsValue::from(out.height()));
        result.push(&js_sys::Uint8Array::from(out.as_raw().as_slice()).into());
        Ok(result)
    }
}
