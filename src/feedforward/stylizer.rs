//! A style network on a device: frames in, frames out, one at a time or batched, with and
//! without blocking. Every surface that shows a network (the command line, the browser, video,
//! the live window) stylizes through this.

use burn::tensor::{Device, Tensor};

use super::files::NetFile;
use super::net::{NetSpec, TransformerNet};
use crate::error::{Error, Result};
use crate::image::RgbF32;
use crate::image::tensor::{frames_tensor, tensor_frames};

/// Largest frame stylized in one pass, in megapixels (the first layers' activations: 32 channels,
/// f32, full size).
pub const MAX_MEGAPIXELS: f64 = 17.0;

pub struct Stylizer {
    net: TransformerNet,
    device: Device,
    /// Where the network came from (a path or `<shipped NAME>`) and its file format.
    pub source: String,
    pub format: &'static str,
}

impl Stylizer {
    /// The network of `file` on `device`.
    pub fn new(file: NetFile, device: &Device) -> Self {
        let net = TransformerNet::from_values(file.spec, file.values, device);
        Self { net, device: device.clone(), source: file.source, format: file.format }
    }

    /// A network already on `device` (e.g. one in training); `source` says what it is.
    pub fn from_net(net: TransformerNet, device: &Device, source: String) -> Self {
        Self { net, device: device.clone(), source, format: "burnish" }
    }

    /// A shipped style by name, or a network file / ml5.js folder by path.
    pub fn load(model: &str, device: &Device) -> Result<Self> {
        Ok(Self::new(super::shipped::resolve(model)?, device))
    }

    pub fn spec(&self) -> &NetSpec {
        &self.net.spec
    }

    /// Checks that a frame is small enough to stylize in one pass.
    pub fn check_size(width: u32, height: u32) -> Result<()> {
        let mp = width as f64 * height as f64 / 1e6;
        if mp > MAX_MEGAPIXELS {
            return Err(Error::InvalidOption(format!(
                "{width}x{height} is {mp:.0} megapixels, over the feed-forward limit of {MAX_MEGAPIXELS} (its activations would need over {:.0} GB); pass --size 4096 or smaller",
                mp * 32.0 * 4.0 * 3.0 / 1e3
            )));
        }
        Ok(())
    }

    /// Stylize a batch on the device: [b, 3, h, w] RGB 0..1 -> [b, 3, h, w] RGB 0..1.
    pub fn tensor(&self, x: Tensor<4>) -> Tensor<4> {
        self.net.stylize(x)
    }

    pub async fn frame_async(&self, frame: &RgbF32) -> Result<RgbF32> {
        Ok(self.frames_async(std::slice::from_ref(frame)).await?.remove(0))
    }

    /// Frames of one size in one pass (one upload, one read).
    pub async fn frames_async(&self, frames: &[RgbF32]) -> Result<Vec<RgbF32>> {
        for f in frames {
            Self::check_size(f.width, f.height)?;
        }
        let y = self.tensor(frames_tensor(frames, &self.device)?);
        tensor_frames(&y).await
    }

    /// [`Stylizer::frame_async`], blocking.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn frame(&self, frame: &RgbF32) -> Result<RgbF32> {
        crate::block_on(self.frame_async(frame))
    }

    /// [`Stylizer::frames_async`], blocking.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn frames(&self, frames: &[RgbF32]) -> Result<Vec<RgbF32>> {
        crate::block_on(self.frames_async(frames))
    }
}
