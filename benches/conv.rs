//! Benchmark: the WGSL convolution kernel (`shaders/conv2d.wgsl`, padding and upsampling folded
//! into its load) against burn's pad + conv2d, per layer of the style network and for the whole
//! network, with achieved GFLOP/s; a training step's forward + backward; a Gatys evaluation
//! (VGG19 forward + backward) at 256². Prints one JSON object per device.
//!
//!     cargo bench --bench conv -- [--device wgpu|cpu|all] [--width 32] [--sizes 256x256,640x480,1280x720,1920x1080]
//!         [--reps 5] [--train-batch 4] [--train-size 256] [--no-layers | --only conv1,deconv3] [--no-network]
//!         [--no-train] [--no-gatys] [--weight-grad] [--norm] [--forward direct|gemm]
//!
//! `--weight-grad` adds, per layer, the weight gradient alone (`shaders/conv2d_weight_grad.wgsl`
//! against burn's conv2d_weight_backward on the loaded input), at batch `--train-batch`.
//! `--forward direct|gemm` runs every forward convolution through that kernel (default: the
//! adapter's choice, [`ForwardKernel::Auto`]).
//! `--norm` adds, per normalised layer, its instance norm + affine (+ ReLU, + the residual) on
//! the layer's output alone (`shaders/instance_stats.wgsl` + `instance_apply.wgsl` against burn's
//! ops), to show the network's time outside the convolutions.

mod common;

use common::{arg, flag, gatys_evaluation, read, time_ms};

use burn::tensor::{Device, Tensor, TensorData};
use burnish::conv::{ConvLoad, ForwardKernel, PadKind, forward_kernel, instance_norm_layer, set_forward_kernel, load_conv2d, load_conv2d_reference, load_conv2d_weight_grad, set_kernels};
use burnish::feedforward::net::{LayerKind, instance_norm};
use burnish::feedforward::{NetSpec, TransformerNet};
use burnish::loss::kernels::check::pseudo_random;
use burnish::loss::{LossTargets, PerceptualLoss};
use burnish::vgg::VggWeights;

fn sizes(s: &str) -> Vec<(usize, usize)> {
    s.split(',').filter_map(|t| t.split_once('x')).map(|(w, h)| (w.parse().unwrap(), h.parse().unwrap())).collect()
}

fn rand4(shape: [usize; 4], seed: u32, d: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(pseudo_random(shape.iter().product(), seed), shape), d)
}

/// One row: the same computation timed through the kernel and through burn's ops.
fn row(name: &str, flop: f64, reps: usize, mut f: impl FnMut(bool)) -> serde_json::Value {
    let (kernel_ms, kernel_min) = time_ms(1, reps, || f(true));
    let (burn_ms, burn_min) = time_ms(1, reps, || f(false));
    // (No flop count for a Gatys evaluation: null.)
    let gflops = |ms: f64| (flop > 0.0).then(|| flop / (ms * 1e6));
    serde_json::json!({
        "name": name, "gflop": (flop > 0.0).then(|| flop / 1e9),
        "kernel_ms": kernel_ms, "kernel_min_ms": kernel_min, "kernel_gflops": gflops(kernel_ms),
        "burn_ms": burn_ms, "burn_min_ms": burn_min, "burn_gflops": gflops(burn_ms),
        "speedup": burn_ms / kernel_ms,
    })
}

/// Each layer of the network at one input size: [name, input dims, cout, k, load].
fn layers(spec: &NetSpec, h: usize, w: usize) -> Vec<(String, [usize; 4], usize, usize, ConvLoad)> {
    let (mut c, mut hh, mut ww) = (3, h, w);
    let mut out = Vec::new();
    for l in spec.layers() {
        let p = l.k / 2;
        let load = match l.kind {
            LayerKind::Conv { stride } => ConvLoad::padded(stride, p, PadKind::Reflect),
            LayerKind::Up(_) => ConvLoad { stride: 1, upsample: 2, pad: [p; 4], mode: PadKind::Reflect },
        };
        out.push((l.name.clone(), [1, c, hh, ww], l.cout, l.k, load));
        let [ho, wo] = load.output_size(hh, ww, l.k);
        (c, hh, ww) = (l.cout, ho, wo);
    }
    out
}

fn flops_of(input: [usize; 4], cout: usize, k: usize, load: ConvLoad) -> f64 {
    let [b, cin, h, w] = input;
    let [ho, wo] = load.output_size(h, w, k);
    2.0 * (b * cout * ho * wo * cin * k * k) as f64
}

fn main() {
    let _settings = common::settings();
    let width: usize = arg("--width").and_then(|v| v.parse().ok()).unwrap_or(32);
    let reps: usize = arg("--reps").and_then(|v| v.parse().ok()).unwrap_or(5);
    let size_list = sizes(&arg("--sizes").unwrap_or_else(|| "256x256,640x480,1280x720,1920x1080".into()));
    let train_batch: usize = arg("--train-batch").and_then(|v| v.parse().ok()).unwrap_or(4);
    let train_size: usize = arg("--train-size").and_then(|v| v.parse().ok()).unwrap_or(256);
    match arg("--forward").as_deref() {
        Some("direct") => set_forward_kernel(ForwardKernel::Direct),
        Some("gemm") => set_forward_kernel(ForwardKernel::Gemm),
        _ => {}
    }
    for dev in common::devices("wgpu") {
        let d = dev.device.clone();
        let spec = NetSpec::johnson(width);
        let net = TransformerNet::init(spec.clone(), 1, &d);
        let mut layer_rows = Vec::new();
        let mut net_rows = Vec::new();
        for &(w, h) in &size_list {
            if !flag("--no-layers") {
                let only = arg("--only");
                for (name, input, cout, k, load) in layers(&spec, h, w) {
                    if only.as_ref().is_some_and(|o| !o.split(',').any(|n| n == name)) {
                        continue;
                    }
                    let x = rand4(input, 1, &d);
                    let weight = rand4([cout, input[1], k, k], 2, &d).mul_scalar(0.05);
                    let bias = Tensor::<1>::zeros([cout], &d);
                    let flop = flops_of(input, cout, k, load);
                    let mut r = row(&name, flop, reps, |kernel| {
                        let conv = if kernel { load_conv2d } else { load_conv2d_reference };
                        let y = conv(x.clone(), weight.clone(), bias.clone(), load);
                        read(vec![y.slice([0..1, 0..1, 0..1, 0..1]).reshape([1])]);
                    });
                    r["size"] = serde_json::json!(format!("{w}x{h}"));
                    r["input"] = serde_json::json!(input);
                    eprintln!("{}", r);
                    layer_rows.push(r);
                    if flag("--norm") && let Some(spec_layer) = spec.layers().into_iter().find(|l| l.name == name && l.norm.is_some()) {
                        // The layer's instance norm on its output: the residual block's second
                        // layer adds the skip (its input) in the same pass.
                        let [ho, wo] = load.output_size(input[2], input[3], k);
                        let y = rand4([1, cout, ho, wo], 10, &d);
                        let skip = (name.starts_with("res") && name.ends_with(".conv2")).then(|| rand4([1, cout, ho, wo], 11, &d));
                        let (scale, shift) = (rand4([1, 1, 1, cout], 12, &d).reshape([cout]), rand4([1, 1, 1, cout], 13, &d).reshape([cout]));
                        let (relu, eps) = (spec_layer.relu, spec.norm_eps);
                        // Reads and writes of the tensor: two reads for the statistics, a read and a write to apply.
                        let mut n = row(&format!("{name} instance norm"), 0.0, reps, |kernel| {
                            let z = if kernel {
                                instance_norm_layer(y.clone(), scale.clone(), shift.clone(), skip.clone(), relu, eps)
                            } else {
                                let z = instance_norm(y.clone(), eps) * scale.clone().reshape([1, cout, 1, 1]) + shift.clone().reshape([1, cout, 1, 1]);
                                let z = if relu { burn::tensor::activation::relu(z) } else { z };
                                match &skip {
                                    Some(s) => z + s.clone(),
                                    None => z,
                                }
                            };
                            read(vec![z.slice([0..1, 0..1, 0..1, 0..1]).reshape([1])]);
                        });
                        n["size"] = serde_json::json!(format!("{w}x{h}"));
                        n["input"] = serde_json::json!([1, cout, ho, wo]);
                        eprintln!("{}", n);
                        layer_rows.push(n);
                    }
                    if flag("--weight-grad") {
                        // dW = dYᵀ·A: the same multiply-adds as the forward, per image of the batch.
                        let batch = [train_batch, input[1], input[2], input[3]];
                        let xb = rand4(batch, 8, &d);
                        let [ho, wo] = load.output_size(input[2], input[3], k);
                        let dy = rand4([train_batch, cout, ho, wo], 9, &d);
                        let mut g = row(&format!("{name} weight gradient"), flop * train_batch as f64, reps, |kernel| {
                            let dw = load_conv2d_weight_grad(xb.clone(), weight.clone(), dy.clone(), load, kernel);
                            read(vec![dw.slice([0..1, 0..1, 0..1, 0..1]).reshape([1])]);
                        });
                        g["size"] = serde_json::json!(format!("{w}x{h}"));
                        g["input"] = serde_json::json!(batch);
                        eprintln!("{}", g);
                        layer_rows.push(g);
                    }
                }
            }
            if flag("--no-network") {
                continue;
            }
            let x = rand4([1, 3, h, w], 3, &d).mul_scalar(0.5).add_scalar(0.5);
            let flop: f64 = layers(&spec, h, w).into_iter().map(|(_, i, c, k, l)| flops_of(i, c, k, l)).sum();
            let mut r = row("network", flop, reps, |kernel| {
                let y = if kernel { net.forward(x.clone()) } else { net.forward_burn_ops(x.clone()) };
                read(vec![y.slice([0..1, 0..1, 0..1, 0..1]).reshape([1])]);
            });
            r["size"] = serde_json::json!(format!("{w}x{h}"));
            eprintln!("{}", r);
            net_rows.push(r);
        }
        let mut train = serde_json::Value::Null;
        if !flag("--no-train") {
            // Forward + backward of Σ(y·r) over every parameter: the network's share of a training step.
            let x = rand4([train_batch, 3, train_size, train_size], 4, &d).mul_scalar(0.5).add_scalar(0.5);
            let r = rand4([train_batch, 3, train_size, train_size], 5, &d);
            let flop = 3.0 * train_batch as f64 * layers(&spec, train_size, train_size).into_iter().map(|(_, i, c, k, l)| flops_of(i, c, k, l)).sum::<f64>();
            let mut t = row("network forward + backward", flop, reps, |kernel| {
                let params: Vec<Tensor<1>> = net.params.iter().map(|p| p.clone().autodiff().require_grad()).collect();
                let tracked = TransformerNet { spec: spec.clone(), params: params.clone() };
                let y = if kernel { tracked.forward(x.clone().autodiff()) } else { tracked.forward_burn_ops(x.clone().autodiff()) };
                let g = (y * r.clone().autodiff()).sum().backward();
                read(params.iter().map(|p| p.grad(&g).unwrap().slice([0..1])).collect());
            });
            t["batch"] = serde_json::json!(train_batch);
            t["size"] = serde_json::json!(train_size);
            eprintln!("{}", t);
            train = t;
        }
        let mut gatys = serde_json::Value::Null;
        if !flag("--no-gatys") {
            let weights = VggWeights::embedded().unwrap();
            let cfg = burnish::gatys::RunConfig::transfer_defaults();
            let loss = PerceptualLoss::new(cfg.loss.clone(), cfg.loss.vgg(&weights, &d)).unwrap();
            let content = rand4([1, 3, 256, 256], 6, &d).mul_scalar(0.5).add_scalar(0.5);
            let style = rand4([1, 3, 256, 256], 7, &d).mul_scalar(0.5).add_scalar(0.5);
            let targets = LossTargets { content: loss.content_target(content.clone()), style_grams: loss.style_grams(style, 1) };
            let g = row("gatys evaluation 256x256", 0.0, reps, |kernel| {
                set_kernels(kernel);
                gatys_evaluation(&loss, &targets, &content, true);
            });
            set_kernels(true);
            gatys = g;
        }
        println!(
            "{}",
            serde_json::json!({
                "bench": "conv",
                "device": dev.info.to_string(),
                "width": width,
                "forward": format!("{:?}", forward_kernel()),
                "layers": layer_rows,
                "network": net_rows,
                "train": train,
                "gatys": gatys,
            })
        );
    }
}
