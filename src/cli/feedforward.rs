//! `burnish stylize`, `styles`, `export` and `train`: feed-forward networks on the command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};

use burnish::block_on;
use burnish::device::ComputeDevice;
use burnish::feedforward::files as netfiles;
use burnish::feedforward::shipped::{SHIPPED, resolve};
use burnish::feedforward::train::{Photos, StepLosses, TrainConfig, Trainer};
use burnish::feedforward::Stylizer;
use burnish::image::RgbF32;
use burnish::image::files::{self, IMAGE_EXTENSIONS, check_side, is_image_file, list_images};
use burnish::loss::LossConfig;
use burnish::optim::adam::AdamConfig;
use burnish::sheet;
use burnish::vgg::VggWeights;
use burnish::vgg::taps::{Tap, parse_layer_list};

use super::progress::{Progress, losses_message};
use super::{DeviceArg, TrainArgs, select_device};

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
    let bytes = netfiles::to_safetensors(&file.spec, &file.values, file.config.as_ref(), f16)?;
    files::write_atomic(output, &bytes)?;
    eprintln!("wrote {} ({}, {} parameters, {} bytes)", output.display(), file.format, file.spec.parameter_count(), bytes.len());
    Ok(ExitCode::SUCCESS)
}

/// (input, output) pairs: every input is listed and checked before any work.
fn stylize_jobs(inputs: &[PathBuf], output: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    let mut jobs: Vec<(PathBuf, PathBuf)> = Vec::new();
    if inputs.len() == 1 && inputs[0].is_file() && is_image_file(output) {
        files::check_writable(output)?;
        jobs.push((inputs[0].clone(), output.to_path_buf()));
        return Ok(jobs);
    }
    if output.exists() && !output.is_dir() {
        anyhow::bail!("{} exists and is not a folder: with several inputs (or a folder), -o names an output folder", output.display());
    }
    for input in inputs {
        let images = if input.is_dir() {
            list_images(input)?
        } else if input.exists() {
            vec![input.clone()]
        } else {
            anyhow::bail!("cannot read {}: no such file or folder", input.display());
        };
        for f in images {
            let name = f.file_name().expect("a file name").to_owned();
            let out = output.join(&name);
            if jobs.iter().any(|(_, o)| *o == out) {
                anyhow::bail!("two inputs are named {}: they would write the same output", name.to_string_lossy());
            }
            jobs.push((f, out));
        }
    }
    std::fs::create_dir_all(output).with_context(|| format!("cannot create output folder {}", output.display()))?;
    Ok(jobs)
}

pub fn stylize(inputs: &[PathBuf], output: &Path, model: &str, size: Option<u32>, device: DeviceArg, quiet: bool) -> Result<ExitCode> {
    let jobs = stylize_jobs(inputs, output)?;
    if let Some(s) = size {
        check_side("--size", s)?;
    }
    let file = resolve(model)?;
    let sel = select_device(device, quiet)?;
    if !quiet {
        eprintln!("model: {} ({}, width {}, {} parameters)", file.source, file.format, file.spec.width, file.spec.parameter_count());
    }
    let stylizer = Stylizer::new(file, &sel.device);
    let t0 = Instant::now();
    let mut failed = 0;
    for (i, (input, out)) in jobs.iter().enumerate() {
        let result = (|| -> Result<(u32, u32, f64)> {
            let img = files::load_rgb(input)?;
            let img = match size {
                Some(s) => img.resize_max_side(s),
                None => img,
            };
            let t = Instant::now();
            let styled = stylizer.frame(&img)?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            files::save_rgb(out, &styled)?;
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
    let cfg = TrainConfig {
        style: a.style.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        style_size: a.style_size,
        batch: a.batch,
        crop: a.crop,
        adam: AdamConfig::with_lr(a.lr),
        loss: LossConfig {
            content_layer: Some(Tap::parse(&a.content_layer)?),
            style_layers: parse_layer_list(&a.style_layers)?,
            content_weight: a.content_weight,
            style_weight: a.style_weight,
            tv_weight: a.tv_weight,
            feature_scale: a.feature_scale,
            kernels: !a.no_kernels,
        },
        width: a.width,
        iterations: a.iterations,
        seed: a.seed,
    };
    cfg.validate()?;
    Ok(cfg)
}

pub fn train(a: &TrainArgs, stop: Arc<AtomicBool>) -> Result<ExitCode> {
    let cfg = train_config(a)?;
    let style = files::load_rgb(&a.style)?.resize_max_side(a.style_size);
    let photos = Photos::scan(&a.photos)?;
    let preview_img = match &a.preview {
        Some(p) => files::load_rgb(p)?,
        None => first_readable(&photos)?,
    };
    let preview_img = preview_img.resize_max_side(256);
    std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?;
    let ckpt_path = a.out.join("checkpoint.safetensors");
    if !a.resume && ckpt_path.exists() {
        anyhow::bail!("{} already holds a checkpoint: pass --resume to continue it, or choose another --out", a.out.display());
    }
    let sel = select_device(a.device, a.quiet)?;
    let vgg = cfg.loss.vgg(&VggWeights::embedded()?, &sel.device);
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
    files::write_atomic(&a.out.join("config.json"), serde_json::to_string_pretty(&config_json)?.as_bytes())?;
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
    let start_it = trainer.iteration;
    let mut progress = Progress::new("train", "it", cfg.iterations as u64, start_it as u64, a.quiet);
    let t0 = Instant::now();
    let mut seconds_before: f64 = config_seconds(&a.out);
    let mut reported_skips = 0;
    let mut interrupted = false;
    while trainer.iteration < cfg.iterations {
        let l = block_on(trainer.step(&photos))?;
        for (p, e) in &trainer.skipped[reported_skips..] {
            eprintln!("warning: skipping unreadable photo {}: {e}", p.display());
        }
        reported_skips = trainer.skipped.len();
        progress.update(trainer.iteration as u64, &losses_message(l.total, l.content, l.style));
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
    progress.finish();
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
        if let Ok(img) = files::load_rgb(f) {
            return Ok(img);
        }
    }
    anyhow::bail!("none of the first photos in the folder could be read ({})", IMAGE_EXTENSIONS.join(", "))
}

/// Training seconds accumulated by earlier sessions (stored in the model's config).
fn config_seconds(out: &Path) -> f64 {
    std::fs::read(out.join("model.safetensors"))
        .ok()
        .and_then(|b| netfiles::load_safetensors(&b, Path::new("model")).ok())
        .and_then(|f| f.config)
        .and_then(|c| c["training_seconds"].as_f64())
        .unwrap_or(0.0)
}

fn write_preview(trainer: &Trainer, img: &RgbF32, out: &Path) -> Result<()> {
    let styled = trainer.stylizer().frame(img)?;
    files::save_rgb(&out.join(format!("preview-{:06}.jpg", trainer.iteration)), &styled)?;
    Ok(())
}

/// Checkpoint, model (f32, with config and training time), loss CSV and plot, all atomically.
fn save_all(trainer: &Trainer, out: &Path, seconds: f64, sel: &ComputeDevice) -> Result<()> {
    let extra = [("training_seconds", seconds.into()), ("device", serde_json::to_value(&sel.info)?)];
    let (checkpoint, model) = block_on(trainer.save_bytes(false, &extra))?;
    files::write_atomic(&out.join("checkpoint.safetensors"), &checkpoint)?;
    files::write_atomic(&out.join("model.safetensors"), &model)?;
    let mut csv = String::from("iteration,total,content,style,tv\n");
    for l in &trainer.history {
        csv.push_str(&format!("{},{:e},{:e},{:e},{:e}\n", l.iteration, l.total, l.content, l.style, l.tv));
    }
    files::write_atomic(&out.join("losses.csv"), csv.as_bytes())?;
    files::save_rgb8(&out.join("losses.png"), &loss_plot(&trainer.history))?;
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
