//! burnish in the browser, on the page's WebGPU device:
//! - [`run_checks`] (`check_kernels` in JS, page `check.html`): burnish's WGSL kernels (Gram
//!   matrix, fused style loss, content loss, the convolution; forward and backward) against their
//!   plain-tensor reference twins, the same checks `tests/numeric.rs` runs natively on lavapipe;
//! - [`stylize_check`] (`check_stylize`, page `stylize.html`): a style network, through the
//!   library's [`burnish::feedforward::Stylizer`], against the native CLI's output for the same photo;
//! - [`app`]: what the browser app (`index.html`, its worker `worker.js`) runs: shipped
//!   networks on canvas frames, Gatys transfer and texture synthesis stepped between messages.
//!
//! The check pages print their JSON reports to the console; the headless Chromium test
//! (`web/tests/page.mjs`) reads them from there.

pub mod app;

use std::path::Path;

use burnish::device::ComputeDevice;
use burnish::image::files::decode;
use burnish::loss::kernels::check;

/// [`check::AWKWARD_SHAPES`] (those of `tests/numeric.rs`) plus [`check::REAL_SHAPES_128`].
pub fn shapes() -> Vec<[usize; 4]> {
    check::AWKWARD_SHAPES.iter().chain(&check::REAL_SHAPES_128).copied().collect()
}

/// What the page's adapter is, for the reports.
pub fn adapter_report(device: &ComputeDevice) -> serde_json::Value {
    let mut report = serde_json::to_value(&device.info).unwrap_or_default();
    if let Some(setup) = &device.wgpu {
        let limits = setup.adapter.limits();
        report["max_compute_invocations_per_workgroup"] = limits.max_compute_invocations_per_workgroup.into();
        report["max_compute_workgroup_storage_size"] = limits.max_compute_workgroup_storage_size.into();
        report["shader_f16"] = setup.adapter.features().contains(burn::tensor::wgpu::wgpu::Features::SHADER_F16).into();
    }
    report
}

/// Runs [`check::compare`] on [`shapes`]; the report adds the adapter and whether the WGSL
/// kernels really ran (at least the Gram, the forward-only style loss, the style loss with its
/// backward matrix and the content loss per shape).
pub async fn run_checks(device: &ComputeDevice) -> Result<serde_json::Value, String> {
    let shapes = shapes();
    let mut report = check::compare(&device.device, &shapes).await?;
    let kernels_ran = report["wgsl_launches"].as_u64().unwrap_or(0) as usize >= 4 * shapes.len();
    // The convolution kernel: at least its forward per case.
    let cases = &burnish::conv::check::AWKWARD_CASES;
    let conv = burnish::conv::check::compare(&device.device, cases).await?;
    let conv_ran = conv["wgsl_launches"].as_u64().unwrap_or(0) as usize >= 2 * cases.len(); // both forward kernels
    let ok = report["ok"] == true && kernels_ran && conv["ok"] == true && conv_ran;
    report["conv"] = conv;
    report["conv_kernel_ran"] = conv_ran.into();
    report["adapter"] = adapter_report(device);
    report["kernels_ran"] = kernels_ran.into();
    report["ok"] = ok.into();
    Ok(report)
}

/// Stylizes `input_png` with the network in `model` (burnish safetensors) on `device` and compares
/// the 8-bit result with `reference_png` (the native CLI's output for the same input and model).
/// Returns the report and the result as RGB bytes.
pub async fn stylize_check(device: &ComputeDevice, model: &[u8], input_png: &[u8], reference_png: &[u8]) -> Result<(serde_json::Value, image::RgbImage), String> {
    let stylizer = app::style_network(model, "model", device)?;
    let input = decode(input_png, Path::new("input")).map_err(|e| e.to_string())?;
    let (w, h) = (input.width, input.height);
    let out = stylizer.frame_async(&input).await.map_err(|e| e.to_string())?.to_rgb8();
    let reference = decode(reference_png, Path::new("reference")).map_err(|e| e.to_string())?.to_rgb8();
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
        "adapter": adapter_report(device),
    });
    Ok((report, out))
}

/// Largest difference (of 255) allowed between the browser's and the native 8-bit outputs.
pub const STYLIZE_MAX_LEVELS: u8 = 2;

#[cfg(target_arch = "wasm32")]
mod browser {
    use wasm_bindgen::prelude::*;

    use burnish::device::ComputeDevice;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = console)]
        fn error(s: &str);
    }

    thread_local! {
        static DEVICE: std::cell::RefCell<Option<ComputeDevice>> = const { std::cell::RefCell::new(None) };
    }

    /// burn's wgpu backend on the browser's WebGPU adapter, initialised once per page.
    async fn device() -> Result<ComputeDevice, JsValue> {
        if let Some(d) = DEVICE.with(|d| d.borrow().clone()) {
            return Ok(d);
        }
        std::panic::set_hook(Box::new(|p| error(&format!("panic: {p}"))));
        let device = burnish::device::wgpu_async().await.map_err(|e| {
            JsValue::from_str(&match e {
                burnish::Error::NoGpu(why) => format!("the browser gave no WebGPU adapter ({why})"),
                e => format!("no WebGPU device: {e}"),
            })
        })?;
        DEVICE.with(|d| *d.borrow_mut() = Some(device.clone()));
        Ok(device)
    }

    fn js_err(e: String) -> JsValue {
        JsValue::from_str(&e)
    }

    /// [report JSON (string), width, height, RGB bytes].
    fn report_and_image(report: serde_json::Value, img: image::RgbImage) -> js_sys::Array {
        let result = js_sys::Array::new();
        result.push(&JsValue::from_str(&report.to_string()));
        result.push(&JsValue::from(img.width()));
        result.push(&JsValue::from(img.height()));
        result.push(&js_sys::Uint8Array::from(img.as_raw().as_slice()).into());
        result
    }

    /// Runs the kernel checks; resolves to the JSON report (a string), rejects with a message.
    #[wasm_bindgen]
    pub async fn check_kernels() -> Result<String, JsValue> {
        let device = device().await?;
        let report = super::run_checks(&device).await.map_err(js_err)?;
        Ok(report.to_string())
    }

    /// Stylizes `input_png` with `model` and compares with `reference_png`; resolves to
    /// [report JSON (string), width, height, RGB bytes of the result].
    #[wasm_bindgen]
    pub async fn check_stylize(model: Vec<u8>, input_png: Vec<u8>, reference_png: Vec<u8>) -> Result<js_sys::Array, JsValue> {
        let device = device().await?;
        let (report, out) = super::stylize_check(&device, &model, &input_png, &reference_png).await.map_err(js_err)?;
        Ok(report_and_image(report, out))
    }

    // ---- the app (worker.js): one call at a time; a run is taken out of its slot while awaited.

    thread_local! {
        static STYLES: std::cell::RefCell<std::collections::HashMap<String, std::rc::Rc<burnish::feedforward::Stylizer>>> = Default::default();
        static VGG: std::cell::RefCell<Option<std::rc::Rc<burnish::vgg::VggWeights>>> = const { std::cell::RefCell::new(None) };
        static OPTIMISATION: std::cell::RefCell<Option<super::app::Optimisation>> = const { std::cell::RefCell::new(None) };
    }

    /// The page's WebGPU device; resolves to the adapter report (JSON), rejects with a message.
    #[wasm_bindgen]
    pub async fn start() -> Result<String, JsValue> {
        let device = device().await?;
        Ok(super::adapter_report(&device).to_string())
    }

    /// The shipped styles (JSON list of name, title, file, preview).
    #[wasm_bindgen]
    pub fn shipped_styles() -> String {
        super::app::shipped_styles().to_string()
    }

    /// Loads a style network (safetensors bytes) under `name`.
    #[wasm_bindgen]
    pub async fn load_style(name: String, bytes: Vec<u8>) -> Result<(), JsValue> {
        let device = device().await?;
        let stylizer = super::app::style_network(&bytes, &name, &device).map_err(js_err)?;
        STYLES.with(|s| s.borrow_mut().insert(name, std::rc::Rc::new(stylizer)));
        Ok(())
    }

    /// One RGBA frame through the loaded network `name`; resolves to the RGBA result.
    #[wasm_bindgen]
    pub async fn stylize(name: String, rgba: Vec<u8>, width: u32, height: u32, strength: f32, preserve_colour: bool) -> Result<Vec<u8>, JsValue> {
        let stylizer = STYLES.with(|s| s.borrow().get(&name).cloned()).ok_or_else(|| JsValue::from_str(&format!("style {name} is not loaded")))?;
        let post = burnish::frames::PostProcess { strength, preserve_colour };
        super::app::stylize_rgba(&stylizer, &rgba, width, height, post).await.map_err(js_err)
    }

    /// Switches burnish's convolution and instance-norm kernels on (the default) or off (burn's
    /// ops, the path before them), for the benchmark (`web/tests/bench.mjs`).
    #[wasm_bindgen]
    pub fn set_kernels(on: bool) {
        burnish::conv::set_kernels(on);
    }

    /// Parses the VGG19 weights (safetensors bytes) once for the optimisation modes.
    #[wasm_bindgen]
    pub fn load_vgg(bytes: Vec<u8>) -> Result<(), JsValue> {
        let w = burnish::vgg::VggWeights::from_bytes(&bytes, std::path::Path::new("vgg19-imagenet-conv.f16.safetensors")).map_err(|e| js_err(e.to_string()))?;
        VGG.with(|v| *v.borrow_mut() = Some(std::rc::Rc::new(w)));
        Ok(())
    }

    /// Starts a run (`mode`: transfer or texture; the content is ignored for texture).
    #[wasm_bindgen]
    #[allow(clippy::too_many_arguments)]
    pub async fn optimise_start(
        mode: String,
        content_rgba: Vec<u8>,
        content_width: u32,
        content_height: u32,
        style_rgba: Vec<u8>,
        style_width: u32,
        style_height: u32,
        size: u32,
        evaluations: usize,
    ) -> Result<(), JsValue> {
        let device = device().await?;
        let weights = VGG.with(|v| v.borrow().clone()).ok_or_else(|| JsValue::from_str("the VGG19 weights are not loaded"))?;
        let mode = super::app::OptimMode::parse(&mode).map_err(js_err)?;
        let content = match mode {
            super::app::OptimMode::Transfer => Some(super::app::rgba_frame(&content_rgba, content_width, content_height).map_err(js_err)?),
            super::app::OptimMode::Texture => None,
        };
        let style = super::app::rgba_frame(&style_rgba, style_width, style_height).map_err(js_err)?;
        let run = super::app::Optimisation::new(&device, &weights, mode, content, style, size, evaluations).map_err(js_err)?;
        OPTIMISATION.with(|o| *o.borrow_mut() = Some(run));
        Ok(())
    }

    fn take_run() -> Result<super::app::Optimisation, JsValue> {
        OPTIMISATION.with(|o| o.borrow_mut().take()).ok_or_else(|| JsValue::from_str("no optimisation is running"))
    }

    fn put_run(run: super::app::Optimisation) {
        OPTIMISATION.with(|o| *o.borrow_mut() = Some(run));
    }

    /// One optimiser step; resolves to JSON {more, evaluations, total, losses: [new ones]}.
    #[wasm_bindgen]
    pub async fn optimise_step() -> Result<String, JsValue> {
        let mut run = take_run()?;
        let more = run.step().await;
        let (done, total) = run.evaluations();
        let losses = run.new_losses();
        put_run(run);
        let more = more.map_err(js_err)?;
        Ok(serde_json::json!({ "more": more, "evaluations": done, "total": total, "losses": losses }).to_string())
    }

    /// The run's image now; resolves to [width, height, RGBA bytes].
    #[wasm_bindgen]
    pub async fn optimise_image() -> Result<js_sys::Array, JsValue> {
        let run = take_run()?;
        let img = run.image().await;
        put_run(run);
        let img = img.map_err(js_err)?;
        let result = js_sys::Array::new();
        result.push(&JsValue::from(img.width));
        result.push(&JsValue::from(img.height));
        result.push(&js_sys::Uint8Array::from(img.to_rgba8().as_slice()).into());
        Ok(result)
    }

    /// Ends the run and frees its buffers.
    #[wasm_bindgen]
    pub fn optimise_stop() {
        OPTIMISATION.with(|o| o.borrow_mut().take());
    }
}
