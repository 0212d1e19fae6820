//! Optimisation-based style transfer (Gatys et al. 2016) and texture synthesis: optimise the
//! pixels of an image against the perceptual loss through the frozen VGG19.
//!
//! A [`GatysRun`] is stepped: [`GatysRun::step`] makes one optimiser step (one L-BFGS
//! `optimizer.step(closure)`, up to 25 evaluations, or one Adam evaluation) and awaits its reads,
//! so a page can drive it between animation frames; [`GatysRun::run`] loops it.

use burn::tensor::Tensor;

use crate::device::ComputeDevice;
use crate::error::{Error, Result};
use crate::image::RgbF32;
use crate::image::tensor::{frame_tensor, tensor_frame};
use crate::loss::{LossConfig, LossTargets, PerceptualLoss};
use crate::optim::adam::{Adam, AdamConfig};
use crate::optim::lbfgs::{HistoryForm, Lbfgs, LbfgsConfig, LineSearch, StepEnd};
use crate::optim::{Evaluation, Flow, Objective};
use crate::vgg::Vgg19;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Init {
    Content,
    Noise,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    Lbfgs,
    Adam,
}

/// Everything that defines one optimisation run (saved in reports).
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunConfig {
    #[serde(flatten)]
    pub loss: LossConfig,
    /// Loss evaluations (forward + backward passes), counted as the PyTorch tutorial counts them.
    pub evaluations: usize,
    pub optimizer: OptimizerKind,
    pub line_search: LineSearch,
    pub adam_lr: f64,
    pub init: Init,
    pub seed: u64,
}

impl RunConfig {
    /// The seed's defaults: [`LossConfig::gatys`], L-BFGS with strong-Wolfe line search, 300
    /// evaluations, starting from the content image.
    pub fn transfer_defaults() -> Self {
        Self {
            loss: LossConfig::gatys(),
            evaluations: 300,
            optimizer: OptimizerKind::Lbfgs,
            line_search: LineSearch::StrongWolfe,
            adam_lr: 0.02,
            init: Init::Content,
            seed: 0,
        }
    }

    /// Texture synthesis: style loss only, from seeded noise.
    pub fn texture_defaults() -> Self {
        Self { loss: LossConfig::texture(), init: Init::Noise, ..Self::transfer_defaults() }
    }

    /// Checks the loss config and the budget.
    pub fn validate(&self) -> Result<()> {
        if self.evaluations == 0 {
            return Err(Error::InvalidOption("--evaluations must be at least 1".into()));
        }
        self.loss.validate()
    }
}

/// Weighted loss terms after one evaluation.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Losses {
    pub evaluation: usize,
    pub total: f64,
    pub content: f64,
    pub style: f64,
    pub tv: f64,
}

/// The image of one evaluation, still on the device: cheap to keep, read when wanted.
#[derive(Clone)]
pub struct Snapshot {
    x: Tensor<1>,
    pub width: u32,
    pub height: u32,
}

impl Snapshot {
    pub async fn read(&self) -> Result<RgbF32> {
        tensor_frame(&self.x, self.width, self.height).await
    }
}

/// Receives every evaluation's losses and image; may stop the run.
pub trait Observer {
    fn on_evaluation(&mut self, losses: &Losses, total: usize, image: &Snapshot) -> Flow;
}

/// An observer that does nothing.
pub struct Quiet;
impl Observer for Quiet {
    fn on_evaluation(&mut self, _: &Losses, _: usize, _: &Snapshot) -> Flow {
        Flow::Continue
    }
}

pub struct RunOutput {
    pub image: RgbF32,
    pub final_losses: Losses,
    pub history: Vec<Losses>,
    pub evaluations: usize,
    pub stopped: bool,
    /// Wall time from the start of the optimisation to the end of each evaluation, in ms.
    pub elapsed_ms: Vec<f64>,
}

impl RunOutput {
    /// ms per evaluation over the second half of the run: the speed once shaders are compiled and
    /// autotuned (the first evaluations pay for that).
    pub fn steady_ms_per_evaluation(&self) -> Option<f64> {
        let n = self.elapsed_ms.len();
        (n >= 4).then(|| (self.elapsed_ms[n - 1] - self.elapsed_ms[n / 2 - 1]) / (n - n / 2) as f64)
    }
}

enum Optimizer {
    Lbfgs(Lbfgs),
    Adam(Adam),
}

/// An optimisation in progress.
pub struct GatysRun {
    loss: PerceptualLoss,
    cfg: RunConfig,
    targets: LossTargets,
    x: Tensor<1>,
    optimizer: Optimizer,
    width: u32,
    height: u32,
    history: Vec<Losses>,
    elapsed_ms: Vec<f64>,
    start: Option<web_time::Instant>,
    done: bool,
    stopped: bool,
}

impl GatysRun {
    /// A run on `vgg` (built for `cfg`'s feature scale: [`LossConfig::vgg`]). `content` (already
    /// at the output size) is the content target and the init image for `Init::Content`; `size`
    /// is the output (width, height).
    pub fn new(vgg: &Vgg19, cfg: &RunConfig, content: Option<&RgbF32>, style: &RgbF32, size: (u32, u32), device: &ComputeDevice) -> Result<Self> {
        let loss = PerceptualLoss::new(cfg.loss.clone(), vgg.clone())?;
        cfg.loss.check_size(style.width, style.height, "the style image (after resizing)")?;
        if let Some(c) = content {
            cfg.loss.check_size(c.width, c.height, "the content image (after resizing)")?;
        }
        let targets = LossTargets {
            content: content.and_then(|c| loss.content_target(frame_tensor(c, &device.device))),
            style_grams: loss.style_grams(frame_tensor(style, &device.device), 1),
        };
        Self::with_targets(loss, cfg, targets, content, size, device)
    }

    /// A run against targets computed before (benchmarks reuse them).
    pub fn with_targets(
        loss: PerceptualLoss,
        cfg: &RunConfig,
        targets: LossTargets,
        content: Option<&RgbF32>,
        (width, height): (u32, u32),
        device: &ComputeDevice,
    ) -> Result<Self> {
        cfg.validate()?;
        cfg.loss.check_size(width, height, "the output")?;
        let init = match (cfg.init, content) {
            (Init::Content, Some(c)) => c.resize_exact(width, height),
            (Init::Content, None) => return Err(Error::InvalidOption("--init content needs a content image".into())),
            (Init::Noise, _) => RgbF32::noise(width, height, cfg.seed),
        };
        let x = frame_tensor(&init, &device.device).reshape([3 * (width * height) as usize]);
        let optimizer = match cfg.optimizer {
            OptimizerKind::Lbfgs => {
                let form = HistoryForm::for_device(device);
                Optimizer::Lbfgs(Lbfgs::new(LbfgsConfig { line_search: cfg.line_search, history_form: form, ..LbfgsConfig::default() }))
            }
            OptimizerKind::Adam => Optimizer::Adam(Adam::new(AdamConfig::with_lr(cfg.adam_lr), std::slice::from_ref(&x))),
        };
        Ok(Self {
            loss,
            cfg: cfg.clone(),
            targets,
            x,
            optimizer,
            width,
            height,
            history: Vec::new(),
            elapsed_ms: Vec::new(),
            start: None,
            done: false,
            stopped: false,
        })
    }

    /// One optimiser step; `observer` sees every evaluation. Returns whether the run goes on
    /// (false once the evaluations are spent, it converged, or the observer stopped it).
    pub async fn step(&mut self, observer: &mut dyn Observer) -> Result<bool> {
        self.step_within(observer, usize::MAX).await
    }

    /// [`GatysRun::step`] with at most `max_evaluations` evaluations in this step (L-BFGS keeps
    /// its history across steps; each step starts with one evaluation at the current image), so a
    /// page can show the image more often than every 25 evaluations.
    pub async fn step_within(&mut self, observer: &mut dyn Observer, max_evaluations: usize) -> Result<bool> {
        if self.done {
            return Ok(false);
        }
        let start = *self.start.get_or_insert_with(web_time::Instant::now);
        let remaining = (self.cfg.evaluations - self.history.len()).min(max_evaluations.max(1));
        let mut problem = Problem {
            loss: &self.loss,
            targets: &self.targets,
            dims: [1, 3, self.height as usize, self.width as usize],
            total: self.cfg.evaluations,
            history: &mut self.history,
            elapsed_ms: &mut self.elapsed_ms,
            start,
            observer,
        };
        match &mut self.optimizer {
            Optimizer::Lbfgs(opt) => {
                let r = opt.step(&mut self.x, &mut problem, remaining).await?;
                self.stopped = r.end == StepEnd::Stopped;
                self.done = self.stopped || (r.end == StepEnd::Converged && r.evals <= 1);
            }
            Optimizer::Adam(opt) => {
                self.stopped = opt.step(&mut self.x, &mut problem).await? == Flow::Stop;
                self.done = self.stopped;
            }
        }
        self.done |= self.history.len() >= self.cfg.evaluations;
        Ok(!self.done)
    }

    /// The current image.
    pub async fn image(&self) -> Result<RgbF32> {
        tensor_frame(&self.x, self.width, self.height).await
    }

    /// The losses of every evaluation so far.
    pub fn history(&self) -> &[Losses] {
        &self.history
    }

    pub fn config(&self) -> &RunConfig {
        &self.cfg
    }

    /// The result as it stands.
    pub async fn finish(self) -> Result<RunOutput> {
        let image = self.image().await?;
        let final_losses = self.history.last().copied().unwrap_or_default();
        Ok(RunOutput { image, final_losses, evaluations: self.history.len(), history: self.history, stopped: self.stopped, elapsed_ms: self.elapsed_ms })
    }

    /// Steps until done, then [`GatysRun::finish`].
    pub async fn run(mut self, observer: &mut dyn Observer) -> Result<RunOutput> {
        while self.step(observer).await? {}
        self.finish().await
    }
}

/// The objective the optimiser sees during one step.
struct Problem<'a> {
    loss: &'a PerceptualLoss,
    targets: &'a LossTargets,
    dims: [usize; 4],
    total: usize,
    history: &'a mut Vec<Losses>,
    elapsed_ms: &'a mut Vec<f64>,
    start: web_time::Instant,
    observer: &'a mut dyn Observer,
}

impl Objective for Problem<'_> {
    fn evaluate(&mut self, x: Tensor<1>) -> Result<Evaluation> {
        let x = x.clamp(0.0, 1.0);
        let img = x.clone().reshape(self.dims).autodiff().require_grad(); // [1, 3, h, w]
        let terms = self.loss.evaluate(img.clone(), self.targets);
        let grads = terms.total.backward();
        let n = x.dims()[0];
        let grad = img.grad(&grads).ok_or_else(|| Error::Device("no gradient for the image".into()))?.reshape([n]);
        Ok(Evaluation { x, loss: terms.total.inner(), grad, parts: vec![terms.content.inner(), terms.style.inner(), terms.tv.inner()] })
    }

    fn observe(&mut self, x: &Tensor<1>, loss: f64, parts: &[f64]) -> Flow {
        let losses = Losses { evaluation: self.history.len() + 1, total: loss, content: parts[0], style: parts[1], tv: parts[2] };
        self.history.push(losses);
        self.elapsed_ms.push(self.start.elapsed().as_secs_f64() * 1e3);
        let snapshot = Snapshot { x: x.clone(), width: self.dims[3] as u32, height: self.dims[2] as u32 };
        self.observer.on_evaluation(&losses, self.total, &snapshot)
    }
}
