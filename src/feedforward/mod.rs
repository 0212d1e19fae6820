//! Feed-forward style networks (Johnson et al. 2016): the network ([`net`]), its files and
//! importers ([`files`]), the styles shipped inside the binary ([`shipped`]), training with the
//! perceptual loss ([`train`]), how good a network is ([`quality`]), and applying a network to
//! frames ([`Stylizer`]), and widening a network to start a wider one from it ([`widen`]).

pub mod files;
pub mod net;
pub mod quality;
pub mod shipped;
pub mod stylizer;
pub mod train;
pub mod widen;

pub use files::NetFile;
pub use net::{NetSpec, TransformerNet};
pub use stylizer::Stylizer;
