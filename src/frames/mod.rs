//! The frame pipeline every feed-forward mode runs: source → stage (resize, stylize, post-process,
//! stabilise) → sink. Sources and sinks are image files ([`files`]) and video files through the
//! system ffmpeg ([`ffmpeg`]); the camera, the window and the browser canvas plug into the same
//! traits.

pub mod flicker;
pub mod post;
pub mod stabilize;

#[cfg(not(target_arch = "wasm32"))]
pub mod ffmpeg;
#[cfg(not(target_arch = "wasm32"))]
pub mod files;

use crate::error::Result;
use crate::feedforward::Stylizer;
use crate::image::RgbF32;

pub use post::PostProcess;
pub use stabilize::{StabilizeConfig, Stabilizer};

/// Where frames come from, in order.
pub trait FrameSource {
    /// The next frame, or None at the end.
    fn next_frame(&mut self) -> Result<Option<RgbF32>>;
    /// How many frames to expect, when known.
    fn frames_hint(&self) -> Option<usize>;
}

/// Where frames go, in order. Nothing is left behind unless [`FrameSink::finish`] succeeds.
pub trait FrameSink {
    fn write_frame(&mut self, frame: &RgbF32) -> Result<()>;
    /// Completes the output (flush, close, rename into place).
    fn finish(&mut self) -> Result<()>;
}

/// What happens to each frame between source and sink.
pub struct FrameStage<'a> {
    pub stylizer: &'a Stylizer,
    /// Largest side frames are scaled to before stylizing (None: as they come).
    pub size: Option<u32>,
    pub post: PostProcess,
    pub stabilizer: Option<Stabilizer>,
}

impl FrameStage<'_> {
    /// The frame the network sees: `frame` at [`FrameStage::size`].
    pub fn prepare(&self, frame: RgbF32) -> RgbF32 {
        match self.size {
            Some(s) if s != frame.width.max(frame.height) => frame.resize_max_side(s),
            _ => frame,
        }
    }

    /// Stylizes prepared frames of one size in one pass, then post-processes and stabilises each
    /// in order.
    pub async fn process_async(&mut self, frames: &[RgbF32]) -> Result<Vec<RgbF32>> {
        let styled = self.stylizer.frames_async(frames).await?;
        Ok(frames.iter().zip(styled).map(|(original, s)| self.finish_frame(original, s)).collect())
    }

    /// [`FrameStage::process_async`], blocking.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn process(&mut self, frames: &[RgbF32]) -> Result<Vec<RgbF32>> {
        crate::block_on(self.process_async(frames))
    }

    /// Post-processing and stabilisation of one stylized frame.
    pub fn finish_frame(&mut self, original: &RgbF32, stylized: RgbF32) -> RgbF32 {
        let out = self.post.apply(original, stylized);
        match &mut self.stabilizer {
            Some(s) => s.apply(original, out),
            None => out,
        }
    }
}

/// What a pipeline run did.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct PipelineStats {
    pub frames: usize,
    pub seconds: f64,
    /// Time spent in the stage (the network, post-processing, stabilisation).
    pub stage_seconds: f64,
    pub stopped: bool,
}

/// Streams every frame of `source` through `stage` into `sink`, `batch` frames per network pass.
/// `progress` sees the frame count after each batch and may stop the run (the sink is then not
/// finished, so it leaves nothing behind).
#[cfg(not(target_arch = "wasm32"))]
pub fn run(
    source: &mut dyn FrameSource,
    stage: &mut FrameStage,
    sink: &mut dyn FrameSink,
    batch: usize,
    progress: &mut dyn FnMut(usize) -> crate::optim::Flow,
) -> Result<PipelineStats> {
    use crate::optim::Flow;
    let t0 = web_time::Instant::now();
    let mut stats = PipelineStats::default();
    let mut pending: Vec<RgbF32> = Vec::with_capacity(batch.max(1));
    let mut flush = |pending: &mut Vec<RgbF32>, stage: &mut FrameStage, sink: &mut dyn FrameSink, stats: &mut PipelineStats| -> Result<Flow> {
        if pending.is_empty() {
            return Ok(Flow::Continue);
        }
        let t = web_time::Instant::now();
        let out = stage.process(pending)?;
        stats.stage_seconds += t.elapsed().as_secs_f64();
        for f in &out {
            sink.write_frame(f)?;
        }
        stats.frames += pending.len();
        pending.clear();
        Ok(progress(stats.frames))
    };
    loop {
        let frame = source.next_frame()?;
        let end = frame.is_none();
        if let Some(f) = frame {
            let f = stage.prepare(f);
            if pending.first().is_some_and(|p| (p.width, p.height) != (f.width, f.height)) && flush(&mut pending, stage, sink, &mut stats)? == Flow::Stop {
                stats.stopped = true;
                break;
            }
            pending.push(f);
        }
        if (end || pending.len() >= batch.max(1)) && flush(&mut pending, stage, sink, &mut stats)? == Flow::Stop {
            stats.stopped = true;
            break;
        }
        if end {
            sink.finish()?;
            break;
        }
    }
    stats.seconds = t0.elapsed().as_secs_f64();
    Ok(stats)
}
