//! burnish: neural style transfer on burn + wgpu.
//!
//! Data flow: image file -> [`imageio`] -> VGG19 loss network ([`model::vgg`]) -> losses
//! ([`loss`]) -> optimiser ([`optim`]) -> image file, driven by [`stylize::gatys`].

pub mod backend;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod error;
pub mod imageio;
pub mod kernels;
pub mod layers;
pub mod loss;
pub mod model;
pub mod optim;
pub mod sheet;
pub mod stylize;

pub use error::{Error, Result};
