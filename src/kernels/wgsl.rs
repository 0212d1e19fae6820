//! The wgpu (`Cube`) implementation: launches the WGSL shaders of `shaders/` (loaded here, the
//! one place that does) through cubecl's client, and falls back to the reference ops where WGSL
//! cannot run (another compiler, non-f32 data).

use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::wgpu::{CubeTensor, KernelSource, SourceKernel, SourceTemplate, into_contiguous};
use burn::backend::{Cube, DType};
use burn::cubecl::prelude::KernelId;
use burn::cubecl::server::{CubeCount, KernelArguments, MetadataBindingInfo};
use burn::cubecl::CubeDim;
use burn::backend::TensorMetadata;
use burn::tensor::Shape;

use super::{StyleOps, reference};

/// The shaders, included at compile time.
pub const GRAM_WGSL: &str = include_str!("../../shaders/gram.wgsl");
pub const SQ_DIFF_SUM_WGSL: &str = include_str!("../../shaders/sq_diff_sum.wgsl");

/// Output tile side of the Gram kernel (16 × 16 invocations, 4 × 4 outputs each: 256
/// invocations, WebGPU's default limit) and the k chunk staged in workgroup memory per barrier.
const BLOCK: u32 = 64;
/// (28 = 7 vec4: an odd row stride spreads rows over memory banks; 2 × 7 KiB staged.)
const CHUNK: u32 = 28;
const REDUCE_WG: u32 = 256;
/// Part of the kernel ids: bump when a shader changes so no stale pipeline is reused.
const SHADER_VERSION: u32 = 6;

struct GramKernel;

impl KernelSource for GramKernel {
    fn source(&self) -> SourceTemplate {
        SourceTemplate::new(GRAM_WGSL)
            .register("block", BLOCK.to_string())
            .register("chunk", CHUNK.to_string())
            .register("chunk_vec4", (CHUNK / 4).to_string())
            .register("row_stride", (CHUNK / 4).to_string())
            .register("loads", (BLOCK * CHUNK / 4).div_ceil(256).to_string())
            .register("staged", (BLOCK * CHUNK / 4).to_string())
    }
    fn id(&self) -> KernelId {
        KernelId::new::<Self>().cube_dim(CubeDim::new_2d(16, 16).0).info((BLOCK, CHUNK, SHADER_VERSION))
    }
    fn lang(&self) -> &'static str {
        "wgsl"
    }
}

struct SqDiffSumKernel;

impl KernelSource for SqDiffSumKernel {
    fn source(&self) -> SourceTemplate {
        SourceTemplate::new(SQ_DIFF_SUM_WGSL).register("workgroup", REDUCE_WG.to_string())
    }
    fn id(&self) -> KernelId {
        KernelId::new::<Self>().cube_dim(CubeDim::new_1d(REDUCE_WG).0).info((REDUCE_WG, SHADER_VERSION))
    }
    fn lang(&self) -> &'static str {
        "wgsl"
    }
}

static LAUNCHES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many WGSL kernels this process has launched (lets tests prove the kernels really ran).
pub fn launches() -> usize {
    LAUNCHES.load(std::sync::atomic::Ordering::Relaxed)
}

fn pack_u32(words: &[u32]) -> Vec<u64> {
    words.chunks(2).map(|p| p[0] as u64 | ((p.get(1).copied().unwrap_or(0) as u64) << 32)).collect()
}

fn runs_wgsl(t: &CubeTensor) -> bool {
    t.dtype == DType::F32 && t.client.name() == "wgpu<wgsl>"
}

fn empty_f32(like: &CubeTensor, shape: Shape) -> CubeTensor {
    let bytes = shape.num_elements().max(1) * 4;
    CubeTensor::new_contiguous(like.client.clone(), like.device.clone(), shape, like.client.empty(bytes), DType::F32)
}

/// Gram matrices of `x` [b, c, h, w]; with `target` also the fused loss partials (when the
/// launch is not split over k).
fn launch_gram(x: CubeTensor, target: Option<CubeTensor>) -> (CubeTensor, Option<CubeTensor>) {
    let x = into_contiguous(x);
    let [b, c, h, w] = x.shape().dims::<4>();
    let k = h * w;
    let tiles = c.div_ceil(BLOCK as usize);
    let chunks = k.div_ceil(CHUNK as usize);
    let busy = b * tiles * (tiles + 1) / 2; // workgroups with work if k is not split
    // Split k so that about 256 workgroups run, keeping at least 8 chunks each.
    let splits = 256usize.div_ceil(busy).min(chunks.div_ceil(8)).max(1);
    let chunks_per_split = chunks.div_ceil(splits);
    let splits = chunks.div_ceil(chunks_per_split);
    let fused = target.is_some() && splits == 1;

    let partial = empty_f32(&x, Shape::new([splits, b, c, c]));
    let parts = fused.then(|| empty_f32(&x, Shape::new([b * tiles * tiles])));
    let target = target.map(into_contiguous);
    // Unused bindings get small buffers of their own (no aliasing of one buffer twice).
    let target_binding = match (&target, fused) {
        (Some(a), true) => a.handle.clone().binding(),
        _ => x.client.empty(4).binding(),
    };
    let parts_binding = parts.as_ref().map(|p| p.handle.clone().binding()).unwrap_or_else(|| x.client.empty(4).binding());
    let inv_norm = 1.0f32 / (c * k) as f32;
    let info = pack_u32(&[
        c as u32,
        k as u32,
        tiles as u32,
        chunks_per_split as u32,
        b as u32,
        splits as u32,
        fused as u32,
        inv_norm.to_bits(),
    ]);
    let args = KernelArguments::new()
        .with_buffer(x.handle.clone().binding())
        .with_buffer(target_binding)
        .with_buffer(partial.handle.clone().binding())
        .with_buffer(parts_binding)
        .with_info(MetadataBindingInfo::custom(info));
    LAUNCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    x.client.launch(
        Box::new(SourceKernel::new(GramKernel, CubeDim::new_2d(16, 16))),
        CubeCount::Static(tiles as u32, tiles as u32, (b * splits) as u32),
        args,
    );
    let g = if splits == 1 { partial } else { Cube::float_sum_dim(partial, 0) }; // [1, b, c, c]
    (Cube::float_reshape(g, Shape::new([b, c, c])), parts)
}

/// Σ(x − y)², shape [1].
fn launch_sq_diff_sum(x: CubeTensor, y: CubeTensor) -> CubeTensor {
    let (x, y) = (into_contiguous(x), into_contiguous(y));
    let n = x.shape().num_elements();
    let wg = REDUCE_WG as usize;
    let groups = n.div_ceil(wg).clamp(1, 1024);
    let stride = groups * wg;
    let parts = empty_f32(&x, Shape::new([groups]));
    let info = pack_u32(&[n as u32, n.div_ceil(stride) as u32, stride as u32, 0]);
    let args = KernelArguments::new()
        .with_buffer(x.handle.clone().binding())
        .with_buffer(y.handle.clone().binding())
        .with_buffer(parts.handle.clone().binding())
        .with_info(MetadataBindingInfo::custom(info));
    LAUNCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    x.client.launch(Box::new(SourceKernel::new(SqDiffSumKernel, CubeDim::new_1d(REDUCE_WG))), CubeCount::Static(groups as u32, 1, 1), args);
    Cube::float_sum(parts)
}

/// Index arithmetic in the shaders is u32.
fn fits_u32(t: &CubeTensor) -> bool {
    t.shape().num_elements() < (u32::MAX / 2) as usize
}

impl StyleOps for Cube {
    fn gram(x: FloatTensor<Self>) -> FloatTensor<Self> {
        if !runs_wgsl(&x) || !fits_u32(&x) {
            return reference::gram::<Self>(x);
        }
        launch_gram(x, None).0
    }

    fn style_loss_gram(x: FloatTensor<Self>, a: FloatTensor<Self>, scale: f32) -> (FloatTensor<Self>, FloatTensor<Self>) {
        if !runs_wgsl(&x) || !runs_wgsl(&a) || !fits_u32(&x) {
            return reference::style_loss_gram::<Self>(x, a, scale);
        }
        let (g, parts) = launch_gram(x, Some(a.clone()));
        let sum = match parts {
            Some(p) => Self::float_sum(p),
            None => launch_sq_diff_sum(g.clone(), a),
        };
        (Self::float_mul_scalar(sum, scale.into()), g)
    }

    fn content_loss(x: FloatTensor<Self>, p: FloatTensor<Self>, scale: f32) -> FloatTensor<Self> {
        if !runs_wgsl(&x) || !runs_wgsl(&p) || !fits_u32(&x) {
            return reference::content_loss::<Self>(x, p, scale);
        }
        Self::float_mul_scalar(launch_sq_diff_sum(x, p), scale.into())
    }
}
