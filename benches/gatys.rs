//! Benchmark: Gatys transfer with the defaults (300 evaluations, 256², L-BFGS), printing JSON.
//!
//!     cargo bench --bench gatys -- [--device cpu|wgpu|all] [--size 256] [--evaluations 300]
//!
//! Besides the whole run it times its parts, to show where the time goes: VGG forward alone,
//! forward + backward (one evaluation without the optimiser), and the remainder (optimiser
//! arithmetic and host reads).

mod common;

use std::time::Instant;

use common::{arg, gatys_evaluation, read};

use burn::tensor::{Device, Tensor};
use burnish::block_on;
use burnish::device::ComputeDevice;
use burnish::gatys::{GatysRun, Quiet, RunConfig};
use burnish::image::RgbF32;
use burnish::image::files::decode;
use burnish::image::tensor::frame_tensor;
use burnish::loss::{LossTargets, PerceptualLoss};
use burnish::vgg::VggWeights;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse::<f64>().unwrap_or(0.0)))
        .unwrap_or(0.0)
        / 1024.0
}

fn sync(d: &Device) {
    read(vec![Tensor::<1>::zeros([1], d)]);
}

fn load(bytes: &[u8], size: u32) -> RgbF32 {
    decode(bytes, std::path::Path::new("asset")).unwrap().resize_max_side(size)
}

fn bench(sel: ComputeDevice, size: u32, evaluations: usize) -> serde_json::Value {
    let d = sel.device.clone();
    let weights = VggWeights::embedded().unwrap();
    let content = load(include_bytes!("../web/assets/bunny.jpg"), size).resize_exact(size, size);
    let style = load(include_bytes!("../web/assets/starry_night.jpg"), size);
    let cfg = RunConfig { evaluations, ..RunConfig::transfer_defaults() };
    let loss = PerceptualLoss::new(cfg.loss.clone(), cfg.loss.vgg(&weights, &d)).unwrap();
    let x = frame_tensor(&content, &d);
    let targets = LossTargets { content: loss.content_target(x.clone()), style_grams: loss.style_grams(frame_tensor(&style, &d), 1) };

    // Parts, after a warm-up (the first call includes autotuning and shader compilation).
    let one_eval = |backward: bool| gatys_evaluation(&loss, &targets, &x, backward);
    let t = Instant::now();
    one_eval(true);
    let first_eval_ms = t.elapsed().as_secs_f64() * 1e3;
    one_eval(false);
    let reps = if sel.in_host_memory() { 3 } else { 10 };
    let time = |backward: bool| {
        sync(&d);
        let t = Instant::now();
        for _ in 0..reps {
            one_eval(backward);
        }
        t.elapsed().as_secs_f64() * 1e3 / reps as f64
    };
    let forward_ms = time(false);
    let forward_backward_ms = time(true);

    sync(&d);
    let t = Instant::now();
    let run = GatysRun::with_targets(loss.clone(), &cfg, targets.clone(), Some(&content), (size, size), &sel).unwrap();
    let out = block_on(run.run(&mut Quiet)).unwrap();
    sync(&d);
    let wall = t.elapsed().as_secs_f64();
    let ms_per_eval = wall * 1e3 / out.evaluations as f64;
    let usage = d.memory_pool_usage();
    serde_json::json!({
        "bench": "gatys",
        "size": [size, size],
        "evaluations": out.evaluations,
        "wall_s": wall,
        "ms_per_evaluation": ms_per_eval,
        "parts_ms": {
            "first_evaluation_incl_autotune": first_eval_ms,
            "vgg_forward_and_losses": forward_ms,
            "evaluation_forward_backward": forward_backward_ms,
            "optimizer_and_reads_per_evaluation": (ms_per_eval - forward_backward_ms).max(0.0),
        },
        "peak_rss_mib": peak_rss_mb(),
        "device_memory_reserved_mib": usage.map(|u| u.bytes_reserved as f64 / 1048576.0),
        "final_losses": out.final_losses,
        "line_search": cfg.line_search,
        "adapter": sel.info,
    })
}

fn main() {
    let size: u32 = arg("--size").map(|s| s.parse().unwrap()).unwrap_or(256);
    let evaluations: usize = arg("--evaluations").map(|s| s.parse().unwrap()).unwrap_or(300);
    let settings = common::settings();
    for sel in common::devices("all") {
        let mut row = bench(sel, size, evaluations);
        row["settings"] = settings.clone();
        println!("{row}");
    }
}
