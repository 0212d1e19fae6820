//! The CPU pixel type every mode shares: RGB in 0..1, with conversions to and from 8-bit RGB,
//! planar (tensor) layout, resizing and seeded noise.

use image::{Rgb32FImage, imageops::FilterType};
use rand::{Rng, SeedableRng};

/// An RGB image with values in 0..1, stored row-major, channels interleaved (HWC).
#[derive(Clone, Debug, PartialEq)]
pub struct RgbF32 {
    pub width: u32,
    pub height: u32,
    pub data: Vec<f32>,
}

impl RgbF32 {
    pub fn new(width: u32, height: u32, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), (width * height * 3) as usize);
        Self { width, height, data }
    }

    /// Seeded uniform noise in 0..1, generated on the host so every device starts from the same image.
    pub fn noise(width: u32, height: u32, seed: u64) -> Self {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let data = (0..width * height * 3).map(|_| rng.random::<f32>()).collect();
        Self::new(width, height, data)
    }

    /// Planar CHW copy (the tensor layout).
    pub fn to_chw(&self) -> Vec<f32> {
        let n = (self.width * self.height) as usize;
        let mut out = vec![0.0; 3 * n];
        for i in 0..n {
            for c in 0..3 {
                out[c * n + i] = self.data[i * 3 + c];
            }
        }
        out
    }

    pub fn from_chw(width: u32, height: u32, chw: &[f32]) -> Self {
        let n = (width * height) as usize;
        assert_eq!(chw.len(), 3 * n);
        let mut data = vec![0.0; 3 * n];
        for i in 0..n {
            for c in 0..3 {
                data[i * 3 + c] = chw[c * n + i];
            }
        }
        Self { width, height, data }
    }

    pub fn to_rgb8(&self) -> image::RgbImage {
        let bytes = self.data.iter().map(|v| to_u8(*v)).collect();
        image::RgbImage::from_raw(self.width, self.height, bytes).expect("sizes match")
    }

    pub fn from_rgb8(img: &image::RgbImage) -> Self {
        let data = img.as_raw().iter().map(|&b| b as f32 / 255.0).collect();
        Self { width: img.width(), height: img.height(), data }
    }

    /// From RGBA8 rows (a canvas's `ImageData`); alpha is dropped. None when the length is not
    /// `width * height * 4`.
    pub fn from_rgba8(width: u32, height: u32, rgba: &[u8]) -> Option<Self> {
        if rgba.len() != width as usize * height as usize * 4 {
            return None;
        }
        let data = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).map(|b| b as f32 / 255.0).collect();
        Some(Self { width, height, data })
    }

    /// RGBA8 rows, opaque (for a canvas's `ImageData`).
    pub fn to_rgba8(&self) -> Vec<u8> {
        self.data.chunks_exact(3).flat_map(|p| [to_u8(p[0]), to_u8(p[1]), to_u8(p[2]), 255]).collect()
    }

    /// Resize so that the larger side is `max_side`, keeping the aspect ratio.
    pub fn resize_max_side(&self, max_side: u32) -> Self {
        let (w, h) = fit_max_side(self.width, self.height, max_side);
        self.resize_exact(w, h)
    }

    pub fn resize_exact(&self, width: u32, height: u32) -> Self {
        if width == self.width && height == self.height {
            return self.clone();
        }
        let img = Rgb32FImage::from_raw(self.width, self.height, self.data.clone()).expect("sizes match");
        let out = image::imageops::resize(&img, width, height, FilterType::CatmullRom);
        let data = out.into_raw().into_iter().map(|v| v.clamp(0.0, 1.0)).collect();
        Self { width, height, data }
    }
}

fn to_u8(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Size with the larger side equal to `max_side` and the aspect ratio kept (each side at least 1).
pub fn fit_max_side(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let scale = max_side as f64 / width.max(height) as f64;
    let w = ((width as f64 * scale).round() as u32).max(1);
    let h = ((height as f64 * scale).round() as u32).max(1);
    (w, h)
}
