//! The feed-forward network: importers checked against independent computations (onnxruntime
//! on the ml5.js Scream checkpoint; a pytorch/examples state dict with an onnxruntime reference),
//! the layout's building blocks against hand-computed values, exact training resume, bad files.

mod common;

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use burnish::block_on;
use burnish::feedforward::files as netio;
use burnish::feedforward::net::{conv_valid, instance_norm, reflect_pad, tf_same};
use burnish::feedforward::train::{Photos, TrainConfig, Trainer, split_held_out};
use burnish::feedforward::{NetSpec, Stylizer, TransformerNet};
use burnish::image::RgbF32;
use burnish::image::files::load_rgb;
use burnish::image::tensor::frame_tensor;
use burnish::loss::LossConfig;
use burnish::optim::adam::AdamConfig;
use burnish::vgg::{Tap, Vgg19, VggWeights};
use common::{cpu, diff, fixture, shared, vals, wgpu};

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path).unwrap().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

#[test]
fn tf_same_padding_matches_tensorflow_rules() {
    // TensorFlow: out = ceil(n/s), total = max((out-1)·s + k - n, 0), extra padding after.
    assert_eq!(tf_same(256, 9, 1), (4, 4));
    assert_eq!(tf_same(256, 3, 2), (0, 1));
    assert_eq!(tf_same(65, 3, 2), (1, 1));
    assert_eq!(tf_same(64, 3, 1), (1, 1));
    assert_eq!(tf_same(1, 3, 2), (1, 1));
}

#[test]
fn instance_norm_matches_hand_computation() {
    // One channel [1, 2, 3, 4]: mean 2.5, biased variance 1.25.
    let d = cpu();
    let x = Tensor::<4>::from_data(TensorData::new(vec![1.0f32, 2., 3., 4., 10., 10., 10., 10.], [1, 2, 2, 2]), &d);
    let y = vals(instance_norm(x, 1e-5));
    let s = (1.25f32 + 1e-5).sqrt();
    let want = [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s, 0.0, 0.0, 0.0, 0.0];
    for (a, b) in y.iter().zip(want) {
        assert!((a - b).abs() < 1e-5, "{y:?} vs {want:?}");
    }
}

fn ml5_scream() -> netio::NetFile {
    netio::load(&shared("reference-models/ml5-fast-style-transfer/scream")).expect("ml5 scream checkpoint")
}

fn check_ml5_against_onnxruntime(d: &Device, label: &str) {
    let f = ml5_scream();
    assert_eq!(f.format, "ml5.js checkpoint");
    // The manifest's 48 variables hold 1,677,638 values in all.
    assert_eq!(f.spec.parameter_count(), 1_677_638);
    let stylizer = Stylizer::new(f, d);
    // Input: a 96x64 city photo (PNG, so both sides read the same bytes); reference output from
    // tests/fixtures/ml5_onnx.py (an ONNX graph of the checkpoint run by onnxruntime).
    let img = load_rgb(&fixture("city_96x64.png")).unwrap();
    let y = vals(stylizer.tensor(frame_tensor(&img, d)));
    let want = read_f32(&fixture("ml5_scream_city_96x64.f32"));
    let (max, mean) = diff(&y, &want);
    eprintln!("{label}: ml5 Scream vs onnxruntime: max |diff| {max:.2e}, mean {mean:.2e}");
    assert!(max < 1e-4 && mean < 1e-5, "{label}: max {max}, mean {mean}");
    // And it really is a stylization (not the identity or a constant).
    let (m2, _) = diff(&y, &img.to_chw());
    assert!(m2 > 0.3);
}

#[test]
fn ml5_scream_matches_onnxruntime_on_cpu() {
    check_ml5_against_onnxruntime(&cpu(), "cpu");
}

#[test]
fn ml5_scream_matches_onnxruntime_on_wgpu() {
    if let Some(d) = wgpu() {
        check_ml5_against_onnxruntime(&d, "wgpu");
    }
}

#[test]
fn pytorch_examples_pth_matches_onnxruntime() {
    // tests/fixtures/make_transformer_pth.py: a width-4 pytorch/examples TransformerNet state dict
    // (with legacy running_mean/var entries) and its output computed by onnxruntime.
    let f = netio::load(&fixture("tnet_w4.pth")).expect("pytorch/examples .pth");
    assert_eq!(f.spec, NetSpec::johnson(4));
    let d = cpu();
    let net = TransformerNet::from_values(f.spec.clone(), f.values.clone(), &d);
    let x = Tensor::<4>::from_data(TensorData::new(read_f32(&fixture("tnet_w4_input.f32")), [1, 3, 20, 28]), &d);
    let y = vals(net.forward(x));
    let want = read_f32(&fixture("tnet_w4_expected.f32"));
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let (max, mean) = diff(&y, &want);
    eprintln!("pytorch/examples vs onnxruntime: max |diff| {max:.2e} (output scale {scale:.2}), mean {mean:.2e}");
    assert!(max < 1e-4 * scale.max(1.0), "max {max}");
    // Round trip through burnish's own safetensors format keeps everything.
    let bytes = netio::to_safetensors(&f.spec, &f.values, None, false).unwrap();
    let g = netio::load_safetensors(&bytes, Path::new("mem")).unwrap();
    assert_eq!(g.spec, f.spec);
    assert_eq!(g.values, f.values);
}

#[test]
fn any_input_size_keeps_its_size() {
    let d = cpu();
    let net = TransformerNet::init(NetSpec::johnson(4), 1, &d);
    for (w, h) in [(1, 1), (5, 7), (13, 9), (16, 16)] {
        let img = RgbF32::new(w, h, (0..w * h * 3).map(|i| (i % 7) as f32 / 7.0).collect());
        let y = net.stylize(frame_tensor(&img, &d));
        assert_eq!(y.dims(), [1, 3, h as usize, w as usize]);
        assert!(vals(y).iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn bad_model_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let expect = |p: &Path, needle: &str| {
        let e = netio::load(p).expect_err("must fail").to_string();
        assert!(e.contains(needle), "error for {} should mention '{needle}': {e}", p.display());
    };
    expect(&write(dir.path(), "empty.safetensors", b""), "empty");
    expect(&write(dir.path(), "text.pth", b"this is not a network"), "not a style network");
    // A VGG file is a valid safetensors, but not a style network.
    expect(&Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/vgg19-imagenet-conv.f16.safetensors"), "conv1.conv2d.weight");
    // Wrong shape in an otherwise valid network.
    let spec = NetSpec::johnson(4);
    let mut values: Vec<Vec<f32>> = spec.param_shapes().iter().map(|(_, s)| vec![0.5; s.iter().product()]).collect();
    let good = netio::to_safetensors(&spec, &values, None, false).unwrap();
    let p = write(dir.path(), "good.safetensors", &good);
    assert!(netio::load(&p).is_ok());
    let truncated = &good[..good.len() - 100];
    expect(&write(dir.path(), "truncated.safetensors", truncated), "corrupt");
    values[3] = vec![f32::NAN; values[3].len()];
    let nan = netio::to_safetensors(&spec, &values, None, false).unwrap();
    expect(&write(dir.path(), "nan.safetensors", &nan), "NaN");
    // ml5: a missing variable file, and a file of the wrong length.
    let src = shared("reference-models/ml5-fast-style-transfer/scream");
    let ml5 = dir.path().join("ml5");
    std::fs::create_dir(&ml5).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), ml5.join(e.file_name())).unwrap();
    }
    std::fs::write(ml5.join("Variable_7"), [0u8; 12]).unwrap();
    expect(&ml5, "expected 512 (128 little-endian f32");
    std::fs::remove_file(ml5.join("Variable_7")).unwrap();
    expect(&ml5, "Variable_7");
    expect(dir.path(), "manifest.json");
}

fn tiny_config() -> TrainConfig {
    TrainConfig {
        batch: 2,
        crop: 32,
        width: 4,
        loss: LossConfig {
            style_layers: (0..3).map(|conv| Tap { conv, relu: false }).collect(),
            style_layer_weights: Vec::new(),
            content_layer: Some(Tap { conv: 2, relu: false }),
            ..LossConfig::gatys()
        },
        iterations: 4,
        seed: 7,
        ..TrainConfig::defaults("tiny")
    }
}

#[test]
fn training_resumes_exactly_and_skips_unreadable_photos() {
    let dir = tempfile::tempdir().unwrap();
    let photos_dir = dir.path().join("photos");
    std::fs::create_dir(&photos_dir).unwrap();
    let src = Photos::scan(&shared("photos"), 0).unwrap();
    for f in src.files.iter().take(3) {
        std::fs::copy(f, photos_dir.join(f.file_name().unwrap())).unwrap();
    }
    std::fs::write(photos_dir.join("broken.jpg"), b"\xff\xd8\xff\xe0 not really a jpeg").unwrap();
    let photos = Photos::scan(&photos_dir, 0).unwrap();
    assert_eq!(photos.files.len(), 4);
    let d = cpu();
    let vgg = Vgg19::new(&VggWeights::embedded().unwrap(), 58.0, &d);
    let style = load_rgb(&common::asset("starry_night.jpg")).unwrap().resize_max_side(64);

    let mut straight = Trainer::new(tiny_config(), &style, vgg.clone(), &d).unwrap();
    for _ in 0..4 {
        block_on(straight.step(&photos)).unwrap();
    }
    assert!(straight.skipped.iter().any(|(p, _)| p.ends_with("broken.jpg")), "the broken photo is skipped and reported");

    let mut first = Trainer::new(tiny_config(), &style, vgg.clone(), &d).unwrap();
    block_on(first.step(&photos)).unwrap();
    block_on(first.step(&photos)).unwrap();
    let ckpt = block_on(first.checkpoint_bytes()).unwrap();
    drop(first);
    let mut resumed = Trainer::resume(&ckpt, Path::new("ckpt"), tiny_config(), &style, vgg.clone(), &d).unwrap();
    assert_eq!(resumed.iteration, 2);
    block_on(resumed.step(&photos)).unwrap();
    block_on(resumed.step(&photos)).unwrap();

    let a = block_on(straight.net.values()).unwrap();
    let b = block_on(resumed.net.values()).unwrap();
    let (max, _) = diff(&a.concat(), &b.concat());
    assert!(max <= 1e-6, "resumed training differs from straight training by {max}");
    assert_eq!(straight.history.len(), resumed.history.len());
    for (x, y) in straight.history.iter().zip(&resumed.history) {
        assert!((x.total - y.total).abs() <= 1e-5 * x.total.abs(), "{x:?} vs {y:?}");
    }
    // The parameters moved, and the loss history is what a caller sees.
    let init = block_on(Trainer::new(tiny_config(), &style, vgg.clone(), &d).unwrap().net.values()).unwrap();
    assert!(diff(&init.concat(), &a.concat()).0 > 1e-4);
    // Resuming with different options is refused.
    let other = TrainConfig { adam: AdamConfig::with_lr(5e-3), ..tiny_config() };
    assert!(Trainer::resume(&ckpt, Path::new("ckpt"), other, &style, vgg.clone(), &d).is_err());

    // Per-layer style weights derived from the style image (full-precision f64s, which serde_json
    // may parse back an ulp off) resume with the same options, and the run goes on with the exact
    // values; a real change is still refused.
    let weighted = |w: Vec<f64>| TrainConfig { loss: LossConfig { style_layer_weights: w, ..tiny_config().loss }, ..tiny_config() };
    let derived = vec![37162.092260652804, 501.20573817839795, 0.1 + 0.2];
    let ckpt = block_on(Trainer::new(weighted(derived.clone()), &style, vgg.clone(), &d).unwrap().checkpoint_bytes()).unwrap();
    let t = Trainer::resume(&ckpt, Path::new("ckpt"), weighted(derived.clone()), &style, vgg.clone(), &d).unwrap();
    assert_eq!(t.cfg.loss.style_layer_weights, derived);
    assert!(Trainer::resume(&ckpt, Path::new("ckpt"), weighted(vec![37162.1, 501.20573817839795, 0.1 + 0.2]), &style, vgg, &d).is_err());
}

#[test]
fn an_empty_photo_folder_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"no photos here").unwrap();
    let e = Photos::scan(dir.path(), 0).err().expect("no photos").to_string();
    assert!(e.contains("holds no images"), "{e}");
}

#[test]
fn the_held_out_split_takes_every_nth_photo_from_the_first() {
    let names: Vec<PathBuf> = (0..7).map(|i| PathBuf::from(format!("p{i}.jpg"))).collect();
    let (train, held) = split_held_out(names.clone(), 3);
    let pick = |v: &[PathBuf]| v.iter().map(|p| p.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ");
    assert_eq!(pick(&held), "p0.jpg p3.jpg p6.jpg");
    assert_eq!(pick(&train), "p1.jpg p2.jpg p4.jpg p5.jpg");
    assert_eq!(split_held_out(names.clone(), 0), (names, Vec::new()));
    // Training on a folder sees only its training part; a folder of one photo has none left.
    let dir = tempfile::tempdir().unwrap();
    for f in Photos::scan(&shared("photos"), 0).unwrap().files.iter().take(3) {
        std::fs::copy(f, dir.path().join(f.file_name().unwrap())).unwrap();
    }
    let photos = Photos::scan(dir.path(), 2).unwrap();
    let kept: Vec<_> = photos.files.iter().map(|p| p.file_name().unwrap().to_owned()).collect();
    let all = Photos::scan(dir.path(), 0).unwrap().files;
    assert_eq!(kept, vec![all[1].file_name().unwrap().to_owned()]);
    std::fs::remove_file(&all[1]).unwrap();
    std::fs::remove_file(&all[2]).unwrap();
    let e = Photos::scan(dir.path(), 2).err().expect("nothing left").to_string();
    assert!(e.contains("no photo left for training"), "{e}");
}

#[test]
fn reformulated_convolutions_equal_plain_ones() {
    // The flex-friendly form (9x9 to few channels as 1x9 + shifted sums) against burn's plain
    // conv2d, batch 2, with bias; and the cat-based reflection padding against burn's pad.
    let d = cpu();
    let rnd = |n: usize, seed: u64| -> Vec<f32> { (0..n).map(|i| (((i as u64 * 2654435761 + seed * 97) % 1000) as f32 / 500.0) - 1.0).collect() };
    for (cin, cout, k, h, w) in [(6, 3, 9, 24, 20), (2, 16, 9, 11, 30)] {
        let x = Tensor::<4>::from_data(TensorData::new(rnd(2 * cin * h * w, 1), [2, cin, h, w]), &d);
        let wt = Tensor::<4>::from_data(TensorData::new(rnd(cout * cin * k * k, 2), [cout, cin, k, k]), &d);
        let b = Tensor::<1>::from_data(TensorData::new(rnd(cout, 3), [cout]), &d);
        let fast = conv_valid(x.clone(), wt.clone(), Some(b.clone()), 1, true);
        let plain = conv_valid(x, wt, Some(b), 1, false);
        assert_eq!(fast.dims(), plain.dims());
        let (max, _) = diff(&vals(fast), &vals(plain));
        assert!(max < 1e-4, "k {k}: max |diff| {max}");
    }
    let x = Tensor::<4>::from_data(TensorData::new(rnd(2 * 3 * 7 * 6, 4), [2, 3, 7, 6]), &d);
    for p in [1, 4] {
        let a = reflect_pad(x.clone(), p);
        let b = x.clone().pad([(0, 0), (0, 0), (p, p), (p, p)], burn::tensor::ops::PadMode::Reflect);
        assert_eq!(vals(a), vals(b));
    }
}

#[test]
fn the_stylizer_batches_frames_as_it_stylizes_them_one_by_one() {
    let d = cpu();
    let stylizer = Stylizer::from_net(TransformerNet::init(NetSpec::johnson(4), 3, &d), &d, "test".into());
    let frames: Vec<RgbF32> = (0..3).map(|k| RgbF32::new(13, 9, (0..13 * 9 * 3).map(|i| ((i * (k + 2)) % 11) as f32 / 11.0).collect())).collect();
    let batched = stylizer.frames(&frames).unwrap();
    assert_eq!(batched.len(), 3);
    for (f, b) in frames.iter().zip(&batched) {
        let single = stylizer.frame(f).unwrap();
        assert_eq!((b.width, b.height), (13, 9));
        let (max, _) = diff(&single.data, &b.data);
        assert!(max < 1e-5, "batched vs single: {max}");
    }
    // Frames of different sizes cannot share a batch; a clear error, no panic.
    let mixed = [frames[0].clone(), RgbF32::new(4, 4, vec![0.5; 48])];
    assert!(stylizer.frames(&mixed).unwrap_err().to_string().contains("one size"));
}

#[test]
fn quality_scores_match_hand_computation_and_the_loss_code() {
    use burnish::feedforward::quality::{Evaluator, STRUCTURE_TAP, STYLE_TAPS, geometric_mean, relative_squared_error};
    use burnish::loss::{PerceptualLoss, content_loss, gram_reference, style_layer_loss};
    let d = cpu();
    // ‖[1, 2] − [3, 4]‖² / ‖[3, 4]‖² = 8 / 25.
    let t = |v: Vec<f32>| Tensor::<1>::from_data(TensorData::new(v, [2]), &d);
    assert!((vals(relative_squared_error(t(vec![1., 2.]), t(vec![3., 4.])))[0] - 0.32).abs() < 1e-6);
    assert!((geometric_mean(&[1.0, 4.0]) - 2.0).abs() < 1e-12);
    // A tiny network's outputs on two photos, scored; then the same numbers by hand from VGG
    // features, the loss functions and host arithmetic in f64.
    let cfg = LossConfig::gatys();
    let vgg = cfg.vgg(&VggWeights::embedded().unwrap(), &d);
    let loss = PerceptualLoss::new(cfg.clone(), vgg.clone()).unwrap();
    let style = load_rgb(&common::asset("starry_night.jpg")).unwrap().resize_max_side(48);
    let evaluator = Evaluator::new(loss, &style, &d).unwrap();
    let stylizer = Stylizer::from_net(TransformerNet::init(NetSpec::johnson(4), 2, &d), &d, "tiny".into());
    let photos = Photos::scan(&shared("photos"), 0).unwrap();
    let host = |x: Tensor<4>| vals(x).into_iter().map(f64::from).collect::<Vec<f64>>();
    let rse = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / b.iter().map(|y| y * y).sum::<f64>();
    for path in photos.files.iter().take(2) {
        let photo = load_rgb(path).unwrap().resize_max_side(40);
        let out = stylizer.frame(&photo).unwrap();
        let s = block_on(evaluator.score(&photo, &out)).unwrap();
        let (p, o, st) = (frame_tensor(&photo, &d), frame_tensor(&out, &d), frame_tensor(&style, &d));
        let tap = cfg.content_layer.unwrap();
        let content = vals(content_loss(vgg.forward(o.clone(), &[tap]).remove(0), vgg.forward(p.clone(), &[tap]).remove(0), false))[0] as f64 * cfg.content_weight;
        let mut style_loss = 0.0;
        for (fo, fs) in vgg.forward(o.clone(), &cfg.style_layers).into_iter().zip(vgg.forward(st.clone(), &cfg.style_layers)) {
            style_loss += vals(style_layer_loss(fo, gram_reference(fs), false))[0] as f64;
        }
        style_loss *= cfg.style_weight;
        let structure = rse(&host(vgg.forward(o.clone(), &[STRUCTURE_TAP]).remove(0)), &host(vgg.forward(p.clone(), &[STRUCTURE_TAP]).remove(0)));
        let mut distance = 0.0;
        for (fo, fs) in vgg.forward(o.clone(), &STYLE_TAPS).into_iter().zip(vgg.forward(st.clone(), &STYLE_TAPS)) {
            let g = |f: Tensor<4>| vals(gram_reference(f)).into_iter().map(f64::from).collect::<Vec<f64>>();
            distance += rse(&g(fo), &g(fs)) / STYLE_TAPS.len() as f64;
        }
        let close = |a: f64, b: f64, what: &str| assert!((a - b).abs() <= 1e-4 * b.abs().max(1e-12), "{what}: {a} vs {b}");
        close(s.content_loss, content, "content loss");
        close(s.style_loss, style_loss, "style loss");
        close(s.structure, structure, "structure");
        close(s.style_distance, distance, "style distance");
        assert!(s.structure > 0.0 && s.style_distance > 0.0);
    }
}

#[test]
fn training_from_an_init_network_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let photos_dir = dir.path().join("photos");
    std::fs::create_dir(&photos_dir).unwrap();
    for f in Photos::scan(&shared("photos"), 0).unwrap().files.iter().take(3) {
        std::fs::copy(f, photos_dir.join(f.file_name().unwrap())).unwrap();
    }
    let photos = Photos::scan(&photos_dir, 0).unwrap();
    let d = cpu();
    let vgg = Vgg19::new(&VggWeights::embedded().unwrap(), 58.0, &d);
    let style = load_rgb(&common::asset("starry_night.jpg")).unwrap().resize_max_side(64);
    let init = || TransformerNet::init(NetSpec::johnson(4), 99, &d);
    let cfg = TrainConfig { init: Some("a width-4 network".into()), ..tiny_config() };
    let start = block_on(init().values()).unwrap();
    let mut straight = Trainer::starting_from(cfg.clone(), init(), &style, vgg.clone(), &d).unwrap();
    for _ in 0..4 {
        block_on(straight.step(&photos)).unwrap();
    }
    let mut first = Trainer::starting_from(cfg.clone(), init(), &style, vgg.clone(), &d).unwrap();
    block_on(first.step(&photos)).unwrap();
    block_on(first.step(&photos)).unwrap();
    let ckpt = block_on(first.checkpoint_bytes()).unwrap();
    let mut resumed = Trainer::resume(&ckpt, Path::new("ckpt"), cfg.clone(), &style, vgg.clone(), &d).unwrap();
    block_on(resumed.step(&photos)).unwrap();
    block_on(resumed.step(&photos)).unwrap();
    let (a, b) = (block_on(straight.net.values()).unwrap(), block_on(resumed.net.values()).unwrap());
    assert!(diff(&a.concat(), &b.concat()).0 <= 1e-6, "resumed training differs");
    // It started from the init network (not from fresh seed-7 parameters) and moved from it.
    let fresh = block_on(TransformerNet::init(NetSpec::johnson(4), 7, &d).values()).unwrap();
    let (from_init, from_fresh) = (diff(&start.concat(), &a.concat()).0, diff(&fresh.concat(), &a.concat()).0);
    assert!(from_init > 0.0 && from_init < from_fresh, "{from_init} vs {from_fresh}");
    // Resuming with another init (or none) is refused; a width that differs from the init's too.
    assert!(Trainer::resume(&ckpt, Path::new("ckpt"), tiny_config(), &style, vgg.clone(), &d).is_err());
    assert!(Trainer::starting_from(TrainConfig { width: 8, ..cfg }, init(), &style, vgg, &d).is_err());
}

#[test]
fn gram_energy_layer_weights_make_each_style_term_its_relative_error() {
    use burnish::feedforward::quality::STYLE_TAPS;
    use burnish::loss::{LossTargets, PerceptualLoss, gram_reference};
    let d = cpu();
    let base = LossConfig { content_layer: None, content_weight: 0.0, style_layers: STYLE_TAPS.to_vec(), style_weight: 1.0, kernels: false, ..LossConfig::gatys() };
    let vgg = base.vgg(&VggWeights::embedded().unwrap(), &d);
    let style = frame_tensor(&load_rgb(&common::asset("starry_night.jpg")).unwrap().resize_max_side(48), &d);
    let image = frame_tensor(&load_rgb(&common::asset("bunny.jpg")).unwrap().resize_max_side(48), &d);
    let grams = PerceptualLoss::new(base.clone(), vgg.clone()).unwrap().style_grams(style.clone(), 1);
    let weights = block_on(PerceptualLoss::gram_energy_weights(&grams)).unwrap();
    // By hand: each weight is 1 / mean(G²) of the style's Gram matrix.
    let host = |x: Tensor<3>| vals(x).into_iter().map(f64::from).collect::<Vec<f64>>();
    for (w, g) in weights.iter().zip(&grams) {
        let g = host(g.clone());
        let mean_sq = g.iter().map(|v| v * v).sum::<f64>() / g.len() as f64;
        assert!((w * mean_sq - 1.0).abs() < 1e-5, "{w} vs 1 / {mean_sq}");
    }
    // With them the style term is the sum over layers of ‖G − G_style‖² / ‖G_style‖².
    let loss = PerceptualLoss::new(LossConfig { style_layer_weights: weights.clone(), ..base.clone() }, vgg.clone()).unwrap();
    let terms = loss.evaluate(image.clone(), &LossTargets { content: None, style_grams: grams.clone() });
    let mut want = 0.0;
    for (f, g) in vgg.forward(image, &STYLE_TAPS).into_iter().zip(&grams) {
        let (a, b) = (host(gram_reference(f)), host(g.clone()));
        want += a.iter().zip(&b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / b.iter().map(|y| y * y).sum::<f64>();
    }
    let got = vals(terms.style)[0] as f64;
    assert!((got - want).abs() < 1e-4 * want, "{got} vs {want}");
    // A weight list of the wrong length is refused.
    let bad = LossConfig { style_layer_weights: vec![1.0], ..base };
    assert!(PerceptualLoss::new(bad, vgg).is_err());
}

#[test]
fn the_network_through_the_conv_kernel_matches_burn_ops_on_wgpu() {
    // The shipped light Scream (reflection padding, stride-2 convs, residual blocks, nearest
    // upsampling, 9×9 layers) on a 40×28 photo: the output and the gradient of Σ(y·r)
    // with respect to every parameter (one training step's gradients), through the WGSL
    // convolution against burn's pad and conv2d.
    let Some(d) = wgpu() else { return };
    let f = burnish::feedforward::shipped::resolve("scream-light").unwrap();
    let net = TransformerNet::from_values(f.spec, f.values, &d);
    let img = load_rgb(&fixture("city_96x64.png")).unwrap().resize_exact(40, 28);
    let x = frame_tensor(&img, &d); // [1, 3, 28, 40]
    let r = Tensor::<4>::from_data(TensorData::new(burnish::loss::kernels::check::pseudo_random(3 * 28 * 40, 7), [1, 3, 28, 40]), &d);
    let before = burnish::wgsl::launches();
    let mut outs = Vec::new();
    let mut grads = Vec::new();
    for kernel in [true, false] {
        let params: Vec<Tensor<1>> = net.params.iter().map(|p| p.clone().autodiff().require_grad()).collect();
        let tracked = TransformerNet { spec: net.spec.clone(), params: params.clone() };
        let y = if kernel { tracked.forward(x.clone().autodiff()) } else { tracked.forward_burn_ops(x.clone().autodiff()) };
        let g = (y.clone() * r.clone().autodiff()).sum().backward();
        outs.push(vals(y.inner()));
        grads.push(params.iter().map(|p| vals(p.grad(&g).expect("a gradient per parameter"))).collect::<Vec<_>>());
    }
    // 13 convolutions forward, the stride-1 ones' input gradients too.
    assert!(burnish::wgsl::launches() >= before + 13, "the convolution kernel did not run");
    let rel = |a: &[f32], b: &[f32]| burnish::loss::kernels::check::max_rel_err(a, b);
    assert!(rel(&outs[0], &outs[1]) < 1e-4, "output: {}", rel(&outs[0], &outs[1]));
    // Each gradient within 1e-4 of its own largest magnitude, or of 1 % of the network's largest
    // where a parameter's true gradient is 0 (a bias before an instance norm, the shift after a
    // residual block's second norm: the next norm removes any constant), so both sides are noise.
    let largest = grads[1].iter().flatten().fold(0f32, |m, v| m.max(v.abs()));
    for (i, (a, b)) in grads[0].iter().zip(&grads[1]).enumerate() {
        let own = b.iter().fold(0f32, |m, v| m.max(v.abs()));
        let worst = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        let e = worst / own.max(0.01 * largest);
        assert!(e < 1e-4, "parameter {i} ({}): gradient error {e} (own largest {own}, network's {largest})", net.names()[i]);
    }
}

/// A network of `spec` with every parameter random (instance-norm scales and shifts too, so a
/// widening that mixed them up would show).
fn random_net(spec: NetSpec, seed: u64, d: &Device) -> TransformerNet {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut uniform = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let values = spec
        .param_shapes()
        .iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let fan_in = if shape.len() == 4 { shape[1] * shape[2] * shape[3] } else { 1 };
            let scale = if name.ends_with("conv2d.weight") { 2.0 / (fan_in as f32).sqrt() } else { 0.4 };
            let centre = if !name.contains("conv2d") && name.ends_with(".weight") { 1.0 } else { 0.0 };
            (0..n).map(|_| centre + scale * uniform()).collect()
        })
        .collect();
    TransformerNet::from_values(spec, values, d)
}

#[test]
fn a_widened_network_computes_what_the_narrow_one_did() {
    use burnish::feedforward::widen::widen;
    let d = cpu();
    let img = RgbF32::new(20, 16, (0..20 * 16 * 3).map(|i| ((i * 37) % 101) as f32 / 100.0).collect());
    // burnish's layout (reflection, nearest + conv, biases) 3 -> 7 (not a multiple), and the ml5.js
    // layout (TF "SAME", transposed convolutions, no biases, a norm before tanh) 2 -> 4.
    for (spec, width) in [(NetSpec::johnson(3), 7), (NetSpec { width: 2, ..NetSpec::ml5() }, 4)] {
        let narrow = random_net(spec.clone(), 5, &d);
        let values = block_on(narrow.values()).unwrap();
        let (wide_spec, wide_values) = widen(&spec, &values, width, 1).unwrap();
        assert_eq!(wide_spec.width, width);
        assert_eq!(wide_spec.parameter_count(), NetSpec { width, ..spec.clone() }.parameter_count());
        let wide = TransformerNet::from_values(wide_spec, wide_values.clone(), &d);
        let a = vals(narrow.forward(frame_tensor(&img, &d)));
        let b = vals(wide.forward(frame_tensor(&img, &d)));
        let (max, _) = diff(&a, &b);
        let range = a.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(range > 1e-3 && max < 1e-4 * range, "width {width}: outputs differ by {max} (range {range})");
        // By hand, conv2 ([2w, w, 3, 3] in both layouts): output 0 reads old input 0 through the
        // copies c = 0 and c = w (and c = 2w for 3 -> 7); their shares differ and add up to the
        // old weight, and output w (a copy of output 0) splits it differently.
        let w_old = spec.width;
        let conv2 = spec.param_shapes().iter().position(|(n, _)| n == "conv2.conv2d.weight").unwrap();
        let (old, new) = (&values[conv2], &wide_values[conv2]);
        let (k2, cin) = (9, width);
        let at = |o: usize, c: usize| new[(o * cin + c) * k2];
        let copies: Vec<usize> = (0..width).filter(|c| c % w_old == 0).collect();
        let sum: f32 = copies.iter().map(|&c| at(0, c)).sum();
        assert!((sum - old[0]).abs() < 1e-6 * old[0].abs().max(1.0), "{sum} vs {}", old[0]);
        assert!((at(0, 0) - at(0, w_old)).abs() > 1e-3 * old[0].abs(), "the copies carry equal shares: they would train as twins");
        assert!((at(0, 0) - at(2 * w_old, 0)).abs() > 1e-3 * old[0].abs(), "two copies of an output split alike");
    }
    // Narrowing is refused.
    let spec = NetSpec::johnson(4);
    let values = block_on(random_net(spec.clone(), 1, &d).values()).unwrap();
    assert!(widen(&spec, &values, 3, 0).is_err());
}
