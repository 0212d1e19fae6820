//! The library's one error type. Every message says what went wrong and what to do next.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}. Check that the file exists and is readable.")]
    Read { path: PathBuf, source: std::io::Error },

    #[error("{path} is empty (0 bytes). Pass a real image file.")]
    EmptyFile { path: PathBuf },

    #[error(
        "{path} is not a readable image ({reason}). Supported: PNG, JPEG, TIFF, WebP, BMP, GIF; re-export the file if it is truncated or corrupt."
    )]
    BadImage { path: PathBuf, reason: String },

    #[error(
        "{path} is {width}x{height} ({megapixels:.0} megapixels), over the limit of {limit} megapixels. Downscale it first."
    )]
    ImageTooLarge { path: PathBuf, width: u32, height: u32, megapixels: f64, limit: u32 },

    #[error("cannot write {path}: {reason}. Check that the folder exists and is writable.")]
    Write { path: PathBuf, reason: String },

    #[error("weights file {path}: {reason}")]
    Weights { path: PathBuf, reason: String },

    #[error("unknown layer name '{0}'. Use conv_1..conv_16, conv1_1..conv5_4, relu1_1..relu5_4, or a preset: shallow, mid, deep.")]
    UnknownLayer(String),

    #[error("invalid option: {0}")]
    InvalidOption(String),

    #[error("no GPU adapter found ({0}). Install a Vulkan/Metal/DX12 driver (on Debian: apt-get install mesa-vulkan-drivers libvulkan1) or pass --device cpu.")]
    NoGpu(String),

    #[error("device error: {0}. Try --device cpu.")]
    Device(String),

    #[error("{program} was not found: install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg; Windows: winget install ffmpeg) and put ffmpeg and ffprobe on PATH")]
    NoFfmpeg { program: String },

    #[error("{path} is not a readable video ({reason}). Check the file, or re-encode it with ffmpeg.")]
    BadVideo { path: PathBuf, reason: String },

    #[error("ffmpeg failed on {path}: {reason}")]
    Ffmpeg { path: PathBuf, reason: String },

    /// A camera that cannot be opened or stopped delivering (the message says what to do).
    #[error("{0}")]
    Camera(String),

    /// A window or display that cannot be created or drawn to.
    #[error("display: {0}")]
    Display(String),

    #[error("the optimisation produced non-finite values ({0}). Lower the style weight or use --line-search strong-wolfe.")]
    NonFinite(String),
}

pub type Result<T> = std::result::Result<T, Error>;
