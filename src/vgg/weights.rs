//! Reading VGG19 convolution weights: burnish's safetensors file (`conv1_1.weight`, Caffe/Keras
//! input convention from its metadata) or torchvision's VGG19 (`features.N.weight` in a `.pth`
//! or safetensors file, torchvision's RGB mean/std convention).

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};
use super::taps::VGG19_CONVS;

/// How the network expects its input.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub enum InputConvention {
    /// BGR, 0..255, minus the ImageNet means B=103.939 G=116.779 R=123.68 (Caffe/Keras).
    CaffeBgr,
    /// RGB 0..1, (x - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225] (torchvision).
    TorchvisionRgb,
}

impl InputConvention {
    /// Per-RGB-channel (mean, std) applied to an RGB 0..1 image: x_norm = (x - mean) / std.
    /// For Caffe the channel order is handled by permuting the first convolution's inputs.
    pub fn rgb_mean_std(&self) -> ([f32; 3], [f32; 3]) {
        match self {
            InputConvention::CaffeBgr => ([123.68 / 255.0, 116.779 / 255.0, 103.939 / 255.0], [1.0 / 255.0; 3]),
            InputConvention::TorchvisionRgb => ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        }
    }

    /// The feature scale k that gives the seed's loss weights their meaning on a network of this
    /// convention (README, "Calibration"): 58 ≈ 255 × 0.226 maps the Caffe input scale (±128)
    /// onto torchvision's (±2, the scale the seed's weights were tuned for); torchvision's own
    /// network needs none.
    pub fn calibrated_feature_scale(&self) -> f64 {
        match self {
            InputConvention::CaffeBgr => 58.0,
            InputConvention::TorchvisionRgb => 1.0,
        }
    }
}

/// One convolution: weight [out, in, 3, 3] and bias [out], as f32 on the host.
#[derive(Clone, Debug)]
pub struct ConvWeights {
    pub out_channels: usize,
    pub in_channels: usize,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// All 16 convolutions of VGG19 and the input convention they expect.
#[derive(Clone, Debug)]
pub struct VggWeights {
    pub convs: Vec<ConvWeights>,
    pub convention: InputConvention,
    /// Where the weights came from (path or "embedded").
    pub source: String,
}

/// (in, out) channels of VGG19's convolutions.
pub fn vgg19_channels() -> [(usize, usize); 16] {
    [
        (3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256), (256, 256),
        (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512),
    ]
}

/// Index of each convolution in torchvision's `vgg19().features`.
pub const TORCHVISION_FEATURE_INDEX: [usize; 16] = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34];

/// A raw tensor read from a file: shape and f32 values.
pub(crate) struct Raw {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// The weights that ship inside the binary (weights/vgg19-imagenet-conv.f16.safetensors).
#[cfg(not(target_arch = "wasm32"))]
pub static EMBEDDED_VGG19: &[u8] = include_bytes!("../../weights/vgg19-imagenet-conv.f16.safetensors");

impl VggWeights {
    #[cfg(not(target_arch = "wasm32"))]
    pub fn embedded() -> Result<Self> {
        Self::from_bytes(EMBEDDED_VGG19, Path::new("<embedded vgg19-imagenet-conv.f16.safetensors>"))
    }

    /// Load from a file: safetensors (either naming) or a PyTorch `.pth` state dict.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Read { path: path.into(), source })?;
        if bytes.is_empty() {
            return Err(Error::EmptyFile { path: path.into() });
        }
        if looks_like_safetensors(&bytes) {
            Self::from_bytes(&bytes, path)
        } else {
            Self::from_pytorch(path)
        }
    }

    /// The input convention of a weights file without loading its tensors: safetensors files say
    /// it in their metadata (or by their key names); anything else is a torchvision checkpoint.
    pub fn convention_of(path: &Path) -> Result<InputConvention> {
        use std::io::Read;
        let err = |reason: String| Error::Weights { path: path.into(), reason };
        let mut file = std::fs::File::open(path).map_err(|source| Error::Read { path: path.into(), source })?;
        let mut len = [0u8; 8];
        if file.read_exact(&mut len).is_err() {
            return Ok(InputConvention::TorchvisionRgb);
        }
        let n = u64::from_le_bytes(len);
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        if n < 2 || n + 8 > size {
            return Ok(InputConvention::TorchvisionRgb);
        }
        let mut header = vec![0u8; n as usize];
        file.read_exact(&mut header).map_err(|e| err(e.to_string()))?;
        if header[0] != b'{' {
            return Ok(InputConvention::TorchvisionRgb);
        }
        let header = String::from_utf8_lossy(&header);
        Ok(if header.contains("\"features.0.weight\"") || (header.contains("RGB") && !header.contains("BGR")) {
            InputConvention::TorchvisionRgb
        } else {
            InputConvention::CaffeBgr
        })
    }

    /// Parse a safetensors file held in memory.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let err = |reason: String| Error::Weights { path: path.into(), reason };
        if !looks_like_safetensors(bytes) {
            return Err(err("not a safetensors file (bad header); expected burnish's VGG19 safetensors or a torchvision vgg19 .pth/.safetensors".into()));
        }
        let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| err(format!("corrupt safetensors file: {e}")))?;
        let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| err(format!("corrupt safetensors header: {e}")))?;
        let mut raw = HashMap::new();
        for name in st.names() {
            let view = st.tensor(name).map_err(|e| err(e.to_string()))?;
            let data = decode(view.dtype(), view.data()).map_err(|e| err(format!("tensor {name}: {e}")))?;
            raw.insert(name.to_string(), Raw { shape: view.shape().to_vec(), data });
        }
        let preprocessing = meta.metadata().as_ref().and_then(|m| m.get("preprocessing").cloned());
        Self::from_raw(raw, preprocessing, path)
    }

    fn from_pytorch(path: &Path) -> Result<Self> {
        use burn::store::pytorch::PytorchReader;
        let err = |reason: String| Error::Weights { path: path.into(), reason };
        let reader = PytorchReader::new(path).map_err(|e| {
            err(format!("neither a safetensors file nor a readable PyTorch checkpoint ({e}); expected burnish's VGG19 safetensors or torchvision's vgg19 state dict"))
        })?;
        let mut raw = HashMap::new();
        for key in reader.keys() {
            // Nested checkpoints ({"state_dict": {...}}) come flattened with a prefix; keep the tail.
            let short = match key.find("features.") {
                Some(i) => key[i..].to_string(),
                None => key.clone(),
            };
            if !short.starts_with("features.") {
                continue;
            }
            let t = reader.get(&key).expect("listed key");
            let shape = t.shape().to_vec();
            let data = burn::store::bridge::into_data(burn::store::bridge::from_pytorch(t.clone()))
                .map_err(|e| err(format!("tensor {key}: {e:?}")))?
                .try_into_vec_as::<f32>()
                .map_err(|e| err(format!("tensor {key}: {e:?}")))?;
            raw.insert(short, Raw { shape, data });
        }
        Self::from_raw(raw, None, path)
    }

    fn from_raw(mut raw: HashMap<String, Raw>, preprocessing: Option<String>, path: &Path) -> Result<Self> {
        let err = |reason: String| Error::Weights { path: path.into(), reason };
        let torchvision = raw.contains_key("features.0.weight");
        if !torchvision && !raw.contains_key("conv1_1.weight") {
            let mut keys: Vec<_> = raw.keys().cloned().collect();
            keys.sort();
            keys.truncate(8);
            return Err(err(format!(
                "no VGG19 layers found (expected conv1_1.weight .. conv5_4.bias, or torchvision's features.0.weight ..); the file has {}",
                if keys.is_empty() { "no tensors".to_string() } else { keys.join(", ") }
            )));
        }
        let convention = if torchvision {
            InputConvention::TorchvisionRgb
        } else {
            match preprocessing.as_deref() {
                Some(p) if p.contains("BGR") => InputConvention::CaffeBgr,
                Some(p) if p.contains("RGB") => InputConvention::TorchvisionRgb,
                // burnish's own file always says; without metadata assume the Caffe convention.
                _ => InputConvention::CaffeBgr,
            }
        };
        let mut convs = Vec::with_capacity(16);
        for (i, (cin, cout)) in vgg19_channels().into_iter().enumerate() {
            let name = VGG19_CONVS[i];
            let (wk, bk) = if torchvision {
                let n = TORCHVISION_FEATURE_INDEX[i];
                (format!("features.{n}.weight"), format!("features.{n}.bias"))
            } else {
                (format!("{name}.weight"), format!("{name}.bias"))
            };
            let w = raw.remove(&wk).ok_or_else(|| err(format!("layer {name} is missing: no tensor '{wk}'")))?;
            let b = raw.remove(&bk).ok_or_else(|| err(format!("layer {name} is missing: no tensor '{bk}'")))?;
            if w.shape != [cout, cin, 3, 3] {
                return Err(err(format!("layer {name} ('{wk}') has shape {:?}, expected [{cout}, {cin}, 3, 3]", w.shape)));
            }
            if b.shape != [cout] {
                return Err(err(format!("layer {name} ('{bk}') has shape {:?}, expected [{cout}]", b.shape)));
            }
            if w.data.iter().chain(b.data.iter()).any(|v| !v.is_finite()) {
                return Err(err(format!("layer {name} contains NaN or infinite values")));
            }
            convs.push(ConvWeights { out_channels: cout, in_channels: cin, weight: w.data, bias: b.data });
        }
        Ok(Self { convs, convention, source: path.display().to_string() })
    }
}

pub(crate) fn looks_like_safetensors(bytes: &[u8]) -> bool {
    if bytes.len() < 10 {
        return false;
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    n > 1 && n < bytes.len() as u64 && bytes[8] == b'{'
}

pub(crate) fn decode(dtype: safetensors::Dtype, data: &[u8]) -> std::result::Result<Vec<f32>, String> {
    use safetensors::Dtype;
    Ok(match dtype {
        Dtype::F32 => data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect(),
        Dtype::F16 => data.chunks_exact(2).map(|c| half::f16::from_le_bytes(c.try_into().unwrap()).to_f32()).collect(),
        Dtype::BF16 => data.chunks_exact(2).map(|c| half::bf16::from_le_bytes(c.try_into().unwrap()).to_f32()).collect(),
        Dtype::F64 => data.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32).collect(),
        other => return Err(format!("unsupported dtype {other:?}; expected a float type")),
    })
}
