//! The browser app's work, natively, through the same functions the worker calls (`app`):
//! the default network (scream-light) on 256² and 512² frames in canvas RGBA, with burnish's
//! kernels and with burn's ops, and a 50-evaluation Gatys transfer at 128 px stepped as the worker
//! steps it (a preview read after each step). Prints one JSON object; tools/browser-bench.sh sets
//! it beside the browser's numbers.
//!     cargo bench -p burnish-web --bench app -- [--device wgpu|cpu] [--reps 3] [--sizes 256,512] [--no-gatys]

use std::path::Path;

use burnish::block_on;
use burnish::frames::PostProcess;
use burnish::image::files::load_rgb;
use burnish::vgg::VggWeights;
use burnish_web::app::{self, OptimMode};
use std::time::Instant;

fn arg(name: &str) -> Option<String> {
    let a: Vec<String> = std::env::args().collect();
    a.iter().position(|x| x == name).and_then(|i| a.get(i + 1).cloned())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let reps: usize = arg("--reps").map(|s| s.parse().expect("--reps N")).unwrap_or(3);
    let device = match arg("--device").as_deref().unwrap_or("wgpu") {
        "cpu" => burnish::device::cpu(),
        _ => burnish::device::wgpu().expect("no wgpu adapter (VK_ICD_FILENAMES for lavapipe)"),
    };
    let model = std::fs::read(root.join("weights/styles/scream-light.f16.safetensors")).unwrap();
    let stylizer = app::style_network(&model, "scream-light", &device).unwrap();
    let photo = load_rgb(&root.join("web/assets/bunny.jpg")).unwrap();
    let sizes: Vec<u32> = arg("--sizes").unwrap_or("256,512".into()).split(',').map(|s| s.parse().expect("--sizes N,N")).collect();
    // The network with burnish's convolution and instance-norm kernels (the default), then with
    // burn's ops (the path before the kernels).
    let mut report = serde_json::json!({ "where": "native", "device": device.info });
    for (key, on) in [("network", true), ("network_burn_ops", false)] {
        burnish::conv::set_kernels(on);
        let mut network = serde_json::Map::new();
        for &side in &sizes {
            let frame = photo.resize_exact(side, side).to_rgba8();
            let run = || {
                let t = Instant::now();
                block_on(app::stylize_rgba(&stylizer, &frame, side, side, PostProcess::default())).unwrap();
                t.elapsed().as_secs_f64() * 1e3
            };
            let first = run();
            let ms = median((0..reps).map(|_| run()).collect());
            network.insert(format!("{side}x{side}"), serde_json::json!({ "first_ms": first, "median_ms": ms, "reps": reps }));
        }
        report[key] = serde_json::json!({ "model": "scream-light", "kernels": on, "sizes": network });
    }
    burnish::conv::set_kernels(true);
    if std::env::args().any(|a| a == "--no-gatys") {
        println!("{report}");
        return;
    }
    let weights = VggWeights::from_file(&root.join("weights/vgg19-imagenet-conv.f16.safetensors")).unwrap();
    let style = load_rgb(&root.join("web/assets/starry_night.jpg")).unwrap();
    // Timed from the first step, as the worker's loop is (the style and content targets before).
    let mut opt = app::Optimisation::new(&device, &weights, OptimMode::Transfer, Some(photo), style, 128, 50).unwrap();
    let t = Instant::now();
    while block_on(opt.step()).unwrap() {
        block_on(opt.image()).unwrap();
    }
    let gatys_s = t.elapsed().as_secs_f64();
    report["gatys_128"] = serde_json::json!({ "evaluations": opt.evaluations().0, "seconds": gatys_s, "evaluations_per_step": app::EVALUATIONS_PER_STEP });
    println!("{report}");
}
