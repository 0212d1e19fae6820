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
