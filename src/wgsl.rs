//! What every custom WGSL kernel shares: the shader sources (`shaders/`, loaded here, the one
//! place that does), a launch counter, and the helpers for launching on burn's wgpu backend.
//! The kernels themselves live with the ops they implement ([`crate::loss::kernels`] for the Gram
//! matrix and the losses, [`crate::conv`] for the convolutions; the live window's display pass
//! in `live::display`).

use burn::backend::{DType, TensorMetadata};
use burn::backend::wgpu::CubeTensor;
use burn::tensor::Shape;

/// The shaders, included at compile time.
pub const GRAM_WGSL: &str = include_str!("../shaders/gram.wgsl");
pub const SQ_DIFF_SUM_WGSL: &str = include_str!("../shaders/sq_diff_sum.wgsl");
pub const GRAM_FINISH_WGSL: &str = include_str!("../shaders/gram_finish.wgsl");
/// The workgroup sum both reduction kernels end with (appended to their source).
pub const REDUCE_WGSL: &str = include_str!("../shaders/reduce.wgsl");
pub const CONV2D_WGSL: &str = include_str!("../shaders/conv2d.wgsl");
pub const CONV2D_WEIGHT_GRAD_WGSL: &str = include_str!("../shaders/conv2d_weight_grad.wgsl");
pub const CONV2D_DIRECT_WGSL: &str = include_str!("../shaders/conv2d_direct.wgsl");
pub const CONV2D_SUBPIXEL_WEIGHTS_WGSL: &str = include_str!("../shaders/conv2d_subpixel_weights.wgsl");
/// The parameters and folded load the convolution kernels share (appended to their source).
pub const CONV_LOAD_WGSL: &str = include_str!("../shaders/conv_load.wgsl");
pub const INSTANCE_STATS_WGSL: &str = include_str!("../shaders/instance_stats.wgsl");
pub const INSTANCE_APPLY_WGSL: &str = include_str!("../shaders/instance_apply.wgsl");
pub const LIVE_DISPLAY_WGSL: &str = include_str!("../shaders/live_display.wgsl");

static LAUNCHES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many WGSL kernels this process has launched (lets tests prove the kernels really ran).
pub fn launches() -> usize {
    LAUNCHES.load(std::sync::atomic::Ordering::Relaxed)
}

pub(crate) fn count_launch() {
    LAUNCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// u32 words as the u64 words of a custom metadata binding (a WGSL uniform struct of u32/f32).
pub(crate) fn pack_u32(words: &[u32]) -> Vec<u64> {
    words.chunks(2).map(|p| p[0] as u64 | ((p.get(1).copied().unwrap_or(0) as u64) << 32)).collect()
}

/// Whether the WGSL kernels can take this tensor (f32 on the WGSL compiler; elsewhere the
/// reference ops run).
pub(crate) fn runs_wgsl(t: &CubeTensor) -> bool {
    t.dtype == DType::F32 && t.client.name() == "wgpu<wgsl>"
}

/// Index arithmetic in the shaders is u32.
pub(crate) fn fits_u32(t: &CubeTensor) -> bool {
    t.shape().num_elements() < (u32::MAX / 2) as usize
}

/// A new, uninitialised f32 tensor on `like`'s device.
pub(crate) fn empty_f32(like: &CubeTensor, shape: Shape) -> CubeTensor {
    let bytes = shape.num_elements().max(1) * 4;
    CubeTensor::new_contiguous(like.client.clone(), like.device.clone(), shape, like.client.empty(bytes), DType::F32)
}
