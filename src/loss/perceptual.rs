//! The perceptual loss through VGG19: which layers, which weights, which feature scale
//! ([`LossConfig`], shared by the Gatys run and training), and the one weighted sum of its terms
//! ([`PerceptualLoss::evaluate`]).

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::{content_loss, gram, style_layer_loss, total_variation};
use crate::error::{Error, Result};
use crate::vgg::taps::{Tap, min_side};
use crate::vgg::weights::InputConvention;
use crate::vgg::{Vgg19, VggWeights};

/// Layers, weights and feature scale of the perceptual loss (saved in reports and checkpoints).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossConfig {
    /// None for texture synthesis (style loss only).
    pub content_layer: Option<Tap>,
    pub style_layers: Vec<Tap>,
    /// A weight per style layer (empty: 1 each). [`PerceptualLoss::gram_energy_weights`] makes
    /// each layer's term the Gram matrix's relative squared error, so every layer counts alike.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub style_layer_weights: Vec<f64>,
    pub content_weight: f64,
    pub style_weight: f64,
    pub tv_weight: f64,
    /// VGG's activations are divided by this (see [`Vgg19::new`]).
    pub feature_scale: f64,
    /// Gram matrix and losses through the WGSL kernels on wgpu (elsewhere their reference twins
    /// with hand-written backward passes); false: plain tensor ops and burn's autodiff.
    pub kernels: bool,
}

impl LossConfig {
    /// The seed's calibrated defaults (README, "Calibration"): content conv_4, style conv_1..5,
    /// content weight 1, style weight 1e6, no TV, k = 58 for burnish's Caffe-convention VGG19.
    pub fn gatys() -> Self {
        Self {
            content_layer: Some(Tap { conv: 3, relu: false }),
            style_layers: (0..5).map(|conv| Tap { conv, relu: false }).collect(),
            style_layer_weights: Vec::new(),
            content_weight: 1.0,
            style_weight: 1e6,
            tv_weight: 0.0,
            feature_scale: InputConvention::CaffeBgr.calibrated_feature_scale(),
            kernels: true,
        }
    }

    /// The feed-forward training recipe (README, "Training recipe"): the layers the ml5.js /
    /// lengstrom networks were trained with (content relu4_2; style relu1_1, relu2_1, relu3_1,
    /// relu4_1, relu5_1, post-ReLU), content weight 1, style weight 40 and TV 515 (lengstrom's 200
    /// in burnish's units), k = 58, the same Gram / (C·H·W) and MSE terms as Gatys. The style
    /// weight assumes per-layer weights 1 / (the style's Gram energy)
    /// ([`PerceptualLoss::gram_energy_weights`], which need the style image: `burnish train` fills
    /// them in). A network starts from nothing and must learn to keep the photo: the Gatys weights
    /// (style 1e6 on pre-ReLU conv_1..5) reward texture there.
    pub fn training() -> Self {
        Self {
            content_layer: Some(Tap { conv: 9, relu: true }),
            style_layers: [0, 2, 4, 8, 12].into_iter().map(|conv| Tap { conv, relu: true }).collect(),
            content_weight: 1.0,
            style_weight: 40.0,
            tv_weight: 515.0,
            ..Self::gatys()
        }
    }

    /// Texture synthesis: [`LossConfig::gatys`] without the content term.
    pub fn texture() -> Self {
        Self { content_layer: None, content_weight: 0.0, ..Self::gatys() }
    }

    /// Checks the weights and layers.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [("--style-weight", self.style_weight), ("--content-weight", self.content_weight), ("--tv-weight", self.tv_weight)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::InvalidOption(format!("{name} must be a non-negative number")));
            }
        }
        if !(self.feature_scale.is_finite() && self.feature_scale > 0.0) {
            return Err(Error::InvalidOption("--feature-scale must be a positive number".into()));
        }
        if self.style_layers.is_empty() {
            return Err(Error::InvalidOption("at least one style layer is needed".into()));
        }
        if !self.style_layer_weights.is_empty() && self.style_layer_weights.len() != self.style_layers.len() {
            return Err(Error::InvalidOption(format!(
                "{} style layer weights for {} style layers",
                self.style_layer_weights.len(),
                self.style_layers.len()
            )));
        }
        if self.style_layer_weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) {
            return Err(Error::InvalidOption("style layer weights must be non-negative numbers".into()));
        }
        Ok(())
    }

    /// The VGG19 this loss is defined on: `weights` at this config's feature scale.
    pub fn vgg(&self, weights: &VggWeights, device: &Device) -> Vgg19 {
        Vgg19::new(weights, self.feature_scale, device)
    }

    /// The content layer, when the content term counts.
    pub fn content_tap(&self) -> Option<Tap> {
        self.content_layer.filter(|_| self.content_weight != 0.0)
    }

    /// Every tap needs at least one pixel after VGG's poolings: an error naming `what` otherwise.
    pub fn check_size(&self, width: u32, height: u32, what: &str) -> Result<()> {
        let mut taps = self.style_layers.clone();
        taps.extend(self.content_layer);
        let need = min_side(&taps);
        if width.min(height) < need {
            let deepest = taps.iter().max_by_key(|t| t.conv).expect("at least one layer");
            return Err(Error::InvalidOption(format!(
                "{what} is {width}x{height}, too small for layer {}: each side needs at least {need} px; use a larger --size or shallower layers",
                deepest.vgg_name()
            )));
        }
        Ok(())
    }
}

/// What the loss compares against: the content features and the style's Gram matrices.
#[derive(Clone, Debug)]
pub struct LossTargets {
    /// Features at the content layer ([b, c, h, w]); None without a content term.
    pub content: Option<Tensor<4>>,
    /// One Gram matrix [b, c, c] per style layer.
    pub style_grams: Vec<Tensor<3>>,
}

/// The weighted terms of one evaluation, shape [1] each.
pub struct LossTerms {
    pub total: Tensor<1>,
    pub content: Tensor<1>,
    pub style: Tensor<1>,
    pub tv: Tensor<1>,
}

/// A [`LossConfig`] on its matching VGG19.
#[derive(Clone, Debug)]
pub struct PerceptualLoss {
    pub config: LossConfig,
    pub vgg: Vgg19,
}

impl PerceptualLoss {
    /// `vgg` must have been built at the config's feature scale ([`LossConfig::vgg`]).
    pub fn new(config: LossConfig, vgg: Vgg19) -> Result<Self> {
        config.validate()?;
        if vgg.feature_scale != config.feature_scale {
            return Err(Error::InvalidOption(format!(
                "the loss network was built for feature scale {}, the loss config asks for {}",
                vgg.feature_scale, config.feature_scale
            )));
        }
        Ok(Self { config, vgg })
    }

    /// Content features of `content` ([b, 3, h, w]) at the content layer, when the content term counts.
    pub fn content_target(&self, content: Tensor<4>) -> Option<Tensor<4>> {
        let tap = self.config.content_tap()?;
        Some(self.vgg.forward(content, &[tap]).remove(0))
    }

    /// Gram matrices of `style` ([1, 3, h, w]) at the style layers, repeated to `batch`.
    pub fn style_grams(&self, style: Tensor<4>, batch: usize) -> Vec<Tensor<3>> {
        let kernels = self.config.kernels;
        let grams = self.vgg.forward(style, &self.config.style_layers).into_iter().map(|f| gram(f, kernels));
        if batch == 1 { grams.collect() } else { grams.map(|g| g.repeat_dim(0, batch)).collect() }
    }

    /// Per style layer, 1 / mean(G²) of the style's Gram matrix `grams` ([`Self::style_grams`]):
    /// with these weights a layer's term is ‖G − G_style‖² / ‖G_style‖², the relative error the
    /// quality report's style distance averages.
    pub async fn gram_energy_weights(grams: &[Tensor<3>]) -> Result<Vec<f64>> {
        let v = crate::optim::read_scalars(grams.iter().map(|g| g.clone().square().mean()).collect()).await?;
        Ok(v.into_iter().map(|m| if m > 0.0 { 1.0 / m } else { 0.0 }).collect())
    }

    /// content weight · content loss + style weight · Σ style losses + TV weight · TV of `image`
    /// ([b, 3, h, w], tracked when a gradient is wanted) against `targets`. The content term is
    /// left out when `targets` has no content features.
    pub fn evaluate(&self, image: Tensor<4>, targets: &LossTargets) -> LossTerms {
        let cfg = &self.config;
        let device = targets.style_grams[0].device();
        // Constants join the image's autodiff graph when it has one (a plain forward stays plain).
        let tracked = image.is_autodiff();
        let constant = |t: Tensor<4>| if tracked { t.autodiff() } else { t };
        let zero = || {
            let z = Tensor::<1>::zeros([1], &device);
            if tracked { z.autodiff() } else { z }
        };
        let mut taps: Vec<Tap> = Vec::new();
        if targets.content.is_some() {
            taps.push(cfg.content_layer.expect("content features imply a content layer"));
        }
        taps.extend(cfg.style_layers.iter().copied());
        let mut feats = self.vgg.forward(image.clone(), &taps).into_iter();
        let content = match &targets.content {
            Some(t) => content_loss(feats.next().expect("content tap"), constant(t.clone()), cfg.kernels).mul_scalar(cfg.content_weight),
            None => zero(),
        };
        let mut style = zero();
        for (i, (f, g)) in feats.zip(&targets.style_grams).enumerate() {
            let layer = style_layer_loss(f, if tracked { g.clone().autodiff() } else { g.clone() }, cfg.kernels);
            style = style + match cfg.style_layer_weights.get(i) {
                Some(&w) if w != 1.0 => layer.mul_scalar(w),
                _ => layer,
            };
        }
        let style = style.mul_scalar(cfg.style_weight);
        let tv = if cfg.tv_weight != 0.0 { total_variation(image).mul_scalar(cfg.tv_weight) } else { zero() };
        let total = content.clone() + style.clone() + tv.clone();
        LossTerms { total, content, style, tv }
    }
}
