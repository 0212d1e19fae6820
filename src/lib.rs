//! burnish: neural style transfer on burn + wgpu.
//!
//! The data flow, one module a stage:
//!
//! ```text
//! source (image file, video, embedded image)    image::files, frames (ffmpeg, image sequences)
//!   -> preprocess: frame -> tensor              image::tensor
//!   -> model: VGG19 loss network                vgg
//!            | feed-forward TransformerNet      feedforward
//!   -> loss: Gram, content, style, TV           loss (WGSL kernels in loss::kernels)
//!   -> optimiser: L-BFGS, Adam                  optim (driven by gatys, feedforward::train)
//!   -> postprocess: tensor -> frame             image::tensor
//!   -> sink (image file, video, frames, sheet)  image::files, frames, sheet
//!
//! Every feed-forward mode runs source -> stage (stylize, post-process, stabilise) -> sink
//! ([`frames`]).
//! ```
//!
//! The core is async: every GPU read is awaited, so the same code runs in a browser. The native
//! edge blocks in one place, [`block_on`]. Where it runs is chosen in [`device`].

pub mod conv;
pub mod device;
pub mod error;
pub mod feedforward;
pub mod frames;
pub mod gatys;
pub mod image;
#[cfg(not(target_arch = "wasm32"))]
pub mod live;
pub mod loss;
pub mod optim;
pub mod sheet;
pub mod vgg;
pub mod wgsl;

pub use error::{Error, Result};

/// The one blocking edge of the library: runs a future of the async core to completion on the
/// calling thread (native only; the browser awaits instead).
#[cfg(not(target_arch = "wasm32"))]
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    pollster::block_on(future)
}
