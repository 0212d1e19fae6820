//! Image files in and out: decoding with clear errors, resizing, and atomic writes
//! (a failed run never leaves a partial or clobbered output file).

use std::io::Write;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageReader, Rgb32FImage, imageops::FilterType};

use crate::error::{Error, Result};

/// Largest input accepted, in megapixels (decoding a bigger one would need gigabytes).
pub const MAX_MEGAPIXELS: u32 = 150;

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
        let bytes = self.data.iter().map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect();
        image::RgbImage::from_raw(self.width, self.height, bytes).expect("sizes match")
    }

    pub fn from_rgb8(img: &image::RgbImage) -> Self {
        let data = img.as_raw().iter().map(|&b| b as f32 / 255.0).collect();
        Self { width: img.width(), height: img.height(), data }
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

/// Size with the larger side equal to `max_side` and the aspect ratio kept (each side at least 1).
pub fn fit_max_side(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let scale = max_side as f64 / width.max(height) as f64;
    let w = ((width as f64 * scale).round() as u32).max(1);
    let h = ((height as f64 * scale).round() as u32).max(1);
    (w, h)
}

/// Decode an image file of any common format, bit depth and colour type into RGB 0..1.
/// Alpha is composited over white; grayscale is expanded; 16-bit keeps its precision;
/// CMYK JPEGs are converted by the decoder.
pub fn load_rgb(path: &Path) -> Result<RgbF32> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Read { path: path.into(), source })?;
    if meta.is_dir() {
        return Err(Error::BadImage { path: path.into(), reason: "it is a folder".into() });
    }
    if meta.len() == 0 {
        return Err(Error::EmptyFile { path: path.into() });
    }
    let bad = |reason: String| Error::BadImage { path: path.into(), reason };
    // Read once; every check below and the decoder work on these bytes.
    let bytes = std::fs::read(path).map_err(|source| Error::Read { path: path.into(), source })?;
    let reader = || ImageReader::new(std::io::Cursor::new(&bytes[..])).with_guessed_format().map_err(|e| bad(e.to_string()));
    match reader()?.format() {
        None => return Err(bad("unrecognised file contents".into())),
        Some(image::ImageFormat::Jpeg) => check_jpeg_strictly(&bytes).map_err(bad)?,
        Some(_) => {}
    }
    let (w, h) = reader()?.into_dimensions().map_err(|e| bad(e.to_string()))?;
    let mp = w as f64 * h as f64 / 1e6;
    if mp > MAX_MEGAPIXELS as f64 {
        return Err(Error::ImageTooLarge { path: path.into(), width: w, height: h, megapixels: mp, limit: MAX_MEGAPIXELS });
    }
    let mut decoder = reader()?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(4 << 30);
    decoder.limits(limits);
    let img = decoder.decode().map_err(|e| bad(e.to_string()))?;
    Ok(dynamic_to_rgb(img))
}

/// JPEG decoders pad truncated or damaged data with grey and carry on; burnish refuses such
/// files instead of stylising a half-grey picture.
fn check_jpeg_strictly(bytes: &[u8]) -> std::result::Result<(), String> {
    if jpeg_scan_is_cut_off(bytes) {
        return Err("truncated JPEG: the last scan runs into the end of the file".into());
    }
    let options = zune_core::options::DecoderOptions::default().set_strict_mode(true);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(zune_core::bytestream::ZCursor::new(bytes), options);
    decoder.decode().map_err(|e| format!("corrupt JPEG data: {e:?}"))?;
    Ok(())
}

/// True when the entropy-coded data after the last start-of-scan marker is not closed by a
/// marker (normally end-of-image): the file was cut off. Trailing data after EOI is fine.
fn jpeg_scan_is_cut_off(bytes: &[u8]) -> bool {
    let Some(sos) = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]) else { return true };
    if sos + 4 > bytes.len() {
        return true;
    }
    let header_len = u16::from_be_bytes([bytes[sos + 2], bytes[sos + 3]]) as usize;
    let mut i = sos + 2 + header_len;
    while i + 1 < bytes.len() {
        if bytes[i] == 0xFF {
            let m = bytes[i + 1];
            if m != 0x00 && m != 0xFF && !(0xD0..=0xD7).contains(&m) {
                return false;
            }
        }
        i += 1;
    }
    true
}

fn dynamic_to_rgb(img: DynamicImage) -> RgbF32 {
    let (width, height) = (img.width(), img.height());
    let has_alpha = img.color().has_alpha();
    let rgba = img.into_rgba32f();
    let mut data = Vec::with_capacity((width * height * 3) as usize);
    for px in rgba.pixels() {
        let [r, g, b, a] = px.0;
        let a = if has_alpha { a.clamp(0.0, 1.0) } else { 1.0 };
        for v in [r, g, b] {
            // Composite over white so transparent regions do not turn black.
            data.push((v.clamp(0.0, 1.0) * a + (1.0 - a)).clamp(0.0, 1.0));
        }
    }
    RgbF32 { width, height, data }
}

/// Check up front that `path` can be written, so a long run does not fail at its end.
pub fn check_writable(path: &Path) -> Result<()> {
    let fail = |reason: String| Error::Write { path: path.into(), reason };
    if path.is_dir() {
        return Err(fail("it is a folder; give a file name such as out.png".into()));
    }
    output_format(path)?;
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(fail(format!("folder {} does not exist", dir.display())));
    }
    let probe = tempfile_in(&dir).map_err(|e| fail(e.to_string()))?;
    drop(probe);
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

struct TempFile {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        self.file.take();
        let _ = std::fs::remove_file(&self.path);
    }
}

fn tempfile_in(dir: &Path) -> std::io::Result<TempFile> {
    let pid = std::process::id();
    for i in 0..1000u32 {
        let path = dir.join(format!(".burnish-{pid}-{i}.tmp"));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok(TempFile { path, file: Some(file) }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("cannot create a temporary file"))
}

fn output_format(path: &Path) -> Result<image::ImageFormat> {
    let ext = path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("png") => Ok(image::ImageFormat::Png),
        Some("jpg" | "jpeg") => Ok(image::ImageFormat::Jpeg),
        Some("bmp") => Ok(image::ImageFormat::Bmp),
        Some("tif" | "tiff") => Ok(image::ImageFormat::Tiff),
        _ => Err(Error::Write { path: path.into(), reason: "unsupported output extension; use .png, .jpg, .bmp or .tif".into() }),
    }
}

/// Write bytes to `path` atomically: a temporary file in the same folder, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let fail = |reason: String| Error::Write { path: path.into(), reason };
    if path.is_dir() {
        return Err(fail("it is a folder".into()));
    }
    let dir = parent_dir(path);
    let mut tmp = tempfile_in(&dir).map_err(|e| fail(e.to_string()))?;
    {
        let f = tmp.file.as_mut().expect("open");
        f.write_all(bytes).map_err(|e| fail(e.to_string()))?;
        f.sync_all().map_err(|e| fail(e.to_string()))?;
    }
    tmp.file.take();
    std::fs::rename(&tmp.path, path).map_err(|e| fail(e.to_string()))?;
    Ok(())
}

/// Encode and write an image atomically, the format chosen by the extension.
pub fn save_rgb8(path: &Path, img: &image::RgbImage) -> Result<()> {
    let format = output_format(path)?;
    let mut buf = std::io::Cursor::new(Vec::new());
    img.write_to(&mut buf, format).map_err(|e| Error::Write { path: path.into(), reason: e.to_string() })?;
    write_atomic(path, buf.get_ref())
}

pub fn save_rgb(path: &Path, img: &RgbF32) -> Result<()> {
    save_rgb8(path, &img.to_rgb8())
}
