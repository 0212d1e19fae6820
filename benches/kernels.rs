//! Benchmark: Gram + style loss, forward and backward, at the shapes of VGG19's style layers for
//! a 256² image (64×256², 128×128², 256×64², 512×32²), WGSL kernels on vs off; and one whole
//! Gatys evaluation (VGG forward + backward + losses) on vs off. Prints JSON lines.
//!
//!     cargo bench --bench kernels -- [--device wgpu|cpu] [--reps 20] [--only-c C] [--skip-eval]
//!
//! Times are medians of `--reps` calls, each ending in a read back.

mod common;


use common::{arg, flag, gatys_evaluation, read, time_ms};

use burn::tensor::{Device, Distribution, Tensor};
use burnish::gatys::RunConfig;
use burnish::image::RgbF32;
use burnish::image::tensor::frame_tensor;
use burnish::loss::{LossTargets, PerceptualLoss, gram, style_layer_loss};
use burnish::vgg::VggWeights;

fn main() {
    let settings = common::settings();
    let reps: usize = arg("--reps").map(|s| s.parse().unwrap()).unwrap_or(20);
    let Some(sel) = common::devices("wgpu").into_iter().next() else { return };
    let d: Device = sel.device.clone();
    let only: Option<usize> = arg("--only-c").map(|s| s.parse().unwrap());
    for (c, side) in [(64usize, 256usize), (128, 128), (256, 64), (512, 32)] {
        if only.is_some_and(|o| o != c) {
            continue;
        }
        let x = Tensor::<4>::random([1, c, side, side], Distribution::Uniform(0.0, 1.0), &d);
        let target = gram(Tensor::<4>::random([1, c, side, side], Distribution::Uniform(0.0, 1.0), &d), false);
        let mut row = serde_json::Map::new();
        for kernels in [true, false] {
            let (fwd, _) = time_ms(2, reps, || {
                let l = style_layer_loss(x.clone(), target.clone(), kernels);
                read(vec![l]);
            });
            let (fwd_bwd, _) = time_ms(2, reps, || {
                let xa = x.clone().autodiff().require_grad();
                let l = style_layer_loss(xa.clone(), target.clone(), kernels);
                let g = xa.grad(&l.backward()).unwrap();
                read(vec![g.sum()]);
            });
            let key = if kernels { "kernels" } else { "reference" };
            row.insert(key.into(), serde_json::json!({ "forward_ms": fwd, "forward_backward_ms": fwd_bwd }));
        }
        let speedup = row["reference"]["forward_backward_ms"].as_f64().unwrap() / row["kernels"]["forward_backward_ms"].as_f64().unwrap();
        row.insert("bench".into(), "gram_style_loss".into());
        row.insert("shape".into(), serde_json::json!([1, c, side, side]));
        row.insert("speedup_forward_backward".into(), speedup.into());
        row.insert("speedup_forward".into(), (row["reference"]["forward_ms"].as_f64().unwrap() / row["kernels"]["forward_ms"].as_f64().unwrap()).into());
        row.insert("settings".into(), settings.clone());
        row.insert("adapter".into(), serde_json::to_value(&sel.info).unwrap());
        println!("{}", serde_json::Value::Object(row));
    }

    if flag("--skip-eval") {
        return;
    }
    // One whole Gatys evaluation at 256² (content conv_4, style conv_1..5).
    let weights = VggWeights::embedded().unwrap();
    let x = frame_tensor(&RgbF32::noise(256, 256, 1), &d);
    let mut row = serde_json::Map::new();
    for kernels in [true, false] {
        let mut cfg = RunConfig::transfer_defaults().loss;
        cfg.kernels = kernels;
        let loss = PerceptualLoss::new(cfg.clone(), cfg.vgg(&weights, &d)).unwrap();
        let targets = LossTargets { content: loss.content_target(x.clone()), style_grams: loss.style_grams(frame_tensor(&RgbF32::noise(256, 256, 2), &d), 1) };
        let (ms, _) = time_ms(2, reps.div_ceil(4), || gatys_evaluation(&loss, &targets, &x, true));
        row.insert(if kernels { "kernels_ms" } else { "reference_ms" }.into(), ms.into());
    }
    row.insert("bench".into(), "gatys_evaluation_256".into());
    row.insert("adapter".into(), serde_json::to_value(&sel.info).unwrap());
    println!("{}", serde_json::Value::Object(row));
}
