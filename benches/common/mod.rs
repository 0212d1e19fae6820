//! What the benchmarks share (each includes it with `mod common;`): argument parsing and device
//! selection.
#![allow(dead_code)] // not every benchmark uses every helper

use burnish::backend::{self, Selected};

/// The value after `name` on the command line.
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

/// Whether `name` is on the command line.
pub fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// The devices `--device` names: `cpu`, `wgpu` or `all` (the default), each that exists.
pub fn devices() -> Vec<Selected> {
    let which = arg("--device").unwrap_or_else(|| "all".into());
    let mut sels = Vec::new();
    if which == "cpu" || which == "all" {
        sels.push(backend::cpu_device());
    }
    if which == "wgpu" || which == "all" {
        match backend::wgpu_device() {
            Ok(s) => sels.push(s),
            Err(e) => eprintln!("no wgpu device: {e}"),
        }
    }
    sels
}
