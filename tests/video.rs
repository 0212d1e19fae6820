//! Video through the command line with the real ffmpeg, on clips the tests make with ffmpeg:
//! frame count, duration, size, rotation and audio kept; every frame stylized as image mode
//! stylizes it; bad input gives a clear error and leaves nothing behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn burnish(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_burnish")).args(args).output().expect("run burnish")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ffmpeg(args: &[&str]) {
    let st = Command::new("ffmpeg").args(["-v", "error", "-y"]).args(args).status().expect("ffmpeg is needed for the video tests (apt-get install ffmpeg)");
    assert!(st.success(), "ffmpeg {args:?}");
}

/// ffprobe's streams of `path` as JSON.
fn streams(path: &Path) -> Vec<serde_json::Value> {
    let out = Command::new("ffprobe").args(["-v", "error", "-show_streams", "-of", "json"]).arg(path).output().unwrap();
    assert!(out.status.success(), "ffprobe {}", path.display());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["streams"].as_array().unwrap().clone()
}

fn video(path: &Path) -> serde_json::Value {
    streams(path).into_iter().find(|s| s["codec_type"] == "video").expect("a video stream")
}

fn num(v: &serde_json::Value) -> f64 {
    v.as_str().map(|s| s.parse().unwrap()).or(v.as_f64()).unwrap()
}

/// The audio packets of `path`, byte for byte.
fn audio_bytes(path: &Path) -> Vec<u8> {
    let out = Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(path).args(["-map", "0:a", "-c", "copy", "-f", "data", "-"]).output().unwrap();
    assert!(out.status.success());
    out.stdout
}

/// A test clip: testsrc2 at `size` and `rate` for `seconds`, H.264 (4:4:4 so odd sizes work),
/// with a 440 Hz AAC tone when `audio`.
fn clip(dir: &Path, name: &str, size: &str, rate: u32, seconds: f64, audio: bool) -> PathBuf {
    let path = dir.join(name);
    let src = format!("testsrc2=size=128x96:rate={rate}:duration={seconds}");
    let scale = format!("scale={}", size.replace('x', ":"));
    let mut args = vec!["-f", "lavfi", "-i", &src];
    let tone = format!("sine=frequency=440:duration={seconds}");
    if audio {
        args.extend(["-f", "lavfi", "-i", &tone, "-c:a", "aac"]);
    }
    args.extend(["-vf", &scale, "-c:v", "libx264", "-pix_fmt", "yuv444p", s(&path)]);
    ffmpeg(&args);
    path
}

fn leftovers(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.to_string_lossy().contains(".burnish-")).collect()
}

#[test]
fn a_video_keeps_its_frames_duration_size_and_audio() {
    let dir = tempfile::tempdir().unwrap();
    let input = clip(dir.path(), "odd.mp4", "97x61", 10, 2.0, true);
    let out = dir.path().join("out.mp4");
    let o = burnish(&["stylize", s(&input), "-o", s(&out), "--device", "cpu"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (video(&input), video(&out));
    assert_eq!(b["nb_frames"], a["nb_frames"]);
    assert_eq!(a["nb_frames"], "20");
    assert!((num(&b["duration"]) - num(&a["duration"])).abs() < 1e-3, "{} vs {}", b["duration"], a["duration"]);
    assert_eq!(b["avg_frame_rate"], a["avg_frame_rate"]);
    // yuv420p needs even sides: 97x61 is padded to 98x62, never stretched.
    assert_eq!((b["width"].as_u64(), b["height"].as_u64()), (Some(98), Some(62)));
    assert_eq!((b["color_space"].as_str(), b["color_primaries"].as_str(), b["color_transfer"].as_str()), (Some("bt709"), Some("bt709"), Some("bt709")));
    let (audio_in, audio_out) = (audio_bytes(&input), audio_bytes(&out));
    assert!(!audio_in.is_empty());
    assert!(audio_in == audio_out, "the audio packets differ ({} vs {} bytes)", audio_in.len(), audio_out.len());
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn rotated_variable_rate_and_silent_videos() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Rotation metadata (set by a stream copy): ffmpeg turns the frames upright on decode, so the
    // output shows the same picture with its sides swapped and no rotation left to apply.
    let plain = clip(d, "plain.mp4", "64x48", 10, 1.0, false);
    let rotated = d.join("rotated.mp4");
    ffmpeg(&["-i", s(&plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", s(&rotated)]);
    assert!(video(&rotated)["side_data_list"].to_string().contains("rotation"));
    let out = d.join("rotated-out.mp4");
    let o = burnish(&["stylize", s(&rotated), "-o", s(&out), "--device", "cpu", "-q"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = video(&out);
    assert_eq!((v["width"].as_u64(), v["height"].as_u64()), (Some(48), Some(64)));
    assert!(!v["side_data_list"].to_string().contains("rotation"));
    assert_eq!(v["nb_frames"], "10");
    // No audio in, no audio out.
    assert!(streams(&out).iter().all(|s| s["codec_type"] != "audio"));
    // Variable frame rate (1 s at 10 frames/s, then 1 s at 20): decoded at the average rate, so
    // the count is duration × average rate and the duration is kept to within a frame.
    let (s1, s2) = (clip(d, "s1.mp4", "64x48", 10, 1.0, false), clip(d, "s2.mp4", "64x48", 20, 1.0, false));
    let list = d.join("list.txt");
    std::fs::write(&list, format!("file '{}'\nfile '{}'\n", s(&s1), s(&s2))).unwrap();
    let vfr = d.join("vfr.mp4");
    ffmpeg(&["-f", "concat", "-safe", "0", "-i", s(&list), "-c", "copy", s(&vfr)]);
    let a = video(&vfr);
    assert_eq!(a["nb_frames"], "30");
    let out = d.join("vfr-out.mp4");
    let o = burnish(&["stylize", s(&vfr), "-o", s(&out), "--device", "cpu", "-q"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let b = video(&out);
    let (fr, dur) = (b["avg_frame_rate"].as_str().unwrap().to_string(), num(&a["duration"]));
    assert_eq!(fr, a["avg_frame_rate"].as_str().unwrap(), "the average rate, constant");
    assert_eq!(b["r_frame_rate"].as_str().unwrap(), fr);
    let (n, d_) = fr.split_once('/').unwrap();
    let fps = n.parse::<f64>().unwrap() / d_.parse::<f64>().unwrap();
    assert_eq!(num(&b["nb_frames"]) as usize, (dur * fps).round() as usize);
    assert!((num(&b["duration"]) - dur).abs() <= 1.0 / fps + 1e-6, "{} vs {dur}", b["duration"]);
}

#[test]
fn every_frame_is_stylized_as_image_mode_stylizes_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = clip(d, "c.mp4", "48x36", 10, 0.5, false);
    let frames = d.join("frames");
    let o = burnish(&["stylize", s(&input), "-o", s(&frames), "--stabilize", "off", "--device", "cpu", "-q"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The same frames decoded by ffmpeg to PNG, each stylized in image mode.
    let decoded = d.join("decoded");
    std::fs::create_dir(&decoded).unwrap();
    ffmpeg(&["-i", s(&input), "-vf", "fps=10/1", "-pix_fmt", "rgb24", s(&decoded.join("%06d.png"))]);
    let styled = d.join("styled");
    let o = burnish(&["stylize", s(&decoded), "-o", s(&styled), "--device", "cpu", "-q"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let count = std::fs::read_dir(&frames).unwrap().count();
    assert_eq!(count, 5);
    for k in 1..=count {
        let video_frame = image::open(frames.join(format!("frame_{k:06}.png"))).unwrap().to_rgb8();
        let image_mode = image::open(styled.join(format!("{k:06}.png"))).unwrap().to_rgb8();
        let original = image::open(decoded.join(format!("{k:06}.png"))).unwrap().to_rgb8();
        assert_eq!(video_frame.dimensions(), (48, 36));
        assert!(video_frame == image_mode, "frame {k} differs from image mode");
        let change = video_frame.as_raw().iter().zip(original.as_raw()).map(|(a, b)| a.abs_diff(*b) as f64).sum::<f64>() / original.as_raw().len() as f64;
        assert!(change > 20.0, "frame {k} is hardly stylized (mean change {change:.1}/255)");
    }
}

#[test]
fn bad_videos_fail_cleanly_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.mp4");
    let fails = |args: &[&str], needle: &str| {
        let o = burnish(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("error:") && err.contains(needle), "expected '{needle}' in: {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    let corrupt = d.join("corrupt.mp4");
    std::fs::write(&corrupt, (0..20000u32).map(|i| (i * 7919 % 251) as u8).collect::<Vec<u8>>()).unwrap();
    fails(&["stylize", s(&corrupt), "-o", s(&out), "--device", "cpu"], "not a readable video");
    let silent = d.join("tone.mp4");
    ffmpeg(&["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", s(&silent)]);
    fails(&["stylize", s(&silent), "-o", s(&out), "--device", "cpu"], "no video stream");
    let input = clip(d, "ok.mp4", "32x24", 10, 0.5, false);
    fails(&["stylize", s(&input), "-o", s(&d.join("no/such/dir/out.mp4")), "--device", "cpu"], "does not exist");
    fails(&["stylize", s(&input), "-o", s(&d.join("out.gif")), "--device", "cpu"], "unsupported video extension");
    std::fs::create_dir(d.join("full")).unwrap();
    std::fs::write(d.join("full/x.txt"), b"x").unwrap();
    fails(&["stylize", s(&input), "-o", s(&d.join("full")), "--device", "cpu"], "not an empty folder");
    // Without ffmpeg on PATH: the install command, not a panic.
    let o = Command::new(env!("CARGO_BIN_EXE_burnish")).args(["stylize", s(&input), "-o", s(&out), "--device", "cpu"]).env("PATH", d).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("not found") && err.contains("apt-get install ffmpeg"), "{err}");
    assert!(!out.exists());
    assert!(leftovers(d).is_empty(), "{:?}", leftovers(d));
}

#[test]
fn ctrl_c_midway_leaves_no_output_and_no_ffmpeg() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = clip(d, "long.mp4", "64x48", 25, 20.0, true);
    let out = d.join("out.mp4");
    let (code, log) = common::interrupt_after(&["stylize", s(&input), "-o", s(&out), "--device", "cpu"], " frames/s");
    assert_eq!(code, Some(130), "{log}");
    assert!(log.contains("no output written") && !log.contains("panicked"), "{log}");
    assert!(!out.exists());
    assert!(leftovers(d).is_empty(), "{:?}", leftovers(d));
    // No ffmpeg still running on this test's files.
    let running = Command::new("pgrep").args(["-f", s(d)]).output().unwrap();
    assert!(running.stdout.is_empty(), "ffmpeg left running: {}", String::from_utf8_lossy(&running.stdout));
}

#[test]
fn a_shared_clip_keeps_its_frames_and_audio_at_another_size() {
    let input = common::shared("video/bigbuckbunny.mp4");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bunny.mp4");
    let o = burnish(&["stylize", s(&input), "-o", s(&out), "--size", "96", "--device", "cpu", "-q"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (video(&input), video(&out));
    assert_eq!((b["nb_frames"].as_str(), a["nb_frames"].as_str()), (Some("132"), Some("132")));
    assert_eq!(b["avg_frame_rate"], a["avg_frame_rate"]);
    assert!((num(&b["duration"]) - num(&a["duration"])).abs() < 1e-3, "{} vs {}", b["duration"], a["duration"]);
    // 1280x720 at --size 96: 96x54, as image mode scales it.
    assert_eq!((b["width"].as_u64(), b["height"].as_u64()), (Some(96), Some(54)));
    assert!(audio_bytes(&input) == audio_bytes(&out), "the audio packets differ");
}

#[test]
fn audio_the_container_refuses_is_re_encoded_to_aac_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // PCM audio in Matroska; MP4 does not take PCM.
    let input = d.join("pcm.mkv");
    ffmpeg(&["-f", "lavfi", "-i", "testsrc2=size=32x24:rate=10:duration=1", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", s(&input)]);
    let out = d.join("out.mp4");
    let o = burnish(&["stylize", s(&input), "-o", s(&out), "--device", "cpu"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("re-encoded to AAC"), "{err}");
    let audio: Vec<_> = streams(&out).into_iter().filter(|s| s["codec_type"] == "audio").collect();
    assert_eq!(audio.len(), 1);
    assert_eq!(audio[0]["codec_name"], "aac");
    // Into Matroska the same audio is copied as it is.
    let out = d.join("out.mkv");
    let o = burnish(&["stylize", s(&input), "-o", s(&out), "--device", "cpu"]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stderr).contains("copied"));
    assert!(audio_bytes(&input) == audio_bytes(&out));
}
