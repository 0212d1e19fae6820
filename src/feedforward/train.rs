//! Training a feed-forward style network (Johnson et al. 2016) with the Gatys losses: random
//! crops of photos in batches, Adam, checkpoints that resume exactly (parameters, Adam moments,
//! iteration; the data order is a pure function of the seed and the iteration).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::files;
use super::net::{NetSpec, TransformerNet};
use super::stylizer::Stylizer;
use crate::error::{Error, Result};
use crate::image::{RgbF32, files::{list_images, load_rgb}, tensor::frame_tensor};
use crate::loss::{LossConfig, LossTargets, PerceptualLoss};
use crate::optim::adam::{Adam, AdamConfig};
use crate::optim::{read_scalars, read_vecs};
use crate::vgg::Vgg19;

/// Everything that defines a training run (saved with the weights and in checkpoints).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainConfig {
    /// The style image it was trained on (file name only in shipped weights).
    pub style: String,
    /// Largest side of the style image when its Gram matrices are taken.
    pub style_size: u32,
    pub batch: usize,
    pub crop: u32,
    #[serde(flatten)]
    pub adam: AdamConfig,
    /// The loss; training needs a content layer.
    #[serde(flatten)]
    pub loss: LossConfig,
    pub width: usize,
    /// Total iterations (batches) to train for.
    pub iterations: usize,
    pub seed: u64,
    /// The network training started from (`--init`: a shipped style or a network file), if any;
    /// else fresh seeded parameters of width `width`.
    #[serde(default)]
    pub init: Option<String>,
    /// Every N-th photo of the sorted folder is kept out of training ([`split_held_out`]); 0: none.
    #[serde(default)]
    pub hold_out: usize,
}

impl TrainConfig {
    /// The training recipe ([`LossConfig::training`]): batch 2 of 128² crops of the whole scene
    /// against the style at 256 px (the style's strokes at twice the photo's scale, as lengstrom
    /// trains 256² photos against the full-size style), Adam lr 1e-3, width 32.
    pub fn defaults(style: &str) -> Self {
        Self {
            style: style.into(),
            style_size: 256,
            batch: 2,
            crop: 128,
            adam: AdamConfig::with_lr(1e-3),
            loss: LossConfig::training(),
            width: 32,
            iterations: 6_000,
            seed: 0,
            init: None,
            hold_out: 0,
        }
    }

    /// Checks every option (the bounds the command line documents).
    pub fn validate(&self) -> Result<()> {
        self.loss.validate()?;
        if self.loss.content_layer.is_none() {
            return Err(Error::InvalidOption("training needs a content layer".into()));
        }
        if !(self.adam.lr.is_finite() && self.adam.lr > 0.0) {
            return Err(Error::InvalidOption("--lr must be positive".into()));
        }
        if self.iterations == 0 || self.width == 0 || self.width > 256 || self.batch == 0 || self.batch > 64 {
            return Err(Error::InvalidOption("--iterations >= 1, --width 1..256, --batch 1..64".into()));
        }
        if self.hold_out == 1 {
            return Err(Error::InvalidOption("--hold-out 1 would hold every photo out: use 0 (none) or N >= 2".into()));
        }
        if self.crop < 16 || self.crop > 2048 || self.crop % 4 != 0 {
            return Err(Error::InvalidOption("--crop must be a multiple of 4 in 16..2048".into()));
        }
        Ok(())
    }
}

/// The held-out split of a sorted photo list: with `every` = N >= 2, the 1st, (N+1)-th,
/// (2N+1)-th, ... photo is held out (second list) and the rest is for training (first list);
/// with 0, nothing is held out. `train --hold-out N` and `evaluate --held-out N` share it.
pub fn split_held_out(files: Vec<PathBuf>, every: usize) -> (Vec<PathBuf>, Vec<PathBuf>) {
    if every == 0 {
        return (files, Vec::new());
    }
    let (held, train): (Vec<_>, Vec<_>) = files.into_iter().enumerate().partition(|(i, _)| i % every == 0);
    (train.into_iter().map(|(_, f)| f).collect(), held.into_iter().map(|(_, f)| f).collect())
}

/// The training photos of a folder, in a fixed (sorted) order.
pub struct Photos {
    pub files: Vec<PathBuf>,
    /// The last epoch's permutation, keyed by (seed, epoch).
    perm: std::sync::Mutex<Option<(u64, usize, Vec<usize>)>>,
}

impl Photos {
    /// The photos of `dir` less the held-out ones ([`split_held_out`] with `hold_out`).
    pub fn scan(dir: &Path, hold_out: usize) -> Result<Self> {
        let all = list_images(dir).map_err(|e| match e {
            Error::InvalidOption(m) => Error::InvalidOption(format!("{m}; point --photos at a folder of training photos")),
            other => other,
        })?;
        let (files, _) = split_held_out(all, hold_out);
        if files.is_empty() {
            return Err(Error::InvalidOption(format!("{} has no photo left for training after --hold-out {hold_out}", dir.display())));
        }
        Ok(Self { files, perm: Default::default() })
    }

    /// The photo index for sample `n` (counting all samples ever drawn): a fresh seeded
    /// permutation every epoch, so the order depends only on (seed, n).
    pub fn index(&self, seed: u64, n: usize) -> usize {
        let len = self.files.len();
        let (epoch, pos) = (n / len, n % len);
        let mut cache = self.perm.lock().unwrap_or_else(|e| e.into_inner());
        if !matches!(&*cache, Some((s, e, _)) if *s == seed && *e == epoch) {
            let mut perm: Vec<usize> = (0..len).collect();
            perm.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
            *cache = Some((seed, epoch, perm));
        }
        cache.as_ref().expect("just filled").2[pos]
    }
}

/// A random `crop`² crop of the photo scaled so that its short side is `crop` (the whole scene at
/// the scale the network will see it, as Johnson et al. resize to 256²), seeded by (seed, n).
pub fn random_crop(img: &RgbF32, crop: u32, seed: u64, n: usize) -> RgbF32 {
    let short = img.width.min(img.height);
    let img = if short != crop {
        let s = crop as f64 / short as f64;
        let side = |v: u32| if v == short { crop } else { ((v as f64 * s).round() as u32).max(crop) };
        img.resize_exact(side(img.width), side(img.height))
    } else {
        img.clone()
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed.wrapping_add(0xC0FFEE).wrapping_mul(31).wrapping_add(n as u64));
    let x0 = rng.random_range(0..=img.width - crop);
    let y0 = rng.random_range(0..=img.height - crop);
    let mut data = Vec::with_capacity((crop * crop * 3) as usize);
    for y in y0..y0 + crop {
        let row = ((y * img.width + x0) * 3) as usize;
        data.extend_from_slice(&img.data[row..row + (crop * 3) as usize]);
    }
    RgbF32::new(crop, crop, data)
}

/// Losses of one iteration (weighted).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct StepLosses {
    pub iteration: usize,
    pub total: f64,
    pub content: f64,
    pub style: f64,
    pub tv: f64,
}

/// A training run in progress.
pub struct Trainer {
    pub cfg: TrainConfig,
    pub net: TransformerNet,
    adam: Adam,
    /// Iterations done.
    pub iteration: usize,
    /// Samples drawn so far (skipped unreadable photos advance it too).
    pub samples: usize,
    pub history: Vec<StepLosses>,
    loss: PerceptualLoss,
    /// The style's Gram matrices, repeated to the batch once.
    style_grams: Vec<Tensor<3>>,
    device: Device,
    /// Unreadable photos seen (reported once each).
    pub skipped: Vec<(PathBuf, String)>,
}

impl Trainer {
    /// A fresh run: seeded initial parameters. `vgg` is built for `cfg.loss` ([`LossConfig::vgg`]).
    pub fn new(cfg: TrainConfig, style: &RgbF32, vgg: Vgg19, device: &Device) -> Result<Self> {
        let net = TransformerNet::init(NetSpec::johnson(cfg.width), cfg.seed, device);
        let adam = Adam::new(cfg.adam.clone(), &net.params);
        Self::assemble(cfg, style, vgg, device, net, adam, 0, Vec::new())
    }

    /// A run that starts from an existing network (`--init`; any layout burnish runs), with fresh
    /// Adam moments. `cfg.width` must be the network's.
    pub fn starting_from(cfg: TrainConfig, net: TransformerNet, style: &RgbF32, vgg: Vgg19, device: &Device) -> Result<Self> {
        if cfg.width != net.spec.width {
            return Err(Error::InvalidOption(format!("--width {} differs from the --init network's width {}", cfg.width, net.spec.width)));
        }
        let adam = Adam::new(cfg.adam.clone(), &net.params);
        Self::assemble(cfg, style, vgg, device, net, adam, 0, Vec::new())
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(cfg: TrainConfig, style: &RgbF32, vgg: Vgg19, device: &Device, net: TransformerNet, adam: Adam, samples: usize, history: Vec<StepLosses>) -> Result<Self> {
        cfg.validate()?;
        let loss = PerceptualLoss::new(cfg.loss.clone(), vgg)?;
        cfg.loss.check_size(cfg.crop, cfg.crop, "a crop")?;
        cfg.loss.check_size(style.width, style.height, "the style image (after resizing)")?;
        let style_grams = loss.style_grams(frame_tensor(style, device), cfg.batch);
        Ok(Self { iteration: adam.step, cfg, net, adam, samples, history, loss, style_grams, device: device.clone(), skipped: Vec::new() })
    }

    /// Draw the next batch [b, 3, crop, crop], skipping unreadable photos.
    fn next_batch(&mut self, photos: &Photos) -> Result<Tensor<4>> {
        let (b, c) = (self.cfg.batch, self.cfg.crop);
        let mut data = Vec::with_capacity(b * 3 * (c * c) as usize);
        let mut got = 0;
        let mut misses = 0;
        while got < b {
            let n = self.samples;
            self.samples += 1;
            let path = &photos.files[photos.index(self.cfg.seed, n)];
            match load_rgb(path) {
                Ok(img) => {
                    data.extend(random_crop(&img, c, self.cfg.seed, n).to_chw());
                    got += 1;
                }
                Err(e) => {
                    if !self.skipped.iter().any(|(p, _)| p == path) {
                        self.skipped.push((path.clone(), e.to_string()));
                    }
                    misses += 1;
                    if misses > photos.files.len() {
                        return Err(Error::InvalidOption("none of the photos in the folder could be read".into()));
                    }
                }
            }
        }
        Ok(Tensor::from_data(TensorData::new(data, [b, 3, c as usize, c as usize]), &self.device))
    }

    /// One iteration: forward, losses, backward, Adam. Returns the losses (one host read).
    pub async fn step(&mut self, photos: &Photos) -> Result<StepLosses> {
        let x = self.next_batch(photos)?; // [b, 3, crop, crop]
        let params: Vec<Tensor<1>> = self.net.params.iter().map(|p| p.clone().autodiff().require_grad()).collect();
        let net = TransformerNet { spec: self.net.spec.clone(), params: params.clone() };
        let targets = LossTargets { content: self.loss.content_target(x.clone()), style_grams: self.style_grams.clone() };
        let y = net.forward(x.autodiff()); // [b, 3, crop, crop]
        let terms = self.loss.evaluate(y, &targets);
        let grads = terms.total.backward();
        let r = read_scalars(vec![terms.total.inner(), terms.content.inner(), terms.style.inner(), terms.tv.inner()]).await?;
        if !r[0].is_finite() {
            return Err(Error::NonFinite(format!("training loss = {} at iteration {}", r[0], self.iteration + 1)));
        }
        let grads = params
            .iter()
            .map(|p| p.grad(&grads).ok_or_else(|| Error::Device("no gradient for a network parameter".into())))
            .collect::<Result<Vec<_>>>()?;
        self.adam.update(&mut self.net.params, grads);
        self.iteration += 1;
        let l = StepLosses { iteration: self.iteration, total: r[0], content: r[1], style: r[2], tv: r[3] };
        self.history.push(l);
        Ok(l)
    }

    /// The network as it stands, for stylizing (previews).
    pub fn stylizer(&self) -> Stylizer {
        Stylizer::from_net(self.net.clone(), &self.device, format!("training at iteration {}", self.iteration))
    }

    /// Everything needed to resume: parameters, Adam moments, counters, config, loss history.
    pub async fn checkpoint_bytes(&self) -> Result<Vec<u8>> {
        self.checkpoint_from(&read_vecs(self.state_tensors()).await?)
    }

    /// Parameters, then Adam's m, then v, in the network's order.
    fn state_tensors(&self) -> Vec<Tensor<1>> {
        self.net.params.iter().chain(&self.adam.m).chain(&self.adam.v).cloned().collect()
    }

    /// The checkpoint ([`Trainer::checkpoint_bytes`]) and the model (weights, config and `extra`
    /// fields such as training time and device in its metadata; f16 halves the size) from one
    /// read of the parameters and Adam moments.
    pub async fn save_bytes(&self, f16: bool, extra: &[(&str, serde_json::Value)]) -> Result<(Vec<u8>, Vec<u8>)> {
        let k = self.net.params.len();
        let host = read_vecs(self.state_tensors()).await?;
        let checkpoint = self.checkpoint_from(&host)?;
        let model = self.model_from(&host[..k], f16, extra)?;
        Ok((checkpoint, model))
    }

    /// `host`: [`Trainer::state_tensors`] read to the host.
    fn checkpoint_from(&self, host: &[Vec<f32>]) -> Result<Vec<u8>> {
        use safetensors::tensor::{Dtype, TensorView};
        let names = self.net.names();
        let k = names.len();
        let mut blobs: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
        for (i, prefix) in ["", "adam.m.", "adam.v."].into_iter().enumerate() {
            for (name, v) in names.iter().zip(&host[i * k..(i + 1) * k]) {
                blobs.push((format!("{prefix}{name}"), vec![v.len()], v.iter().flat_map(|x| x.to_le_bytes()).collect()));
            }
        }
        let views: Vec<(String, TensorView)> = blobs
            .iter()
            .map(|(n, s, b)| (n.clone(), TensorView::new(Dtype::F32, s.clone(), b).expect("consistent sizes")))
            .collect();
        let mut meta = HashMap::new();
        meta.insert(files::META_SPEC.into(), serde_json::to_string(&self.net.spec).expect("serialisable"));
        meta.insert(files::META_CONFIG.into(), serde_json::to_string(&self.cfg).expect("serialisable"));
        meta.insert("burnish.iteration".into(), self.iteration.to_string());
        meta.insert("burnish.samples".into(), self.samples.to_string());
        meta.insert("burnish.history".into(), serde_json::to_string(&self.history).expect("serialisable"));
        safetensors::serialize(views, Some(meta)).map_err(|e| Error::InvalidOption(e.to_string()))
    }

    /// Resume from [`Trainer::checkpoint_bytes`]. `cfg.iterations` may differ (train longer);
    /// everything else must match the checkpoint's config.
    pub fn resume(bytes: &[u8], path: &Path, cfg: TrainConfig, style: &RgbF32, vgg: Vgg19, device: &Device) -> Result<Self> {
        let err = |reason: String| Error::Weights { path: path.into(), reason };
        let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| err(format!("corrupt checkpoint: {e}")))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| err(format!("corrupt checkpoint: {e}")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let get = |k: &str| meta.get(k).cloned().ok_or_else(|| err(format!("not a burnish training checkpoint (no {k})")));
        let saved: TrainConfig = serde_json::from_str(&get(files::META_CONFIG)?).map_err(|e| err(format!("bad config: {e}")))?;
        let spec: NetSpec = serde_json::from_str(&get(files::META_SPEC)?).map_err(|e| err(format!("bad spec: {e}")))?;
        // The checkpoint holds its config as JSON, and serde_json's float parsing can come back an
        // ulp off (the derived per-layer style weights): compare the options through the same round
        // trip, and go on with the caller's exact values, which are the ones the run started with.
        let as_saved: TrainConfig = serde_json::from_str(&serde_json::to_string(&cfg).expect("serialisable")).map_err(|e| err(format!("bad config: {e}")))?;
        if (TrainConfig { iterations: cfg.iterations, ..saved.clone() }) != as_saved {
            return Err(Error::InvalidOption(format!(
                "--resume: the options differ from the checkpoint's ({}); resume with the same style and options (only --iterations may change)",
                serde_json::to_string(&saved).unwrap_or_default()
            )));
        }
        let iteration: usize = get("burnish.iteration")?.parse().map_err(|_| err("bad iteration".into()))?;
        let samples: usize = get("burnish.samples")?.parse().map_err(|_| err("bad sample count".into()))?;
        let history: Vec<StepLosses> = serde_json::from_str(&get("burnish.history")?).map_err(|e| err(format!("bad history: {e}")))?;
        let load = |name: &str, n: usize| -> Result<Tensor<1>> {
            let view = st.tensor(name).map_err(|_| err(format!("tensor {name} is missing")))?;
            let v = crate::vgg::weights::decode(view.dtype(), view.data()).map_err(err)?;
            if v.len() != n {
                return Err(err(format!("tensor {name} has {} values, expected {n}", v.len())));
            }
            Ok(Tensor::from_data(TensorData::new(v, [n]), device))
        };
        let (mut p, mut m, mut v) = (Vec::new(), Vec::new(), Vec::new());
        for (name, shape) in spec.param_shapes() {
            let n = shape.iter().product();
            p.push(load(&name, n)?);
            m.push(load(&format!("adam.m.{name}"), n)?);
            v.push(load(&format!("adam.v.{name}"), n)?);
        }
        let net = TransformerNet { spec, params: p };
        let adam = Adam { config: cfg.adam.clone(), step: iteration, m, v };
        Self::assemble(cfg, style, vgg, device, net, adam, samples, history)
    }

    fn model_from(&self, values: &[Vec<f32>], f16: bool, extra: &[(&str, serde_json::Value)]) -> Result<Vec<u8>> {
        let mut config = serde_json::to_value(&self.cfg).expect("serialisable");
        for (k, v) in extra {
            config[*k] = v.clone();
        }
        config["iterations_done"] = self.iteration.into();
        if let Some(l) = self.history.last() {
            config["final_losses"] = serde_json::to_value(l).expect("serialisable");
        }
        files::to_safetensors(&self.net.spec, values, Some(&config), f16)
    }
}
