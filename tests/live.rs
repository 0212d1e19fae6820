//! The live window's display path, rendered offscreen and read back (lavapipe in CI), and the
//! virtual camera. The window itself is exercised under Xvfb by tests/live_window.sh.

mod common;

use std::time::Duration;

use burn::tensor::wgpu::wgpu;
use burnish::image::RgbF32;
use burnish::image::tensor::frame_tensor;
use burnish::live::{Camera, Display, GpuImage, Overlay, Picture, View, VirtualCamera};

/// A frame whose every pixel has its own colour, all multiples of 1/255 (exact in RGBA8).
fn pattern(w: u32, h: u32, seed: u32) -> RgbF32 {
    let data = (0..w * h * 3).map(|i| ((i * 37 + seed * 11) % 256) as f32 / 255.0).collect();
    RgbF32::new(w, h, data)
}

fn rgb8(f: &RgbF32, x: u32, y: u32) -> [u8; 3] {
    let i = ((y * f.width + x) * 3) as usize;
    [0, 1, 2].map(|c| (f.data[i + c] * 255.0).round() as u8)
}

#[test]
fn the_display_draws_frames_from_gpu_and_host_buffers_exactly() {
    let Some(gpu) = common::wgpu_device() else { return };
    let setup = gpu.wgpu.as_ref().expect("a wgpu device has its setup");
    let (device, queue) = (&setup.device, &setup.queue);
    let mut display = Display::new(device, wgpu::TextureFormat::Rgba8Unorm);
    let (stylized, original) = (pattern(6, 4, 1), pattern(6, 4, 2));
    // The stylized frame as a burn tensor on the same device: drawn from burn's own buffer.
    let on_gpu = GpuImage::new(frame_tensor(&stylized, &gpu.device)).unwrap();
    let side = display
        .render_to_image(device, queue, (12, 4), View::SideBySide, &Picture::Gpu(&on_gpu), &Picture::Host(&original), None)
        .unwrap();
    for y in 0..4 {
        for x in 0..6 {
            assert_eq!(side.get_pixel(x, y).0, rgb8(&original, x, y), "original at ({x}, {y})");
            assert_eq!(side.get_pixel(x + 6, y).0, rgb8(&stylized, x, y), "stylized at ({x}, {y})");
        }
    }
    // One view letterboxed: 6x4 in 12x4 sits in the middle, black bars either side.
    let one = display
        .render_to_image(device, queue, (12, 4), View::Stylized, &Picture::Host(&stylized), &Picture::Host(&original), None)
        .unwrap();
    for y in 0..4 {
        for x in 0..12 {
            let want = if (3..9).contains(&x) { rgb8(&stylized, x - 3, y) } else { [0, 0, 0] };
            assert_eq!(one.get_pixel(x, y).0, want, "({x}, {y})");
        }
    }
    // The overlay: text pixels white, the band around them darkened (alpha 150/255).
    let grey = RgbF32::new(64, 32, vec![0.5; 64 * 32 * 3]);
    let overlay = Overlay::text(64, &["I".into()], 1);
    let shot = display
        .render_to_image(device, queue, (64, 32), View::Original, &Picture::Host(&grey), &Picture::Host(&grey), Some(&overlay))
        .unwrap();
    let pixels: Vec<[u8; 3]> = (0..overlay.height).flat_map(|y| (0..64).map(move |x| (x, y))).map(|(x, y)| shot.get_pixel(x, y).0).collect();
    assert!(pixels.contains(&[255, 255, 255]), "text drawn");
    let dark = (0.5f32 * (1.0 - 150.0 / 255.0) * 255.0).round() as i32;
    assert!(pixels.iter().any(|p| (p[0] as i32 - dark).abs() <= 1), "band darkened to {dark}");
    assert_eq!(shot.get_pixel(10, 31).0, [128, 128, 128], "below the overlay: the frame");
}

#[test]
fn a_still_image_is_a_camera_at_its_frame_rate() {
    let mut cam = VirtualCamera::open(&common::asset("bunny.jpg"), 20.0).unwrap();
    assert_eq!(cam.size(), (640, 360));
    let t0 = std::time::Instant::now();
    for _ in 0..6 {
        assert_eq!(cam.grab().unwrap().width, 640);
    }
    // Six frames at 20 fps: the first at once, then 50 ms apart.
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(240), "{took:?}");
    let e = VirtualCamera::open(std::path::Path::new("/nonexistent/clip.mp4"), 30.0).err().unwrap().to_string();
    assert!(e.contains("no such file"), "{e}");
}

/// Whether `program` runs (is installed).
fn have(program: &str) -> bool {
    std::process::Command::new(program).arg("-version").stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).status().is_ok()
}

fn xdotool(display: &str, args: &[&str]) -> String {
    let out = std::process::Command::new("xdotool").args(args).env("DISPLAY", display).output().expect("xdotool runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The real window under Xvfb on a generated clip: keys switch the view and the style and take
/// screenshots, whose pixels are checked. BURNISH_TEST_WINDOW=1 (CI) makes a missing Xvfb,
/// xdotool or ffmpeg a failure instead of a skip.
#[test]
fn the_live_window_runs_on_a_virtual_camera_and_obeys_its_keys() {
    use std::process::{Command, Stdio};
    let required = std::env::var("BURNISH_TEST_WINDOW").as_deref() == Ok("1");
    if !(have("Xvfb") && have("xdotool") && have("ffmpeg")) {
        assert!(!required, "BURNISH_TEST_WINDOW=1 but Xvfb, xdotool or ffmpeg is missing");
        eprintln!("skipping: needs Xvfb, xdotool and ffmpeg");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let clip = d.join("clip.mp4");
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15:duration=2", "-pix_fmt", "yuv420p"])
        .arg(&clip)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg made the clip");
    // A display of our own: Xvfb picks a free number and writes it to the pipe.
    let mut xvfb = Command::new("Xvfb").args(["-displayfd", "1", "-screen", "0", "800x600x24", "-nolisten", "tcp"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut number = String::new();
    {
        use std::io::BufRead;
        std::io::BufReader::new(xvfb.stdout.as_mut().unwrap()).read_line(&mut number).unwrap();
    }
    let display = format!(":{}", number.trim());
    let shots = d.join("shots");
    std::fs::create_dir(&shots).unwrap();
    let report = d.join("report.json");
    let live = Command::new(env!("CARGO_BIN_EXE_burnish"))
        .args(["live", "--source"])
        .arg(&clip)
        .args(["--window", "480x240", "--size", "96", "--seconds", "40", "--screenshots"])
        .arg(&shots)
        .arg("--report")
        .arg(&report)
        .env("DISPLAY", &display)
        .env_remove("WAYLAND_DISPLAY")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let window = xdotool(&display, &["search", "--sync", "--name", "burnish live"]);
    let window = window.lines().next().unwrap_or("").to_string();
    assert!(!window.is_empty(), "the window appeared");
    xdotool(&display, &["windowfocus", "--sync", &window]);
    let wait_for = |n: usize| {
        for _ in 0..200 {
            if std::fs::read_dir(&shots).unwrap().count() >= n {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("screenshot {n} was not written");
    };
    // Stylized, then side by side (space twice), then the next style, side by side.
    std::thread::sleep(Duration::from_secs(2));
    xdotool(&display, &["key", "Return"]);
    wait_for(1);
    xdotool(&display, &["key", "space", "space"]);
    std::thread::sleep(Duration::from_millis(800));
    xdotool(&display, &["key", "Return"]);
    wait_for(2);
    xdotool(&display, &["key", "Right"]);
    std::thread::sleep(Duration::from_secs(2));
    xdotool(&display, &["key", "Return"]);
    wait_for(3);
    xdotool(&display, &["key", "q"]);
    let out = live.wait_with_output().unwrap();
    let _ = xvfb.kill();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("style: "), "the next style was announced: {stderr}");
    let shot = |i: u32| image::open(shots.join(format!("burnish-live-{i:04}.png"))).unwrap().to_rgb8();
    let (stylized, side, next) = (shot(1), shot(2), shot(3));
    assert_eq!(stylized.dimensions(), (480, 240));
    // Mean absolute difference of a region of two shots.
    let mad = |a: &image::RgbImage, b: &image::RgbImage, x0: u32, x1: u32| {
        let (mut sum, mut n) = (0f64, 0f64);
        for y in 60..240 {
            for x in x0..x1 {
                for c in 0..3 {
                    sum += (a.get_pixel(x, y).0[c] as f64 - b.get_pixel(x, y).0[c] as f64).abs();
                    n += 1.0;
                }
            }
        }
        sum / n
    };
    // Side by side: the left half is the camera's picture (testsrc2: saturated colour bars), the
    // right half the stylized one; it differs from the left. The next style changes the right half.
    let grey = image::RgbImage::from_pixel(480, 240, image::Rgb([128, 128, 128]));
    assert!(mad(&side, &grey, 20, 220) > 30.0, "the original is drawn on the left");
    let left_vs_right = {
        let mut shifted = side.clone();
        for y in 0..240 {
            for x in 0..240 {
                shifted.put_pixel(x, y, *side.get_pixel(x + 240, y));
            }
        }
        mad(&side, &shifted, 20, 220)
    };
    assert!(left_vs_right > 15.0, "the stylized half differs from the original ({left_vs_right})");
    assert!(mad(&side, &next, 260, 460) > 8.0, "switching the style changed the picture");
    assert!(mad(&stylized, &grey, 100, 380) > 8.0, "the stylized view shows a picture");
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(r["frames"].as_u64().unwrap() > 5 && r["fps"].as_f64().unwrap() > 0.0, "{r}");
}

#[test]
fn live_without_a_camera_says_to_use_a_source() {
    let run = |args: &[&str]| std::process::Command::new(env!("CARGO_BIN_EXE_burnish")).args(args).output().unwrap();
    if std::path::Path::new("/dev/video0").exists() {
        eprintln!("skipping: this machine has a camera");
        return;
    }
    let o = run(&["live", "--seconds", "1"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--source FILE") && !stderr.contains("panicked"), "{stderr}");
    let o = run(&["live", "--camera", "7"]);
    assert_eq!(o.status.code(), Some(1));
    let o = run(&["live", "--source", "/nonexistent/clip.mp4"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.code() == Some(1) && stderr.contains("no such file"), "{stderr}");
}
