//! What the benchmarks share (each includes it with `mod common;`): argument parsing, device
//! selection, the tuning switches read from the environment, timing and one Gatys evaluation.
#![allow(dead_code)] // not every benchmark uses every helper

use std::time::Instant;

use burn::tensor::Tensor;
use burnish::block_on;
use burnish::device::{self, ComputeDevice, CpuBackend};
use burnish::loss::kernels::{SplitPolicy, set_split_policy};
use burnish::loss::{LossTargets, PerceptualLoss};
use burnish::optim::read_scalars;

/// The value after `name` on the command line.
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

/// Whether `name` is on the command line.
pub fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).filter(|&v| v > 0)
}

/// The tuning switches of the environment, applied and returned for the record:
/// `BURNISH_GRAM_GROUPS`, `BURNISH_GRAM_MIN_CHUNKS`, `BURNISH_GRAM_CHUNK` (the Gram kernel's
/// k-split policy), `BURNISH_CPU_BACKEND=flex|ndarray`, `BURNISH_FLEX_CONV=plain` (flex's
/// convolutions without burnish's reformulation) and `BURNISH_KERNELS=off` (burn's ops instead of
/// burnish's kernels and fused instance norm, as `--no-kernels` does).
pub fn settings() -> serde_json::Value {
    let d = SplitPolicy::default();
    let policy = SplitPolicy {
        groups: env_usize("BURNISH_GRAM_GROUPS").unwrap_or(d.groups),
        min_chunks: env_usize("BURNISH_GRAM_MIN_CHUNKS").unwrap_or(d.min_chunks),
        chunk: env_usize("BURNISH_GRAM_CHUNK").map(|c| c as u32).unwrap_or(d.chunk),
    };
    set_split_policy(policy);
    let plain = std::env::var("BURNISH_FLEX_CONV").as_deref() == Ok("plain");
    burnish::feedforward::net::set_flex_reformulation(!plain);
    let kernels = std::env::var("BURNISH_KERNELS").as_deref() != Ok("off");
    burnish::conv::set_kernels(kernels);
    serde_json::json!({
        "kernels_and_fused_norm": kernels,
        "gemm_avx512_kernels_compiled": cfg!(feature = "avx512"),
        "gram_split_policy": burnish::loss::kernels::split_policy(),
        "cpu_backend": if ndarray() { "ndarray" } else { "flex" },
        "flex_conv_reformulated": !plain,
    })
}

fn ndarray() -> bool {
    std::env::var("BURNISH_CPU_BACKEND").as_deref() == Ok("ndarray")
}

fn cpu() -> ComputeDevice {
    device::cpu_backend(if ndarray() { CpuBackend::NdArray } else { CpuBackend::Flex })
}

/// The devices `--device` names: `cpu`, `wgpu` or `all`, each that exists; `default` when the
/// option is absent.
pub fn devices(default: &str) -> Vec<ComputeDevice> {
    let which = arg("--device").unwrap_or_else(|| default.into());
    let mut sels = Vec::new();
    if which == "cpu" || which == "all" {
        sels.push(cpu());
    }
    if which == "wgpu" || which == "all" {
        match device::wgpu() {
            Ok(s) => sels.push(s),
            Err(e) => eprintln!("no wgpu device: {e}"),
        }
    }
    sels
}

/// Median and minimum wall time of one call in ms, over `reps` calls after `warmups` calls
/// (shader compilation, autotune). Each call should end in a read back, so the GPU work is done;
/// the median keeps one-off stalls of a shared machine out of sub-millisecond figures.
pub fn time_ms(warmups: usize, reps: usize, mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..warmups {
        f();
    }
    let mut times: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[0])
}

/// Waits for the device's queued work (one tiny read).
pub fn read(values: Vec<Tensor<1>>) {
    block_on(read_scalars(values)).expect("read back");
}

/// One Gatys evaluation of image `x` ([1, 3, h, w]): the perceptual loss against `targets` and,
/// with `backward`, its gradient to the image; ends in one read back.
pub fn gatys_evaluation(loss: &PerceptualLoss, targets: &LossTargets, x: &Tensor<4>, backward: bool) {
    let img = if backward { x.clone().autodiff().require_grad() } else { x.clone() };
    let total = loss.evaluate(img.clone(), targets).total;
    let value = if backward { img.grad(&total.backward()).expect("image gradient").sum() } else { total };
    read(vec![value]);
}
