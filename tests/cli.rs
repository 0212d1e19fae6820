//! The command line on real files: bad input gives a clear error, a non-zero exit, no panic and
//! no partial or clobbered output; unusual but valid images work.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn burnish(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_burnish"))
        .args(args)
        .env("CUBECL_AUTOTUNE_LEVEL", "minimal")
        .output()
        .expect("run burnish")
}

/// A bundled image's path, as an argument.
fn asset(name: &str) -> String {
    common::asset(name).display().to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Fails with exit 1, an `error:` line mentioning `needle`, no panic.
fn assert_clean_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("error:"), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected '{needle}' in: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
}

/// A folder `photos` in `dir` holding the bundled images `names` (as a.jpg, b.jpg, …).
fn photo_folder(dir: &Path, names: &[&str]) -> PathBuf {
    let photos = dir.join("photos");
    std::fs::create_dir(&photos).unwrap();
    for (k, name) in names.iter().enumerate() {
        std::fs::copy(asset(name), photos.join(format!("{}.jpg", (b'a' + k as u8) as char))).unwrap();
    }
    photos
}

/// The smallest loss and no checkpoints or previews between iterations (tests that need them say so).
const TINY_LOSS: [&str; 10] =
    ["--style-size", "32", "--style-layers", "conv_1", "--content-layer", "conv_1", "--checkpoint-every", "0", "--preview-every", "0"];

/// `burnish train` on the bundled Starry Night with batches of one 32² crop on the CPU, plus `extra`.
fn train_tiny(photos: &Path, out: &Path, extra: &[&str]) -> Output {
    let style = asset("starry_night.jpg");
    let mut args = vec!["train", &style, "--photos", s(photos), "--out", s(out), "--batch", "1", "--crop", "32", "--device", "cpu"];
    args.extend_from_slice(extra);
    burnish(&args)
}

fn run_transfer(content: &str, style: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["transfer", content, style, "-o", s(out), "--size", "16", "--evaluations", "2", "--device", "cpu", "--quiet"];
    args.extend_from_slice(extra);
    burnish(&args)
}

#[test]
fn bad_inputs_fail_cleanly_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.png");
    let style = asset("starry_night.jpg");

    let missing = d.join("nope.jpg");
    assert_clean_error(&run_transfer(s(&missing), &style, &out, &[]), "cannot read");

    let empty = d.join("empty.png");
    std::fs::write(&empty, b"").unwrap();
    assert_clean_error(&run_transfer(s(&empty), &style, &out, &[]), "empty");

    let text = d.join("notes.png");
    std::fs::write(&text, "this is a text file, not a picture\n").unwrap();
    assert_clean_error(&run_transfer(s(&text), &style, &out, &[]), "not a readable image");

    let jpeg = std::fs::read(asset("bunny.jpg")).unwrap();
    let truncated = d.join("truncated.jpg");
    std::fs::write(&truncated, &jpeg[..jpeg.len() / 3]).unwrap();
    assert_clean_error(&run_transfer(s(&truncated), &style, &out, &[]), "not a readable image");

    let png_path = d.join("full.png");
    image::open(asset("bunny.jpg")).unwrap().save(&png_path).unwrap();
    let png = std::fs::read(&png_path).unwrap();
    let png_cut = d.join("cut.png");
    std::fs::write(&png_cut, &png[..png.len() / 2]).unwrap();
    assert_clean_error(&run_transfer(s(&png_cut), &style, &out, &[]), "not a readable image");
    std::fs::remove_file(&png_path).unwrap();

    let mut corrupt = jpeg.clone();
    for b in corrupt[600..4000].iter_mut() {
        *b = 0xFF;
    }
    let corrupt_path = d.join("corrupt.jpg");
    std::fs::write(&corrupt_path, &corrupt).unwrap();
    assert_clean_error(&run_transfer(s(&corrupt_path), &style, &out, &[]), "not a readable image");

    assert_clean_error(&run_transfer(&asset("bunny.jpg"), &style, &d.join("no/such/dir/out.png"), &[]), "does not exist");
    assert_clean_error(&run_transfer(&asset("bunny.jpg"), &style, d, &[]), "folder");
    assert_clean_error(&run_transfer(&asset("bunny.jpg"), &style, &d.join("out.xyz"), &[]), "extension");

    let weights = d.join("weights.safetensors");
    std::fs::write(&weights, b"garbage garbage garbage garbage").unwrap();
    assert_clean_error(&run_transfer(&asset("bunny.jpg"), &style, &out, &["--weights", s(&weights)]), "weights file");
    assert_clean_error(&run_transfer(&asset("bunny.jpg"), &style, &out, &["--content-layer", "conv_99"]), "unknown layer");
    assert_clean_error(&run_transfer(&asset("bunny.jpg"), &style, &out, &["--style-layers", "conv_1,pool9"]), "unknown layer");

    assert!(!out.exists(), "an output was written despite the errors");
    let leftovers: Vec<PathBuf> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()).filter(|p| p.to_string_lossy().contains(".burnish-")).collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn a_failed_run_does_not_clobber_an_existing_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keep.png");
    std::fs::write(&out, b"precious").unwrap();
    let bad = dir.path().join("bad.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\nbroken").unwrap();
    assert_clean_error(&run_transfer(s(&bad), &asset("starry_night.jpg"), &out, &[]), "not a readable image");
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
}

#[test]
fn unusual_valid_images_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = image::open(asset("bunny.jpg")).unwrap().resize_exact(40, 24, image::imageops::FilterType::Triangle);
    let inputs = [
        ("rgb16.png", image::DynamicImage::ImageRgb16(base.to_rgb16())),
        ("gray.png", image::DynamicImage::ImageLuma8(base.to_luma8())),
        ("gray16.png", image::DynamicImage::ImageLuma16(base.to_luma16())),
        ("rgba.png", image::DynamicImage::ImageRgba8(base.to_rgba8())),
        ("graya.png", image::DynamicImage::ImageLumaA8(base.to_luma_alpha8())),
    ];
    let mut paths = Vec::new();
    for (name, img) in inputs {
        let p = d.join(name);
        img.save(&p).unwrap();
        paths.push(p);
    }
    // A CMYK JPEG, made by ImageMagick (installed by .ci/run).
    let cmyk = d.join("cmyk.jpg");
    let st = Command::new("convert").args([&asset("bunny.jpg"), "-resize", "40x24!", "-colorspace", "CMYK", s(&cmyk)]).status();
    assert!(st.map(|s| s.success()).unwrap_or(false), "ImageMagick 'convert' is needed for the CMYK case");
    let id = Command::new("identify").args(["-format", "%[colorspace]", s(&cmyk)]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&id.stdout), "CMYK");
    paths.push(cmyk.clone());

    // CMYK decodes to the same colours as the RGB original (within JPEG error).
    let rgb = burnish::image::files::load_rgb(Path::new(&asset("bunny.jpg"))).unwrap().resize_exact(40, 24);
    let from_cmyk = burnish::image::files::load_rgb(&cmyk).unwrap();
    let err = rgb.data.iter().zip(&from_cmyk.data).map(|(a, b)| (a - b).abs()).sum::<f32>() / rgb.data.len() as f32;
    assert!(err < 0.08, "CMYK JPEG decoded with mean error {err}");
    // Fully transparent pixels become white, not black.
    let clear = d.join("clear.png");
    image::RgbaImage::from_pixel(4, 4, image::Rgba([0, 0, 0, 0])).save(&clear).unwrap();
    assert!(burnish::image::files::load_rgb(&clear).unwrap().data.iter().all(|v| *v == 1.0));

    for p in &paths {
        let out = d.join(format!("{}.out.png", p.file_stem().unwrap().to_string_lossy()));
        let o = run_transfer(s(p), s(p), &out, &[]);
        assert!(o.status.success(), "{}: {}", p.display(), String::from_utf8_lossy(&o.stderr));
        let img = image::open(&out).unwrap();
        assert_eq!((img.width(), img.height()), (16, 10), "{}", p.display());
    }
}

#[test]
fn texture_report_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("tex.png");
    let report = d.join("r.json");
    let plot = d.join("loss.png");
    let o = burnish(&[
        "texture", &asset("starry_night.jpg"), "-o", s(&out), "--size", "24x16", "--evaluations", "6", "--seed", "7",
        "--device", "cpu", "--report", s(&report), "--loss-plot", s(&plot), "--save-every", "3",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (24, 16));
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["evaluations"], 6);
    assert_eq!(r["settings"]["seed"], 7);
    assert_eq!(r["adapter"]["backend"], "cpu");
    assert_eq!(r["history"].as_array().unwrap().len(), 6);
    assert!(r["final"]["style"].as_f64().unwrap() > 0.0);
    assert!(image::open(&plot).is_ok());
    assert!(d.join("tex.e0003.png").exists() && d.join("tex.e0006.png").exists());
}

#[test]
fn ctrl_c_writes_the_current_image() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("interrupted.png");
    // Interrupted at the first progress line.
    let args = ["transfer", &asset("bunny.jpg"), &asset("starry_night.jpg"), "-o", s(&out), "--size", "32", "--evaluations", "100000", "--device", "cpu"];
    let (code, log) = common::interrupt_after(&args, "evals");
    assert_eq!(code, Some(130), "{log}");
    assert!(log.contains("interrupted"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    let img = image::open(&out).expect("the current image was written");
    assert_eq!((img.width(), img.height()), (32, 18));
}

#[test]
fn ablation_and_calibration_sheets() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in ["ablation", "calibrate"] {
        let out = dir.path().join(format!("{cmd}.png"));
        let o = burnish(&[
            cmd, &asset("bunny.jpg"), &asset("starry_night.jpg"), "-o", s(&out), "--size", "40", "--evaluations", "2",
            "--device", "cpu", "--quiet",
        ]);
        assert!(o.status.success(), "{cmd}: {}", String::from_utf8_lossy(&o.stderr));
        let img = image::open(&out).unwrap();
        // Several rows of 24-px results with captions under a title.
        assert!(img.width() > 3 * 40 && img.height() > 3 * 22, "{cmd}: {}x{}", img.width(), img.height());
    }
    // Too small for the deep layers: a clear error instead of NaN losses.
    let out = dir.path().join("small.png");
    let o = burnish(&[
        "texture", &asset("starry_night.jpg"), "-o", s(&out), "--size", "12", "--style-layers", "deep", "--device", "cpu", "--quiet",
    ]);
    assert_clean_error(&o, "too small for layer conv5_3");
    assert!(!out.exists());
}

/// A shared data file's path, as an argument.
fn shared(rel: &str) -> String {
    common::shared(rel).display().to_string()
}

#[test]
fn stylize_images_and_folders() {
    let dir = tempfile::tempdir().unwrap();
    let ml5 = shared("reference-models/ml5-fast-style-transfer/wave");
    // One image to one file.
    let one = dir.path().join("one.png");
    let out = burnish(&["stylize", &asset("bunny.jpg"), "-o", s(&one), "--model", &ml5, "--size", "64", "--device", "cpu"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let img = image::open(&one).unwrap();
    assert_eq!((img.width(), img.height()), (64, 36));
    // A folder (with a broken file) to a folder: the good ones are written, the bad one reported, exit 1.
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    std::fs::copy(asset("bunny.jpg"), inputs.join("a.jpg")).unwrap();
    std::fs::copy(asset("starry_night.jpg"), inputs.join("b.jpg")).unwrap();
    std::fs::write(inputs.join("c.png"), b"not a png").unwrap();
    let outdir = dir.path().join("out");
    let out = burnish(&["stylize", s(&inputs), "-o", s(&outdir), "--model", &ml5, "--size", "48", "--device", "cpu", "--quiet"]);
    assert_clean_error(&out, "c.png");
    assert!(outdir.join("a.jpg").is_file() && outdir.join("b.jpg").is_file());
    assert!(!outdir.join("c.png").exists());
    let names: Vec<_> = std::fs::read_dir(&outdir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 2, "no temp files left: {names:?}");
}

#[test]
fn stylize_with_a_bad_model_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out_img = dir.path().join("o.png");
    let out = burnish(&["stylize", &asset("bunny.jpg"), "-o", s(&out_img), "--model", "no-such-style", "--device", "cpu"]);
    assert_clean_error(&out, "not a shipped style");
    let junk = dir.path().join("junk.pth");
    std::fs::write(&junk, b"PK\x03\x04 truncated zip").unwrap();
    let out = burnish(&["stylize", &asset("bunny.jpg"), "-o", s(&out_img), "--model", s(&junk), "--device", "cpu"]);
    assert_clean_error(&out, "not a style network");
    let vgg = format!("{}/weights/vgg19-imagenet-conv.f16.safetensors", env!("CARGO_MANIFEST_DIR"));
    let out = burnish(&["stylize", &asset("bunny.jpg"), "-o", s(&out_img), "--model", &vgg, "--device", "cpu"]);
    assert_clean_error(&out, "not a TransformerNet");
    assert!(!out_img.exists());
}

#[test]
fn train_checkpoints_resumes_and_its_model_stylizes() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photo_folder(dir.path(), &["bunny.jpg", "starry_night.jpg"]);
    let out_dir = dir.path().join("run");
    let train = |extra: &[&str]| {
        let mut args = vec![
            "--width", "4", "--style-layers", "conv_1,conv_2", "--content-layer", "conv_2", "--style-size", "64",
            "--checkpoint-every", "1", "--preview-every", "1",
        ];
        args.extend_from_slice(extra);
        train_tiny(&photos, &out_dir, &args)
    };
    let out = train(&["--iterations", "2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for f in ["checkpoint.safetensors", "model.safetensors", "losses.csv", "losses.png", "config.json", "preview-000001.jpg", "preview-000002.jpg"] {
        assert!(out_dir.join(f).is_file(), "{f} missing");
    }
    assert_eq!(std::fs::read_to_string(out_dir.join("losses.csv")).unwrap().lines().count(), 3);
    // Without --resume an existing run is not overwritten.
    assert_clean_error(&train(&["--iterations", "2"]), "--resume");
    // Resume with different options is refused; with the same ones it continues.
    assert_clean_error(&train(&["--iterations", "3", "--resume", "--lr", "0.01"]), "differ from the checkpoint");
    let out = train(&["--iterations", "3", "--resume"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.contains("resuming at iteration 2"), "{stderr}");
    assert_eq!(std::fs::read_to_string(out_dir.join("losses.csv")).unwrap().lines().count(), 4);
    // The trained model stylizes.
    let styled = dir.path().join("styled.png");
    let out = burnish(&["stylize", &asset("bunny.jpg"), "-o", s(&styled), "--model", s(&out_dir.join("model.safetensors")), "--size", "32", "--device", "cpu"]);
    assert!(out.status.success() && styled.is_file(), "{}", String::from_utf8_lossy(&out.stderr));
    // An empty photo folder is an error.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_clean_error(&train_tiny(&empty, &dir.path().join("x"), &[]), "holds no images");
}

#[test]
fn ctrl_c_during_training_saves_a_checkpoint_that_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photo_folder(dir.path(), &["bunny.jpg"]);
    let run = dir.path().join("run");
    let args = |resume: bool| {
        let mut v: Vec<String> = ["train", &asset("starry_night.jpg"), "--photos", s(&photos), "--out", s(&run), "--batch", "1", "--crop", "32"]
            .iter()
            .map(|a| a.to_string())
            .collect();
        v.extend(["--width", "4", "--iterations", "1000000", "--device", "cpu"].map(String::from));
        v.extend(TINY_LOSS.map(String::from));
        if resume {
            v.push("--resume".into());
        }
        v
    };
    let first = args(false);
    let (code, log) = common::interrupt_after(&first.iter().map(String::as_str).collect::<Vec<_>>(), " it/s");
    assert_eq!(code, Some(130), "{log}");
    assert!(log.contains("checkpoint saved") && !log.contains("panicked"), "{log}");
    let done = std::fs::read_to_string(run.join("losses.csv")).unwrap().lines().count() - 1;
    assert!(done >= 1, "{log}");
    // Resume and stop again at once via --max-seconds 0: it continues from where it stopped.
    let mut a = args(true);
    a.extend(["--max-seconds".to_string(), "0".to_string()]);
    let out = Command::new(env!("CARGO_BIN_EXE_burnish")).args(a).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.contains(&format!("resuming at iteration {done}")), "{stderr}");
    assert_eq!(std::fs::read_to_string(run.join("losses.csv")).unwrap().lines().count() - 1, done + 1);
}

#[test]
fn shipped_styles_are_listed_and_the_default_stylizes() {
    let out = burnish(&["styles"]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for name in [
        "scream-light",
        "scream",
        "wave-light",
        "wave",
        "udnie-light",
        "udnie",
        "starry-night-light",
        "starry-night",
        "composition-vii-light",
        "composition-vii",
        "woman-with-hat-light",
        "woman-with-hat",
    ] {
        assert!(listing.lines().any(|l| l.split_whitespace().next() == Some(name)), "{name} missing: {listing}");
    }
    let dir = tempfile::tempdir().unwrap();
    let styled = dir.path().join("styled.jpg");
    // No --model: the shipped Scream (light, the training recipe).
    let out = burnish(&["stylize", &asset("bunny.jpg"), "-o", s(&styled), "--size", "96", "--device", "cpu"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.contains("<shipped scream-light>"), "{stderr}");
    let a = image::open(&styled).unwrap().to_rgb8();
    let b = image::open(asset("bunny.jpg")).unwrap().resize_exact(96, 54, image::imageops::FilterType::Triangle).to_rgb8();
    assert_eq!(a.dimensions(), (96, 54));
    let mad = a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| (*x as f64 - *y as f64).abs()).sum::<f64>() / a.as_raw().len() as f64;
    assert!(mad > 10.0, "the output should differ from the input: mean |diff| {mad}");
}

#[test]
fn evaluate_writes_its_report_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let photos = d.join("photos");
    std::fs::create_dir(&photos).unwrap();
    std::fs::copy(asset("bunny.jpg"), photos.join("a.jpg")).unwrap();
    std::fs::copy(shared("photos/bsds500__test_100007.jpg"), photos.join("b.jpg")).unwrap();
    let (report, sheet) = (d.join("r.json"), d.join("sheet.png"));
    let style = asset("starry_night.jpg");
    let run = |model: &str, style: &str, photos: &str| {
        burnish(&["evaluate", model, "--style", style, "--photos", photos, "--size", "48", "--gatys", "3", "--report", s(&report), "--sheet", s(&sheet), "--device", "cpu", "-q"])
    };
    let o = run("scream-light", &style, s(&photos));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["per_photo"].as_array().unwrap().len(), 2);
    for who in ["network", "gatys"] {
        for key in ["structure", "style_distance"] {
            assert!(r["geometric_mean"][who][key].as_f64().unwrap() > 0.0, "{who} {key}: {r}");
        }
    }
    assert_eq!(r["loss_settings_from"], "the model's training config");
    assert_eq!(image::open(&sheet).unwrap().height() > 96, true);
    std::fs::remove_file(&report).unwrap();
    std::fs::remove_file(&sheet).unwrap();
    // --held-out 2: only the photos `train --hold-out 2` kept out (the first of each two, by name).
    let o = burnish(&["evaluate", "scream-light", "--style", &style, "--photos", s(&photos), "--size", "48", "--held-out", "2", "--report", s(&report), "--device", "cpu", "-q"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let names: Vec<&str> = r["per_photo"].as_array().unwrap().iter().map(|p| p["photo"].as_str().unwrap()).collect();
    assert_eq!(names, ["a.jpg"]);
    std::fs::remove_file(&report).unwrap();
    let text = d.join("style.jpg");
    std::fs::write(&text, "not a picture").unwrap();
    assert_clean_error(&run("scream-light", s(&text), s(&photos)), "not a readable image");
    assert_clean_error(&run("scream-light", &style, s(&d.join("nope"))), "cannot read");
    let bad = d.join("bad.safetensors");
    std::fs::write(&bad, b"garbage garbage garbage garbage").unwrap();
    assert_clean_error(&run(s(&bad), &style, s(&photos)), "bad.safetensors");
    assert!(!report.exists() && !sheet.exists(), "no partial report");
}

#[test]
fn train_init_starts_from_every_network_format() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let photos = photo_folder(d, &["bunny.jpg"]);
    let exported = d.join("tnet_w4.safetensors");
    let tnet = format!("{}/tests/fixtures/tnet_w4.pth", env!("CARGO_MANIFEST_DIR"));
    assert!(burnish(&["export", &tnet, "-o", s(&exported)]).status.success());
    let ml5 = shared("reference-models/ml5-fast-style-transfer/wave");
    for (k, init) in ["scream-light", tnet.as_str(), s(&exported), ml5.as_str()].into_iter().enumerate() {
        let out = d.join(format!("run{k}"));
        let mut args = vec!["--init", init, "--iterations", "1", "--lr", "1e-12", "--quiet"];
        args.extend(TINY_LOSS);
        let o = train_tiny(&photos, &out, &args);
        assert!(o.status.success(), "{init}: {}", String::from_utf8_lossy(&o.stderr));
        // One step at a learning rate of 1e-12: the trained network is the init network.
        let want = burnish::feedforward::shipped::resolve(init).unwrap();
        let got = burnish::feedforward::files::load(&out.join("model.safetensors")).unwrap();
        assert_eq!(got.spec, want.spec, "{init}");
        let max = got.values.concat().iter().zip(want.values.concat()).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(max < 1e-6, "{init}: parameters moved by {max}");
        assert_eq!(got.config.unwrap()["init"], want.source.as_str());
    }
}

#[test]
fn train_init_with_a_wider_width_widens_the_network_first() {
    use burnish::feedforward::{Stylizer, files};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let photos = photo_folder(d, &["bunny.jpg"]);
    let tnet = format!("{}/tests/fixtures/tnet_w4.pth", env!("CARGO_MANIFEST_DIR"));
    let train = |out: &Path, width: &str| {
        let mut args = vec!["--init", tnet.as_str(), "--width", width, "--iterations", "1", "--lr", "1e-12", "--quiet"];
        args.extend(TINY_LOSS);
        train_tiny(&photos, out, &args)
    };
    let out = d.join("wide");
    let o = train(&out, "6");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = files::load(&out.join("model.safetensors")).unwrap();
    assert_eq!(got.spec.width, 6);
    assert_eq!(got.config.as_ref().unwrap()["init"], format!("{tnet} widened from width 4 to 6").as_str());
    // A step at a learning rate of 1e-12 leaves the widened network as it was: it stylizes a
    // photo as the width-4 network does.
    let dev = common::cpu();
    let photo = burnish::image::files::load_rgb(Path::new(&asset("bunny.jpg"))).unwrap().resize_max_side(48);
    let frame = |f: files::NetFile| Stylizer::new(f, &dev).frame(&photo).unwrap().data;
    let (a, b) = (frame(files::load(Path::new(&tnet)).unwrap()), frame(got));
    let max = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(max < 1e-4, "the widened network's output differs by {max}");
    // Narrower than the init network: a clean error, nothing written.
    let narrow = d.join("narrow");
    assert_clean_error(&train(&narrow, "2"), "narrower");
    assert!(!narrow.join("model.safetensors").exists());
}

#[test]
fn a_second_gpu_run_reuses_the_autotune_results_from_any_directory() {
    // cubecl's autotune results live in the user cache directory ($XDG_CACHE_HOME/cubecl), not
    // beside the working directory: the first wgpu run tunes burn's kernels (cubecl's log says
    // "Tuning:"), a second run from another directory finds every result and tunes nothing. A
    // tiny Gatys transfer (what `burnish demo` runs): its reductions and matrix products are
    // burn's, autotuned, while a stylized photo now runs only burnish's kernels and tunes nothing.
    if common::wgpu_device().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let (content, style) = (asset("bunny.jpg"), asset("starry_night.jpg"));
    let mut logs = Vec::new();
    for (i, cwd) in [dir.path().to_path_buf(), std::env::temp_dir()].into_iter().enumerate() {
        let log = dir.path().join(format!("cubecl-{i}.log"));
        let out = Command::new(env!("CARGO_BIN_EXE_burnish"))
            .current_dir(&cwd)
            .env("XDG_CACHE_HOME", &cache)
            .env("CUBECL_DEBUG_LOG", &log)
            .args(["transfer", &content, &style, "-o", s(&dir.path().join(format!("out{i}.png"))), "--size", "32", "--evaluations", "2"])
            .args(["--device", "wgpu", "--quiet"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        logs.push(std::fs::read_to_string(&log).unwrap_or_default());
    }
    assert!(cache.join("cubecl").read_dir().is_ok_and(|mut d| d.next().is_some()), "no cache in {}", cache.display());
    assert!(logs[0].contains("Tuning:"), "the first run tuned nothing? (is autotune on?)");
    assert!(!logs[1].contains("Tuning:"), "the second run tuned again");
}
