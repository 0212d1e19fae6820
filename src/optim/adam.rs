//! Adam over the image (Kingma & Ba 2015, as `torch.optim.Adam` without weight decay):
//! one evaluation per step.

use burn::tensor::Tensor;

use super::{Flow, Objective, read_scalars};
use crate::error::{Error, Result};

#[derive(Clone, Debug, serde::Serialize)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self { lr: 0.02, beta1: 0.9, beta2: 0.999, eps: 1e-8 }
    }
}

/// Run `evaluations` Adam steps; returns false if stopped early.
pub fn minimize<O: Objective>(cfg: &AdamConfig, x: &mut Tensor<1>, obj: &mut O, evaluations: usize) -> Result<bool> {
    let mut m = x.zeros_like();
    let mut v = x.zeros_like();
    for step in 1..=evaluations {
        let ev = obj.evaluate(x.clone())?;
        let nparts = ev.parts.len();
        let mut scalars = vec![ev.loss.clone()];
        scalars.extend(ev.parts.iter().cloned());
        let r = read_scalars(scalars)?;
        if !r[0].is_finite() {
            return Err(Error::NonFinite(format!("loss = {}", r[0])));
        }
        let flow = obj.observe(&ev.x, r[0], &r[1..1 + nparts]);
        let g = ev.grad;
        m = m.mul_scalar(cfg.beta1) + g.clone().mul_scalar(1.0 - cfg.beta1);
        v = v.mul_scalar(cfg.beta2) + (g.clone() * g).mul_scalar(1.0 - cfg.beta2);
        let bc1 = 1.0 - cfg.beta1.powi(step as i32);
        let bc2 = 1.0 - cfg.beta2.powi(step as i32);
        let denom = v.clone().div_scalar(bc2).sqrt().add_scalar(cfg.eps);
        *x = ev.x - (m.clone() / denom).mul_scalar(cfg.lr / bc1);
        if flow == Flow::Stop {
            return Ok(false);
        }
    }
    Ok(true)
}
