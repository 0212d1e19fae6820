//! The convolution kernel against its reference twin on any device, values and gradients: the
//! code behind `tests/numeric.rs` (lavapipe and the CPU) and the browser check page (WebGPU).
//! Reads are async, so it runs in the browser too.

use burn::tensor::{Device, Tensor, TensorData};

use super::{ConvLoad, ForwardKernel, PadKind, forward_kernel, instance_norm_layer, load_conv2d, load_conv2d_reference, set_forward_kernel};
use crate::feedforward::net::instance_norm;
use crate::loss::kernels::check::{max_rel_err, pseudo_random};

/// One case: input [b, cin, h, w], cout, kernel side, load.
#[derive(Clone, Copy, Debug)]
pub struct ConvCase {
    pub input: [usize; 4],
    pub cout: usize,
    pub k: usize,
    pub load: ConvLoad,
}

const fn case(input: [usize; 4], cout: usize, k: usize, stride: usize, upsample: usize, pad: [usize; 4], mode: PadKind) -> ConvCase {
    ConvCase { input, cout, k, load: ConvLoad { stride, upsample, pad, mode } }
}

/// Shapes that catch indexing mistakes: every layer kind of the style networks and VGG19, sizes
/// that are not multiples of a tile, 1×1 maps, channel counts 3/16/32/64/128, batches, each
/// padding mode and the upsampling.
pub const AWKWARD_CASES: [ConvCase; 15] = [
    case([1, 3, 5, 7], 16, 9, 1, 1, [4; 4], PadKind::Reflect),      // conv1 (odd sizes)
    case([2, 32, 9, 10], 64, 3, 2, 1, [1; 4], PadKind::Reflect),    // conv2/3: stride 2, batch 2
    case([1, 64, 1, 1], 32, 3, 1, 1, [1; 4], PadKind::Zero),        // 1×1 map (VGG-style zeros)
    case([1, 128, 6, 5], 128, 3, 1, 1, [1; 4], PadKind::Reflect),   // residual block
    case([3, 16, 4, 6], 3, 9, 1, 1, [4; 4], PadKind::Edge),         // last layer on a tiny map, batch 3
    case([1, 32, 7, 9], 16, 3, 1, 2, [1; 4], PadKind::Reflect),     // nearest 2x upsampling + conv
    case([1, 32, 9, 11], 64, 3, 2, 1, [0, 1, 0, 1], PadKind::Zero), // TensorFlow SAME, stride 2
    case([2, 64, 17, 15], 64, 3, 1, 1, [1; 4], PadKind::Zero),      // VGG19 3×3
    case([1, 32, 20, 19], 3, 9, 1, 1, [4; 4], PadKind::Reflect),    // deconv3: 9×9 to 3 channels
    case([1, 17, 13, 12], 33, 3, 1, 2, [1; 4], PadKind::Edge),      // odd channel counts, upsampled edge
    case([1, 8, 3, 140], 20, 3, 1, 1, [1; 4], PadKind::Reflect),    // wide: 16 pixels per direct invocation, past a 128-column tile
    case([1, 4, 2, 261], 8, 3, 2, 1, [1; 4], PadKind::Zero),        // wide and stride 2
    case([2, 24, 9, 33], 20, 3, 1, 2, [1; 4], PadKind::Zero),       // upsampled, zeros: sub-pixel rows and columns past a 64-column tile, batch 2
    case([1, 12, 18, 64], 16, 3, 1, 1, [1; 4], PadKind::Reflect),   // 64 columns: a direct tile of 4 invocations of 16 pixels × 16 rows, rows past it
    case([1, 4, 140, 8], 8, 3, 1, 2, [1; 4], PadKind::Edge),        // tall, upsampled: the sub-pixel form in tiles of 1 invocation × 64 rows, three row groups
];

/// Instance-norm layer cases: (shape, ReLU, skip).
pub const NORM_CASES: [([usize; 4], bool, bool); 5] = [
    ([1, 32, 5, 7], true, false),
    ([1, 8, 3, 33], false, false),
    ([2, 128, 9, 10], false, true),
    ([1, 3, 1, 1], true, true),
    ([1, 16, 64, 64], true, false),
];

/// Tolerance on every comparison: 1e-4 of the largest magnitude (f32 sums in another order).
pub const TOLERANCE: f32 = 1e-4;

async fn vals<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, String> {
    let data = t.into_data_async().await.map_err(|e| format!("{e:?}"))?;
    data.try_into_vec_as::<f32>().map_err(|e| format!("{e:?}"))
}

fn tensor<const D: usize>(v: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// For each case (inputs seeded by its position) and each forward kernel (the direct one and the
/// GEMM one, chosen with [`set_forward_kernel`] and then restored): the output, and the gradients
/// of Σ(y · r) for a fixed r with respect to x, the weights and the bias, the kernel op (with its
/// hand-written backward) against burn's ops differentiated by burn's autodiff.
pub async fn compare(device: &Device, cases: &[ConvCase]) -> Result<serde_json::Value, String> {
    let launches_before = crate::wgsl::launches();
    let chosen = forward_kernel();
    let mut rows = Vec::new();
    for forward in [ForwardKernel::Direct, ForwardKernel::Gemm] {
        set_forward_kernel(forward);
        let result = compare_cases(device, cases, forward, &mut rows).await;
        set_forward_kernel(chosen);
        result?;
    }
    // The fused instance-norm layer (statistics + one element-wise pass) against burn's ops:
    // odd sizes, a 1×1 map (variance 0), a big plane, batch 2, with and without ReLU and skip.
    let mut norm_rows = Vec::new();
    for (i, (shape, relu, with_skip)) in NORM_CASES.into_iter().enumerate() {
        let [b, c, h, w] = shape;
        let seed = 500 + 10 * i as u32;
        // An offset of 3 so the two-pass variance matters.
        let x = tensor(pseudo_random(b * c * h * w, seed), shape, device).add_scalar(3.0);
        let scale = tensor(pseudo_random(c, seed + 1), [c], device);
        let shift = tensor(pseudo_random(c, seed + 2), [c], device);
        let skip = with_skip.then(|| tensor(pseudo_random(b * c * h * w, seed + 3), shape, device));
        let fused = instance_norm_layer(x.clone(), scale.clone(), shift.clone(), skip.clone(), relu, 1e-5);
        let mut reference = instance_norm(x, 1e-5) * scale.reshape([1, c, 1, 1]) + shift.reshape([1, c, 1, 1]);
        if relu {
            reference = burn::tensor::activation::relu(reference);
        }
        if let Some(s) = skip {
            reference = reference + s;
        }
        let err = max_rel_err(&vals(fused).await?, &vals(reference).await?);
        norm_rows.push(serde_json::json!({ "shape": shape, "relu": relu, "skip": with_skip, "rel_err": err, "ok": err.is_finite() && err < TOLERANCE }));
    }
    let ok = rows.iter().chain(&norm_rows).all(|r| r["ok"] == true);
    Ok(serde_json::json!({
        "tolerance": TOLERANCE,
        "cases": rows,
        "instance_norm": norm_rows,
        "wgsl_launches": crate::wgsl::launches() - launches_before,
        "ok": ok,
    }))
}

/// [`compare`]'s rows for one forward kernel.
async fn compare_cases(device: &Device, cases: &[ConvCase], forward: ForwardKernel, rows: &mut Vec<serde_json::Value>) -> Result<(), String> {
    for (i, c) in cases.iter().enumerate() {
        let [b, cin, h, w] = c.input;
        let seed = 10 * i as u32;
        let x = tensor(pseudo_random(b * cin * h * w, 1 + seed), c.input, device);
        let weight = tensor(pseudo_random(c.cout * cin * c.k * c.k, 2 + seed), [c.cout, cin, c.k, c.k], device).mul_scalar(0.1);
        let bias = tensor(pseudo_random(c.cout, 3 + seed), [c.cout], device);
        let [ho, wo] = c.load.output_size(h, w, c.k);
        let r = tensor(pseudo_random(b * c.cout * ho * wo, 4 + seed), [b, c.cout, ho, wo], device);

        let mut outs = Vec::new();
        let mut grads = Vec::new();
        for use_kernel in [true, false] {
            let (xa, wa, ba) = (x.clone().autodiff().require_grad(), weight.clone().autodiff().require_grad(), bias.clone().autodiff().require_grad());
            let conv = if use_kernel { load_conv2d } else { load_conv2d_reference };
            let y = conv(xa.clone(), wa.clone(), ba.clone(), c.load);
            let g = (y.clone() * r.clone().autodiff()).sum().backward();
            outs.push(vals(y.inner()).await?);
            let dx = xa.grad(&g).ok_or("no x gradient")?;
            let dw = wa.grad(&g).ok_or("no weight gradient")?;
            let db = ba.grad(&g).ok_or("no bias gradient")?;
            grads.push([vals(dx).await?, vals(dw).await?, vals(db).await?]);
        }
        let out_err = max_rel_err(&outs[0], &outs[1]);
        let [dx_err, dw_err, db_err] = [0, 1, 2].map(|j| max_rel_err(&grads[0][j], &grads[1][j]));
        let ok = [out_err, dx_err, dw_err, db_err].iter().all(|e| e.is_finite() && *e < TOLERANCE);
        rows.push(serde_json::json!({
            "forward": format!("{forward:?}"), "input": c.input, "cout": c.cout, "k": c.k,
            "stride": c.load.stride, "upsample": c.load.upsample, "pad": c.load.pad, "mode": format!("{:?}", c.load.mode),
            "output": [b, c.cout, ho, wo],
            "out_rel_err": out_err, "dx_rel_err": dx_err, "dw_rel_err": dw_err, "db_rel_err": db_err,
            "ok": ok,
        }));
    }
    Ok(())
}
