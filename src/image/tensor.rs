//! Frames to tensors on a device and back. Uploading is synchronous; reading a tensor back is a
//! GPU read and so asynchronous (the native side wraps it in [`crate::block_on`]).

use burn::tensor::{Device, Tensor, TensorData};

use super::RgbF32;
use crate::error::{Error, Result};

/// A frame as a batch of one: [1, 3, h, w] on `device`.
pub fn frame_tensor(frame: &RgbF32, device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(frame.to_chw(), [1, 3, frame.height as usize, frame.width as usize]), device)
}

/// Frames of one size as a batch [b, 3, h, w] on `device`.
pub fn frames_tensor(frames: &[RgbF32], device: &Device) -> Result<Tensor<4>> {
    let Some(first) = frames.first() else { return Err(Error::InvalidOption("no frames to batch".into())) };
    let (w, h) = (first.width, first.height);
    if let Some(f) = frames.iter().find(|f| (f.width, f.height) != (w, h)) {
        return Err(Error::InvalidOption(format!("frames of a batch must share one size: {w}x{h} and {}x{}", f.width, f.height)));
    }
    let mut data = Vec::with_capacity(frames.len() * 3 * (w * h) as usize);
    for f in frames {
        data.extend(f.to_chw());
    }
    Ok(Tensor::from_data(TensorData::new(data, [frames.len(), 3, h as usize, w as usize]), device))
}

/// Read an image tensor ([1, 3, h, w], or flat) back as a frame, clamped to 0..1.
pub async fn tensor_frame<const D: usize>(x: &Tensor<D>, width: u32, height: u32) -> Result<RgbF32> {
    let v = read_f32(x.clone().clamp(0.0, 1.0)).await?;
    Ok(RgbF32::from_chw(width, height, &v))
}

/// Read a batch [b, 3, h, w] back as b frames, clamped to 0..1 (one transfer).
pub async fn tensor_frames(x: &Tensor<4>) -> Result<Vec<RgbF32>> {
    let [b, _, h, w] = x.dims();
    let v = read_f32(x.clone().clamp(0.0, 1.0)).await?;
    let n = 3 * h * w;
    Ok((0..b).map(|i| RgbF32::from_chw(w as u32, h as u32, &v[i * n..(i + 1) * n])).collect())
}

/// All values of a tensor on the host, as f32 (one transfer).
pub async fn read_f32<const D: usize>(x: Tensor<D>) -> Result<Vec<f32>> {
    let data = x.into_data_async().await.map_err(|e| Error::Device(format!("{e:?}")))?;
    data.try_into_vec_as::<f32>().map_err(|e| Error::Device(format!("{e:?}")))
}
