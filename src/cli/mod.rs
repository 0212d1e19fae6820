//! The command line: its arguments (clap derive; the doc comments are the help text), what the
//! subcommands share (device selection, sizes), and one module per group of subcommands.

pub mod feedforward;
pub mod gatys;
pub mod live;
pub mod progress;
pub mod studies;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use burnish::device::{self, ComputeDevice, CpuBackend, DeviceChoice};
use burnish::feedforward::train::TrainConfig;
use burnish::image::files::check_side;
use burnish::loss::LossConfig;
use burnish::vgg::Tap;

/// The defaults the help text shows come from the library's calibrated loss.
fn default_content_layer() -> String {
    LossConfig::gatys().content_layer.map(|t| t.short_name()).unwrap_or_default()
}

fn default_style_layers() -> String {
    layer_list(&LossConfig::gatys().style_layers)
}

/// `burnish train`'s defaults: the library's training recipe.
fn train_defaults() -> TrainConfig {
    TrainConfig::defaults("")
}

fn train_content_layer() -> String {
    train_defaults().loss.content_layer.map(|t| t.short_name()).unwrap_or_default()
}

fn train_style_layers() -> String {
    layer_list(&train_defaults().loss.style_layers)
}

/// Taps as the command line writes them: `conv_1,conv_2`.
pub fn layer_list(taps: &[Tap]) -> String {
    taps.iter().map(|t| t.short_name()).collect::<Vec<_>>().join(",")
}

#[derive(Parser, Debug)]
#[command(name = "burnish", version, about = "Neural style transfer on burn + wgpu: Gatys optimisation, texture synthesis.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Stylise the bundled photo with the bundled Starry Night (the default job, no files needed).
    Demo {
        /// Output image.
        #[arg(short, long, default_value = "burnish-demo.png")]
        output: PathBuf,
        #[command(flatten)]
        gatys: GatysArgs,
    },
    /// Optimise an image to have CONTENT's content and STYLE's style (Gatys et al.).
    Transfer {
        /// Content image.
        content: PathBuf,
        /// Style image.
        style: PathBuf,
        /// Output image (.png, .jpg, .bmp, .tif).
        #[arg(short, long)]
        output: PathBuf,
        /// Start from the content image or from seeded noise.
        #[arg(long, value_enum, default_value_t = InitArg::Content)]
        init: InitArg,
        /// Content layer: conv_1..conv_16 (PyTorch tutorial names), conv1_1..conv5_4 or relu1_1..relu5_4.
        #[arg(long, default_value_t = default_content_layer())]
        content_layer: String,
        /// Content loss weight.
        #[arg(long, default_value_t = LossConfig::gatys().content_weight)]
        content_weight: f64,
        /// Largest side of the output in pixels (the aspect ratio of CONTENT is kept).
        #[arg(long, default_value_t = 256)]
        size: u32,
        #[command(flatten)]
        gatys: GatysArgs,
    },
    /// Synthesize a texture from STYLE alone, starting from seeded noise.
    Texture {
        /// Style image.
        style: PathBuf,
        /// Output image.
        #[arg(short, long)]
        output: PathBuf,
        /// Output size: N (square) or WxH, independent of the style image.
        #[arg(long, default_value = "256")]
        size: String,
        #[command(flatten)]
        gatys: GatysArgs,
    },
    /// Render the standard ablation studies as one labelled sheet: content layer conv_1/4/7/10, style
    /// layers shallow/mid/deep (textures), and two noise seeds with their pixel difference.
    Ablation {
        #[command(flatten)]
        study: Study,
        #[command(flatten)]
        gatys: GatysArgs,
    },
    /// Calibration study: how the feature scale k and the style weight move the balance between
    /// content and style, and L-BFGS with and without line search on a texture (one sheet).
    Calibrate {
        #[command(flatten)]
        study: Study,
        #[command(flatten)]
        gatys: GatysArgs,
    },
    /// Stylize images, folders of images or a video in one pass per frame with a feed-forward network.
    Stylize {
        /// Input images and/or folders of images, or one video (.mp4, .mov, .mkv, .webm, .avi, .mpg).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Output: an image file for a single input image, a video file (.mp4, .mov, .mkv) or a
        /// folder of numbered PNG frames for a video, else a folder (created if needed).
        #[arg(short, long)]
        output: PathBuf,
        /// A shipped style (see `burnish styles`), or a network file: burnish .safetensors,
        /// pytorch/examples TransformerNet .pth, or an ml5.js checkpoint folder / manifest.json.
        #[arg(short, long, default_value = burnish::feedforward::shipped::DEFAULT)]
        model: String,
        /// Scale each input so its largest side is at most this many pixels (default: as it is).
        #[arg(long)]
        size: Option<u32>,
        #[command(flatten)]
        frames: FrameArgs,
        #[command(flatten)]
        compute: Compute,
    },
    /// List the shipped styles.
    Styles,
    /// Convert a style network (shipped name, burnish/pytorch/examples safetensors or .pth, ml5.js
    /// folder) to burnish's safetensors format, keeping its layout and training config.
    Export {
        model: String,
        #[arg(short, long)]
        output: PathBuf,
        /// Store the weights as float16 (half the size; how the shipped styles are stored).
        #[arg(long)]
        f16: bool,
    },
    /// Train a feed-forward network for STYLE on a folder of photos (Johnson et al. 2016).
    Train(TrainArgs),
    /// Quality report of a style network on photos: losses at its training settings, structure
    /// score and style distance per photo and their geometric means (optionally against Gatys).
    Evaluate(EvaluateArgs),
    /// Stylize a camera (or a looping video or image) live in a window; `?` in the window lists the keys.
    Live(LiveArgs),
}

#[derive(Args, Debug, Clone)]
pub struct EvaluateArgs {
    /// The network: a shipped style, a network file (burnish, pytorch/examples) or an ml5.js folder.
    pub model: String,
    /// The style image the network is meant to paint like.
    #[arg(long)]
    pub style: PathBuf,
    /// Folder of photos to score it on (best kept out of its training).
    #[arg(long)]
    pub photos: PathBuf,
    /// Largest side of each photo in pixels.
    #[arg(long, default_value_t = 256)]
    pub size: u32,
    /// Score only the photos `train --hold-out N` kept out of training (every N-th by name, from
    /// the first).
    #[arg(long)]
    pub held_out: Option<usize>,
    /// Score only the first N photos (by name, after --held-out).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Also score an N-evaluation Gatys run from each photo on the network's own training loss
    /// (Johnson et al. compare with 50-100 L-BFGS iterations).
    #[arg(long)]
    pub gatys: Option<usize>,
    /// A sheet of photo | network (| Gatys) per photo (.png or .jpg).
    #[arg(long)]
    pub sheet: Option<PathBuf>,
    /// The numbers as JSON.
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub compute: Compute,
}

#[derive(Args, Debug, Clone)]
pub struct LiveArgs {
    /// Camera number (`--camera list` lists them).
    #[arg(long, conflicts_with = "source")]
    pub camera: Option<String>,
    /// A video (looped) or an image to use as the camera, played at its own frame rate.
    #[arg(long)]
    pub source: Option<PathBuf>,
    /// The first style; the arrow keys step through every shipped style (and this one).
    #[arg(short, long, default_value = burnish::feedforward::shipped::DEFAULT)]
    pub model: String,
    /// Frame rate the processing size is adjusted to hold.
    #[arg(long, default_value_t = 30.0)]
    pub fps: f64,
    /// Fixed processing size (largest side, pixels) instead of automatic.
    #[arg(long)]
    pub size: Option<u32>,
    /// Window size, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x720")]
    pub window: String,
    #[arg(long)]
    pub fullscreen: bool,
    /// Folder for screenshots (Enter / F12 in the window).
    #[arg(long, default_value = ".")]
    pub screenshots: PathBuf,
    /// Blend of the stylized frame and the camera's: 1 = fully stylized.
    #[arg(long, default_value_t = 1.0)]
    pub strength: f32,
    #[arg(long, alias = "preserve-color")]
    pub preserve_colour: bool,
    /// Blend each output with the previous one where the picture did not move (runs on the host).
    #[arg(long, value_enum, default_value_t = Switch::Off)]
    pub stabilize: Switch,
    /// At exit, write the run's numbers (frames/s, network ms, latency, size) as JSON.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Close the window after this many seconds (benchmarks, tests).
    #[arg(long)]
    pub seconds: Option<f64>,
    #[command(flatten)]
    pub compute: Compute,
}

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Style image.
    pub style: PathBuf,
    /// Folder of training photos (unreadable files are skipped with a warning).
    #[arg(long)]
    pub photos: PathBuf,
    /// Output folder: checkpoint.safetensors, model.safetensors, losses.csv/.png, previews, config.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue from OUT/checkpoint.safetensors exactly where it stopped (same options; --iterations may grow).
    #[arg(long)]
    pub resume: bool,
    /// Start from this network instead of fresh parameters: a shipped style, a burnish or
    /// pytorch/examples file, or an ml5.js folder (its layout is kept; with a --width wider than its
    /// own it is widened first, computing exactly what it computed: a full network from a light one).
    #[arg(long)]
    pub init: Option<String>,
    /// Total iterations (batches).
    #[arg(long, default_value_t = train_defaults().iterations)]
    pub iterations: usize,
    #[arg(long, default_value_t = train_defaults().batch)]
    pub batch: usize,
    /// Side of the random square crops, taken from the photo scaled to this short side.
    #[arg(long, default_value_t = train_defaults().crop)]
    pub crop: u32,
    /// Adam learning rate.
    #[arg(long, default_value_t = train_defaults().adam.lr)]
    pub lr: f64,
    /// Channels of the network's first layer (32 = Johnson et al.; the rest scale with it). Default:
    /// 32, or the --init network's own width.
    #[arg(long)]
    pub width: Option<usize>,
    #[arg(long, default_value_t = train_content_layer())]
    pub content_layer: String,
    #[arg(long, default_value_t = train_defaults().loss.content_weight)]
    pub content_weight: f64,
    /// Style layers: names or a preset (shallow = conv_1..5).
    #[arg(long, default_value_t = train_style_layers())]
    pub style_layers: String,
    #[arg(long, default_value_t = train_defaults().loss.style_weight)]
    pub style_weight: f64,
    /// A weight per style layer: `gram` (1 / the style's Gram energy at each layer, so each
    /// layer's term is its relative error; the numbers go into the config), `none` (1 each) or a
    /// comma list.
    #[arg(long, default_value = "gram")]
    pub style_layer_weights: String,
    /// Total-variation weight (0 = off).
    #[arg(long, default_value_t = train_defaults().loss.tv_weight)]
    pub tv_weight: f64,
    /// VGG feature scale k (see README, Calibration).
    #[arg(long, default_value_t = train_defaults().loss.feature_scale)]
    pub feature_scale: f64,
    /// Largest side of the style image when its Gram matrices are taken.
    #[arg(long, default_value_t = train_defaults().style_size)]
    pub style_size: u32,
    /// Keep every N-th photo (by name, from the first) out of training, for `evaluate --held-out N`
    /// (0: train on all).
    #[arg(long, default_value_t = 0)]
    pub hold_out: usize,
    /// Seed for the initial network, the data order and the crops.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write a checkpoint every N iterations (and on Ctrl-C and at the end).
    #[arg(long, default_value_t = 200)]
    pub checkpoint_every: usize,
    /// Stylize the preview photo every N iterations (OUT/preview-ITER.jpg).
    #[arg(long, default_value_t = 200)]
    pub preview_every: usize,
    /// The preview photo (default: the first photo of the folder).
    #[arg(long)]
    pub preview: Option<PathBuf>,
    /// Stop after this many seconds (checkpointing first), e.g. to fit a time slot.
    #[arg(long)]
    pub max_seconds: Option<f64>,
    /// Use burn's plain tensor ops for the Gram matrix and losses instead of the WGSL kernels.
    #[arg(long)]
    pub no_kernels: bool,
    #[command(flatten)]
    pub compute: Compute,
}

/// Where to compute and how much to say (every subcommand that computes).
#[derive(Args, Debug, Clone)]
pub struct Compute {
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

/// What happens to each stylized frame.
#[derive(Args, Debug, Clone)]
pub struct FrameArgs {
    /// Blend of the stylized frame and the original: 1 = fully stylized, 0 = the original.
    #[arg(long, default_value_t = 1.0)]
    pub strength: f32,
    /// Keep the original's colours: the stylized luminance with the original's chroma.
    #[arg(long, alias = "preserve-color")]
    pub preserve_colour: bool,
    /// Video: blend each output with the previous one where the input did not move (less
    /// flicker; reset on scene cuts).
    #[arg(long, value_enum, default_value_t = Switch::On)]
    pub stabilize: Switch,
    /// Video: frames per network pass (default: 4 on a GPU, 1 on the CPU).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Video: write a JSON report (frames, time, frames/s, the network's share, the video's properties).
    #[arg(long)]
    pub report: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    On,
    Off,
}

/// The inputs of a study that renders one sheet.
#[derive(Args, Debug, Clone)]
pub struct Study {
    /// Content image.
    pub content: PathBuf,
    /// Style image.
    pub style: PathBuf,
    /// Output sheet (.png).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Largest side of each result in pixels.
    #[arg(long, default_value_t = 256)]
    pub size: u32,
}

#[derive(Args, Debug, Clone)]
pub struct GatysArgs {
    /// Loss evaluations (forward + backward passes), counted as the PyTorch tutorial counts them.
    #[arg(long, default_value_t = 300)]
    pub evaluations: usize,
    /// Style layers: comma-separated names, or a preset: shallow (conv_1..5), mid (conv_6..10), deep (conv_11..15).
    #[arg(long, default_value_t = default_style_layers())]
    pub style_layers: String,
    /// Style loss weight.
    #[arg(long, default_value_t = LossConfig::gatys().style_weight)]
    pub style_weight: f64,
    /// Total-variation weight (0 = off).
    #[arg(long, default_value_t = LossConfig::gatys().tv_weight)]
    pub tv_weight: f64,
    /// Feature scale k: VGG activations are divided by k (calibrates the seed's weights to this
    /// network; see README). 1 = the raw Caffe-convention network.
    #[arg(long)]
    pub feature_scale: Option<f64>,
    /// Seed for the noise image.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Optimiser.
    #[arg(long, value_enum, default_value_t = OptimizerArg::Lbfgs)]
    pub optimizer: OptimizerArg,
    /// L-BFGS line search (none = torch.optim.LBFGS's default fixed step).
    #[arg(long, value_enum, default_value_t = LineSearchArg::StrongWolfe)]
    pub line_search: LineSearchArg,
    /// Adam learning rate (pixels in 0..1).
    #[arg(long, default_value_t = 0.02)]
    pub adam_lr: f64,
    /// Largest side of the style image before its Gram matrices are taken (default: the output size).
    #[arg(long)]
    pub style_size: Option<u32>,
    /// VGG19 weights: burnish's safetensors or torchvision's vgg19 (.pth / .safetensors). Default: embedded.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Also write the image every N evaluations (as OUT-stem.eN.ext).
    #[arg(long)]
    pub save_every: Option<usize>,
    /// Write a JSON report: final losses, time, evaluations, adapter, all settings, loss history.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Write the loss curves as a PNG.
    #[arg(long)]
    pub loss_plot: Option<PathBuf>,
    /// Use burn's plain tensor ops for the Gram matrix and losses instead of burnish's WGSL kernels.
    #[arg(long)]
    pub no_kernels: bool,
    #[command(flatten)]
    pub compute: Compute,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitArg {
    Content,
    Noise,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimizerArg {
    Lbfgs,
    Adam,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineSearchArg {
    StrongWolfe,
    None,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceArg {
    /// A hardware GPU through wgpu if there is one, else the CPU.
    Auto,
    /// burn's wgpu backend (Vulkan, Metal, DX12) on its default adapter, a software one (lavapipe) included.
    Wgpu,
    /// burn's CPU backend.
    Cpu,
}

impl From<DeviceArg> for DeviceChoice {
    fn from(d: DeviceArg) -> Self {
        match d {
            DeviceArg::Auto => Self::Auto,
            DeviceArg::Wgpu => Self::Wgpu,
            DeviceArg::Cpu => Self::Cpu,
        }
    }
}

/// The device for `--device`, with its notes and name printed unless quiet.
/// `BURNISH_CPU_BACKEND=ndarray` puts CPU work on burn's ndarray backend instead of flex (to compare).
pub fn select_device(compute: &Compute) -> anyhow::Result<ComputeDevice> {
    let mut sel = device::select(compute.device.into())?;
    if sel.in_host_memory() && std::env::var("BURNISH_CPU_BACKEND").as_deref() == Ok("ndarray") {
        sel = ComputeDevice { notes: sel.notes, ..device::cpu_backend(CpuBackend::NdArray) };
    }
    if !compute.quiet {
        for note in &sel.notes {
            eprintln!("note: {note}");
        }
        eprintln!("device: {}", sel.info);
    }
    Ok(sel)
}

/// Parse "N" or "WxH", each side within the one size rule.
pub fn parse_size(s: &str) -> anyhow::Result<(u32, u32)> {
    let side = |t: &str| -> anyhow::Result<u32> {
        let n = t.trim().parse::<u32>().map_err(|_| anyhow::anyhow!("bad size '{s}': use N or WxH"))?;
        check_side("--size", n)?;
        Ok(n)
    };
    match s.split_once(['x', 'X']) {
        Some((w, h)) => Ok((side(w)?, side(h)?)),
        None => {
            let n = side(s)?;
            Ok((n, n))
        }
    }
}
