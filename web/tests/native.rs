//! The browser checks of `burnish-web`, run natively on burn's wgpu device (lavapipe without a
//! GPU): the same code the page runs, so a failure here is found without a wasm build.
//!     cargo test --release -p burnish-web

#[test]
fn browser_checks_pass_natively() {
    let sel = match burnish::backend::wgpu_device() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("skipping: {e}");
            return;
        }
    };
    let report = pollster::block_on(burnish_web::run_checks(&sel.device, serde_json::to_value(&sel.info).unwrap())).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(report["ok"], true, "{report}");
}

#[test]
fn browser_stylize_check_passes_natively() {
    use burnish::model::{netio, transformer::TransformerNet};
    let Ok(sel) = burnish::backend::wgpu_device() else {
        eprintln!("skipping: no wgpu device");
        return;
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = std::fs::read(root.join("weights/styles/scream.f16.safetensors")).unwrap();
    let input_png = std::fs::read(root.join("tests/fixtures/city_96x64.png")).unwrap();
    // The reference: the same network on the CPU backend.
    let cpu = burnish::backend::cpu_device().device;
    let file = netio::load_safetensors(&model, std::path::Path::new("scream")).unwrap();
    let img = burnish::imageio::RgbF32::from_rgb8(&image::load_from_memory(&input_png).unwrap().to_rgb8());
    let net = TransformerNet::from_values(file.spec, file.values, &cpu);
    let y = net.stylize(burnish::stylize::gatys::image_tensor(&img, &cpu));
    let reference = burnish::stylize::gatys::tensor_image(&y, img.width, img.height).unwrap().to_rgb8();
    let mut reference_png = Vec::new();
    reference.write_to(&mut std::io::Cursor::new(&mut reference_png), image::ImageFormat::Png).unwrap();
    let (report, _) = pollster::block_on(burnish_web::stylize_check(&sel.device, &model, &input_png, &reference_png)).unwrap();
    eprintln!("{report}");
    assert_eq!(report["ok"], true, "{report}");
}
