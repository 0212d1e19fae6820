//! Post-processing of a stylized frame against its original, for every feed-forward mode:
//! `strength` blends the two, `preserve_colour` keeps the original's colours (the stylized
//! frame's luminance with the original's chroma, in BT.709 Y'CbCr).

use crate::image::RgbF32;

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct PostProcess {
    /// 1 = the network's output, 0 = the original.
    pub strength: f32,
    pub preserve_colour: bool,
}

impl Default for PostProcess {
    fn default() -> Self {
        Self { strength: 1.0, preserve_colour: false }
    }
}

/// BT.709 luma weights.
const KR: f32 = 0.2126;
const KB: f32 = 0.0722;
const KG: f32 = 1.0 - KR - KB;

fn luma(p: &[f32]) -> f32 {
    KR * p[0] + KG * p[1] + KB * p[2]
}

impl PostProcess {
    /// Whether [`PostProcess::apply`] changes anything.
    pub fn is_identity(&self) -> bool {
        self.strength == 1.0 && !self.preserve_colour
    }

    /// The post-processed frame; `original` and `stylized` have one size.
    pub fn apply(&self, original: &RgbF32, stylized: RgbF32) -> RgbF32 {
        if self.is_identity() {
            return stylized;
        }
        assert_eq!((original.width, original.height), (stylized.width, stylized.height), "one size");
        let s = self.strength.clamp(0.0, 1.0);
        let mut out = stylized;
        for (o, p) in out.data.chunks_exact_mut(3).zip(original.data.chunks_exact(3)) {
            if self.preserve_colour {
                // Y' from the stylized pixel, Cb and Cr (differences from luma) from the original.
                let y = luma(o);
                let yo = luma(p);
                for c in 0..3 {
                    o[c] = (y + (p[c] - yo)).clamp(0.0, 1.0);
                }
            }
            for c in 0..3 {
                o[c] = s * o[c] + (1.0 - s) * p[c];
            }
        }
        out
    }
}
