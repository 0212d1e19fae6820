//! The wgpu (`CubeBackend`; under burn's fusion wrapped by the generated `Fusion` one)
//! implementation: launches the WGSL shaders of `shaders/` ([`crate::wgsl`]) through cubecl's
//! client, and falls back to the reference ops where WGSL cannot run (another compiler, non-f32 data).

use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::wgpu::{CubeBackend, CubeTensor, KernelSource, SourceKernel, SourceTemplate, into_contiguous};
use burn::cubecl::prelude::KernelId;
use burn::cubecl::server::{CubeCount, KernelArguments, MetadataBindingInfo};
use burn::cubecl::CubeDim;
use burn::backend::TensorMetadata;
use burn::tensor::Shape;

use super::{StyleOps, gram_shape, reference};
use crate::wgsl::{GRAM_FINISH_WGSL, GRAM_WGSL, REDUCE_WGSL, SQ_DIFF_SUM_WGSL, count_launch, empty_f32, fits_u32, pack_u32, runs_wgsl};

/// Output tile side of the Gram kernel (16 × 16 invocations, 4 × 4 outputs each: 256
/// invocations, WebGPU's default limit) and the k chunk staged in workgroup memory per barrier.
const BLOCK: u32 = 64;
/// (28: 2 × 28 × 68 floats = 15.2 KiB staged, under WebGPU's 16 KiB.)
const CHUNK: u32 = 28;
const REDUCE_WG: u32 = 256;
/// Part of the kernel ids: bump when a shader changes so no stale pipeline is reused.
const SHADER_VERSION: u32 = 9;

struct GramKernel {
    chunk: u32,
}

impl KernelSource for GramKernel {
    fn source(&self) -> SourceTemplate {
        let chunk = self.chunk;
        SourceTemplate::new(GRAM_WGSL)
            .register("block", BLOCK.to_string())
            .register("chunk", chunk.to_string())
            .register("chunk_vec4", (chunk / 4).to_string())
            .register("loads", (BLOCK * chunk / 4).div_ceil(256).to_string())
            .register("staged", (chunk * 17).to_string()) // [TK][17] vec4 per matrix
    }
    fn id(&self) -> KernelId {
        KernelId::new::<Self>().cube_dim(CubeDim::new_2d(16, 16).0).info((BLOCK, self.chunk, SHADER_VERSION))
    }
    fn lang(&self) -> &'static str {
        "wgsl"
    }
}

/// A grid-strided reduction kernel (`sq_diff_sum.wgsl`, `gram_finish.wgsl`) with the shared
/// workgroup sum of `reduce.wgsl` appended.
struct ReduceKernel {
    name: &'static str,
    source: &'static str,
}

const SQ_DIFF_SUM: ReduceKernel = ReduceKernel { name: "sq_diff_sum", source: SQ_DIFF_SUM_WGSL };
const GRAM_FINISH: ReduceKernel = ReduceKernel { name: "gram_finish", source: GRAM_FINISH_WGSL };

impl KernelSource for ReduceKernel {
    fn source(&self) -> SourceTemplate {
        SourceTemplate::new(format!("{}\n{}", self.source, REDUCE_WGSL)).register("workgroup", REDUCE_WG.to_string())
    }
    fn id(&self) -> KernelId {
        KernelId::new::<Self>().cube_dim(CubeDim::new_1d(REDUCE_WG).0).info((self.name, REDUCE_WG, SHADER_VERSION))
    }
    fn lang(&self) -> &'static str {
        "wgsl"
    }
}

/// Workgroups, iterations per invocation and stride of a grid-strided pass over n values (at most
/// 1024 workgroups, whose partial sums one more reduction adds).
fn reduce_grid(n: usize) -> (usize, usize, usize) {
    let wg = REDUCE_WG as usize;
    let groups = n.div_ceil(wg).clamp(1, 1024);
    let stride = groups * wg;
    (groups, n.div_ceil(stride), stride)
}

/// How the Gram kernel splits k across workgroups: it aims at `groups` workgroups in all, but
/// never gives a split fewer than `min_chunks` chunks of k (splitting costs a partial buffer and a
/// finishing pass). Benchmarks set it ([`set_split_policy`]) to tune on a new GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SplitPolicy {
    pub groups: usize,
    pub min_chunks: usize,
    /// k per staged chunk, a multiple of 4 from 16 to 56: the staging arrays must hold the 256
    /// partial sums of the loss reduction and stay within 32 KiB of workgroup memory; the default
    /// stays within the 16 KiB WebGPU guarantees.
    pub chunk: u32,
}

impl Default for SplitPolicy {
    fn default() -> Self {
        Self { groups: 256, min_chunks: 8, chunk: CHUNK }
    }
}

static POLICY: std::sync::Mutex<Option<SplitPolicy>> = std::sync::Mutex::new(None);

/// Sets the process's split policy (for tuning; before the first launch). An invalid chunk
/// keeps the default chunk.
pub fn set_split_policy(mut policy: SplitPolicy) {
    if !(policy.chunk % 4 == 0 && (16..=56).contains(&policy.chunk)) {
        policy.chunk = CHUNK;
    }
    policy.groups = policy.groups.max(1);
    policy.min_chunks = policy.min_chunks.max(1);
    *POLICY.lock().unwrap_or_else(|e| e.into_inner()) = Some(policy);
}

/// The split policy in force.
pub fn split_policy() -> SplitPolicy {
    POLICY.lock().unwrap_or_else(|e| e.into_inner()).unwrap_or_default()
}

/// What a Gram launch writes besides the optional loss.
#[derive(Clone, Copy, PartialEq, Eq)]
enum GramOut {
    None = 0,
    /// G = F·Fᵀ / (c·h·w).
    Gram = 1,
    /// S = (G − A) + (G − A)ᵀ (needs a target).
    Sym = 2,
}

/// One Gram launch over `x` [b, c, h, w]: with `target` = (A, scale) also scale·Σ(G − A)² as a
/// [1] tensor. Returns ([b, c, c] as `out` asks, or None; the loss).
fn launch_gram(x: CubeTensor, target: Option<(CubeTensor, f32)>, out: GramOut) -> (Option<CubeTensor>, Option<CubeTensor>) {
    let x = into_contiguous(x);
    let x_shape = x.shape();
    let [b, c, h, w] = x_shape.dims::<4>();
    let k = h * w;
    let tiles = c.div_ceil(BLOCK as usize);
    let policy = split_policy();
    let chunks = k.div_ceil(policy.chunk as usize);
    let busy = b * tiles * (tiles + 1) / 2; // workgroups with work if k is not split
    let splits = policy.groups.div_ceil(busy).min(chunks / policy.min_chunks).max(1);
    let chunks_per_split = chunks.div_ceil(splits);
    let splits = chunks.div_ceil(chunks_per_split);
    let fused = splits == 1 && target.is_some();
    let target = target.map(|(a, scale)| (into_contiguous(a), scale));
    let client = x.client.clone();
    let scratch = || client.empty(4).binding(); // unused bindings get small buffers of their own

    debug_assert!(out != GramOut::Sym || target.is_some(), "S needs a target");
    // The Gram kernel writes what was asked when it is fused or unsplit, else partials of G.
    let kernel_out = if splits == 1 { out } else { GramOut::Gram };
    let matrix = (kernel_out != GramOut::None).then(|| empty_f32(&x, Shape::new([splits, b, c, c])));
    let parts = fused.then(|| empty_f32(&x, Shape::new([b * tiles * tiles])));
    let (target_binding, loss_scale) = match (&target, fused) {
        (Some((a, scale)), true) => (a.handle.clone().binding(), *scale),
        _ => (scratch(), 1.0),
    };
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
        kernel_out as u32,
        loss_scale.to_bits(),
        0,
        0,
    ]);
    let args = KernelArguments::new()
        .with_buffer(x.handle.clone().binding())
        .with_buffer(target_binding)
        .with_buffer(matrix.as_ref().map(|m| m.handle.clone().binding()).unwrap_or_else(scratch))
        .with_buffer(parts.as_ref().map(|p| p.handle.clone().binding()).unwrap_or_else(scratch))
        .with_info(MetadataBindingInfo::custom(info));
    count_launch();
    client.launch(
        Box::new(SourceKernel::new(GramKernel { chunk: policy.chunk }, CubeDim::new_2d(16, 16))),
        CubeCount::Static(tiles as u32, tiles as u32, (b * splits) as u32),
        args,
    );
    if splits == 1 {
        // Fused (with a target) or a plain Gram matrix.
        return (matrix.map(|m| CubeBackend::float_reshape(m, gram_shape(&x_shape))), parts.map(CubeBackend::float_sum));
    }

    // Split over k: one finishing pass sums the partials and, with a target, computes the loss
    // partials and S (or G) in the same read.
    let partial = matrix.expect("split launches write partials");
    let n = b * c * c;
    let (groups, iters, stride) = reduce_grid(n);
    let result = (out != GramOut::None).then(|| empty_f32(&x, gram_shape(&x_shape)));
    let loss_parts = target.as_ref().map(|_| empty_f32(&x, Shape::new([groups])));
    let (target_binding, loss_scale) = match &target {
        Some((a, scale)) => (a.handle.clone().binding(), *scale),
        None => (scratch(), 1.0),
    };
    let info = pack_u32(&[
        n as u32,
        c as u32,
        splits as u32,
        out as u32,
        iters as u32,
        stride as u32,
        target.is_some() as u32,
        loss_scale.to_bits(),
    ]);
    let args = KernelArguments::new()
        .with_buffer(partial.handle.clone().binding())
        .with_buffer(target_binding)
        .with_buffer(result.as_ref().map(|m| m.handle.clone().binding()).unwrap_or_else(scratch))
        .with_buffer(loss_parts.as_ref().map(|p| p.handle.clone().binding()).unwrap_or_else(|| client.empty(groups * 4).binding()))
        .with_info(MetadataBindingInfo::custom(info));
    count_launch();
    client.launch(Box::new(SourceKernel::new(GRAM_FINISH, CubeDim::new_1d(REDUCE_WG))), CubeCount::Static(groups as u32, 1, 1), args);
    (result, loss_parts.map(CubeBackend::float_sum))
}

/// scale·Σ(x − y)², shape [1].
fn launch_sq_diff_sum(x: CubeTensor, y: CubeTensor, scale: f32) -> CubeTensor {
    let (x, y) = (into_contiguous(x), into_contiguous(y));
    let n = x.shape().num_elements();
    let (groups, iters, stride) = reduce_grid(n);
    let parts = empty_f32(&x, Shape::new([groups]));
    let info = pack_u32(&[n as u32, iters as u32, stride as u32, scale.to_bits()]);
    let args = KernelArguments::new()
        .with_buffer(x.handle.clone().binding())
        .with_buffer(y.handle.clone().binding())
        .with_buffer(parts.handle.clone().binding())
        .with_info(MetadataBindingInfo::custom(info));
    count_launch();
    x.client.launch(Box::new(SourceKernel::new(SQ_DIFF_SUM, CubeDim::new_1d(REDUCE_WG))), CubeCount::Static(groups as u32, 1, 1), args);
    CubeBackend::float_sum(parts)
}

impl StyleOps for CubeBackend {
    fn gram(x: FloatTensor<Self>) -> FloatTensor<Self> {
        if !runs_wgsl(&x) || !fits_u32(&x) {
            return reference::gram::<Self>(x);
        }
        launch_gram(x, None, GramOut::Gram).0.expect("Gram output")
    }

    fn style_loss(x: FloatTensor<Self>, a: FloatTensor<Self>, scale: f32) -> FloatTensor<Self> {
        if !runs_wgsl(&x) || !runs_wgsl(&a) || !fits_u32(&x) {
            return reference::style_loss::<Self>(x, a, scale);
        }
        launch_gram(x, Some((a, scale)), GramOut::None).1.expect("loss output")
    }

    fn style_loss_sym(x: FloatTensor<Self>, a: FloatTensor<Self>, scale: f32) -> (FloatTensor<Self>, FloatTensor<Self>) {
        if !runs_wgsl(&x) || !runs_wgsl(&a) || !fits_u32(&x) {
            return reference::style_loss_sym::<Self>(x, a, scale);
        }
        let (s, loss) = launch_gram(x, Some((a, scale)), GramOut::Sym);
        (loss.expect("loss output"), s.expect("S output"))
    }

    fn content_loss(x: FloatTensor<Self>, p: FloatTensor<Self>, scale: f32) -> FloatTensor<Self> {
        if !runs_wgsl(&x) || !runs_wgsl(&p) || !fits_u32(&x) {
            return reference::content_loss::<Self>(x, p, scale);
        }
        launch_sq_diff_sum(x, p, scale)
    }
}
