//! The frozen VGG19 loss network: its weights ([`weights`]: burnish's safetensors or
//! torchvision's), the network with named taps ([`net`]) and the tap names and presets ([`taps`]).

pub mod net;
pub mod taps;
pub mod weights;

pub use net::Vgg19;
pub use taps::Tap;
pub use weights::VggWeights;
