//! Image files in and out: one list of extensions, one size rule, decoding with clear errors
//! (strict about truncated or corrupt JPEGs), and atomic writes (a failed run never leaves a
//! partial or clobbered output file).

use std::io::Write;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageReader};

use super::RgbF32;
use crate::error::{Error, Result};

/// Largest input accepted, in megapixels (decoding a bigger one would need gigabytes).
pub const MAX_MEGAPIXELS: u32 = 150;

/// The extensions burnish reads as images (case-insensitive).
pub const IMAGE_EXTENSIONS: [&str; 8] = ["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "gif"];

/// The range of every size option (`--size`, texture sizes, crops' and styles' sides), in pixels.
pub const SIDES: std::ops::RangeInclusive<u32> = 8..=8192;

/// Checks a size option against [`SIDES`].
pub fn check_side(option: &str, side: u32) -> Result<()> {
    if !SIDES.contains(&side) {
        return Err(Error::InvalidOption(format!("{option} {side}: use {}..{} pixels", SIDES.start(), SIDES.end())));
    }
    Ok(())
}

/// Whether a path names an image by its extension.
pub fn is_image_file(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The image files of a folder, sorted; an error if there are none.
pub fn list_images(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|source| Error::Read { path: dir.into(), source })?;
    let mut files: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file() && is_image_file(p)).collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::InvalidOption(format!("{} holds no images (.{})", dir.display(), IMAGE_EXTENSIONS.join(", ."))));
    }
    Ok(files)
}

/// Decode an image file of any common format, bit depth and colour type into RGB 0..1.
/// Alpha is composited over white; grayscale is expanded; 16-bit keeps its precision;
/// CMYK JPEGs are converted by the decoder.
pub fn load_rgb(path: &Path) -> Result<RgbF32> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Read { path: path.into(), source })?;
    if meta.is_dir() {
        return Err(Error::BadImage { path: path.into(), reason: "it is a folder".into() });
    }
    // Read once; every check of [`decode`] works on these bytes.
    let bytes = std::fs::read(path).map_err(|source| Error::Read { path: path.into(), source })?;
    decode(&bytes, path)
}

/// [`load_rgb`] on bytes already in memory (embedded images, uploads); `source` names them in errors.
pub fn decode(bytes: &[u8], source: &Path) -> Result<RgbF32> {
    if bytes.is_empty() {
        return Err(Error::EmptyFile { path: source.into() });
    }
    let bad = |reason: String| Error::BadImage { path: source.into(), reason };
    let reader = || ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|e| bad(e.to_string()));
    match reader()?.format() {
        None => return Err(bad("unrecognised file contents".into())),
        Some(image::ImageFormat::Jpeg) => check_jpeg_strictly(bytes).map_err(bad)?,
        Some(_) => {}
    }
    let (w, h) = reader()?.into_dimensions().map_err(|e| bad(e.to_string()))?;
    let mp = w as f64 * h as f64 / 1e6;
    if mp > MAX_MEGAPIXELS as f64 {
        return Err(Error::ImageTooLarge { path: source.into(), width: w, height: h, megapixels: mp, limit: MAX_MEGAPIXELS });
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
