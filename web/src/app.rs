//! What the browser app (`index.html`, its worker `worker.js`) runs, free of JS types so
//! `cargo test -p burnish-web` runs it natively: frames in canvas RGBA through a shipped network
//! and its post-processing, and a Gatys transfer or texture synthesis stepped between messages.

use std::path::Path;

use burnish::device::ComputeDevice;
use burnish::feedforward::Stylizer;
use burnish::feedforward::files::load_safetensors;
use burnish::feedforward::shipped::SHIPPED;
use burnish::frames::{FrameStage, PostProcess};
use burnish::gatys::{GatysRun, Losses, Quiet, RunConfig};
use burnish::image::RgbF32;
use burnish::vgg::{Vgg19, VggWeights};

/// The shipped styles the page offers: name, title, and the network's and preview's files
/// (under `pkg/styles/`, copied there by tools/build-web.sh).
pub fn shipped_styles() -> serde_json::Value {
    SHIPPED
        .iter()
        .map(|s| serde_json::json!({ "name": s.name, "title": s.title, "file": s.file, "preview": format!("{}-preview.jpg", s.name) }))
        .collect()
}

/// A canvas's RGBA pixels as a frame.
pub fn rgba_frame(rgba: &[u8], width: u32, height: u32) -> Result<RgbF32, String> {
    RgbF32::from_rgba8(width, height, rgba).ok_or_else(|| format!("{} bytes are not a {width}x{height} RGBA image", rgba.len()))
}

/// A style network loaded from its safetensors bytes.
pub fn style_network(bytes: &[u8], name: &str, device: &ComputeDevice) -> Result<Stylizer, String> {
    let file = load_safetensors(bytes, Path::new(&format!("{name}.safetensors"))).map_err(|e| e.to_string())?;
    Ok(Stylizer::new(file, &device.device))
}

/// One frame (RGBA, as a canvas gives it) through the network and the post-processing every
/// feed-forward mode shares; returns RGBA.
pub async fn stylize_rgba(stylizer: &Stylizer, rgba: &[u8], width: u32, height: u32, post: PostProcess) -> Result<Vec<u8>, String> {
    let frame = rgba_frame(rgba, width, height)?;
    let mut stage = FrameStage { stylizer, size: None, post, stabilizer: None };
    let out = stage.process_async(std::slice::from_ref(&frame)).await.map_err(|e| e.to_string())?;
    Ok(out[0].to_rgba8())
}

/// What the optimisation modes do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimMode {
    /// Gatys transfer: the content image in the style, starting from the content.
    Transfer,
    /// Texture synthesis: the style's texture from seeded noise.
    Texture,
}

impl OptimMode {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "transfer" => Ok(Self::Transfer),
            "texture" => Ok(Self::Texture),
            other => Err(format!("unknown optimisation mode '{other}' (transfer or texture)")),
        }
    }
}

/// Evaluations per step in the page: the worker shows the image and reads its messages (pause,
/// stop) between steps (L-BFGS keeps its history across them; each step costs one evaluation more).
pub const EVALUATIONS_PER_STEP: usize = 8;

/// An optimisation run in the page, stepped [`EVALUATIONS_PER_STEP`] evaluations at a time.
pub struct Optimisation {
    run: GatysRun,
    reported: usize,
}

impl Optimisation {
    /// `content` (transfer only) and `style` at most `size` px on their longer side; the output
    /// has the content's size (transfer) or the style's aspect at `size` (texture).
    pub fn new(
        device: &ComputeDevice,
        weights: &VggWeights,
        mode: OptimMode,
        content: Option<RgbF32>,
        style: RgbF32,
        size: u32,
        evaluations: usize,
    ) -> Result<Self, String> {
        let cfg = match mode {
            OptimMode::Transfer => RunConfig { evaluations, ..RunConfig::transfer_defaults() },
            OptimMode::Texture => RunConfig { evaluations, ..RunConfig::texture_defaults() },
        };
        let style = style.resize_max_side(size);
        let content = match mode {
            OptimMode::Transfer => Some(content.ok_or("transfer needs a content image")?.resize_max_side(size)),
            OptimMode::Texture => None,
        };
        let out_size = content.as_ref().map(|c| (c.width, c.height)).unwrap_or((style.width, style.height));
        let vgg: Vgg19 = cfg.loss.vgg(weights, &device.device);
        let run = GatysRun::new(&vgg, &cfg, content.as_ref(), &style, out_size, device).map_err(|e| e.to_string())?;
        Ok(Self { run, reported: 0 })
    }

    /// One optimiser step; false once the run is done.
    pub async fn step(&mut self) -> Result<bool, String> {
        self.run.step_within(&mut Quiet, EVALUATIONS_PER_STEP).await.map_err(|e| e.to_string())
    }

    /// The losses of the evaluations since the last call.
    pub fn new_losses(&mut self) -> Vec<Losses> {
        let h = self.run.history();
        let new = h[self.reported.min(h.len())..].to_vec();
        self.reported = h.len();
        new
    }

    pub fn evaluations(&self) -> (usize, usize) {
        (self.run.history().len(), self.run.config().evaluations)
    }

    /// The image as it stands.
    pub async fn image(&self) -> Result<RgbF32, String> {
        self.run.image().await.map_err(|e| e.to_string())
    }
}
