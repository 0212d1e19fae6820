//! burnish in the browser, on the page's WebGPU device:
//! - [`run_checks`] (`check_kernels` in JS, page `check.html`): burnish's WGSL kernels (Gram
//!   matrix, fused style loss, content loss; forward and backward) against their plain-tensor
//!   reference twins, the same checks `tests/numeric.rs` runs natively on lavapipe;
//! - [`stylize_check`] (`check_stylize`, page `stylize.html`): a style network against the native
//!   CLI's output for the same photo.
//!
//! The pages print their JSON reports to the console; the headless Chromium test
//! (`web/tests/page.mjs`) reads them from there.

use burn::tensor::Device;
use burnish::kernels::check;

/// [`check::AWKWARD_SHAPES`] (those of `tests/numeric.rs`) plus [`check::REAL_SHAPES_128`].
pub fn shapes() -> Vec<[usize; 4]> {
    check::AWKWARD_SHAPES.iter().chain(&check::REAL_SHAPES_128).copied().collect()
}

/// Runs [`check::compare`] on [`shapes`]; the report adds the adapter and whether the WGSL
/// kernels really ran (at least the Gram, the forward-only style loss, the style loss with its
/// backward matrix and the content loss per shape).
pub async fn run_checks(device: &Device, adapter: serde_json::Value) -> Result<serde_json::Value, String> {
    let shapes = shapes();
    let mut report = check::compare(device, &shapes).await?;
    let kernels_ran = report["wgsl_launches"].as_u64().unwrap_or(0) as usize >= 4 * shapes.len();
    let ok = report["ok"] == true && kernels_ran;
    report["adapter"] = adapter;
    report["kernels_ran"] = kernels_ran.into();
    report["ok"] = ok.into();
    Ok(report)
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
