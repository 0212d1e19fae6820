//! Reading and writing feed-forward style networks:
//! - burnish's own safetensors (pytorch/examples names, the layout and training config in the metadata);
//! - pytorch/examples `TransformerNet` state dicts (`.pth`, or safetensors with the same names);
//! - ml5.js / deeplearn.js checkpoints (`manifest.json` + raw little-endian f32 files).
//!
//! Every loader checks names, shapes and values against the layout and says what is wrong.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::net::NetSpec;
use crate::vgg::weights::{Raw, decode, looks_like_safetensors};
use crate::error::{Error, Result};

/// Metadata keys in burnish's safetensors files.
pub const META_SPEC: &str = "burnish.spec";
pub const META_CONFIG: &str = "burnish.config";

/// A network read from a file, on the host.
#[derive(Clone, Debug)]
pub struct NetFile {
    pub spec: NetSpec,
    /// One vector per parameter, in [`NetSpec::param_shapes`] order.
    pub values: Vec<Vec<f32>>,
    /// The training configuration saved with burnish's own networks.
    pub config: Option<serde_json::Value>,
    pub format: &'static str,
    pub source: String,
}

fn err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Weights { path: path.into(), reason: reason.into() }
}

/// Load a network from a path: an ml5 checkpoint folder (or its manifest.json), a safetensors
/// file, or a PyTorch `.pth` state dict.
pub fn load(path: &Path) -> Result<NetFile> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Read { path: path.into(), source })?;
    if meta.is_dir() {
        let manifest = path.join("manifest.json");
        if manifest.is_file() {
            return load_ml5(&manifest);
        }
        return Err(err(path, "is a folder without manifest.json; expected an ml5.js checkpoint folder, a .safetensors or a .pth file"));
    }
    if path.file_name().is_some_and(|n| n == "manifest.json") {
        return load_ml5(path);
    }
    let bytes = std::fs::read(path).map_err(|source| Error::Read { path: path.into(), source })?;
    if bytes.is_empty() {
        return Err(Error::EmptyFile { path: path.into() });
    }
    if looks_like_safetensors(&bytes) {
        load_safetensors(&bytes, path)
    } else {
        load_pytorch(path)
    }
}

/// Parse a safetensors network held in memory (burnish's own or pytorch/examples names).
pub fn load_safetensors(bytes: &[u8], path: &Path) -> Result<NetFile> {
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| err(path, format!("corrupt safetensors file: {e}")))?;
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| err(path, format!("corrupt safetensors header: {e}")))?;
    let mut raw = HashMap::new();
    for name in st.names() {
        let view = st.tensor(name).map_err(|e| err(path, e.to_string()))?;
        let data = decode(view.dtype(), view.data()).map_err(|e| err(path, format!("tensor {name}: {e}")))?;
        raw.insert(name.to_string(), Raw { shape: view.shape().to_vec(), data });
    }
    let meta = header.metadata().clone().unwrap_or_default();
    let spec = match meta.get(META_SPEC) {
        Some(s) => serde_json::from_str::<NetSpec>(s).map_err(|e| err(path, format!("bad {META_SPEC} metadata: {e}")))?,
        None => pytorch_spec(&raw, path)?,
    };
    let config = meta.get(META_CONFIG).and_then(|s| serde_json::from_str(s).ok());
    let format = if meta.contains_key(META_SPEC) { "burnish safetensors" } else { "pytorch/examples safetensors" };
    let values = from_raw(&spec, raw, path)?;
    Ok(NetFile { spec, values, config, format, source: path.display().to_string() })
}

fn load_pytorch(path: &Path) -> Result<NetFile> {
    use burn::store::pytorch::PytorchReader;
    let reader = PytorchReader::new(path).map_err(|e| {
        err(path, format!("not a style network: neither safetensors, an ml5.js manifest.json nor a readable PyTorch checkpoint ({e})"))
    })?;
    let mut raw = HashMap::new();
    for key in reader.keys() {
        let short = key.strip_prefix("state_dict.").unwrap_or(&key).to_string();
        let t = reader.get(&key).expect("listed key");
        let shape = t.shape().to_vec();
        let data = burn::store::bridge::into_data(burn::store::bridge::from_pytorch(t.clone()))
            .map_err(|e| err(path, format!("tensor {key}: {e:?}")))?
            .try_into_vec_as::<f32>()
            .map_err(|e| err(path, format!("tensor {key}: {e:?}")))?;
        raw.insert(short, Raw { shape, data });
    }
    let spec = pytorch_spec(&raw, path)?;
    let values = from_raw(&spec, raw, path)?;
    Ok(NetFile { spec, values, config: None, format: "pytorch/examples .pth", source: path.display().to_string() })
}

/// pytorch/examples' layout, its width read from conv1's weight.
fn pytorch_spec(raw: &HashMap<String, Raw>, path: &Path) -> Result<NetSpec> {
    let Some(w) = raw.get("conv1.conv2d.weight") else {
        let mut keys: Vec<_> = raw.keys().cloned().collect();
        keys.sort();
        keys.truncate(6);
        return Err(err(
            path,
            format!(
                "not a TransformerNet: no 'conv1.conv2d.weight' (pytorch/examples naming); the file has {}",
                if keys.is_empty() { "no tensors".into() } else { keys.join(", ") }
            ),
        ));
    };
    if w.shape.len() != 4 || w.shape[1] != 3 || w.shape[2] != 9 || w.shape[0] == 0 {
        return Err(err(path, format!("conv1.conv2d.weight has shape {:?}, expected [width, 3, 9, 9]", w.shape)));
    }
    let mut spec = NetSpec::johnson(w.shape[0]);
    spec.residual_blocks = (1..).take_while(|r| raw.contains_key(&format!("res{r}.conv1.conv2d.weight"))).count();
    Ok(spec)
}

/// Match named tensors to the layout; running statistics (old PyTorch InstanceNorm) are ignored.
fn from_raw(spec: &NetSpec, mut raw: HashMap<String, Raw>, path: &Path) -> Result<Vec<Vec<f32>>> {
    raw.retain(|k, _| !(k.ends_with("running_mean") || k.ends_with("running_var") || k.ends_with("num_batches_tracked")));
    let mut values = Vec::new();
    for (name, shape) in spec.param_shapes() {
        let r = raw.remove(&name).ok_or_else(|| err(path, format!("parameter '{name}' is missing (expected shape {shape:?})")))?;
        if r.shape != shape {
            return Err(err(path, format!("parameter '{name}' has shape {:?}, expected {shape:?}", r.shape)));
        }
        check_finite(&name, &r.data, path)?;
        values.push(r.data);
    }
    if !raw.is_empty() {
        let mut extra: Vec<_> = raw.into_keys().collect();
        extra.sort();
        extra.truncate(6);
        return Err(err(path, format!("unexpected tensors for this layout: {}", extra.join(", "))));
    }
    Ok(values)
}

fn check_finite(name: &str, v: &[f32], path: &Path) -> Result<()> {
    if v.iter().any(|x| !x.is_finite()) {
        return Err(err(path, format!("parameter '{name}' contains NaN or infinite values")));
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct Ml5Entry {
    filename: String,
    shape: Vec<usize>,
}

/// An ml5.js fast-style-transfer checkpoint: Variable, Variable_1 .. Variable_47; each layer is
/// (kernel, shift, scale); kernels are [h, w, in, out] (transposed: [h, w, out, in]).
pub fn load_ml5(manifest: &Path) -> Result<NetFile> {
    let dir = manifest.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let text = std::fs::read_to_string(manifest).map_err(|source| Error::Read { path: manifest.into(), source })?;
    let entries: BTreeMap<String, Ml5Entry> =
        serde_json::from_str(&text).map_err(|e| err(manifest, format!("not an ml5.js manifest ({e}); expected {{\"Variable\": {{\"filename\", \"shape\"}}, ...}}")))?;
    let spec = NetSpec::ml5();
    let layers = spec.layers();
    let expected = layers.len() * 3;
    if entries.len() != expected {
        return Err(err(manifest, format!("has {} variables, expected {expected} (lengstrom/fast-style-transfer layout)", entries.len())));
    }
    let read = |i: usize, want: &[usize]| -> Result<Vec<f32>> {
        let key = if i == 0 { "Variable".to_string() } else { format!("Variable_{i}") };
        let e = entries.get(&key).ok_or_else(|| err(manifest, format!("variable '{key}' is missing")))?;
        if e.shape != want {
            return Err(err(manifest, format!("variable '{key}' has shape {:?}, expected {want:?}", e.shape)));
        }
        let file = dir.join(&e.filename);
        let bytes = std::fs::read(&file).map_err(|source| Error::Read { path: file.clone(), source })?;
        let n: usize = want.iter().product();
        if bytes.len() != 4 * n {
            return Err(err(&file, format!("holds {} bytes, expected {} ({n} little-endian f32 for {key})", bytes.len(), 4 * n)));
        }
        let v: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
        check_finite(&key, &v, &file)?;
        Ok(v)
    };
    let mut values = Vec::new();
    for (li, l) in layers.iter().enumerate() {
        let (k, cin, cout) = (l.k, l.cin, l.cout);
        let transposed = matches!(l.kind, super::net::LayerKind::Up(_));
        let tf = if transposed { read(3 * li, &[k, k, cout, cin])? } else { read(3 * li, &[k, k, cin, cout])? };
        // Both layouts map with the same permutation (3, 2, 0, 1): conv [h,w,in,out] -> [out,in,h,w],
        // transposed [h,w,out,in] -> [in,out,h,w].
        let (a, b) = if transposed { (cout, cin) } else { (cin, cout) };
        let mut w = vec![0.0; tf.len()];
        for y in 0..k {
            for x in 0..k {
                for i in 0..a {
                    for o in 0..b {
                        w[((o * a + i) * k + y) * k + x] = tf[((y * k + x) * a + i) * b + o];
                    }
                }
            }
        }
        values.push(w);
        let shift = read(3 * li + 1, &[cout])?;
        let scale = read(3 * li + 2, &[cout])?;
        values.push(scale);
        values.push(shift);
    }
    Ok(NetFile { spec, values, config: None, format: "ml5.js checkpoint", source: dir.display().to_string() })
}

/// Serialise a network as safetensors (f32, or f16 for shipping), with its layout and config.
pub fn to_safetensors(spec: &NetSpec, values: &[Vec<f32>], config: Option<&serde_json::Value>, f16: bool) -> Result<Vec<u8>> {
    use safetensors::tensor::{Dtype, TensorView};
    let shapes = spec.param_shapes();
    let bytes: Vec<Vec<u8>> = values
        .iter()
        .map(|v| if f16 { v.iter().flat_map(|x| half::f16::from_f32(*x).to_le_bytes()).collect() } else { v.iter().flat_map(|x| x.to_le_bytes()).collect() })
        .collect();
    let dtype = if f16 { Dtype::F16 } else { Dtype::F32 };
    let views: Vec<(String, TensorView)> = shapes
        .iter()
        .zip(&bytes)
        .map(|((name, shape), b)| Ok((name.clone(), TensorView::new(dtype, shape.clone(), b).map_err(|e| Error::InvalidOption(e.to_string()))?)))
        .collect::<Result<_>>()?;
    let mut meta = HashMap::new();
    meta.insert(META_SPEC.to_string(), serde_json::to_string(spec).expect("serialisable"));
    if let Some(c) = config {
        meta.insert(META_CONFIG.to_string(), c.to_string());
    }
    safetensors::serialize(views, Some(meta)).map_err(|e| Error::InvalidOption(e.to_string()))
}
