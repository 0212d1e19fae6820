//! Names of the VGG19 taps: the PyTorch tutorial's `conv_1`..`conv_16` (counting convolutions,
//! pre-ReLU), VGG's `conv1_1`..`conv5_4` (pre-ReLU) and `relu1_1`..`relu5_4` (post-ReLU).

use std::fmt;

use crate::error::{Error, Result};

/// VGG19's convolutions in order.
pub const VGG19_CONVS: [&str; 16] = [
    "conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3", "conv3_4", "conv4_1", "conv4_2",
    "conv4_3", "conv4_4", "conv5_1", "conv5_2", "conv5_3", "conv5_4",
];

/// Index of the first convolution of each block (a 2x2 max-pool precedes it, except block 1).
pub const BLOCK_STARTS: [usize; 5] = [0, 2, 4, 8, 12];

/// One tap of the loss network: a convolution's output before or after its ReLU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Tap {
    /// 0-based convolution index (0 = conv1_1 = conv_1).
    pub conv: usize,
    pub relu: bool,
}

impl Tap {
    pub fn parse(name: &str) -> Result<Tap> {
        let n = name.trim().to_ascii_lowercase();
        let unknown = || Error::UnknownLayer(name.to_string());
        for (prefix, relu) in [("conv_", false), ("relu_", true)] {
            if let Some(rest) = n.strip_prefix(prefix) {
                let i: usize = rest.parse().map_err(|_| unknown())?;
                if (1..=16).contains(&i) {
                    return Ok(Tap { conv: i - 1, relu });
                }
                return Err(unknown());
            }
        }
        for (prefix, relu) in [("conv", false), ("relu", true)] {
            if let Some(rest) = n.strip_prefix(prefix) {
                let vgg = format!("conv{rest}");
                if let Some(i) = VGG19_CONVS.iter().position(|c| *c == vgg) {
                    return Ok(Tap { conv: i, relu });
                }
            }
        }
        Err(unknown())
    }

    /// The VGG name, e.g. `conv2_2` or `relu2_2`.
    pub fn vgg_name(&self) -> String {
        let base = VGG19_CONVS[self.conv];
        if self.relu { base.replacen("conv", "relu", 1) } else { base.to_string() }
    }

    /// The tutorial's name for pre-ReLU taps (`conv_4`), else the VGG name.
    pub fn short_name(&self) -> String {
        if self.relu { self.vgg_name() } else { format!("conv_{}", self.conv + 1) }
    }
}

impl fmt::Display for Tap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.relu { write!(f, "{}", self.vgg_name()) } else { write!(f, "conv_{} ({})", self.conv + 1, self.vgg_name()) }
    }
}

/// Smallest image side (pixels) for which every tap still has at least one pixel: VGG19 halves
/// the size before each block after the first.
pub fn min_side(taps: &[Tap]) -> u32 {
    let pools = taps.iter().map(|t| BLOCK_STARTS.iter().filter(|&&s| s > 0 && s <= t.conv).count()).max().unwrap_or(0);
    1 << pools
}

/// Parse a comma-separated list of taps or one of the presets shallow (conv_1..5),
/// mid (conv_6..10), deep (conv_11..15).
pub fn parse_layer_list(spec: &str) -> Result<Vec<Tap>> {
    let preset = |a: usize, b: usize| (a..=b).map(|i| Tap { conv: i - 1, relu: false }).collect::<Vec<_>>();
    match spec.trim().to_ascii_lowercase().as_str() {
        "shallow" => return Ok(preset(1, 5)),
        "mid" => return Ok(preset(6, 10)),
        "deep" => return Ok(preset(11, 15)),
        _ => {}
    }
    let mut taps = Vec::new();
    for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
        let t = Tap::parse(part)?;
        if !taps.contains(&t) {
            taps.push(t);
        }
    }
    if taps.is_empty() {
        return Err(Error::UnknownLayer(spec.to_string()));
    }
    Ok(taps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tutorial_names_count_convolutions() {
        assert_eq!(Tap::parse("conv_4").unwrap(), Tap { conv: 3, relu: false });
        assert_eq!(Tap::parse("conv_4").unwrap().vgg_name(), "conv2_2");
        assert_eq!(Tap::parse("conv_5").unwrap().vgg_name(), "conv3_1");
        assert_eq!(Tap::parse("conv_16").unwrap().vgg_name(), "conv5_4");
        assert_eq!(Tap::parse("relu4_2").unwrap(), Tap { conv: 9, relu: true });
        assert_eq!(Tap::parse("conv4_2").unwrap(), Tap { conv: 9, relu: false });
        assert!(Tap::parse("conv_0").is_err());
        assert!(Tap::parse("conv_17").is_err());
        assert!(Tap::parse("conv6_1").is_err());
        assert!(Tap::parse("pool1").is_err());
    }

    #[test]
    fn min_side_counts_poolings() {
        let taps = |s| parse_layer_list(s).unwrap();
        assert_eq!(min_side(&taps("conv_1,conv_2")), 1);
        assert_eq!(min_side(&taps("shallow")), 4); // conv3_1 comes after two poolings
        assert_eq!(min_side(&taps("deep")), 16);
    }

    #[test]
    fn presets() {
        let names = |s| parse_layer_list(s).unwrap().iter().map(|t| t.vgg_name()).collect::<Vec<_>>().join(",");
        assert_eq!(names("shallow"), "conv1_1,conv1_2,conv2_1,conv2_2,conv3_1");
        assert_eq!(names("mid"), "conv3_2,conv3_3,conv3_4,conv4_1,conv4_2");
        assert_eq!(names("deep"), "conv4_3,conv4_4,conv5_1,conv5_2,conv5_3");
        assert_eq!(names("conv_1, relu2_1"), "conv1_1,relu2_1");
        assert!(parse_layer_list("conv_1,bogus").is_err());
    }
}
