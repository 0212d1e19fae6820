//! Optimisation-based style transfer (Gatys et al. 2016) and texture synthesis: optimise the
//! pixels of an image against content and style losses through the frozen VGG19.

use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};

use crate::error::{Error, Result};
use crate::imageio::RgbF32;
use crate::layers::Tap;
use crate::loss::{content_loss, gram, style_layer_loss, total_variation};
use crate::model::vgg::Vgg19;
use crate::optim::lbfgs::{Lbfgs, LbfgsConfig, LineSearch, StepEnd};
use crate::optim::{Evaluation, Flow, Objective, adam};

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
    /// None for texture synthesis (style loss only).
    pub content_layer: Option<Tap>,
    pub style_layers: Vec<Tap>,
    pub content_weight: f64,
    pub style_weight: f64,
    pub tv_weight: f64,
    /// Loss evaluations (forward + backward passes), counted as the PyTorch tutorial counts them.
    pub evaluations: usize,
    pub optimizer: OptimizerKind,
    pub line_search: LineSearch,
    pub adam_lr: f64,
    pub init: Init,
    pub seed: u64,
    /// See [`Vgg19::new`].
    pub feature_scale: f64,
    /// Gram matrix and losses through the WGSL kernels on wgpu (elsewhere their reference twins
    /// with hand-written backward passes); false: plain tensor ops and burn's autodiff.
    pub kernels: bool,
}

/// Calibrated defaults for burnish's Caffe-convention VGG19 weights (see README, "Calibration").
pub const DEFAULT_FEATURE_SCALE: f64 = 58.0;
pub const DEFAULT_STYLE_WEIGHT: f64 = 1e6;
pub const DEFAULT_CONTENT_WEIGHT: f64 = 1.0;
pub const DEFAULT_EVALUATIONS: usize = 300;

impl RunConfig {
    /// The seed's defaults: content conv_4, style conv_1..conv_5, sw 1e6, cw 1, L-BFGS, 300 evaluations.
    pub fn transfer_defaults() -> Self {
        Self {
            content_layer: Some(Tap { conv: 3, relu: false }),
            style_layers: (0..5).map(|conv| Tap { conv, relu: false }).collect(),
            content_weight: DEFAULT_CONTENT_WEIGHT,
            style_weight: DEFAULT_STYLE_WEIGHT,
            tv_weight: 0.0,
            evaluations: DEFAULT_EVALUATIONS,
            optimizer: OptimizerKind::Lbfgs,
            line_search: LineSearch::StrongWolfe,
            adam_lr: 0.02,
            init: Init::Content,
            seed: 0,
            feature_scale: DEFAULT_FEATURE_SCALE,
            kernels: true,
        }
    }

    pub fn texture_defaults() -> Self {
        Self { content_layer: None, content_weight: 0.0, init: Init::Noise, ..Self::transfer_defaults() }
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

/// Receives every evaluation's losses; may look at the image and may stop the run.
pub trait Observer {
    fn on_evaluation(&mut self, losses: &Losses, total: usize, image: &dyn Fn() -> Result<RgbF32>) -> Flow;
}

/// An observer that does nothing.
pub struct Quiet;
impl Observer for Quiet {
    fn on_evaluation(&mut self, _: &Losses, _: usize, _: &dyn Fn() -> Result<RgbF32>) -> Flow {
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

/// Image [1, 3, h, w] on `device` from an RGB image.
pub fn image_tensor(img: &RgbF32, device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(img.to_chw(), [1, 3, img.height as usize, img.width as usize]), device)
}

/// Read a flat or [1, 3, h, w] image tensor back to the host, clamped to 0..1.
pub fn tensor_image<const D: usize>(x: &Tensor<D>, width: u32, height: u32) -> Result<RgbF32> {
    pollster::block_on(tensor_image_async(x, width, height))
}

/// [`tensor_image`] without blocking (the browser cannot block on a GPU read).
pub async fn tensor_image_async<const D: usize>(x: &Tensor<D>, width: u32, height: u32) -> Result<RgbF32> {
    let data = x.clone().clamp(0.0, 1.0).into_data_async().await.map_err(|e| Error::Device(format!("{e:?}")))?;
    let v = data.try_into_vec_as::<f32>().map_err(|e| Error::Device(format!("{e:?}")))?;
    Ok(RgbF32::from_chw(width, height, &v))
}

/// Seeded uniform noise in 0..1, generated on the host so every device starts from the same image.
pub fn noise_image(width: u32, height: u32, seed: u64) -> RgbF32 {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let data = (0..width * height * 3).map(|_| rng.random::<f32>()).collect();
    RgbF32::new(width, height, data)
}

/// Precomputed targets: content features and style Gram matrices.
pub struct Targets {
    pub content: Option<Tensor<4>>,
    pub style_grams: Vec<Tensor<3>>,
}

impl Targets {
    pub fn new(vgg: &Vgg19, cfg: &RunConfig, content: Option<&RgbF32>, style: &RgbF32, device: &Device) -> Self {
        let content = match (cfg.content_layer, content) {
            (Some(tap), Some(img)) if cfg.content_weight != 0.0 => {
                Some(vgg.forward(image_tensor(img, device), &[tap]).remove(0))
            }
            _ => None,
        };
        let style_grams = vgg.forward(image_tensor(style, device), &cfg.style_layers).into_iter().map(|f| gram(f, cfg.kernels)).collect();
        Self { content, style_grams }
    }
}

struct Problem<'a> {
    vgg: &'a Vgg19,
    cfg: &'a RunConfig,
    targets: &'a Targets,
    taps: Vec<Tap>,
    dims: [usize; 4],
    history: Vec<Losses>,
    observer: &'a mut dyn Observer,
    start: std::time::Instant,
    elapsed_ms: Vec<f64>,
}

impl Objective for Problem<'_> {
    fn evaluate(&mut self, x: Tensor<1>) -> Result<Evaluation> {
        let x = x.clamp(0.0, 1.0);
        let img = x.clone().reshape(self.dims).autodiff().require_grad(); // [1, 3, h, w]
        let feats = self.vgg.forward(img.clone(), &self.taps);
        let mut feats = feats.into_iter();
        let zero = || Tensor::<1>::zeros([1], &x.device());
        let content = match &self.targets.content {
            Some(t) => content_loss(feats.next().expect("content tap"), t.clone(), self.cfg.kernels).mul_scalar(self.cfg.content_weight),
            None => zero().autodiff(),
        };
        let mut style = zero().autodiff();
        for (f, g) in feats.zip(&self.targets.style_grams) {
            style = style + style_layer_loss(f, g.clone(), self.cfg.kernels);
        }
        let style = style.mul_scalar(self.cfg.style_weight);
        let tv = if self.cfg.tv_weight != 0.0 {
            total_variation(img.clone()).mul_scalar(self.cfg.tv_weight)
        } else {
            zero().autodiff()
        };
        let total = content.clone() + style.clone() + tv.clone();
        let grads = total.backward();
        let n = x.dims()[0];
        let grad = img.grad(&grads).ok_or_else(|| Error::Device("no gradient for the image".into()))?.reshape([n]);
        Ok(Evaluation { x, loss: total.inner(), grad, parts: vec![content.inner(), style.inner(), tv.inner()] })
    }

    fn observe(&mut self, x: &Tensor<1>, loss: f64, parts: &[f64]) -> Flow {
        let losses = Losses { evaluation: self.history.len() + 1, total: loss, content: parts[0], style: parts[1], tv: parts[2] };
        self.history.push(losses);
        self.elapsed_ms.push(self.start.elapsed().as_secs_f64() * 1e3);
        let [_, _, h, w] = self.dims;
        let image = || tensor_image(x, w as u32, h as u32);
        self.observer.on_evaluation(&losses, self.cfg.evaluations, &image)
    }
}

/// Every tap needs at least one pixel after VGG's poolings.
fn check_size(cfg: &RunConfig, width: u32, height: u32, what: &str) -> Result<()> {
    let mut taps = cfg.style_layers.clone();
    taps.extend(cfg.content_layer);
    let need = crate::layers::min_side(&taps);
    if width.min(height) < need {
        let deepest = taps.iter().max_by_key(|t| t.conv).expect("at least one layer");
        return Err(Error::InvalidOption(format!(
            "{what} is {width}x{height}, too small for layer {}: each side needs at least {need} px; use a larger --size or shallower layers",
            deepest.vgg_name()
        )));
    }
    Ok(())
}

/// Run one optimisation. `content` (already at the output size) is the content target and the
/// init image for `Init::Content`; `size` is the output (width, height).
pub fn run(
    vgg: &Vgg19,
    cfg: &RunConfig,
    content: Option<&RgbF32>,
    style: &RgbF32,
    size: (u32, u32),
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<RunOutput> {
    // (run_with_targets checks the layer list and the output size.)
    check_size(cfg, style.width, style.height, "the style image (after resizing)")?;
    if let Some(c) = content {
        check_size(cfg, c.width, c.height, "the content image (after resizing)")?;
    }
    let targets = Targets::new(vgg, cfg, content, style, device);
    run_with_targets(vgg, cfg, &targets, content, size, device, observer)
}

pub fn run_with_targets(
    vgg: &Vgg19,
    cfg: &RunConfig,
    targets: &Targets,
    content: Option<&RgbF32>,
    (width, height): (u32, u32),
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<RunOutput> {
    if cfg.style_layers.is_empty() {
        return Err(Error::InvalidOption("at least one style layer is needed".into()));
    }
    check_size(cfg, width, height, "the output")?;
    let init = match (cfg.init, content) {
        (Init::Content, Some(c)) => c.resize_exact(width, height),
        (Init::Content, None) => return Err(Error::InvalidOption("--init content needs a content image".into())),
        (Init::Noise, _) => noise_image(width, height, cfg.seed),
    };
    let mut taps = Vec::new();
    if targets.content.is_some() {
        taps.push(cfg.content_layer.expect("content target implies a layer"));
    }
    taps.extend(cfg.style_layers.iter().copied());
    let dims = [1, 3, height as usize, width as usize];
    let mut x = image_tensor(&init, device).reshape([3 * (width * height) as usize]);
    let mut problem = Problem { vgg, cfg, targets, taps, dims, history: Vec::new(), observer, start: std::time::Instant::now(), elapsed_ms: Vec::new() };
    let stopped = match cfg.optimizer {
        OptimizerKind::Lbfgs => {
            let mut opt = Lbfgs::new(LbfgsConfig { line_search: cfg.line_search, ..LbfgsConfig::default() });
            crate::optim::lbfgs::minimize(&mut opt, &mut x, &mut problem, cfg.evaluations)? == StepEnd::Stopped
        }
        OptimizerKind::Adam => {
            let acfg = adam::AdamConfig { lr: cfg.adam_lr, ..Default::default() };
            !adam::minimize(&acfg, &mut x, &mut problem, cfg.evaluations)?
        }
    };
    let image = tensor_image(&x, width, height)?;
    let history = problem.history;
    let final_losses = history.last().copied().unwrap_or_default();
    Ok(RunOutput { image, final_losses, evaluations: history.len(), history, stopped, elapsed_ms: problem.elapsed_ms })
}
