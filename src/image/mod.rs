//! Frames and tensors: the CPU pixel type ([`RgbF32`]), image files in and out ([`files`]), and
//! frames to tensors on a device and back ([`tensor`]).

pub mod files;
pub mod frame;
pub mod tensor;

pub use frame::RgbF32;
