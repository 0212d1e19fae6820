pub mod gatys;
