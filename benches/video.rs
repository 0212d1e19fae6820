//! Benchmark: the frame pipeline on video. Prints JSON lines:
//! - flicker with and without the stabiliser: (a) consecutive-output difference on a still frame
//!   with sensor noise, (b) warping error under a known 2 px/frame pan, (c) output/input frame
//!   difference ratio on the shared clips;
//! - throughput: the whole pipeline (ffmpeg decode -> network -> ffmpeg encode) against the network
//!   alone on the same frames, and what per-frame Gatys optimisation would cost (a measured
//!   evaluation at that size x 300 x frames);
//! - peak memory of the pipeline for a clip and for the same clip 10x longer (child processes).
//!
//!     cargo bench --bench video -- [--device cpu|wgpu|all] [--clip PATH] [--model scream]
//!         [--batch N] [--strip OUT.png] [--skip-flicker] [--skip-memory]
//!
//! Needs ffmpeg; reads ../shared/data/video.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{arg, flag, gatys_evaluation, time_ms};

use burnish::device::ComputeDevice;
use burnish::feedforward::Stylizer;
use burnish::frames::ffmpeg::{VideoSink, VideoSource, audio_plan, probe};
use burnish::frames::flicker::{consecutive_difference, difference_ratio, panned_clip, shift_warp_error, static_noisy_clip};
use burnish::frames::{self, FrameSource, FrameStage, PostProcess, StabilizeConfig, Stabilizer};
use burnish::image::RgbF32;
use burnish::image::files::{decode, save_rgb8};
use burnish::image::tensor::frame_tensor;
use burnish::loss::{LossConfig, LossTargets, PerceptualLoss};
use burnish::optim::Flow;
use burnish::sheet::{self, Cell};
use burnish::vgg::VggWeights;

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(rel)
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .unwrap_or(0.0)
        / 1024.0
}

/// Every frame of a video, decoded (at most `max` frames), at `size`.
fn decode_all(path: &Path, size: Option<u32>, max: usize) -> Vec<RgbF32> {
    let info = probe(path).unwrap();
    let mut src = VideoSource::open(path, &info).unwrap();
    let mut out = Vec::new();
    while let Some(f) = src.next_frame().unwrap() {
        out.push(match size {
            Some(s) => f.resize_max_side(s),
            None => f,
        });
        if out.len() == max {
            break;
        }
    }
    out
}

fn stage<'a>(stylizer: &'a Stylizer, stabilize: bool) -> FrameStage<'a> {
    FrameStage { stylizer, size: None, post: PostProcess::default(), stabilizer: stabilize.then(|| Stabilizer::new(StabilizeConfig::default())) }
}

/// `frames` through a stage, in order (batch 1, so the stabiliser sees them one by one).
fn through(stylizer: &Stylizer, frames: &[RgbF32], stabilize: bool) -> Vec<RgbF32> {
    let mut st = stage(stylizer, stabilize);
    frames.iter().map(|f| st.process(std::slice::from_ref(f)).unwrap().remove(0)).collect()
}

fn flicker(stylizer: &Stylizer, sel: &ComputeDevice, strip: Option<&str>) -> serde_json::Value {
    let photo = decode(include_bytes!("../web/assets/bunny.jpg"), Path::new("bunny.jpg")).unwrap().resize_max_side(128);
    let still = static_noisy_clip(&photo.resize_max_side(96), 8, 0.01, 7);
    let pan = panned_clip(&photo, 8, 2, 0, 96, 64);
    let mut clips = Vec::new();
    for name in ["carphone_pristine.mp4", "bikes.mp4", "bigbuckbunny.mp4"] {
        let path = shared(&format!("video/{name}"));
        if !path.is_file() {
            continue;
        }
        let frames = decode_all(&path, Some(176), 40);
        let (plain, stable) = (through(stylizer, &frames, false), through(stylizer, &frames, true));
        clips.push(serde_json::json!({
            "clip": name,
            "frames": frames.len(),
            "size": [frames[0].width, frames[0].height],
            "ratio_plain": difference_ratio(&frames, &plain),
            "ratio_stabilized": difference_ratio(&frames, &stable),
        }));
        if let (Some(out), "carphone_pristine.mp4") = (strip, name) {
            let row = |label: &str, fs: &[RgbF32]| -> Vec<Cell> {
                (10..16).map(|k| Cell { image: fs[k].to_rgb8(), caption: vec![format!("{label}, frame {k}")] }).collect()
            };
            let diff_row = |label: &str, fs: &[RgbF32]| -> Vec<Cell> {
                (10..16).map(|k| Cell { image: sheet::diff_image(&fs[k].to_rgb8(), &fs[k - 1].to_rgb8(), 4.0), caption: vec![format!("{label} |f{k} - f{}| x4", k - 1)] }).collect()
            };
            let title = format!(
                "burnish video: {} frames 10-15 with and without --stabilize (output/input difference ratio {:.2} -> {:.2})",
                name,
                difference_ratio(&frames, &plain),
                difference_ratio(&frames, &stable)
            );
            let img = sheet::grid(&title, &[row("input", &frames), row("plain", &plain), diff_row("plain", &plain), row("stabilized", &stable), diff_row("stabilized", &stable)]);
            save_rgb8(Path::new(out), &img).unwrap();
        }
    }
    let (still_plain, still_stable) = (through(stylizer, &still, false), through(stylizer, &still, true));
    let (pan_plain, pan_stable) = (through(stylizer, &pan, false), through(stylizer, &pan, true));
    serde_json::json!({
        "bench": "video_flicker",
        "adapter": sel.info,
        "stabilizer": StabilizeConfig::default(),
        "static_noisy_clip": {
            "frames": still.len(), "size": [still[0].width, still[0].height], "noise_std": 0.01,
            "input_consecutive_difference": consecutive_difference(&still),
            "plain": consecutive_difference(&still_plain),
            "stabilized": consecutive_difference(&still_stable),
        },
        "pan_2px": {
            "frames": pan.len(), "size": [96, 64],
            "warp_error_plain": shift_warp_error(&pan_plain, 2, 0, 6),
            "warp_error_stabilized": shift_warp_error(&pan_stable, 2, 0, 6),
        },
        "shared_clips": clips,
    })
}

/// The pipeline on `clip` into a temporary video, against the network alone on the same frames.
fn throughput(stylizer: &Stylizer, sel: &ComputeDevice, clip: &Path, batch: usize) -> serde_json::Value {
    let info = probe(clip).unwrap();
    let frames = decode_all(clip, None, usize::MAX);
    // The network alone, frames already in memory, batched as the pipeline batches (after one
    // warm-up batch: shader compilation and autotune are paid before either timing).
    stylizer.frames(&frames[..batch.min(frames.len())]).unwrap();
    let t = Instant::now();
    for chunk in frames.chunks(batch) {
        stylizer.frames(chunk).unwrap();
    }
    let network_s = t.elapsed().as_secs_f64();
    let out = std::env::temp_dir().join(format!("burnish-bench-{}.mp4", std::process::id()));
    let mut source = VideoSource::open(clip, &info).unwrap();
    let audio = audio_plan(clip, &info, "mp4").unwrap();
    let mut sink = VideoSink::create(&out, (info.width, info.height), info.frame_rate, Some((clip, audio))).unwrap();
    let mut st = stage(stylizer, true);
    let stats = frames::run(&mut source, &mut st, &mut sink, batch, &mut |_| Flow::Continue).unwrap();
    let _ = std::fs::remove_file(&out);
    // Per-frame Gatys: one measured evaluation at this size x 300 evaluations x frames.
    let weights = VggWeights::embedded().unwrap();
    let loss = PerceptualLoss::new(LossConfig::gatys(), LossConfig::gatys().vgg(&weights, &sel.device)).unwrap();
    let x = frame_tensor(&frames[0], &sel.device);
    let targets = LossTargets { content: loss.content_target(x.clone()), style_grams: loss.style_grams(x.clone(), 1) };
    let (eval_ms, _) = time_ms(1, 3, || gatys_evaluation(&loss, &targets, &x, true));
    serde_json::json!({
        "bench": "video_throughput",
        "adapter": sel.info,
        "clip": clip,
        "size": [info.width, info.height],
        "frames": stats.frames,
        "batch": batch,
        "pipeline_frames_per_second": stats.frames as f64 / stats.seconds,
        "network_alone_frames_per_second": frames.len() as f64 / network_s,
        "pipeline_overhead_percent": 100.0 * (stats.seconds / network_s - 1.0),
        "gatys_evaluation_ms_measured": eval_ms,
        "gatys_per_frame_300_evaluations_s_derived": eval_ms * 300.0 * stats.frames as f64 / 1e3,
        "pipeline_s": stats.seconds,
    })
}

/// Child mode: run the pipeline on one clip, print the peak RSS.
fn child(clip: &Path) {
    let sel = common::devices("cpu").remove(0);
    let stylizer = Stylizer::load(&arg("--model").unwrap_or(burnish::feedforward::shipped::DEFAULT.into()), &sel.device).unwrap();
    let info = probe(clip).unwrap();
    let out = std::env::temp_dir().join(format!("burnish-bench-child-{}.mp4", std::process::id()));
    let mut source = VideoSource::open(clip, &info).unwrap();
    let mut sink = VideoSink::create(&out, (info.width, info.height), info.frame_rate, None).unwrap();
    let stats = frames::run(&mut source, &mut stage(&stylizer, true), &mut sink, 1, &mut |_| Flow::Continue).unwrap();
    let _ = std::fs::remove_file(&out);
    println!("{}", serde_json::json!({ "frames": stats.frames, "peak_rss_mib": peak_rss_mib(), "seconds": stats.seconds }));
}

fn memory(clip: &Path) -> serde_json::Value {
    let long = std::env::temp_dir().join(format!("burnish-bench-long-{}.mp4", std::process::id()));
    let st = std::process::Command::new("ffmpeg").args(["-v", "error", "-y", "-stream_loop", "9", "-i"]).arg(clip).args(["-c", "copy"]).arg(&long).status().unwrap();
    assert!(st.success());
    let run = |p: &Path| -> serde_json::Value {
        let out = std::process::Command::new(std::env::current_exe().unwrap()).args(["--child"]).arg(p).args(["--device", "cpu"]).output().unwrap();
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or("null")).unwrap_or(serde_json::Value::Null)
    };
    let (short, long_r) = (run(clip), run(&long));
    let _ = std::fs::remove_file(&long);
    serde_json::json!({ "bench": "video_memory", "clip": clip, "short": short, "ten_times_longer": long_r })
}

fn main() {
    if let Some(clip) = arg("--child") {
        return child(Path::new(&clip));
    }
    let settings = common::settings();
    let clip = arg("--clip").map(PathBuf::from).unwrap_or_else(|| shared("video/carphone_pristine.mp4"));
    let strip = arg("--strip");
    for sel in common::devices("cpu") {
        let stylizer = Stylizer::load(&arg("--model").unwrap_or(burnish::feedforward::shipped::DEFAULT.into()), &sel.device).unwrap();
        let batch: usize = arg("--batch").map(|b| b.parse().unwrap()).unwrap_or(if sel.in_host_memory() { 1 } else { 4 });
        if !flag("--skip-flicker") {
            let mut f = flicker(&stylizer, &sel, strip.as_deref());
            f["settings"] = settings.clone();
            println!("{f}");
        }
        println!("{}", throughput(&stylizer, &sel, &clip, batch));
    }
    if !flag("--skip-memory") {
        println!("{}", memory(&clip));
    }
}
