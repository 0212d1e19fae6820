//! `burnish stylize`, `styles` and `train`: the feed-forward network on the command line.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use burnish::backend::{self, Selected};
use burnish::cli::{DeviceArg, TrainArgs};
use burnish::imageio::{self, RgbF32};
use burnish::layers::{Tap, parse_layer_list};
use burnish::model::shipped::{SHIPPED, resolve};
use burnish::model::transformer::TransformerNet;
use burnish::model::vgg::Vgg19;
use burnish::model::weights::VggWeights;
use burnish::sheet;
use burnish::stylize::gatys::{image_tensor, tensor_image};
use burnish::stylize::train::{Photos, StepLosses, TrainConfig, Trainer};

pub fn select(device: DeviceArg, quiet: bool) -> Result<Selected> {
    let sel = backend::select(device.into())?;
    if !quiet {
        eprintln!("device: {}", sel.info);
    }
    Ok(sel)
}

/// Largest image stylized in one pass (activations of the first layers: 32 channels, f32, full size).
const MAX_STYLIZE_MEGAPIXELS: f64 = 17.0;

const IMAGE_EXTS: [&str; 8] = ["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "gif"];

fn is_image_name(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| IMAGE_EXTS.contains(&e.to_ascii_lowercase().as_str()))
}

pub fn styles() -> Result<ExitCode> {
    if SHIPPED.is_empty() {
        println!("no styles are shipped in this build");
    }
    for s in SHIPPED {
        println!("{:<16} {}", s.name, s.title);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn export(model: &str, output: &Path, f16: bool) -> Result<ExitCode> {
    let file = resolve(model)?;
    let bytes = burnish::model::netio::to_safetensors(&file.spec, &file.values, file.config.as_ref(), f16)?;
    imageio::write_atomic(output, &bytes)?;
    eprintln!("wrote {} ({}, {} parameters, {} bytes)", output.display(), file.format, file.spec.parameter_count(), bytes.len());
    Ok(ExitCode::SUCCESS)
}

pub fn stylize(inputs: &[PathBuf], output: &Path, model: &str, size: Option<u32>, device: DeviceArg, quiet: bool) -> Result<ExitCode> {
    // Every input is listed and checked before any work; outputs are written atomically.
    let mut jobs: Vec<(PathBuf, PathBuf)> = Vec::new();
    let single = inputs.len() == 1 && inputs[0].is_file();
    if single && is_image_name(output) {
        imageio::check_writable(output)?;
        jobs.push((inputs[0].clone(), output.to_path_buf()));
    } else {
        if output.exists() && !output.is_dir() {
            anyhow::bail!("{} exists and is not a folder: with several inputs (or a folder), -o names an output folder", output.display());
        }
        for input in inputs {
            let files: Vec<PathBuf> = if input.is_dir() {
                let mut v: Vec<PathBuf> = std::fs::read_dir(input)
                    .with_context(|| format!("cannot read folder {}", input.display()))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file() && is_image_name(p))
                    .collect();
                v.sort();
                if v.is_empty() {
                    anyhow::bail!("{} holds no images ({})", input.display(), IMAGE_EXTS.join(", "));
                }
                v
            } else if input.exists() {
                vec![input.clone()]
            } else {
                anyhow::bail!("cannot read {}: no such file or folder", input.display());
            };
            for f in files {
                let name = f.file_name().expect("a file name").to_owned();
                let out = output.join(&name);
                if jobs.iter().any(|(_, o)| *o == out) {
                    anyhow::bail!("two inputs are named {}: they would write the same output", name.to_string_lossy());
                }
                jobs.push((f, out));
            }
        }
        std::fs::create_dir_all(output).with_context(|| format!("cannot create output folder {}", output.display()))?;
    }
    if let Some(s) = size {
        if !(16..=8192).contains(&s) {
            anyhow::bail!("invalid option: --size {s}: use 16..8192 pixels");
        }
    }
    let file = resolve(model)?;
    let sel = select(device, quiet)?;
    if !quiet {
        eprintln!("model: {} ({}, width {}, {} parameters)", file.source, file.format, file.spec.width, file.spec.parameter_count());
    }
    let net = TransformerNet::from_values(file.spec, file.values, &sel.device);
    let t0 = Instant::now();
    let mut failed = 0;
    for (i, (input, out)) in jobs.iter().enumerate() {
        let result = (|| -> Result<(u32, u32, f64)> {
            let img = imageio::load_rgb(input)?;
            let img = match size {
                Some(s) => img.resize_max_side(s),
                None => img,
            };
            let mp = img.width as f64 * img.height as f64 / 1e6;
            if mp > MAX_STYLIZE_MEGAPIXELS {
                anyhow::bail!(
                    "{}x{} is {mp:.0} megapixels, over the feed-forward limit of {MAX_STYLIZE_MEGAPIXELS} (its activations would need over {:.0} GB); pass --size 4096 or smaller",
                    img.width,
                    img.height,
                    mp * 32.0 * 4.0 * 3.0 / 1e3
                );
            }
            let t = Instant::now();
            let y = net.stylize(image_tensor(&img, &sel.device));
            let styled = tensor_image(&y, img.width, img.height)?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            imageio::save_rgb(out, &styled)?;
            Ok((img.width, img.height, ms))
        })();
        match result {
            Ok((w, h, ms)) if !quiet => eprintln!("[{}/{}] {} ({w}x{h}, {ms:.0} ms) -> {}", i + 1, jobs.len(), input.display(), out.display()),
            Ok(_) => {}
            Err(e) => {
                failed += 1;
                eprintln!("error: {}: {e:#}", input.display());
            }
        }
    }
    if !quiet {
        eprintln!("stylized {} of {} images in {:.1} s", jobs.len() - failed, jobs.len(), t0.elapsed().as_secs_f64());
    }
    Ok(if failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn train_config(a: &TrainArgs) -> Result<TrainConfig> {
    for (name, v) in [("--style-weight", a.style_weight), ("--content-weight", a.content_weight), ("--tv-weight", a.tv_weight)] {
        if !(v.is_finite() && v >= 0.0) {
            anyhow::bail!("invalid option: {name} must be a non-negative number");
        }
    }
    if !(a.lr.is_finite() && a.lr > 0.0) || !(a.feature_scale.is_finite() && a.feature_scale > 0.0) {
        anyhow::bail!("invalid option: --lr and --feature-scale must be positive");
    }
    if a.iterations == 0 || a.width == 0 || a.width > 256 || a.batch == 0 || a.batch > 64 {
        anyhow::bail!("invalid option: --iterations >= 1, --width 1..256, --batch 1..64");
    }
    if a.crop < 16 || a.crop > 2048 || a.crop % 4 != 0 {
        anyhow::bail!("invalid option: --crop must be a multiple of 4 in 16..2048");
    }
    Ok(TrainConfig {
        style: a.style.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        style_size: a.style_size,
        batch: a.batch,
        crop: a.crop,
        lr: a.lr,
        content_layer: Tap::parse(&a.content_layer)?,
        style_layers: parse_layer_list(&a.style_layers)?,
        content_weight: a.content_weight,
        style_weight: a.style_weight,
        tv_weight: a.tv_weight,
        feature_scale: a.feature_scale,
        width: a.width,
        iterations: a.iterations,
        seed: a.seed,
        kernels: !a.no_kernels,
        ..TrainConfig::defaults("")
    })
}

pub fn train(a: &TrainArgs, stop: Arc<AtomicBool>) -> Result<ExitCode> {
    let cfg = train_config(a)?;
    let style = imageio::load_rgb(&a.style)?.resize_max_side(a.style_size);
    let photos = Photos::scan(&a.photos)?;
    let preview_img = match &a.preview {
        Some(p) => imageio::load_rgb(p)?,
        None => first_readable(&photos)?,
    };
    let preview_img = preview_img.resize_max_side(256);
    std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?;
    let ckpt_path = a.out.join("checkpoint.safetensors");
    if !a.resume && ckpt_path.exists() {
        anyhow::bail!("{} already holds a checkpoint: pass --resume to continue it, or choose another --out", a.out.display());
    }
    let sel = select(a.device, a.quiet)?;
    let vgg = Vgg19::new(&VggWeights::embedded()?, cfg.feature_scale, &sel.device);
    let mut trainer = if a.resume {
        let bytes = std::fs::read(&ckpt_path).with_context(|| format!("--resume: cannot read {}", ckpt_path.display()))?;
        let t = Trainer::resume(&bytes, &ckpt_path, cfg.clone(), &style, vgg, &sel.device)?;
        if !a.quiet {
            eprintln!("resuming at iteration {} of {}", t.iteration, cfg.iterations);
        }
        t
    } else {
        Trainer::new(cfg.clone(), &style, vgg, &sel.device)?
    };
    let config_json = serde_json::json!({ "train": &cfg, "device": &sel.info, "photos": a.photos, "photo_count": photos.files.len() });
    imageio::write_atomic(&a.out.join("config.json"), serde_json::to_string_pretty(&config_json)?.as_bytes())?;
    if !a.quiet {
        eprintln!(
            "training {} (width {}, {} parameters) on {} photos, batch {} of {}², {} iterations",
            cfg.style,
            cfg.width,
            trainer.net.spec.parameter_count(),
            photos.files.len(),
            cfg.batch,
            cfg.crop,
            cfg.iterations
        );
    }
    let tty = std::io::stderr().is_terminal();
    let start_it = trainer.iteration;
    let bar = (tty && !a.quiet).then(|| {
        let bar = ProgressBar::new(cfg.iterations as u64);
        bar.set_style(
            ProgressStyle::with_template("train [{bar:30}] {pos}/{len} it {per_sec} ETA {eta} {msg}").expect("valid template").progress_chars("=> "),
        );
        bar.set_position(start_it as u64);
        bar.reset_eta();
        bar
    });
    let t0 = Instant::now();
    let mut seconds_before: f64 = config_seconds(&a.out);
    let mut reported_skips = 0;
    let mut last_line = Instant::now();
    let mut interrupted = false;
    while trainer.iteration < cfg.iterations {
        let l = trainer.step(&photos)?;
        for (p, e) in &trainer.skipped[reported_skips..] {
            eprintln!("warning: skipping unreadable photo {}: {e}", p.display());
        }
        reported_skips = trainer.skipped.len();
        let done = trainer.iteration - start_it;
        let rate = done as f64 / t0.elapsed().as_secs_f64().max(1e-9);
        let msg = format!("loss {:.3e} (content {:.3e}, style {:.3e})", l.total, l.content, l.style);
        if let Some(bar) = &bar {
            bar.set_position(trainer.iteration as u64);
            bar.set_message(msg.clone());
        } else if !a.quiet && (done == 1 || last_line.elapsed().as_secs_f64() > 30.0 || trainer.iteration == cfg.iterations) {
            let eta = (cfg.iterations - trainer.iteration) as f64 / rate.max(1e-9);
            eprintln!("train {}/{} it, {:.3} it/s, ETA {:.0} s: {msg}", trainer.iteration, cfg.iterations, rate, eta);
            last_line = Instant::now();
        }
        if a.preview_every > 0 && trainer.iteration % a.preview_every == 0 {
            write_preview(&trainer, &preview_img, &a.out)?;
        }
        let out_of_time = a.max_seconds.is_some_and(|s| t0.elapsed().as_secs_f64() >= s);
        interrupted = stop.load(Ordering::SeqCst);
        let last = trainer.iteration == cfg.iterations;
        if interrupted || out_of_time || last || (a.checkpoint_every > 0 && trainer.iteration % a.checkpoint_every == 0) {
            let secs = seconds_before + t0.elapsed().as_secs_f64();
            save_all(&trainer, &a.out, secs, &sel)?;
            seconds_before = secs - t0.elapsed().as_secs_f64();
            if interrupted || out_of_time {
                break;
            }
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    write_preview(&trainer, &preview_img, &a.out)?;
    let secs = t0.elapsed().as_secs_f64();
    if !a.quiet {
        let l = trainer.history.last().copied().unwrap_or_default();
        eprintln!(
            "trained {} iterations in {:.0} s ({:.3} it/s), now at {}/{}: loss {:.3e} (content {:.3e}, style {:.3e}); wrote {}",
            trainer.iteration - start_it,
            secs,
            (trainer.iteration - start_it) as f64 / secs.max(1e-9),
            trainer.iteration,
            cfg.iterations,
            l.total,
            l.content,
            l.style,
            a.out.display()
        );
    }
    if interrupted {
        eprintln!("interrupted: checkpoint saved; continue with --resume");
        return Ok(ExitCode::from(130));
    }
    Ok(ExitCode::SUCCESS)
}

fn first_readable(photos: &Photos) -> Result<RgbF32> {
    for f in photos.files.iter().take(50) {
        if let Ok(img) = imageio::load_rgb(f) {
            return Ok(img);
        }
    }
    anyhow::bail!("none of the first photos in the folder could be read")
}

/// Training seconds accumulated by earlier sessions (stored in the model's config).
fn config_seconds(out: &Path) -> f64 {
    std::fs::read(out.join("model.safetensors"))
        .ok()
        .and_then(|b| burnish::model::netio::load_safetensors(&b, Path::new("model")).ok())
        .and_then(|f| f.config)
        .and_then(|c| c["training_seconds"].as_f64())
        .unwrap_or(0.0)
}

fn write_preview(trainer: &Trainer, img: &RgbF32, out: &Path) -> Result<()> {
    let styled = trainer.preview(img)?;
    imageio::save_rgb(&out.join(format!("preview-{:06}.jpg", trainer.iteration)), &styled)?;
    Ok(())
}

/// Checkpoint, model (f32, with config and training time), loss CSV and plot, all atomically.
fn save_all(trainer: &Trainer, out: &Path, seconds: f64, sel: &Selected) -> Result<()> {
    let extra = [("training_seconds", seconds.into()), ("device", serde_json::to_value(&sel.info)?)];
    let (checkpoint, model) = trainer.save_bytes(false, &extra)?;
    imageio::write_atomic(&out.join("checkpoint.safetensors"), &checkpoint)?;
    imageio::write_atomic(&out.join("model.safetensors"), &model)?;
    let mut csv = String::from("iteration,total,content,style,tv\n");
    for l in &trainer.history {
        csv.push_str(&format!("{},{:e},{:e},{:e},{:e}\n", l.iteration, l.total, l.content, l.style, l.tv));
    }
    imageio::write_atomic(&out.join("losses.csv"), csv.as_bytes())?;
    imageio::save_rgb8(&out.join("losses.png"), &loss_plot(&trainer.history))?;
    Ok(())
}

fn loss_plot(h: &[StepLosses]) -> image::RgbImage {
    sheet::loss_curves("burnish train: losses", "iteration", h, |l| l.iteration as f64, &[
        ("total", |l| l.total, false),
        ("style", |l| l.style, false),
        ("content", |l| l.content, false),
        ("tv", |l| l.tv, true),
    ])
}
