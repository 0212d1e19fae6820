//! The `burnish` command line. Errors are reported with what to do next and a non-zero exit;
//! outputs are written atomically and only after the inputs were validated.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use burnish::backend::Selected;
use burnish::cli::{Cli, Command, Common, InitArg, LineSearchArg, OptimizerArg, parse_size};
use burnish::imageio::{self, RgbF32};
use burnish::layers::{Tap, parse_layer_list};
use burnish::model::vgg::Vgg19;
use burnish::model::weights::{InputConvention, VggWeights};
use burnish::optim::Flow;
use burnish::optim::lbfgs::LineSearch;
use burnish::sheet::{self, Cell, Series};
use burnish::stylize::gatys::{self, Init, Losses, Observer, OptimizerKind, RunConfig, RunOutput};

mod fastcli;

static DEMO_CONTENT: &[u8] = include_bytes!("../web/assets/bunny.jpg");
static DEMO_STYLE: &[u8] = include_bytes!("../web/assets/starry_night.jpg");

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                eprintln!("\ninterrupted twice: exiting without saving");
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: finishing the current evaluation and saving (Ctrl-C again to quit at once)");
        });
    }
    match run(cli, stop) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli, stop: Arc<AtomicBool>) -> Result<ExitCode> {
    match cli.command {
        Command::Demo { output, common } => {
            let content = decode_embedded(DEMO_CONTENT)?;
            let style = decode_embedded(DEMO_STYLE)?;
            let cfg = RunConfig { ..run_config(&common, Some("conv_4"), 1.0, Init::Content, false)? };
            transfer(&common, cfg, Some(content), style, 256, &output, "demo", stop)
        }
        Command::Transfer { content, style, output, init, content_layer, content_weight, size, common } => {
            imageio::check_writable(&output)?;
            check_size(size)?;
            let content_img = imageio::load_rgb(&content)?;
            let style_img = imageio::load_rgb(&style)?;
            let init = match init {
                InitArg::Content => Init::Content,
                InitArg::Noise => Init::Noise,
            };
            let cfg = run_config(&common, Some(&content_layer), content_weight, init, false)?;
            transfer(&common, cfg, Some(content_img), style_img, size, &output, "transfer", stop)
        }
        Command::Texture { style, output, size, common } => {
            imageio::check_writable(&output)?;
            let (w, h) = parse_size(&size).map_err(anyhow::Error::msg)?;
            let style_img = imageio::load_rgb(&style)?;
            let cfg = run_config(&common, None, 0.0, Init::Noise, true)?;
            let ctx = Loaded::new(&common, &cfg)?;
            let style_size = common.style_size.unwrap_or(w.max(h));
            let style_img = style_img.resize_max_side(style_size);
            let t0 = Instant::now();
            let mut obs = CliObserver::new(&common, &output, stop.clone(), "texture");
            let out = gatys::run(&ctx.vgg, &cfg, None, &style_img, (w, h), &ctx.sel.device, &mut obs)?;
            obs.finish();
            finish(&common, &ctx, &cfg, &out, &output, "texture", t0, (w, h))
        }
        Command::Ablation { study, common } => {
            let (content, style) = load_study(&study)?;
            ablation(&common, content, style, study.size, &study.output, stop)
        }
        Command::Calibrate { study, common } => {
            let (content, style) = load_study(&study)?;
            calibrate(&common, content, style, study.size, &study.output, stop)
        }
        Command::Stylize { inputs, output, model, size, device, quiet } => fastcli::stylize(&inputs, &output, &model, size, device, quiet),
        Command::Styles => fastcli::styles(),
        Command::Export { model, output, f16 } => fastcli::export(&model, &output, f16),
        Command::Train(args) => fastcli::train(&args, stop),
    }
}

/// Validate a study's output path and size, and load its two images.
fn load_study(study: &burnish::cli::Study) -> Result<(RgbF32, RgbF32)> {
    imageio::check_writable(&study.output)?;
    check_size(study.size)?;
    Ok((imageio::load_rgb(&study.content)?, imageio::load_rgb(&study.style)?))
}

fn check_size(size: u32) -> Result<()> {
    if !(8..=8192).contains(&size) {
        anyhow::bail!("invalid option: --size {size}: use 8..8192 pixels");
    }
    Ok(())
}

fn decode_embedded(bytes: &[u8]) -> Result<RgbF32> {
    let img = image::load_from_memory(bytes).context("decoding an embedded image")?.into_rgb8();
    Ok(RgbF32::from_rgb8(&img))
}

/// A loaded network on a selected device.
struct Loaded {
    sel: Selected,
    vgg: Vgg19,
    weights: VggWeights,
}

impl Loaded {
    fn new(common: &Common, cfg: &RunConfig) -> Result<Self> {
        let weights = match &common.weights {
            Some(p) => VggWeights::from_file(p)?,
            None => VggWeights::embedded()?,
        };
        let sel = fastcli::select(common.device, common.quiet)?;
        let vgg = Vgg19::new(&weights, cfg.feature_scale, &sel.device);
        Ok(Self { sel, vgg, weights })
    }
}

fn default_feature_scale(common: &Common) -> Result<f64> {
    if let Some(k) = common.feature_scale {
        if !(k.is_finite() && k > 0.0) {
            anyhow::bail!("invalid option: --feature-scale must be a positive number");
        }
        return Ok(k);
    }
    // The calibration applies to the Caffe-convention file; torchvision's network already sees
    // inputs of about ±2, the scale the seed's weights were tuned for.
    let convention = match &common.weights {
        None => InputConvention::CaffeBgr,
        Some(p) => VggWeights::convention_of(p)?,
    };
    Ok(if convention == InputConvention::CaffeBgr { gatys::DEFAULT_FEATURE_SCALE } else { 1.0 })
}

fn run_config(common: &Common, content_layer: Option<&str>, content_weight: f64, init: Init, texture: bool) -> Result<RunConfig> {
    let content_layer = match content_layer {
        Some(name) if !texture => Some(Tap::parse(name)?),
        _ => None,
    };
    if common.evaluations == 0 {
        anyhow::bail!("invalid option: --evaluations must be at least 1");
    }
    for (name, v) in [("--style-weight", common.style_weight), ("--content-weight", content_weight), ("--tv-weight", common.tv_weight)] {
        if !(v.is_finite() && v >= 0.0) {
            anyhow::bail!("invalid option: {name} must be a non-negative number");
        }
    }
    Ok(RunConfig {
        content_layer,
        style_layers: parse_layer_list(&common.style_layers)?,
        content_weight: if texture { 0.0 } else { content_weight },
        style_weight: common.style_weight,
        tv_weight: common.tv_weight,
        evaluations: common.evaluations,
        optimizer: match common.optimizer {
            OptimizerArg::Lbfgs => OptimizerKind::Lbfgs,
            OptimizerArg::Adam => OptimizerKind::Adam,
        },
        line_search: match common.line_search {
            LineSearchArg::StrongWolfe => LineSearch::StrongWolfe,
            LineSearchArg::None => LineSearch::None,
        },
        adam_lr: common.adam_lr,
        init,
        seed: common.seed,
        feature_scale: default_feature_scale(common)?,
        kernels: !common.no_kernels,
    })
}

#[allow(clippy::too_many_arguments)]
fn transfer(
    common: &Common,
    cfg: RunConfig,
    content: Option<RgbF32>,
    style: RgbF32,
    size: u32,
    output: &Path,
    mode: &str,
    stop: Arc<AtomicBool>,
) -> Result<ExitCode> {
    imageio::check_writable(output)?;
    let content = content.expect("transfer has content");
    let content = content.resize_max_side(size);
    let (w, h) = (content.width, content.height);
    let style = style.resize_max_side(common.style_size.unwrap_or(size));
    let ctx = Loaded::new(common, &cfg)?;
    let t0 = Instant::now();
    let mut obs = CliObserver::new(common, output, stop, mode);
    let out = gatys::run(&ctx.vgg, &cfg, Some(&content), &style, (w, h), &ctx.sel.device, &mut obs)?;
    obs.finish();
    finish(common, &ctx, &cfg, &out, output, mode, t0, (w, h))
}

#[allow(clippy::too_many_arguments)]
fn finish(
    common: &Common,
    ctx: &Loaded,
    cfg: &RunConfig,
    out: &RunOutput,
    output: &Path,
    mode: &str,
    t0: Instant,
    size: (u32, u32),
) -> Result<ExitCode> {
    let seconds = t0.elapsed().as_secs_f64();
    imageio::save_rgb(output, &out.image)?;
    let f = out.final_losses;
    if !common.quiet {
        eprintln!(
            "{}: {} evaluations in {:.1} s ({:.1} ms/evaluation); loss {:.4e} (content {:.4e}, style {:.4e}); wrote {}",
            mode,
            out.evaluations,
            seconds,
            1000.0 * seconds / out.evaluations.max(1) as f64,
            f.total,
            f.content,
            f.style,
            output.display()
        );
    }
    if let Some(path) = &common.report {
        let report = serde_json::json!({
            "mode": mode,
            "output": output,
            "size": [size.0, size.1],
            "settings": cfg,
            "weights": ctx.weights.source,
            "input_convention": ctx.vgg.convention,
            "adapter": ctx.sel.info,
            "wgsl_kernels_active": cfg.kernels && ctx.sel.info.backend == "wgpu",
            "evaluations": out.evaluations,
            "interrupted": out.stopped,
            "seconds": seconds,
            "ms_per_evaluation": 1000.0 * seconds / out.evaluations.max(1) as f64,
            "first_evaluation_ms": out.elapsed_ms.first(),
            "steady_ms_per_evaluation": out.steady_ms_per_evaluation(),
            "final": f,
            "final_unweighted": {
                "content": if cfg.content_weight > 0.0 { f.content / cfg.content_weight } else { 0.0 },
                "style": if cfg.style_weight > 0.0 { f.style / cfg.style_weight } else { 0.0 },
            },
            "history": out.history,
        });
        imageio::write_atomic(path, serde_json::to_string_pretty(&report)?.as_bytes())?;
    }
    if let Some(path) = &common.loss_plot {
        let plot = loss_plot(&format!("burnish {mode}: losses"), &out.history);
        imageio::save_rgb8(path, &plot)?;
    }
    if out.stopped {
        eprintln!("interrupted after {} evaluations: wrote the current image to {}", out.evaluations, output.display());
        return Ok(ExitCode::from(130));
    }
    Ok(ExitCode::SUCCESS)
}

fn loss_plot(title: &str, history: &[Losses]) -> image::RgbImage {
    sheet::loss_curves(title, "evaluation", history, |l| l.evaluation as f64, &[
        ("total", |l| l.total, false),
        ("style", |l| l.style, false),
        ("content", |l| l.content, true),
        ("tv", |l| l.tv, true),
    ])
}

/// Progress bar (or periodic lines when stderr is not a terminal), save-every, Ctrl-C.
struct CliObserver {
    bar: Option<ProgressBar>,
    lines: bool,
    quiet: bool,
    save_every: Option<usize>,
    output: PathBuf,
    stop: Arc<AtomicBool>,
    start: Instant,
    label: String,
}

impl CliObserver {
    fn new(common: &Common, output: &Path, stop: Arc<AtomicBool>, label: &str) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = (tty && !common.quiet).then(|| {
            let bar = ProgressBar::new(common.evaluations as u64);
            bar.set_style(
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} evals {per_sec} ETA {eta} {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(label.to_string());
            bar
        });
        Self {
            bar,
            lines: !tty && !common.quiet,
            quiet: common.quiet,
            save_every: common.save_every.filter(|n| *n > 0),
            output: output.to_path_buf(),
            stop,
            start: Instant::now(),
            label: label.to_string(),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn snapshot_path(&self, evaluation: usize) -> PathBuf {
        let stem = self.output.file_stem().and_then(|s| s.to_str()).unwrap_or("out");
        let ext = self.output.extension().and_then(|s| s.to_str()).unwrap_or("png");
        self.output.with_file_name(format!("{stem}.e{evaluation:04}.{ext}"))
    }
}

impl Observer for CliObserver {
    fn on_evaluation(&mut self, l: &Losses, total: usize, image: &dyn Fn() -> burnish::Result<RgbF32>) -> Flow {
        let msg = format!("loss {:.3e} (content {:.3e}, style {:.3e})", l.total, l.content, l.style);
        if let Some(bar) = &self.bar {
            bar.set_position(l.evaluation as u64);
            bar.set_message(msg.clone());
        } else if self.lines && (l.evaluation == 1 || l.evaluation % (total / 10).max(1) == 0 || l.evaluation == total) {
            let secs = self.start.elapsed().as_secs_f64();
            let rate = l.evaluation as f64 / secs.max(1e-9);
            let eta = total.saturating_sub(l.evaluation) as f64 / rate.max(1e-9);
            eprintln!("{} {}/{} evals, {:.2} evals/s, ETA {:.0} s: {}", self.label, l.evaluation, total, rate, eta, msg);
        }
        if let Some(n) = self.save_every {
            if l.evaluation % n == 0 {
                let path = self.snapshot_path(l.evaluation);
                match image().and_then(|img| imageio::save_rgb(&path, &img)) {
                    Ok(()) => {}
                    Err(e) if !self.quiet => eprintln!("warning: could not save {}: {e}", path.display()),
                    Err(_) => {}
                }
            }
        }
        if self.stop.load(Ordering::SeqCst) { Flow::Stop } else { Flow::Continue }
    }
}

/// The seed's studies on one sheet.
fn ablation(common: &Common, content: RgbF32, style: RgbF32, size: u32, output: &Path, stop: Arc<AtomicBool>) -> Result<ExitCode> {
    let content = content.resize_max_side(size);
    let (w, h) = (content.width, content.height);
    let style_small = style.resize_max_side(common.style_size.unwrap_or(size));
    let base = run_config(common, Some("conv_4"), 1.0, Init::Noise, false)?;
    let ctx = Loaded::new(common, &base)?;
    let t0 = Instant::now();
    let mut jobs: Vec<(String, RunConfig, bool)> = Vec::new();
    for layer in ["conv_1", "conv_4", "conv_7", "conv_10"] {
        let cfg = RunConfig { content_layer: Some(Tap::parse(layer)?), style_layers: parse_layer_list("shallow")?, ..base.clone() };
        jobs.push((format!("content {layer}"), cfg, true));
    }
    let tex = RunConfig { content_layer: None, content_weight: 0.0, init: Init::Noise, ..base.clone() };
    for preset in ["shallow", "mid", "deep"] {
        jobs.push((format!("style {preset}"), RunConfig { style_layers: parse_layer_list(preset)?, ..tex.clone() }, false));
    }
    let seeds = [1u64, 2];
    for seed in seeds {
        jobs.push((format!("seed {seed}"), RunConfig { seed, style_layers: parse_layer_list("shallow")?, ..tex.clone() }, false));
    }
    let mut results: Vec<(String, RunOutput)> = Vec::new();
    let n = jobs.len();
    for (i, (label, cfg, is_transfer)) in jobs.into_iter().enumerate() {
        if !common.quiet {
            eprintln!("ablation run {}/{}: {label}", i + 1, n);
        }
        let mut obs = CliObserver::new(common, output, stop.clone(), &label);
        obs.save_every = None;
        let c = if is_transfer { Some(&content) } else { None };
        let out = gatys::run(&ctx.vgg, &cfg, c, &style_small, (w, h), &ctx.sel.device, &mut obs)?;
        obs.finish();
        if out.stopped {
            eprintln!("interrupted: no sheet written");
            return Ok(ExitCode::from(130));
        }
        results.push((label, out));
    }
    let cap = |label: &str, o: &RunOutput| {
        let f = o.final_losses;
        let mut c = vec![label.to_string(), format!("style {:.3e}", f.style)];
        if f.content > 0.0 {
            c.push(format!("content {:.3e}", f.content));
        }
        c
    };
    let cell = |i: usize| Cell { image: results[i].1.image.to_rgb8(), caption: cap(&results[i].0, &results[i].1) };
    let style_thumb = style.resize_max_side(size);
    let row1 = vec![
        Cell { image: content.to_rgb8(), caption: vec!["content".into()] },
        Cell { image: style_thumb.to_rgb8(), caption: vec!["style".into()] },
    ];
    let row2 = (0..4).map(cell).collect();
    let row3 = (4..7).map(cell).collect();
    let (a, b) = (results[7].1.image.to_rgb8(), results[8].1.image.to_rgb8());
    let mad = a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| (*x as f64 - *y as f64).abs()).sum::<f64>() / a.as_raw().len() as f64;
    let row4 = vec![cell(7), cell(8), Cell { image: sheet::diff_image(&a, &b, 4.0), caption: vec!["|seed1 - seed2| x4".into(), format!("mean {mad:.1}/255")] }];
    let title = format!(
        "burnish ablation: {} evals, sw {:.0e}, k {}, init noise",
        base.evaluations, base.style_weight, base.feature_scale
    );
    let img = sheet::grid(&title, &[row1, row2, row3, row4]);
    imageio::save_rgb8(output, &img)?;
    if !common.quiet {
        eprintln!("ablation: {} runs in {:.1} s on {}; wrote {}", n, t0.elapsed().as_secs_f64(), ctx.sel.info, output.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Feature scale and style weight sweeps, and the line-search comparison, on one sheet.
fn calibrate(common: &Common, content: RgbF32, style: RgbF32, size: u32, output: &Path, stop: Arc<AtomicBool>) -> Result<ExitCode> {
    let content = content.resize_max_side(size);
    let (w, h) = (content.width, content.height);
    let style_small = style.resize_max_side(common.style_size.unwrap_or(size));
    let base = run_config(common, Some("conv_4"), 1.0, Init::Content, false)?;
    let ctx = Loaded::new(common, &base)?;
    let t0 = Instant::now();
    let run_one = |label: &str, cfg: &RunConfig, with_content: bool, size: (u32, u32)| -> Result<Option<RunOutput>> {
        if !common.quiet {
            eprintln!("calibration run: {label}");
        }
        // Only a different feature scale needs the network rebuilt on the device.
        let rescaled = (cfg.feature_scale != ctx.vgg.feature_scale).then(|| Vgg19::new(&ctx.weights, cfg.feature_scale, &ctx.sel.device));
        let vgg = rescaled.as_ref().unwrap_or(&ctx.vgg);
        let mut obs = CliObserver::new(common, output, stop.clone(), label);
        obs.save_every = None;
        let c = if with_content { Some(&content) } else { None };
        let out = gatys::run(vgg, cfg, c, &style_small, size, &ctx.sel.device, &mut obs)?;
        obs.finish();
        Ok(if out.stopped { None } else { Some(out) })
    };
    let caption = |o: &RunOutput, head: String| {
        let f = o.final_losses;
        vec![head, format!("content {:.2e}", f.content), format!("style {:.2e}", f.style)]
    };
    let mut row1 = Vec::new();
    for k in [1.0, 8.0, gatys::DEFAULT_FEATURE_SCALE, 255.0] {
        let cfg = RunConfig { feature_scale: k, style_weight: 1e6, ..base.clone() };
        let Some(o) = run_one(&format!("k {k}"), &cfg, true, (w, h))? else { return interrupted() };
        row1.push(Cell { image: o.image.to_rgb8(), caption: caption(&o, format!("k = {k}, sw 1e6")) });
    }
    let mut row2 = Vec::new();
    for sw in [1e4, 1e5, 1e7, 1e8] {
        let cfg = RunConfig { style_weight: sw, ..base.clone() };
        let Some(o) = run_one(&format!("sw {sw:e}"), &cfg, true, (w, h))? else { return interrupted() };
        row2.push(Cell { image: o.image.to_rgb8(), caption: caption(&o, format!("k = {}, sw {sw:.0e}", base.feature_scale)) });
    }
    // Texture synthesis on the raw network (k = 1), with and without line search.
    let mut row3 = Vec::new();
    let mut series = Vec::new();
    let tex = RunConfig { content_layer: None, content_weight: 0.0, init: Init::Noise, feature_scale: 1.0, ..base.clone() };
    for (i, ls) in [LineSearch::None, LineSearch::StrongWolfe].into_iter().enumerate() {
        let name = if ls == LineSearch::None { "no line search" } else { "strong Wolfe" };
        let cfg = RunConfig { line_search: ls, ..tex.clone() };
        let Some(o) = run_one(&format!("texture k=1, {name}"), &cfg, false, (w.min(h), w.min(h)))? else { return interrupted() };
        let first = o.history.first().map(|l| l.style).unwrap_or(0.0);
        let max = o.history.iter().map(|l| l.style).fold(0.0, f64::max);
        row3.push(Cell {
            image: o.image.to_rgb8(),
            caption: vec![format!("texture k=1, {name}"), format!("style {first:.2e} -> {:.2e}", o.final_losses.style), format!("max {max:.2e}")],
        });
        series.push(Series { name: name.into(), color: sheet::PALETTE[i], points: o.history.iter().map(|l| (l.evaluation as f64, l.style)).collect() });
    }
    let plot = sheet::plot_log("texture style loss (k = 1)", "evaluation", &series, (2 * w).max(320), h.max(200));
    row3.push(Cell { image: plot, caption: vec!["style loss per evaluation".into()] });
    let title = format!("burnish calibration: content conv_4, style conv_1..5, {} evaluations, init content", base.evaluations);
    let img = sheet::grid(&title, &[row1, row2, row3]);
    imageio::save_rgb8(output, &img)?;
    if !common.quiet {
        eprintln!("calibration: {:.1} s on {}; wrote {}", t0.elapsed().as_secs_f64(), ctx.sel.info, output.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn interrupted() -> Result<ExitCode> {
    eprintln!("interrupted: no sheet written");
    Ok(ExitCode::from(130))
}
