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
use burnish::feedforward::train::{Photos, StepLosses, TrainConfig, Trainer, split_held_out};
use burnish::feedforward::quality::{Evaluator, Scores, geometric_mean};
use burnish::feedforward::widen::widen;
use burnish::feedforward::{NetFile, Stylizer, TransformerNet};
use burnish::gatys::{GatysRun, Quiet, RunConfig};
use burnish::loss::PerceptualLoss;
use burnish::frames::ffmpeg::{Audio, VideoSink, VideoSource, audio_plan, is_video_file, output_muxer, probe};
use burnish::frames::files::FrameFolder;
use burnish::frames::{self, FrameSink, FrameStage, PostProcess, StabilizeConfig, Stabilizer};
use burnish::image::frame::fit_max_side;
use burnish::optim::Flow;
use burnish::image::RgbF32;
use burnish::image::files::{self, IMAGE_EXTENSIONS, check_side, is_image_file, list_images};
use burnish::loss::LossConfig;
use burnish::image::tensor::frame_tensor;
use burnish::optim::adam::AdamConfig;
use burnish::sheet::{self, Cell};
use burnish::vgg::VggWeights;
use burnish::vgg::taps::{Tap, parse_layer_list};

use super::progress::{Progress, losses_message};
use super::{Compute, EvaluateArgs, FrameArgs, Switch, TrainArgs, select_device};

pub fn styles() -> Result<ExitCode> {
    if SHIPPED.is_empty() {
        println!("no styles are shipped in this build");
    }
    for s in SHIPPED {
        let spec = resolve(s.name)?.spec;
        let kind = if spec.width < 32 { "light" } else { "full" };
        println!("{:<22} {kind} (width {}, {:.2} M parameters)  {}", s.name, spec.width, spec.parameter_count() as f64 / 1e6, s.title);
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

/// The post-processing the options ask for (checked).
fn post_process(frames: &FrameArgs) -> Result<PostProcess> {
    if !(0.0..=1.0).contains(&frames.strength) {
        anyhow::bail!("invalid option: --strength {}: use 0..1", frames.strength);
    }
    Ok(PostProcess { strength: frames.strength, preserve_colour: frames.preserve_colour })
}

pub fn stylize(inputs: &[PathBuf], output: &Path, model: &str, size: Option<u32>, frames: &FrameArgs, compute: &Compute, stop: Arc<AtomicBool>) -> Result<ExitCode> {
    if let Some(s) = size {
        check_side("--size", s)?;
    }
    let post = post_process(frames)?;
    if inputs.iter().any(|i| is_video_file(i)) {
        if inputs.len() > 1 {
            anyhow::bail!("stylize one video at a time (got {} inputs)", inputs.len());
        }
        return stylize_video(&inputs[0], output, model, size, post, frames, compute, stop);
    }
    let jobs = stylize_jobs(inputs, output)?;
    let quiet = compute.quiet;
    let file = resolve(model)?;
    let sel = select_device(compute)?;
    if !quiet {
        eprintln!("model: {} ({}, width {}, {} parameters)", file.source, file.format, file.spec.width, file.spec.parameter_count());
    }
    let stylizer = Stylizer::new(file, &sel.device);
    let mut stage = FrameStage { stylizer: &stylizer, size, post, stabilizer: None };
    let t0 = Instant::now();
    let mut failed = 0;
    for (i, (input, out)) in jobs.iter().enumerate() {
        let result = (|| -> Result<(u32, u32, f64)> {
            let img = stage.prepare(files::load_rgb(input)?);
            let t = Instant::now();
            let styled = stage.process(std::slice::from_ref(&img))?.remove(0);
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

/// A video through the frame pipeline: ffmpeg decodes, the network stylizes (batched), ffmpeg
/// encodes with the input's audio; or the frames go to a folder of PNGs.
#[allow(clippy::too_many_arguments)]
fn stylize_video(input: &Path, output: &Path, model: &str, size: Option<u32>, post: PostProcess, args: &FrameArgs, compute: &Compute, stop: Arc<AtomicBool>) -> Result<ExitCode> {
    let quiet = compute.quiet;
    // A video goes to a video file, or (no extension) to a folder of PNG frames.
    let to_video = output.extension().is_some();
    if to_video {
        output_muxer(output).map_err(|e| anyhow::anyhow!("{e}, or a folder name for PNG frames"))?;
    }
    let info = probe(input)?;
    let frame_size = size.map(|s| fit_max_side(info.width, info.height, s)).unwrap_or((info.width, info.height));
    Stylizer::check_size(frame_size.0, frame_size.1)?;
    let file = resolve(model)?;
    let sel = select_device(compute)?;
    let stylizer = Stylizer::new(file, &sel.device);
    let audio = if to_video { audio_plan(input, &info, output_muxer(output)?)? } else { Audio::None };
    if !quiet {
        eprintln!(
            "video: {}x{} at {:.3} frames/s, {:.2} s, {} frames{}{}; model {}",
            info.width,
            info.height,
            info.fps(),
            info.duration,
            info.frames,
            if info.rotation != 0 { format!(", rotated {}°", info.rotation) } else { String::new() },
            match audio {
                Audio::None if !info.audio.is_empty() => ", audio dropped (frames only)".to_string(),
                Audio::None => ", no audio".to_string(),
                Audio::Copy => format!(", audio ({}) copied", info.audio.join(", ")),
                Audio::Aac => format!(", audio ({}) re-encoded to AAC: the container does not take it as it is", info.audio.join(", ")),
            },
            stylizer.source,
        );
    }
    let mut sink: Box<dyn FrameSink> = if to_video {
        Box::new(VideoSink::create(output, frame_size, info.frame_rate, Some((input, audio)))?)
    } else {
        Box::new(FrameFolder::create(output)?)
    };
    let mut source = VideoSource::open(input, &info)?;
    let stabilizer = (args.stabilize == Switch::On).then(|| Stabilizer::new(StabilizeConfig::default()));
    let mut stage = FrameStage { stylizer: &stylizer, size, post, stabilizer };
    let batch = args.batch.unwrap_or(if sel.in_host_memory() { 1 } else { 4 }).max(1);
    let mut progress = Progress::new("stylize", "frames", info.frames as u64, 0, quiet);
    let stats = frames::run(&mut source, &mut stage, sink.as_mut(), batch, &mut |n| {
        progress.update(n as u64, "");
        if stop.load(Ordering::SeqCst) { Flow::Stop } else { Flow::Continue }
    });
    progress.finish();
    // Stopped by Ctrl-C (or killed ffmpeg after it): no partial output either way.
    if stop.load(Ordering::SeqCst) || stats.as_ref().is_ok_and(|s| s.stopped) {
        drop(sink);
        eprintln!("interrupted: no output written");
        return Ok(ExitCode::from(130));
    }
    let stats = stats?;
    drop(sink);
    if !quiet {
        eprintln!(
            "stylized {} frames in {:.1} s ({:.2} frames/s; the network and post-processing {:.0} % of it) -> {}",
            stats.frames,
            stats.seconds,
            stats.frames as f64 / stats.seconds.max(1e-9),
            100.0 * stats.stage_seconds / stats.seconds.max(1e-9),
            output.display()
        );
    }
    if let Some(path) = &args.report {
        let report = serde_json::json!({
            "mode": "stylize-video",
            "input": input,
            "output": output,
            "video": info,
            "frame_size": [frame_size.0, frame_size.1],
            "audio": audio,
            "model": stylizer.source,
            "adapter": sel.info,
            "batch": batch,
            "post": post,
            "stabilize": stage.stabilizer.as_ref().map(|s| s.config),
            "stats": stats,
            "frames_per_second": stats.frames as f64 / stats.seconds.max(1e-9),
            "stage_ms_per_frame": 1e3 * stats.stage_seconds / stats.frames.max(1) as f64,
        });
        files::write_atomic(path, serde_json::to_string_pretty(&report)?.as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn train_config(a: &TrainArgs, init: Option<&NetFile>) -> Result<TrainConfig> {
    let cfg = TrainConfig {
        style: a.style.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        style_size: a.style_size,
        batch: a.batch,
        crop: a.crop,
        adam: AdamConfig::with_lr(a.lr),
        loss: LossConfig {
            content_layer: Some(Tap::parse(&a.content_layer)?),
            style_layers: parse_layer_list(&a.style_layers)?,
            style_layer_weights: match a.style_layer_weights.as_str() {
                "gram" | "none" => Vec::new(),
                list => list
                    .split(',')
                    .map(|w| w.trim().parse::<f64>().map_err(|_| anyhow::anyhow!("--style-layer-weights: '{w}' is not a number (a comma list, or gram)")))
                    .collect::<Result<_>>()?,
            },
            content_weight: a.content_weight,
            style_weight: a.style_weight,
            tv_weight: a.tv_weight,
            feature_scale: a.feature_scale,
            kernels: !a.no_kernels,
        },
        width: a.width.or(init.map(|f| f.spec.width)).unwrap_or(super::train_defaults().width),
        iterations: a.iterations,
        seed: a.seed,
        init: init.map(|f| match a.width {
            Some(w) if w != f.spec.width => format!("{} widened from width {} to {w}", f.source, f.spec.width),
            _ => f.source.clone(),
        }),
        hold_out: a.hold_out,
    };
    cfg.validate()?;
    Ok(cfg)
}

pub fn train(a: &TrainArgs, stop: Arc<AtomicBool>) -> Result<ExitCode> {
    let init = a.init.as_deref().map(resolve).transpose()?;
    let cfg = train_config(a, init.as_ref())?;
    // A wider --width widens the init network, before anything is written (narrower is an error).
    let init = match init {
        Some(f) if f.spec.width != cfg.width => {
            if !a.compute.quiet {
                eprintln!("widening {} from width {} to {} (each channel copied, exactly the same output)", f.source, f.spec.width, cfg.width);
            }
            let (spec, values) = widen(&f.spec, &f.values, cfg.width, cfg.seed)?;
            Some(NetFile { spec, values, ..f })
        }
        other => other,
    };
    let style = files::load_rgb(&a.style)?.resize_max_side(a.style_size);
    let photos = Photos::scan(&a.photos, cfg.hold_out)?;
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
    let sel = select_device(&a.compute)?;
    let vgg = cfg.loss.vgg(&VggWeights::embedded()?, &sel.device);
    let mut cfg = cfg;
    if a.style_layer_weights == "gram" {
        let loss = PerceptualLoss::new(cfg.loss.clone(), vgg.clone())?;
        let grams = loss.style_grams(frame_tensor(&style, &sel.device), 1);
        cfg.loss.style_layer_weights = block_on(PerceptualLoss::gram_energy_weights(&grams))?;
        if !a.compute.quiet {
            eprintln!("style layer weights (1 / Gram energy): {:?}", cfg.loss.style_layer_weights);
        }
    }
    let cfg = cfg;
    let mut trainer = if a.resume {
        let bytes = std::fs::read(&ckpt_path).with_context(|| format!("--resume: cannot read {}", ckpt_path.display()))?;
        let t = Trainer::resume(&bytes, &ckpt_path, cfg.clone(), &style, vgg, &sel.device)?;
        if !a.compute.quiet {
            eprintln!("resuming at iteration {} of {}", t.iteration, cfg.iterations);
        }
        t
    } else if let Some(file) = init {
        if !a.compute.quiet {
            eprintln!("starting from {} ({}, width {})", file.source, file.format, file.spec.width);
        }
        let net = TransformerNet::from_values(file.spec, file.values, &sel.device);
        Trainer::starting_from(cfg.clone(), net, &style, vgg, &sel.device)?
    } else {
        Trainer::new(cfg.clone(), &style, vgg, &sel.device)?
    };
    let config_json = serde_json::json!({ "train": &trainer.cfg, "device": &sel.info, "photos": a.photos, "photo_count": photos.files.len() });
    files::write_atomic(&a.out.join("config.json"), serde_json::to_string_pretty(&config_json)?.as_bytes())?;
    if !a.compute.quiet {
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
    let mut progress = Progress::new("train", "it", cfg.iterations as u64, start_it as u64, a.compute.quiet);
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
    if !a.compute.quiet {
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

/// One photo of the quality report: the photo, the network's output, and optionally Gatys's.
struct Scored {
    name: String,
    photo: RgbF32,
    styled: RgbF32,
    network: Scores,
    gatys: Option<(RgbF32, Scores)>,
}

/// Geometric means of the scores over photos.
fn summary(scores: Vec<Scores>) -> serde_json::Value {
    let mean = |f: fn(&Scores) -> f64| geometric_mean(&scores.iter().map(f).collect::<Vec<_>>());
    serde_json::json!({
        "structure": mean(|s| s.structure),
        "style_distance": mean(|s| s.style_distance),
        "content_loss": mean(|s| s.content_loss),
        "style_loss": mean(|s| s.style_loss),
    })
}

/// `burnish evaluate`: the quality report of a network on a folder of photos.
pub fn evaluate(a: &EvaluateArgs, stop: Arc<AtomicBool>) -> Result<ExitCode> {
    check_side("--size", a.size)?;
    for path in a.sheet.iter() {
        files::check_writable(path)?;
    }
    if let Some(path) = &a.report {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !dir.is_dir() || path.is_dir() {
            anyhow::bail!("cannot write {}: check that the folder exists and that it is a file name", path.display());
        }
    }
    let style_img = files::load_rgb(&a.style)?;
    let mut photos = list_images(&a.photos)?;
    if let Some(every) = a.held_out {
        if every < 2 {
            anyhow::bail!("--held-out {every}: N must be at least 2 (the N that `train --hold-out N` used)");
        }
        photos = split_held_out(photos, every).1;
    }
    photos.truncate(a.limit.unwrap_or(usize::MAX).max(1));
    let file = resolve(&a.model)?;
    // The network's own training settings where its file has them, else burnish's training recipe.
    let trained: Option<TrainConfig> = file.config.as_ref().and_then(|c| serde_json::from_value(c.clone()).ok());
    let (loss_cfg, style_size) = match &trained {
        Some(t) => (t.loss.clone(), t.style_size),
        None => {
            let recipe = TrainConfig::defaults("");
            (recipe.loss, recipe.style_size)
        }
    };
    let sel = select_device(&a.compute)?;
    let weights = VggWeights::embedded()?;
    let loss = PerceptualLoss::new(loss_cfg.clone(), loss_cfg.vgg(&weights, &sel.device))?;
    // The style as the network was trained on it; the Gatys runs optimise the same loss against it.
    let style_for_loss = style_img.resize_max_side(style_size);
    let evaluator = Evaluator::new(loss.clone(), &style_for_loss, &sel.device)?;
    let model_source = file.source.clone();
    let stylizer = Stylizer::new(file, &sel.device);
    let mut progress = Progress::new("evaluate", "photos", photos.len() as u64, 0, a.compute.quiet);
    let mut rows: Vec<Scored> = Vec::new();
    for (i, path) in photos.iter().enumerate() {
        if stop.load(Ordering::SeqCst) {
            eprintln!("interrupted: no report written");
            return Ok(ExitCode::from(130));
        }
        let photo = match files::load_rgb(path) {
            Ok(p) => p.resize_max_side(a.size),
            Err(e) => {
                eprintln!("warning: skipping unreadable photo {}: {e}", path.display());
                continue;
            }
        };
        let styled = stylizer.frame(&photo)?;
        let scores = block_on(evaluator.score(&photo, &styled))?;
        let gatys = match a.gatys {
            Some(n) => {
                let cfg = RunConfig { loss: loss_cfg.clone(), evaluations: n, ..RunConfig::transfer_defaults() };
                let out = block_on(GatysRun::new(&loss.vgg, &cfg, Some(&photo), &style_for_loss, (photo.width, photo.height), &sel)?.run(&mut Quiet))?;
                let s = block_on(evaluator.score(&photo, &out.image))?;
                Some((out.image, s))
            }
            None => None,
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        progress.update(i as u64 + 1, &format!("{name}: structure {:.3}, style {:.3}", scores.structure, scores.style_distance));
        rows.push(Scored { name, photo, styled, network: scores, gatys });
    }
    progress.finish();
    if rows.is_empty() {
        anyhow::bail!("none of the photos in {} could be read", a.photos.display());
    }
    let network = summary(rows.iter().map(|r| r.network).collect());
    let gatys = a.gatys.map(|_| summary(rows.iter().filter_map(|r| r.gatys.as_ref().map(|g| g.1)).collect()));
    if !a.compute.quiet {
        eprintln!("{}: geometric means over {} photos: network {network}{}", model_source, rows.len(), gatys.as_ref().map(|g| format!(", gatys {g}")).unwrap_or_default());
    }
    if let Some(path) = &a.sheet {
        let caption = |label: &str, s: &Scores| vec![label.to_string(), format!("structure {:.3}", s.structure), format!("style {:.3}", s.style_distance)];
        let grid: Vec<Vec<Cell>> = rows
            .iter()
            .map(|r| {
                let mut row = vec![Cell { image: r.photo.to_rgb8(), caption: vec![r.name.clone()] }, Cell { image: r.styled.to_rgb8(), caption: caption("network", &r.network) }];
                if let Some((img, gs)) = &r.gatys {
                    row.push(Cell { image: img.to_rgb8(), caption: caption(&format!("gatys {}", a.gatys.unwrap_or(0)), gs) });
                }
                row
            })
            .collect();
        let title = format!("burnish evaluate: {model_source} ({} photos; lower is better)", rows.len());
        files::save_rgb8(path, &sheet::grid(&title, &grid))?;
    }
    if let Some(path) = &a.report {
        let per_photo: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| serde_json::json!({ "photo": r.name, "network": r.network, "gatys": r.gatys.as_ref().map(|g| g.1) }))
            .collect();
        let report = serde_json::json!({
            "model": model_source,
            "style": a.style,
            "photos": a.photos,
            "size": a.size,
            "loss": loss_cfg,
            "loss_settings_from": if trained.is_some() { "the model's training config" } else { "burnish's training recipe (the model has no training config)" },
            "style_size": style_size,
            "gatys_evaluations": a.gatys,
            "adapter": sel.info,
            "per_photo": per_photo,
            "geometric_mean": { "network": network, "gatys": gatys },
        });
        files::write_atomic(path, serde_json::to_string_pretty(&report)?.as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}
