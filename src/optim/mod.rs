//! Optimisers over a flat image vector: L-BFGS with `torch.optim.LBFGS` semantics, and Adam.
//!
//! Both talk to the problem through [`Objective`]; the only host reads happen in [`read_scalars`],
//! once after each evaluation (and once per L-BFGS direction), so the same code runs where GPU
//! reads must be asynchronous (the browser).

pub mod adam;
pub mod lbfgs;

use burn::tensor::Tensor;

use crate::error::{Error, Result};

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
pub async fn read_scalars_async(values: Vec<Tensor<1>>) -> Result<Vec<f64>> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let data = Tensor::cat(values, 0).into_data_async().await.map_err(|e| Error::Device(format!("{e:?}")))?;
    let v = data.try_into_vec_as::<f32>().map_err(|e| Error::Device(format!("{e:?}")))?;
    Ok(v.into_iter().map(f64::from).collect())
}

/// The one synchronous host read of the optimisers (native edge).
pub fn read_scalars(values: Vec<Tensor<1>>) -> Result<Vec<f64>> {
    pollster::block_on(read_scalars_async(values))
}

pub(crate) fn dot(a: &Tensor<1>, b: &Tensor<1>) -> Tensor<1> {
    (a.clone() * b.clone()).sum()
}

/// Read a whole tensor to the host (checkpoints, previews).
pub fn read_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    let data = pollster::block_on(t.into_data_async()).map_err(|e| Error::Device(format!("{e:?}")))?;
    data.try_into_vec_as::<f32>().map_err(|e| Error::Device(format!("{e:?}")))
}

/// Read several flat tensors to the host in one transfer (one concatenation, one read).
pub fn read_vecs(ts: Vec<Tensor<1>>) -> Result<Vec<Vec<f32>>> {
    if ts.is_empty() {
        return Ok(Vec::new());
    }
    let lens: Vec<usize> = ts.iter().map(|t| t.dims()[0]).collect();
    let all = read_vec(Tensor::cat(ts, 0))?;
    let mut out = Vec::with_capacity(lens.len());
    let mut at = 0;
    for n in lens {
        out.push(all[at..at + n].to_vec());
        at += n;
    }
    Ok(out)
}
