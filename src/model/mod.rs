pub mod vgg;
pub mod weights;
