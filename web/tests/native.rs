//! The browser functions of `burnish-web`, run natively on burn's wgpu device (lavapipe without a
//! GPU): the same code the page runs, so a failure here is found without a wasm build.
//!     cargo test --release -p burnish-web

use std::path::Path;

use burnish::block_on;
use burnish::feedforward::Stylizer;
use burnish::image::files::load_rgb;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn browser_checks_pass_natively() {
    let device = match burnish::device::wgpu() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("skipping: {e}");
            return;
        }
    };
    let report = block_on(burnish_web::run_checks(&device)).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(report["ok"], true, "{report}");
}

#[test]
fn browser_stylize_check_passes_natively() {
    let Ok(device) = burnish::device::wgpu() else {
        eprintln!("skipping: no wgpu device");
        return;
    };
    let model = std::fs::read(root().join("weights/styles/scream.f16.safetensors")).unwrap();
    let input_png = std::fs::read(root().join("tests/fixtures/city_96x64.png")).unwrap();
    // The reference: the same network on the CPU backend.
    let cpu = burnish::device::cpu();
    let reference = Stylizer::load("scream", &cpu.device).unwrap().frame(&load_rgb(&root().join("tests/fixtures/city_96x64.png")).unwrap()).unwrap().to_rgb8();
    let mut reference_png = Vec::new();
    reference.write_to(&mut std::io::Cursor::new(&mut reference_png), image::ImageFormat::Png).unwrap();
    let (report, _) = block_on(burnish_web::stylize_check(&device, &model, &input_png, &reference_png)).unwrap();
    eprintln!("{report}");
    assert_eq!(report["ok"], true, "{report}");
}

#[test]
fn a_gatys_run_steps_with_awaited_reads() {
    // On the CPU backend (fast here); the page runs the same function on WebGPU.
    let cpu = burnish::device::cpu();
    let vgg = std::fs::read(root().join("weights/vgg19-imagenet-conv.f16.safetensors")).unwrap();
    let content = std::fs::read(root().join("web/assets/bunny.jpg")).unwrap();
    let style = std::fs::read(root().join("web/assets/starry_night.jpg")).unwrap();
    let (report, img) = block_on(burnish_web::gatys_steps(&cpu, &vgg, &content, &style, 32, 30)).unwrap();
    eprintln!("{report}");
    assert_eq!(report["evaluations"], 30);
    // L-BFGS steps of at most 25 evaluations: at least two steps, the evaluations adding up.
    let steps = report["steps"].as_array().unwrap();
    assert!(steps.len() >= 2, "{report}");
    assert_eq!(steps.last().unwrap()["evaluations"], 30);
    assert!(report["style_last"].as_f64().unwrap() < report["style_first"].as_f64().unwrap() / 5.0, "{report}");
    assert_eq!((img.width(), img.height()), (32, 18));
}
