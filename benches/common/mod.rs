//! What the benchmarks share (each includes it with `mod common;`): argument parsing, device
//! selection, timing and one Gatys evaluation.
#![allow(dead_code)] // not every benchmark uses every helper

use std::time::Instant;

use burn::tensor::Tensor;
use burnish::backend::{self, Selected};
use burnish::layers::Tap;
use burnish::loss::{content_loss, style_layer_loss};
use burnish::model::vgg::Vgg19;
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

/// One Gatys evaluation of image `x`: VGG to `taps` (the content layer first, then the style
/// layers), content loss + `style_weight` × style losses against the targets, and with
/// `backward` the gradient to the image; ends in one read back.
#[allow(clippy::too_many_arguments)]
pub fn gatys_evaluation(vgg: &Vgg19, taps: &[Tap], x: &Tensor<4>, content: &Tensor<4>, grams: &[Tensor<3>], kernels: bool, style_weight: f64, backward: bool) {
    let img = if backward { x.clone().autodiff().require_grad() } else { x.clone() };
    let f = vgg.forward(img.clone(), taps);
    let mut loss = content_loss(f[0].clone(), content.clone(), kernels);
    for (fi, g) in f[1..].iter().zip(grams) {
        loss = loss + style_layer_loss(fi.clone(), g.clone(), kernels).mul_scalar(style_weight);
    }
    let read = if backward { img.grad(&loss.backward()).expect("image gradient").sum() } else { loss };
    read_scalars(vec![read]).expect("read back");
}
