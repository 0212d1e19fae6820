//! Flicker, measured without optical flow: consecutive-output differences on a static clip, the
//! warping error under a known shift, and the ratio of output to input frame differences; and the
//! synthetic clips they are measured on.

use rand::{Rng, SeedableRng};

use crate::image::RgbF32;

fn mean_abs(a: &RgbF32, b: &RgbF32) -> f64 {
    a.data.iter().zip(&b.data).map(|(x, y)| (x - y).abs() as f64).sum::<f64>() / a.data.len().max(1) as f64
}

/// Mean absolute difference between consecutive frames (0..1; 0 for a still output).
pub fn consecutive_difference(frames: &[RgbF32]) -> f64 {
    let pairs: Vec<f64> = frames.windows(2).map(|w| mean_abs(&w[0], &w[1])).collect();
    pairs.iter().sum::<f64>() / pairs.len().max(1) as f64
}

/// Output frame difference over input frame difference (1: the output changes as much as the
/// input; more: it flickers).
pub fn difference_ratio(inputs: &[RgbF32], outputs: &[RgbF32]) -> f64 {
    consecutive_difference(outputs) / consecutive_difference(inputs).max(1e-12)
}

/// Warping error for a clip whose content moves by (-dx, -dy) pixels per frame (the camera pans by
/// (dx, dy), as [`panned_clip`] makes): mean |out_t(x, y) − out_{t−1}(x + dx, y + dy)| over the
/// pixels at least `margin` from every border of both frames.
pub fn shift_warp_error(frames: &[RgbF32], dx: i32, dy: i32, margin: u32) -> f64 {
    let mut total = 0.0;
    let mut n = 0usize;
    for w in frames.windows(2) {
        let (prev, cur) = (&w[0], &w[1]);
        let (width, height) = (cur.width as i32, cur.height as i32);
        let m = margin as i32;
        for y in m..height - m {
            for x in m..width - m {
                let (px, py) = (x + dx, y + dy);
                if px < m || py < m || px >= width - m || py >= height - m {
                    continue;
                }
                let a = ((y * width + x) * 3) as usize;
                let b = ((py * width + px) * 3) as usize;
                for c in 0..3 {
                    total += (cur.data[a + c] - prev.data[b + c]).abs() as f64;
                }
                n += 3;
            }
        }
    }
    total / n.max(1) as f64
}

/// `frames` copies of `frame` with independent Gaussian-like sensor noise of standard deviation
/// `noise` (0..1 units), seeded.
pub fn static_noisy_clip(frame: &RgbF32, frames: usize, noise: f32, seed: u64) -> Vec<RgbF32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..frames)
        .map(|_| {
            let data = frame
                .data
                .iter()
                .map(|v| {
                    // Sum of four uniforms: close to Gaussian, variance 4/12 scaled to noise².
                    let g: f32 = (0..4).map(|_| rng.random::<f32>() - 0.5).sum::<f32>() * (3.0f32).sqrt();
                    (v + noise * g).clamp(0.0, 1.0)
                })
                .collect();
            RgbF32::new(frame.width, frame.height, data)
        })
        .collect()
}

/// `frames` windows of `width`×`height` over `image`, the window moving by (dx, dy) pixels per
/// frame (a camera pan with exactly known flow). `image` must be large enough.
pub fn panned_clip(image: &RgbF32, frames: usize, dx: u32, dy: u32, width: u32, height: u32) -> Vec<RgbF32> {
    assert!(width + dx * frames as u32 <= image.width && height + dy * frames as u32 <= image.height, "image too small for the pan");
    (0..frames as u32)
        .map(|t| {
            let (x0, y0) = (t * dx, t * dy);
            let mut data = Vec::with_capacity((width * height * 3) as usize);
            for y in y0..y0 + height {
                let row = ((y * image.width + x0) * 3) as usize;
                data.extend_from_slice(&image.data[row..row + (width * 3) as usize]);
            }
            RgbF32::new(width, height, data)
        })
        .collect()
}
