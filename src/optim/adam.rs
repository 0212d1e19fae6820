//! Adam (Kingma & Ba 2015, as `torch.optim.Adam` without weight decay), the one implementation
//! for the image (Gatys with `--optimizer adam`: one evaluation per step) and for a network's
//! parameters (training).

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::{Flow, Objective, read_scalars};
use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

impl AdamConfig {
    /// torch's defaults with learning rate `lr`.
    pub fn with_lr(lr: f64) -> Self {
        Self { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8 }
    }
}

/// Adam's state for a list of flat parameters: the step count and both moments.
pub struct Adam {
    pub config: AdamConfig,
    /// Updates made so far.
    pub step: usize,
    pub m: Vec<Tensor<1>>,
    pub v: Vec<Tensor<1>>,
}

impl Adam {
    /// Zero moments for `params`.
    pub fn new(config: AdamConfig, params: &[Tensor<1>]) -> Self {
        let zeros = |p: &Tensor<1>| p.zeros_like();
        Self { config, step: 0, m: params.iter().map(zeros).collect(), v: params.iter().map(zeros).collect() }
    }

    /// One update of every parameter from its gradient.
    pub fn update(&mut self, params: &mut [Tensor<1>], grads: Vec<Tensor<1>>) {
        let c = &self.config;
        self.step += 1;
        let bc1 = 1.0 - c.beta1.powi(self.step as i32);
        let bc2 = 1.0 - c.beta2.powi(self.step as i32);
        for (i, g) in grads.into_iter().enumerate() {
            let m = self.m[i].clone().mul_scalar(c.beta1) + g.clone().mul_scalar(1.0 - c.beta1);
            let v = self.v[i].clone().mul_scalar(c.beta2) + (g.clone() * g).mul_scalar(1.0 - c.beta2);
            let denom = v.clone().div_scalar(bc2).sqrt().add_scalar(c.eps);
            params[i] = params[i].clone() - (m.clone() / denom).mul_scalar(c.lr / bc1);
            self.m[i] = m;
            self.v[i] = v;
        }
    }

    /// One evaluation of `obj` at `x` and one update of `x` (the evaluated, projected point).
    pub async fn step<O: Objective>(&mut self, x: &mut Tensor<1>, obj: &mut O) -> Result<Flow> {
        let ev = obj.evaluate(x.clone())?;
        let nparts = ev.parts.len();
        let mut scalars = vec![ev.loss.clone()];
        scalars.extend(ev.parts.iter().cloned());
        let r = read_scalars(scalars).await?;
        if !r[0].is_finite() {
            return Err(Error::NonFinite(format!("loss = {}", r[0])));
        }
        let flow = obj.observe(&ev.x, r[0], &r[1..1 + nparts]);
        let mut params = [ev.x];
        self.update(&mut params, vec![ev.grad]);
        let [updated] = params;
        *x = updated;
        Ok(flow)
    }
}
