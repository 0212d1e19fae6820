//! Benchmark: the feed-forward network's inference at several sizes and one training step at the
//! training recipe's settings, for the full (width 32) and light (width 16) networks, and the
//! speed-up over a Gatys run at the same size. Prints one JSON object per device.
//!
//!     cargo bench --bench feedforward -- [--device cpu|wgpu|all] [--widths 32,16]
//!         [--sizes 256x256,640x480,1280x720,512x512,1920x1080] [--gatys-sizes 256x256,512x512]
//!         [--reps 5] [--train-batch 2] [--train-crop 128] [--no-train] [--layout johnson|ml5] [--profile]
//!         [--overhead-evals N]
//!
//! Gatys time = measured time of one full evaluation (VGG forward + backward + losses) at that
//! size times 300 evaluations (the default run), plus the optimiser overhead measured at 256²;
//! the JSON says which numbers are measured and which derived. Compare onnxruntime with
//! `python3 tests/fixtures/ml5_onnx.py bench --model ../shared/data/reference-models/ml5-fast-style-transfer/scream`.

mod common;


use common::{arg, flag, gatys_evaluation, read, time_ms};

use burn::tensor::{Device, Tensor, TensorData};
use burnish::block_on;
use burnish::device::ComputeDevice;
use burnish::feedforward::net::{conv_valid, instance_norm, reflect_pad};
use burnish::feedforward::train::{Photos, TrainConfig, Trainer};
use burnish::feedforward::{NetSpec, Stylizer, TransformerNet};
use burnish::gatys::{GatysRun, Quiet, RunConfig};
use burnish::image::RgbF32;
use burnish::image::files::load_rgb;
use burnish::loss::{LossConfig, LossTargets, PerceptualLoss};
use burnish::vgg::VggWeights;

/// A file of the repository: beside the sources, else relative to the working directory (a copied
/// tree, e.g. on a GPU machine).
fn asset(rel: &str) -> std::path::PathBuf {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    if p.exists() { p } else { std::path::PathBuf::from(rel) }
}

/// Eight 320×320 smooth colour patterns in a temporary folder, for timing a training step where
/// the shared photos are absent (the step's cost does not depend on the pictures).
fn synthetic_photos() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("burnish-bench-photos-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..8u32 {
        let img = image::RgbImage::from_fn(320, 320, |x, y| {
            let f = |a: u32, b: u32| ((x * a + y * b + i * 37) % 256) as u8;
            image::Rgb([f(1, 2), f(3, 1), f(2, 5)])
        });
        img.save(dir.join(format!("p{i}.png"))).unwrap();
    }
    dir
}


fn sizes(s: &str) -> Vec<(usize, usize)> {
    s.split(',')
        .filter(|t| t.contains('x'))
        .map(|t| {
            let (w, h) = t.split_once('x').expect("WxH");
            (w.parse().unwrap(), h.parse().unwrap())
        })
        .collect()
}

fn input(w: usize, h: usize, d: &Device) -> Tensor<4> {
    let v: Vec<f32> = (0..3 * w * h).map(|i| ((i * 7919) % 255) as f32 / 255.0).collect();
    Tensor::from_data(TensorData::new(v, [1, 3, h, w]), d)
}

/// One Gatys evaluation (forward + backward through VGG, content + style losses) at w x h.
fn gatys_eval_ms(loss: &PerceptualLoss, w: usize, h: usize, d: &Device, reps: usize) -> f64 {
    let x = input(w, h, d);
    let targets = LossTargets { content: loss.content_target(x.clone()), style_grams: loss.style_grams(x.clone(), 1) };
    let img = x.add_scalar(0.01);
    time_ms(1, reps, || gatys_evaluation(loss, &targets, &img, true)).0
}

/// Inference at `sizes` and one training step of a network of layout `spec`.
fn bench_network(sel: &ComputeDevice, spec: NetSpec, sizes: &[(usize, usize)], gatys_ms: &dyn Fn(usize, usize) -> Option<f64>, reps: usize) -> serde_json::Value {
    let d = sel.device.clone();
    let stylizer = Stylizer::from_net(TransformerNet::init(spec.clone(), 0, &d), &d, "untrained".into());
    let mut results = Vec::new();
    for &(w, h) in sizes {
        let x = input(w, h, &d);
        let (median, min) = time_ms(1, reps, || {
            read(vec![stylizer.tensor(x.clone()).sum()]);
        });
        let mut r = serde_json::json!({ "width": w, "height": h, "inference_median_ms": median, "inference_min_ms": min, "fps": 1000.0 / median });
        if let Some(gatys_ms) = gatys_ms(w, h) {
            r["gatys_300_evaluations_ms_derived"] = gatys_ms.into();
            r["speedup_over_gatys"] = (gatys_ms / median).into();
            r["time_saved_percent"] = (100.0 * (1.0 - median / gatys_ms)).into();
        }
        eprintln!("{}: width {} {w}x{h} {median:.1} ms", sel.info, spec.width);
        results.push(r);
    }

    // One training step at the recipe's settings on the shared photos if present, else on
    // synthetic photos (the step's cost does not depend on the pictures).
    let recipe = TrainConfig::defaults("bench");
    let batch: usize = arg("--train-batch").map(|s| s.parse().unwrap()).unwrap_or(recipe.batch);
    let crop: u32 = arg("--train-crop").map(|s| s.parse().unwrap()).unwrap_or(recipe.crop);
    let train = (|| {
        if flag("--no-train") || spec != NetSpec::johnson(spec.width) {
            return None;
        }
        let photos = match arg("--photos").map(std::path::PathBuf::from).or_else(|| Some(asset("../shared/data/photos")).filter(|d| d.is_dir())) {
            Some(dir) => Photos::scan(&dir, 0).ok()?,
            None => Photos::scan(&synthetic_photos(), 0).ok()?,
        };
        let style = load_rgb(&asset("web/assets/starry_night.jpg")).ok()?.resize_max_side(recipe.style_size);
        let cfg = TrainConfig { batch, crop, width: spec.width, ..recipe.clone() };
        let vgg = cfg.loss.vgg(&VggWeights::embedded().unwrap(), &d);
        let mut t = Trainer::new(cfg, &style, vgg, &d).ok()?;
        let (median, min) = time_ms(1, reps, || {
            block_on(t.step(&photos)).unwrap();
        });
        Some(serde_json::json!({
            "batch": batch, "crop": crop, "step_median_ms": median, "step_min_ms": min, "iterations_per_second": 1000.0 / median,
            "includes": "photo decode + resize + crop, transformer fwd+bwd, VGG19 to relu5_1 fwd+bwd (the recipe's layers), Adam, one host read",
        }))
    })();
    serde_json::json!({ "network_width": spec.width, "parameters": spec.parameter_count(), "inference": results, "train_step": train })
}

fn bench(sel: ComputeDevice, layout: &str) -> serde_json::Value {
    let d = sel.device.clone();
    let cpu = sel.in_host_memory();
    let reps: usize = arg("--reps").map(|s| s.parse().unwrap()).unwrap_or(if cpu { 3 } else { 5 });
    let specs: Vec<NetSpec> = if layout == "ml5" {
        vec![NetSpec::ml5()]
    } else {
        arg("--widths").unwrap_or("32,16".into()).split(',').map(|w| NetSpec::johnson(w.parse().expect("--widths: numbers"))).collect()
    };
    let weights = VggWeights::embedded().unwrap();
    let loss = PerceptualLoss::new(LossConfig::gatys(), LossConfig::gatys().vgg(&weights, &d)).unwrap();
    let inf_sizes = sizes(&arg("--sizes").unwrap_or("256x256,640x480,1280x720,512x512,1920x1080".into()));
    let gatys_sizes = sizes(&arg("--gatys-sizes").unwrap_or("256x256,512x512".into()));

    // Optimiser overhead per evaluation at 256² (L-BFGS arithmetic and reads) at steady state: a
    // run of `--overhead-evals` evaluations (default 120 on wgpu, so the history of 100 pairs
    // fills; 30 on the CPU), its second half's ms per evaluation minus one measured evaluation.
    let overhead_evals: usize = arg("--overhead-evals").map(|s| s.parse().unwrap()).unwrap_or(if cpu { 30 } else { 120 });
    let overhead_ms = {
        let content = RgbF32::new(256, 256, vec![0.5; 256 * 256 * 3]);
        let style = RgbF32::new(256, 256, (0..256 * 256 * 3).map(|i| (i % 17) as f32 / 17.0).collect());
        let cfg = RunConfig { evaluations: overhead_evals.max(4), ..RunConfig::transfer_defaults() };
        let eval = gatys_eval_ms(&loss, 256, 256, &d, 2);
        let run = GatysRun::new(&loss.vgg, &cfg, Some(&content), &style, (256, 256), &sel).unwrap();
        let out = block_on(run.run(&mut Quiet)).unwrap();
        // (Not clamped: a small negative value is measurement noise and says so.)
        out.steady_ms_per_evaluation().unwrap_or(eval) - eval
    };
    // Gatys time per size = 300 x (one measured evaluation + the overhead).
    let mut gatys = Vec::new();
    for &(w, h) in gatys_sizes.iter().filter(|s| inf_sizes.contains(s)) {
        let eval = gatys_eval_ms(&loss, w, h, &d, reps.min(3));
        gatys.push(serde_json::json!({ "width": w, "height": h, "gatys_evaluation_ms_measured": eval, "gatys_300_evaluations_ms_derived": 300.0 * (eval + overhead_ms) }));
    }
    let gatys_ms = |w: usize, h: usize| {
        gatys.iter().find(|g| g["width"] == w && g["height"] == h).and_then(|g| g["gatys_300_evaluations_ms_derived"].as_f64())
    };
    let networks: Vec<serde_json::Value> = specs.into_iter().map(|spec| bench_network(&sel, spec, &inf_sizes, &gatys_ms, reps)).collect();

    serde_json::json!({
        "bench": "feedforward",
        "layout": layout,
        "adapter": sel.info,
        "networks": networks,
        "gatys": gatys,
        "gatys_optimizer_overhead_ms_per_evaluation_at_256": overhead_ms,
        "gatys_optimizer_overhead_measured_over_evaluations": overhead_evals,
    })
}

/// Where the time goes: each kind of layer of the network at 256², timed alone.
fn profile(sel: &ComputeDevice) -> serde_json::Value {
    use burn::tensor::module::{conv2d, interpolate};
    use burn::tensor::ops::{ConvOptions, InterpolateMode, InterpolateOptions, PadMode};
    let d = &sel.device;
    let mut out = serde_json::Map::new();
    let mut t = |name: &str, f: &mut dyn FnMut() -> Tensor<4>| {
        let (ms, _) = time_ms(1, 3, || {
            read(vec![f().sum()]);
        });
        out.insert(name.into(), ms.into());
    };
    let x3 = input(256, 256, d);
    let x32 = Tensor::<4>::ones([1, 32, 256, 256], d);
    let x128 = Tensor::<4>::ones([1, 128, 64, 64], d);
    let x64 = Tensor::<4>::ones([1, 64, 128, 128], d);
    let w9 = Tensor::<4>::ones([32, 3, 9, 9], d).mul_scalar(0.01);
    let w9o = Tensor::<4>::ones([3, 32, 9, 9], d).mul_scalar(0.01);
    let w3 = Tensor::<4>::ones([128, 128, 3, 3], d).mul_scalar(0.01);
    let w3b = Tensor::<4>::ones([32, 64, 3, 3], d).mul_scalar(0.01);
    let o = |s| ConvOptions::new([s, s], [0, 0], [1, 1], 1);
    t("conv9x9_3to32_256", &mut || conv2d(x3.clone().pad([(0, 0), (0, 0), (4, 4), (4, 4)], PadMode::Reflect), w9.clone(), None, o(1)));
    t("conv9x9_32to3_256", &mut || conv2d(x32.clone().pad([(0, 0), (0, 0), (4, 4), (4, 4)], PadMode::Reflect), w9o.clone(), None, o(1)));
    t("conv3x3_128to128_64 (x10 per pass)", &mut || conv2d(x128.clone().pad([(0, 0), (0, 0), (1, 1), (1, 1)], PadMode::Reflect), w3.clone(), None, o(1)));
    t("conv3x3_64to32_256 (after upsample)", &mut || conv2d(Tensor::<4>::ones([1, 64, 256, 256], d).pad([(0, 0), (0, 0), (1, 1), (1, 1)], PadMode::Reflect), w3b.clone(), None, o(1)));
    let x64p = Tensor::<4>::ones([1, 64, 258, 258], d);
    let x32p = Tensor::<4>::ones([1, 32, 264, 264], d);
    t("conv3x3_64to32_256 (padded input)", &mut || conv_valid(x64p.clone(), w3b.clone(), None, 1, false));
    t("reflect_pad1_64ch_256 burnish", &mut || reflect_pad(Tensor::<4>::ones([1, 64, 256, 256], d), 1));
    t("reflect_pad4_32ch_256 burnish", &mut || reflect_pad(x32.clone(), 4));
    t("conv9x9_32to3_256 plain", &mut || conv_valid(x32p.clone(), w9o.clone(), None, 1, false));
    t("conv9x9_32to3_256 reformulated", &mut || conv_valid(x32p.clone(), w9o.clone(), None, 1, true));
    t("reflect_pad4_32ch_256", &mut || x32.clone().pad([(0, 0), (0, 0), (4, 4), (4, 4)], PadMode::Reflect));
    t("instance_norm_32ch_256", &mut || instance_norm(x32.clone(), 1e-5));
    let (sc32, sh32) = (Tensor::<1>::ones([32], d), Tensor::<1>::zeros([32], d));
    t("instance_norm_relu_32ch_256 burn ops", &mut || burn::tensor::activation::relu(instance_norm(x32.clone(), 1e-5) * sc32.clone().reshape([1, 32, 1, 1]) + sh32.clone().reshape([1, 32, 1, 1])));
    t("instance_norm_relu_32ch_256 fused", &mut || burnish::conv::instance_norm_layer(x32.clone(), sc32.clone(), sh32.clone(), None, true, 1e-5));
    t("upsample_nearest_64ch_128", &mut || interpolate(x64.clone(), InterpolateOptions::new(InterpolateMode::Nearest).with_output_size([256, 256])));
    serde_json::Value::Object(out)
}

fn main() {
    let settings = common::settings();
    if flag("--profile") {
        for sel in common::devices("cpu") {
            println!("{}", serde_json::json!({ "bench": "feedforward-profile", "adapter": sel.info, "settings": settings, "ms": profile(&sel) }));
        }
        return;
    }
    let layout = arg("--layout").unwrap_or_else(|| "johnson".into());
    for sel in common::devices("all") {
        let mut row = bench(sel, &layout);
        row["settings"] = settings.clone();
        println!("{row}");
    }
}
