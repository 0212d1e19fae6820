//! What the test files share (each includes it with `mod common;`): devices, paths, reads.
#![allow(dead_code)] // not every test file uses every helper

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor};
use burnish::device::{self, ComputeDevice};
use burnish::gatys::{GatysRun, Observer, RunConfig, RunOutput};
use burnish::image::RgbF32;
use burnish::vgg::Vgg19;

/// burn's CPU backend (flex).
pub fn cpu_device() -> ComputeDevice {
    device::cpu()
}

/// The wgpu device (lavapipe in CI). Set BURNISH_TEST_WGPU=1 to make its absence a failure.
pub fn wgpu_device() -> Option<ComputeDevice> {
    match device::wgpu() {
        Ok(s) => {
            eprintln!("wgpu adapter: {}", s.info);
            Some(s)
        }
        Err(e) => {
            if std::env::var("BURNISH_TEST_WGPU").as_deref() == Ok("1") {
                panic!("BURNISH_TEST_WGPU=1 but no wgpu adapter: {e}");
            }
            eprintln!("skipping the wgpu half: {e}");
            None
        }
    }
}

pub fn cpu() -> Device {
    cpu_device().device
}

pub fn wgpu() -> Option<Device> {
    wgpu_device().map(|d| d.device)
}

/// The repository's root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A file of the project's shared data beside the checkout (`../shared/data`).
pub fn shared(rel: &str) -> PathBuf {
    root().join("../shared/data").join(rel)
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

/// One of the bundled images (`web/assets`).
pub fn asset(name: &str) -> PathBuf {
    root().join("web/assets").join(name)
}

pub fn vals<const D: usize>(x: Tensor<D>) -> Vec<f32> {
    x.into_data().try_into_vec_as::<f32>().unwrap()
}

/// (max, mean) absolute difference.
pub fn diff(a: &[f32], b: &[f32]) -> (f32, f32) {
    assert_eq!(a.len(), b.len());
    let max = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
    let mean = a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32;
    (max, mean)
}

/// A whole Gatys run, blocking.
pub fn gatys_run(vgg: &Vgg19, cfg: &RunConfig, content: Option<&RgbF32>, style: &RgbF32, size: (u32, u32), device: &ComputeDevice, observer: &mut dyn Observer) -> RunOutput {
    burnish::block_on(GatysRun::new(vgg, cfg, content, style, size, device).unwrap().run(observer)).unwrap()
}

/// Runs burnish with `args`, waits for a line of its stderr containing `marker` (a progress
/// line), interrupts it as a terminal's Ctrl-C would (SIGINT), and returns its exit code and
/// everything it printed to stderr.
pub fn interrupt_after(args: &[&str], marker: &str) -> (Option<i32>, String) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_burnish")).args(args).stderr(Stdio::piped()).spawn().expect("run burnish");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        if line.contains(marker) {
            break;
        }
    }
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    for line in lines {
        log.push_str(&line.unwrap());
        log.push('\n');
    }
    (child.wait().unwrap().code(), log)
}
