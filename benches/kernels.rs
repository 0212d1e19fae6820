//! Benchmark: Gram + style loss, forward and backward, at the shapes of VGG19's style layers for
//! a 256² image (64×256², 128×128², 256×64², 512×32²), WGSL kernels on vs off; and one whole
//! Gatys evaluation (VGG forward + backward + losses) on vs off. Prints JSON lines.
//!
//!     cargo bench --bench kernels -- [--device wgpu|cpu] [--reps 20] [--only-c C] [--skip-eval]
//!
//! Times are medians of `--reps` calls, each ending in a read back.

mod common;


use common::{arg, flag, gatys_evaluation, time_ms};

use burn::tensor::{Device, Distribution, Tensor};
use burnish::backend;
use burnish::loss::{gram, style_layer_loss};
use burnish::model::vgg::Vgg19;
use burnish::model::weights::VggWeights;
use burnish::optim::read_scalars;
use burnish::stylize::gatys::{self, RunConfig};

/// The Gram kernel's k-split settings in force (see src/kernels/wgsl.rs), for the record.
fn split_env() -> serde_json::Value {
    let get = |n: &str| std::env::var(n).ok().map(serde_json::Value::from).unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "BURNISH_GRAM_GROUPS": get("BURNISH_GRAM_GROUPS"),
        "BURNISH_GRAM_MIN_CHUNKS": get("BURNISH_GRAM_MIN_CHUNKS"),
        "BURNISH_GRAM_CHUNK": get("BURNISH_GRAM_CHUNK"),
    })
}

fn main() {
    let device = arg("--device").unwrap_or_else(|| "wgpu".into());
    let reps: usize = arg("--reps").map(|s| s.parse().unwrap()).unwrap_or(20);
    let sel = if device == "cpu" { backend::cpu_device() } else { backend::wgpu_device().expect("wgpu device") };
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
                read_scalars(vec![l]).unwrap();
            });
            let (fwd_bwd, _) = time_ms(2, reps, || {
                let xa = x.clone().autodiff().require_grad();
                let l = style_layer_loss(xa.clone(), target.clone(), kernels);
                let g = xa.grad(&l.backward()).unwrap();
                read_scalars(vec![g.sum()]).unwrap();
            });
            let key = if kernels { "kernels" } else { "reference" };
            row.insert(key.into(), serde_json::json!({ "forward_ms": fwd, "forward_backward_ms": fwd_bwd }));
        }
        let speedup = row["reference"]["forward_backward_ms"].as_f64().unwrap() / row["kernels"]["forward_backward_ms"].as_f64().unwrap();
        row.insert("bench".into(), "gram_style_loss".into());
        row.insert("shape".into(), serde_json::json!([1, c, side, side]));
        row.insert("speedup_forward_backward".into(), speedup.into());
        row.insert("speedup_forward".into(), (row["reference"]["forward_ms"].as_f64().unwrap() / row["kernels"]["forward_ms"].as_f64().unwrap()).into());
        row.insert("split_policy".into(), split_env());
        row.insert("adapter".into(), serde_json::to_value(&sel.info).unwrap());
        println!("{}", serde_json::Value::Object(row));
    }

    if flag("--skip-eval") {
        return;
    }
    // One whole Gatys evaluation at 256² (content conv_4, style conv_1..5).
    let weights = VggWeights::embedded().unwrap();
    let vgg = Vgg19::new(&weights, gatys::DEFAULT_FEATURE_SCALE, &d);
    let img = gatys::noise_image(256, 256, 1);
    let x = gatys::image_tensor(&img, &d);
    let mut row = serde_json::Map::new();
    for kernels in [true, false] {
        let cfg = RunConfig { kernels, ..RunConfig::transfer_defaults() };
        let targets = gatys::Targets::new(&vgg, &cfg, Some(&img), &gatys::noise_image(256, 256, 2), &d);
        let mut taps = vec![cfg.content_layer.unwrap()];
        taps.extend(cfg.style_layers.iter().copied());
        let content = targets.content.clone().unwrap();
        let (ms, _) = time_ms(2, reps.div_ceil(4), || gatys_evaluation(&vgg, &taps, &x, &content, &targets.style_grams, kernels, cfg.style_weight, true));
        row.insert(if kernels { "kernels_ms" } else { "reference_ms" }.into(), ms.into());
    }
    row.insert("bench".into(), "gatys_evaluation_256".into());
    row.insert("adapter".into(), serde_json::to_value(&sel.info).unwrap());
    println!("{}", serde_json::Value::Object(row));
}
