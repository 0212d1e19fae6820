//! The browser functions of `burnish-web`, run natively on burn's wgpu device (lavapipe without a
//! GPU): the same code the page runs, so a failure here is found without a wasm build.
//!     cargo test --release -p burnish-web

use std::path::Path;

use burnish::block_on;
use burnish::feedforward::Stylizer;
use burnish::frames::PostProcess;
use burnish::image::files::load_rgb;
use burnish::vgg::VggWeights;
use burnish_web::app::{self, OptimMode};

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
    let model = std::fs::read(root().join("weights/styles/scream-light.f16.safetensors")).unwrap();
    let input_png = std::fs::read(root().join("tests/fixtures/city_96x64.png")).unwrap();
    // The reference: the same network on the CPU backend.
    let cpu = burnish::device::cpu();
    let reference = Stylizer::load("scream-light", &cpu.device).unwrap().frame(&load_rgb(&root().join("tests/fixtures/city_96x64.png")).unwrap()).unwrap().to_rgb8();
    let mut reference_png = Vec::new();
    reference.write_to(&mut std::io::Cursor::new(&mut reference_png), image::ImageFormat::Png).unwrap();
    let (report, _) = block_on(burnish_web::stylize_check(&device, &model, &input_png, &reference_png)).unwrap();
    eprintln!("{report}");
    assert_eq!(report["ok"], true, "{report}");
}

#[test]
fn the_app_stylizes_rgba_frames_as_the_library_does() {
    let cpu = burnish::device::cpu();
    let model = std::fs::read(root().join("weights/styles/scream-light.f16.safetensors")).unwrap();
    let stylizer = app::style_network(&model, "scream-light", &cpu).unwrap();
    let photo = load_rgb(&root().join("tests/fixtures/city_96x64.png")).unwrap();
    let post = PostProcess { strength: 0.6, preserve_colour: true };
    let got = block_on(app::stylize_rgba(&stylizer, &photo.to_rgba8(), photo.width, photo.height, post)).unwrap();
    // The reference: the shipped network by name, then the post-processing, by hand.
    let direct = Stylizer::load("scream-light", &cpu.device).unwrap().frame(&photo).unwrap();
    let want = post.apply(&photo, direct).to_rgba8();
    assert_eq!(got.len(), 96 * 64 * 4);
    assert!(got.chunks_exact(4).all(|p| p[3] == 255), "opaque");
    assert_eq!(got, want);
    // A buffer of the wrong size is an error, not a panic.
    let e = block_on(app::stylize_rgba(&stylizer, &[0; 10], 96, 64, post)).err().unwrap();
    assert!(e.contains("not a 96x64 RGBA image"), "{e}");
    assert!(app::style_network(b"not a network", "x", &cpu).is_err());
}

#[test]
fn the_app_lists_every_shipped_style_with_its_files() {
    let list = app::shipped_styles();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names[0], "scream-light", "the default comes first");
    for s in list.as_array().unwrap() {
        for key in ["file", "preview"] {
            let f = root().join("weights/styles").join(s[key].as_str().unwrap());
            assert!(f.is_file(), "{} is missing (tools/build-web.sh copies it into web/pkg/styles)", f.display());
        }
    }
}

#[test]
fn the_apps_optimisation_steps_with_previews_and_the_loss_falls() {
    // On the CPU backend (fast here); the worker runs the same code on WebGPU.
    let cpu = burnish::device::cpu();
    let weights = VggWeights::from_file(&root().join("weights/vgg19-imagenet-conv.f16.safetensors")).unwrap();
    let content = load_rgb(&root().join("web/assets/bunny.jpg")).unwrap();
    let style = load_rgb(&root().join("web/assets/starry_night.jpg")).unwrap();
    // Transfer: the content (640x360) at 32 px; texture: the style (512x320) at 32 px.
    for (mode, size) in [(OptimMode::Transfer, (32, 18)), (OptimMode::Texture, (32, 20))] {
        let mut run = app::Optimisation::new(&cpu, &weights, mode, Some(content.clone()), style.clone(), 32, 30).unwrap();
        let (mut steps, mut seen) = (0, Vec::new());
        while block_on(run.step()).unwrap() {
            steps += 1;
            let new = run.new_losses();
            assert!(!new.is_empty() && new.len() <= app::EVALUATIONS_PER_STEP, "{mode:?}: {} evaluations in one step", new.len());
            seen.extend(new);
        }
        seen.extend(run.new_losses());
        assert_eq!(run.evaluations(), (30, 30), "{mode:?}");
        assert_eq!(seen.len(), 30, "every evaluation reported once");
        assert!(steps >= 30 / app::EVALUATIONS_PER_STEP, "{mode:?}: {steps} steps");
        assert!(seen[29].style < seen[0].style / 5.0, "{mode:?}: style {} -> {}", seen[0].style, seen[29].style);
        let img = block_on(run.image()).unwrap();
        assert_eq!((img.width, img.height), size, "{mode:?}");
    }
    assert!(app::Optimisation::new(&cpu, &weights, OptimMode::Transfer, None, style, 32, 30).is_err());
    assert!(OptimMode::parse("gatys").is_err());
}
