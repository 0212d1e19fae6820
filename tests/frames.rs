//! The frame pipeline's stages against hand-computed values, and flicker measured with and
//! without the stabiliser on synthetic clips with exactly known motion.

mod common;

use burnish::feedforward::Stylizer;
use burnish::frames::flicker::{consecutive_difference, difference_ratio, panned_clip, shift_warp_error, static_noisy_clip};
use burnish::frames::{FrameSink, FrameSource, FrameStage, PostProcess, StabilizeConfig, Stabilizer};
use burnish::image::RgbF32;
use burnish::image::files::load_rgb;
use burnish::optim::Flow;
use common::{asset, cpu};

fn px(r: f32, g: f32, b: f32) -> RgbF32 {
    RgbF32::new(1, 1, vec![r, g, b])
}

#[test]
fn strength_blends_and_preserve_colour_keeps_chroma() {
    let original = px(0.2, 0.4, 0.6);
    let styled = px(1.0, 0.0, 0.5);
    let at = |strength, preserve_colour| PostProcess { strength, preserve_colour }.apply(&original, styled.clone()).data;
    assert_eq!(at(1.0, false), vec![1.0, 0.0, 0.5]);
    assert_eq!(at(0.0, false), vec![0.2, 0.4, 0.6]);
    let half = at(0.5, false);
    for (h, want) in half.iter().zip([0.6, 0.2, 0.55]) {
        assert!((h - want).abs() < 1e-6, "{half:?}");
    }
    // BT.709 luma of the stylized pixel: 0.2126 + 0.0722·0.5 = 0.2487; of the original:
    // 0.2126·0.2 + 0.7152·0.4 + 0.0722·0.6 = 0.37192. Output = original + (0.2487 − 0.37192).
    let kept = at(1.0, true);
    let shift = 0.2487 - 0.37192;
    for (k, o) in kept.iter().zip([0.2f32, 0.4, 0.6]) {
        assert!((k - (o + shift)).abs() < 1e-5, "{kept:?}");
    }
}

#[test]
fn the_stabiliser_blends_still_pixels_resets_on_cuts_and_leaves_motion_alone() {
    let cfg = StabilizeConfig { keep: 0.8, motion: 0.1, cut: 0.3 };
    let mut s = Stabilizer::new(cfg);
    let input = RgbF32::new(4, 1, vec![0.5; 12]);
    let first = s.apply(&input, RgbF32::new(4, 1, vec![0.0; 12]));
    assert_eq!(first.data, vec![0.0; 12], "the first frame passes as it is");
    // Same input, new output 1.0: 0.8 · 0 + 0.2 · 1 = 0.2 everywhere.
    let second = s.apply(&input, RgbF32::new(4, 1, vec![1.0; 12]));
    assert!(second.data.iter().all(|v| (v - 0.2).abs() < 1e-6), "{:?}", second.data);
    // The input changes everywhere by 0.5 (> cut): a scene cut, the new output as it is.
    let cut = s.apply(&RgbF32::new(4, 1, vec![1.0; 12]), RgbF32::new(4, 1, vec![0.7; 12]));
    assert!(cut.data.iter().all(|v| (v - 0.7).abs() < 1e-6));
    // One pixel moves (by 0.25, its 3x3 mean change 0.25/2 over the 2-pixel edge neighbourhood,
    // above `motion`): the new output shows through there; far from it the blend holds.
    let mut moved = vec![1.0; 12];
    moved[0..3].copy_from_slice(&[0.75, 0.75, 0.75]);
    let out = s.apply(&RgbF32::new(4, 1, moved), RgbF32::new(4, 1, vec![0.0; 12]));
    assert!(out.data[0].abs() < 1e-6, "moving pixel: {:?}", out.data);
    assert!((out.data[9] - 0.8 * 0.7).abs() < 1e-6, "still pixel: {:?}", out.data);
}

#[test]
fn flicker_metrics_on_hand_made_clips() {
    let a = RgbF32::new(2, 1, vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    let b = RgbF32::new(2, 1, vec![0.5, 0.5, 0.5, 1.0, 1.0, 1.0]);
    assert!((consecutive_difference(&[a.clone(), b.clone(), a.clone()]) - 0.25).abs() < 1e-9);
    assert!((difference_ratio(&[a.clone(), b.clone()], &[a.clone(), a.clone()])).abs() < 1e-9);
    // A pan of exactly 2 px per frame has zero warping error, and a wrong shift does not.
    let ramp = RgbF32::new(40, 10, (0..40 * 10 * 3).map(|i| ((i / 3) % 40) as f32 / 40.0).collect());
    let clip = panned_clip(&ramp, 5, 2, 0, 20, 10);
    assert_eq!(shift_warp_error(&clip, 2, 0, 1), 0.0);
    assert!(shift_warp_error(&clip, 0, 0, 1) > 0.04);
    let noisy = static_noisy_clip(&ramp, 3, 0.02, 1);
    let d = consecutive_difference(&noisy);
    assert!(d > 0.01 && d < 0.03, "noise of std 0.02 gives a mean |difference| of about 0.0226: {d}");
}

/// Frames from memory, frames to memory: the pipeline's own run loop with a real network.
struct Memory(Vec<RgbF32>, usize);
impl FrameSource for Memory {
    fn next_frame(&mut self) -> burnish::Result<Option<RgbF32>> {
        self.1 += 1;
        Ok(self.0.get(self.1 - 1).cloned())
    }
    fn frames_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}
#[derive(Default)]
struct Collect(Vec<RgbF32>, bool);
impl FrameSink for Collect {
    fn write_frame(&mut self, frame: &RgbF32) -> burnish::Result<()> {
        self.0.push(frame.clone());
        Ok(())
    }
    fn finish(&mut self) -> burnish::Result<()> {
        self.1 = true;
        Ok(())
    }
}

fn stylize_clip(stylizer: &Stylizer, clip: &[RgbF32], stabilize: bool, batch: usize) -> Vec<RgbF32> {
    let mut stage = FrameStage { stylizer, size: None, post: PostProcess::default(), stabilizer: stabilize.then(|| Stabilizer::new(StabilizeConfig::default())) };
    let mut sink = Collect::default();
    let stats = burnish::frames::run(&mut Memory(clip.to_vec(), 0), &mut stage, &mut sink, batch, &mut |_| Flow::Continue).unwrap();
    assert_eq!(stats.frames, clip.len());
    assert!(sink.1, "the sink was finished");
    sink.0
}

#[test]
fn flicker_falls_with_the_stabiliser() {
    let d = cpu();
    let stylizer = Stylizer::load("scream-light", &d).unwrap();
    let photo = load_rgb(&asset("bunny.jpg")).unwrap().resize_max_side(96);
    // (a) A still frame with sensor noise: ideally the output does not change at all.
    let still = static_noisy_clip(&photo.resize_max_side(64), 6, 0.01, 7);
    let (plain, stable) = (stylize_clip(&stylizer, &still, false, 2), stylize_clip(&stylizer, &still, true, 2));
    let (a0, a1) = (consecutive_difference(&plain), consecutive_difference(&stable));
    eprintln!("static noisy clip: consecutive |difference| {a0:.4} -> {a1:.4} with the stabiliser");
    assert!(a1 < 0.7 * a0, "static clip: {a0} -> {a1}");
    // Batching does not change the frames (instance norm is per sample).
    let single = stylize_clip(&stylizer, &still, false, 1);
    for (p, q) in plain.iter().zip(&single) {
        assert!(p.data.iter().zip(&q.data).all(|(x, y)| (x - y).abs() < 1e-5));
    }
    // (b) A pan of 2 px per frame: the warping error must not grow.
    let pan = panned_clip(&photo, 6, 2, 0, 64, 48);
    let (plain, stable) = (stylize_clip(&stylizer, &pan, false, 1), stylize_clip(&stylizer, &pan, true, 1));
    let (b0, b1) = (shift_warp_error(&plain, 2, 0, 6), shift_warp_error(&stable, 2, 0, 6));
    eprintln!("2 px pan: warping error {b0:.4} -> {b1:.4}");
    assert!(b1 <= b0 * 1.05, "pan: {b0} -> {b1}");
}
