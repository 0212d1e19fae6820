//! Optimisers: L-BFGS with `torch.optim.LBFGS` semantics over a flat image vector, and Adam (over
//! the image, or over a network's parameters when training).
//!
//! They talk to the problem through [`Objective`]; the host reads are awaited ([`read_scalars`]:
//! once after each evaluation, plus once per L-BFGS direction), so the same code runs where GPU
//! reads must not block (the browser).

pub mod adam;
pub mod lbfgs;

use burn::tensor::Tensor;

use crate::error::Result;
use crate::image::tensor::read_f32;

/// The result of evaluating the objective at a point, still on the device.
pub struct Evaluation {
    /// The point actually evaluated (after the objective's projection, e.g. clamping to 0..1).
    pub x: Tensor<1>,
    /// Scalar loss, shape [1].
    pub loss: Tensor<1>,
    /// Gradient of the loss with respect to `x`, same shape as `x`.
    pub grad: Tensor<1>,
    /// Extra scalars to report (e.g. content and style parts), each of shape [1].
    pub parts: Vec<Tensor<1>>,
}

/// Whether to go on after an evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// A differentiable problem over a flat vector.
pub trait Objective {
    /// Evaluate loss and gradient at `x` (the objective may project `x` first).
    fn evaluate(&mut self, x: Tensor<1>) -> Result<Evaluation>;
    /// Called once per evaluation with the values read back; `Flow::Stop` ends the run (Ctrl-C).
    fn observe(&mut self, x: &Tensor<1>, loss: f64, parts: &[f64]) -> Flow;
}

/// Read several shape-[1] tensors to the host in one transfer.
pub async fn read_scalars(values: Vec<Tensor<1>>) -> Result<Vec<f64>> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    Ok(read_f32(Tensor::cat(values, 0)).await?.into_iter().map(f64::from).collect())
}

pub(crate) fn dot(a: &Tensor<1>, b: &Tensor<1>) -> Tensor<1> {
    (a.clone() * b.clone()).sum()
}

/// Read several flat tensors to the host in one transfer (one concatenation, one read).
pub async fn read_vecs(ts: Vec<Tensor<1>>) -> Result<Vec<Vec<f32>>> {
    if ts.is_empty() {
        return Ok(Vec::new());
    }
    let lens: Vec<usize> = ts.iter().map(|t| t.dims()[0]).collect();
    let all = read_f32(Tensor::cat(ts, 0)).await?;
    let mut out = Vec::with_capacity(lens.len());
    let mut at = 0;
    for n in lens {
        out.push(all[at..at + n].to_vec());
        at += n;
    }
    Ok(out)
}
