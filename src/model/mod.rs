pub mod vgg;
pub mod weights;
pub mod transformer;
pub mod netio;
pub mod shipped;
