//! `burnish demo`, `transfer` and `texture`: Gatys optimisation on the command line, with
//! progress, snapshots (`--save-every`), Ctrl-C, a JSON report and a loss plot.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Result;

use burnish::block_on;
use burnish::device::ComputeDevice;
use burnish::gatys::{GatysRun, Init, Losses, Observer, OptimizerKind, RunConfig, RunOutput, Snapshot};
use burnish::image::RgbF32;
use burnish::image::files::{self, check_side};
use burnish::loss::LossConfig;
use burnish::optim::Flow;
use burnish::optim::lbfgs::LineSearch;
use burnish::sheet;
use burnish::vgg::taps::{Tap, parse_layer_list};
use burnish::vgg::weights::InputConvention;
use burnish::vgg::{Vgg19, VggWeights};

use super::progress::{Progress, losses_message};
use super::{GatysArgs, InitArg, LineSearchArg, OptimizerArg, parse_size, select_device};

static DEMO_CONTENT: &[u8] = include_bytes!("../../web/assets/bunny.jpg");
static DEMO_STYLE: &[u8] = include_bytes!("../../web/assets/starry_night.jpg");

pub fn demo(output: &Path, args: &GatysArgs, stop: Arc<AtomicBool>) -> Result<ExitCode> {
    files::check_writable(output)?;
    let content = files::decode(DEMO_CONTENT, Path::new("<embedded bunny.jpg>"))?;
    let style = files::decode(DEMO_STYLE, Path::new("<embedded starry_night.jpg>"))?;
    let cfg = run_config(args, Some(&super::default_content_layer()), LossConfig::gatys().content_weight, Init::Content)?;
    transfer_images(args, cfg, content, style, 256, output, "demo", stop)
}

#[allow(clippy::too_many_arguments)]
pub fn transfer(
    content: &Path,
    style: &Path,
    output: &Path,
    init: InitArg,
    content_layer: &str,
    content_weight: f64,
    size: u32,
    args: &GatysArgs,
    stop: Arc<AtomicBool>,
) -> Result<ExitCode> {
    files::check_writable(output)?;
    check_side("--size", size)?;
    let content_img = files::load_rgb(content)?;
    let style_img = files::load_rgb(style)?;
    let init = match init {
        InitArg::Content => Init::Content,
        InitArg::Noise => Init::Noise,
    };
    let cfg = run_config(args, Some(content_layer), content_weight, init)?;
    transfer_images(args, cfg, content_img, style_img, size, output, "transfer", stop)
}

pub fn texture(style: &Path, output: &Path, size: &str, args: &GatysArgs, stop: Arc<AtomicBool>) -> Result<ExitCode> {
    files::check_writable(output)?;
    let (w, h) = parse_size(size)?;
    let style_img = files::load_rgb(style)?;
    let cfg = run_config(args, None, 0.0, Init::Noise)?;
    let ctx = Loaded::new(args, &cfg.loss)?;
    let style_img = style_img.resize_max_side(args.style_size.unwrap_or(w.max(h)));
    let t0 = Instant::now();
    let mut obs = CliObserver::new(args, output, stop, "texture");
    let out = optimise(GatysRun::new(&ctx.vgg, &cfg, None, &style_img, (w, h), &ctx.device)?, &mut obs)?;
    finish(args, &ctx, &cfg, &out, output, "texture", t0, (w, h))
}

#[allow(clippy::too_many_arguments)]
fn transfer_images(
    args: &GatysArgs,
    cfg: RunConfig,
    content: RgbF32,
    style: RgbF32,
    size: u32,
    output: &Path,
    mode: &str,
    stop: Arc<AtomicBool>,
) -> Result<ExitCode> {
    let content = content.resize_max_side(size);
    let (w, h) = (content.width, content.height);
    let style = style.resize_max_side(args.style_size.unwrap_or(size));
    let ctx = Loaded::new(args, &cfg.loss)?;
    let t0 = Instant::now();
    let mut obs = CliObserver::new(args, output, stop, mode);
    let out = optimise(GatysRun::new(&ctx.vgg, &cfg, Some(&content), &style, (w, h), &ctx.device)?, &mut obs)?;
    finish(args, &ctx, &cfg, &out, output, mode, t0, (w, h))
}

/// Steps a run to its end (the native edge: each step blocks), writing snapshots as they come.
pub fn optimise(mut run: GatysRun, obs: &mut CliObserver) -> Result<RunOutput> {
    while block_on(run.step(obs))? {
        obs.write_snapshots();
    }
    obs.write_snapshots();
    obs.progress.finish();
    Ok(block_on(run.finish())?)
}

/// The VGG weights and the network for a loss config, on the selected device.
pub struct Loaded {
    pub device: ComputeDevice,
    pub weights: VggWeights,
    pub vgg: Vgg19,
}

impl Loaded {
    pub fn new(args: &GatysArgs, loss: &LossConfig) -> Result<Self> {
        let weights = match &args.weights {
            Some(p) => VggWeights::from_file(p)?,
            None => VggWeights::embedded()?,
        };
        let device = select_device(&args.compute)?;
        let vgg = loss.vgg(&weights, &device.device);
        Ok(Self { device, weights, vgg })
    }
}

/// The feature scale: `--feature-scale`, else the one calibrated for the weights' convention.
fn feature_scale(args: &GatysArgs) -> Result<f64> {
    if let Some(k) = args.feature_scale {
        return Ok(k);
    }
    let convention = match &args.weights {
        None => InputConvention::CaffeBgr,
        Some(p) => VggWeights::convention_of(p)?,
    };
    Ok(convention.calibrated_feature_scale())
}

/// The run's config from the options; `content_layer` None for texture synthesis.
pub fn run_config(args: &GatysArgs, content_layer: Option<&str>, content_weight: f64, init: Init) -> Result<RunConfig> {
    let content_layer = content_layer.map(Tap::parse).transpose()?;
    let cfg = RunConfig {
        loss: LossConfig {
            content_layer,
            style_layers: parse_layer_list(&args.style_layers)?,
            style_layer_weights: Vec::new(),
            content_weight: if content_layer.is_some() { content_weight } else { 0.0 },
            style_weight: args.style_weight,
            tv_weight: args.tv_weight,
            feature_scale: feature_scale(args)?,
            kernels: !args.no_kernels,
        },
        evaluations: args.evaluations,
        optimizer: match args.optimizer {
            OptimizerArg::Lbfgs => OptimizerKind::Lbfgs,
            OptimizerArg::Adam => OptimizerKind::Adam,
        },
        line_search: match args.line_search {
            LineSearchArg::StrongWolfe => LineSearch::StrongWolfe,
            LineSearchArg::None => LineSearch::None,
        },
        adam_lr: args.adam_lr,
        init,
        seed: args.seed,
    };
    cfg.validate()?;
    Ok(cfg)
}

/// Writes the image, the report and the plot; the exit code says whether it was interrupted.
#[allow(clippy::too_many_arguments)]
fn finish(args: &GatysArgs, ctx: &Loaded, cfg: &RunConfig, out: &RunOutput, output: &Path, mode: &str, t0: Instant, size: (u32, u32)) -> Result<ExitCode> {
    let seconds = t0.elapsed().as_secs_f64();
    files::save_rgb(output, &out.image)?;
    let f = out.final_losses;
    if !args.compute.quiet {
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
    if let Some(path) = &args.report {
        let report = serde_json::json!({
            "mode": mode,
            "output": output,
            "size": [size.0, size.1],
            "settings": cfg,
            "weights": ctx.weights.source,
            "input_convention": ctx.vgg.convention,
            "adapter": ctx.device.info,
            "wgsl_kernels_active": cfg.loss.kernels && !ctx.device.in_host_memory(),
            "evaluations": out.evaluations,
            "interrupted": out.stopped,
            "seconds": seconds,
            "ms_per_evaluation": 1000.0 * seconds / out.evaluations.max(1) as f64,
            "first_evaluation_ms": out.elapsed_ms.first(),
            "steady_ms_per_evaluation": out.steady_ms_per_evaluation(),
            "final": f,
            "final_unweighted": {
                "content": if cfg.loss.content_weight > 0.0 { f.content / cfg.loss.content_weight } else { 0.0 },
                "style": if cfg.loss.style_weight > 0.0 { f.style / cfg.loss.style_weight } else { 0.0 },
            },
            "history": out.history,
        });
        files::write_atomic(path, serde_json::to_string_pretty(&report)?.as_bytes())?;
    }
    if let Some(path) = &args.loss_plot {
        files::save_rgb8(path, &loss_plot(&format!("burnish {mode}: losses"), &out.history))?;
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

/// Progress, `--save-every` snapshots, Ctrl-C.
pub struct CliObserver {
    pub progress: Progress,
    quiet: bool,
    save_every: Option<usize>,
    output: PathBuf,
    stop: Arc<AtomicBool>,
    /// Snapshots taken during the current step, written after it.
    pending: Vec<(usize, Snapshot)>,
}

impl CliObserver {
    pub fn new(args: &GatysArgs, output: &Path, stop: Arc<AtomicBool>, label: &str) -> Self {
        Self {
            progress: Progress::new(label, "evals", args.evaluations as u64, 0, args.compute.quiet),
            quiet: args.compute.quiet,
            save_every: args.save_every.filter(|n| *n > 0),
            output: output.to_path_buf(),
            stop,
            pending: Vec::new(),
        }
    }

    /// No snapshots (studies write one sheet).
    pub fn without_snapshots(mut self) -> Self {
        self.save_every = None;
        self
    }

    fn snapshot_path(&self, evaluation: usize) -> PathBuf {
        let stem = self.output.file_stem().and_then(|s| s.to_str()).unwrap_or("out");
        let ext = self.output.extension().and_then(|s| s.to_str()).unwrap_or("png");
        self.output.with_file_name(format!("{stem}.e{evaluation:04}.{ext}"))
    }

    fn write_snapshots(&mut self) {
        for (evaluation, snapshot) in std::mem::take(&mut self.pending) {
            let path = self.snapshot_path(evaluation);
            if let Err(e) = block_on(snapshot.read()).and_then(|img| files::save_rgb(&path, &img)) {
                if !self.quiet {
                    eprintln!("warning: could not save {}: {e}", path.display());
                }
            }
        }
    }
}

impl Observer for CliObserver {
    fn on_evaluation(&mut self, l: &Losses, _total: usize, image: &Snapshot) -> Flow {
        self.progress.update(l.evaluation as u64, &losses_message(l.total, l.content, l.style));
        if self.save_every.is_some_and(|n| l.evaluation % n == 0) {
            self.pending.push((l.evaluation, image.clone()));
        }
        if self.stop.load(Ordering::SeqCst) { Flow::Stop } else { Flow::Continue }
    }
}
