//! How good a style network is, as numbers (the `evaluate` report): per photo, the content and
//! style losses at the network's training settings, a structure score (how much of the photo's
//! deep features survive) and a style distance (how close the Gram matrices come to the style's),
//! and their geometric means over photos.
//!
//! - Structure score: ‖F(output) − F(photo)‖² / ‖F(photo)‖² at relu4_2 (0: the photo's
//!   structure kept exactly; 1: as far from it as from nothing).
//! - Style distance: the mean over relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 of
//!   ‖G(output) − G(style)‖² / ‖G(style)‖².
//!
//! Both are ratios, so they do not depend on the VGG's feature scale.

use burn::tensor::{Device, Tensor};

use crate::error::Result;
use crate::image::RgbF32;
use crate::image::tensor::frame_tensor;
use crate::loss::{LossTargets, PerceptualLoss, gram_reference};
use crate::optim::read_scalars;
use crate::vgg::Tap;

/// The structure score's layer.
pub const STRUCTURE_TAP: Tap = Tap { conv: 9, relu: true }; // relu4_2
/// The style distance's layers: relu1_1, relu2_1, relu3_1, relu4_1, relu5_1.
pub const STYLE_TAPS: [Tap; 5] =
    [Tap { conv: 0, relu: true }, Tap { conv: 2, relu: true }, Tap { conv: 4, relu: true }, Tap { conv: 8, relu: true }, Tap { conv: 12, relu: true }];

/// One output's numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Scores {
    /// Weighted content and style losses at the training settings (what training minimises).
    pub content_loss: f64,
    pub style_loss: f64,
    pub structure: f64,
    pub style_distance: f64,
}

/// ‖a − b‖² / ‖b‖², shape [1].
pub fn relative_squared_error<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<1> {
    (a - b.clone()).square().sum() / b.square().sum()
}

/// exp(mean(ln x)); 0 if any value is 0.
pub fn geometric_mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    (values.iter().map(|v| v.max(0.0).ln()).sum::<f64>() / values.len() as f64).exp()
}

/// Scores outputs against their photos and one style image.
pub struct Evaluator {
    /// The network's training loss on its VGG.
    pub loss: PerceptualLoss,
    /// The style's Gram matrices for the training loss.
    loss_grams: Vec<Tensor<3>>,
    /// The style's Gram matrices at [`STYLE_TAPS`].
    style_grams: Vec<Tensor<3>>,
    device: Device,
}

impl Evaluator {
    /// `style` at the size the network was trained with.
    pub fn new(loss: PerceptualLoss, style: &RgbF32, device: &Device) -> Result<Self> {
        loss.config.check_size(style.width, style.height, "the style image")?;
        let s = frame_tensor(style, device);
        let loss_grams = loss.style_grams(s.clone(), 1);
        let style_grams = loss.vgg.forward(s, &STYLE_TAPS).into_iter().map(gram_reference).collect();
        Ok(Self { loss, loss_grams, style_grams, device: device.clone() })
    }

    /// The numbers for `output` (a stylization of `photo`, the same size).
    pub async fn score(&self, photo: &RgbF32, output: &RgbF32) -> Result<Scores> {
        self.loss.config.check_size(photo.width, photo.height, "the photo")?;
        let (p, o) = (frame_tensor(photo, &self.device), frame_tensor(output, &self.device));
        // The photo's content target and structure features from one forward pass.
        let content_tap = self.loss.config.content_tap();
        let mut fp = self.loss.vgg.forward(p, &[STRUCTURE_TAP].into_iter().chain(content_tap).collect::<Vec<_>>()).into_iter();
        let fp_structure = fp.next().expect("structure tap");
        let targets = LossTargets { content: fp.next(), style_grams: self.loss_grams.clone() };
        let terms = self.loss.evaluate(o.clone(), &targets);
        let mut taps = vec![STRUCTURE_TAP];
        taps.extend(STYLE_TAPS);
        let mut fo = self.loss.vgg.forward(o, &taps).into_iter();
        let fp = fp_structure;
        let structure = relative_squared_error(fo.next().expect("structure tap"), fp);
        let mut values = vec![terms.content, terms.style, structure];
        values.extend(fo.zip(&self.style_grams).map(|(f, g)| relative_squared_error(gram_reference(f), g.clone())));
        let v = read_scalars(values).await?;
        let style_distance = v[3..].iter().sum::<f64>() / STYLE_TAPS.len() as f64;
        Ok(Scores { content_loss: v[0], style_loss: v[1], structure: v[2], style_distance })
    }
}
