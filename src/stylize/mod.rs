pub mod gatys;
pub mod train;
