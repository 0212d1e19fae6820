//! A motion-gated temporal blend against per-frame flicker: where the input did not change since
//! the previous frame, the output leans on the previous output; where it moved, the new output
//! shows through; a scene cut starts afresh.

use crate::image::RgbF32;

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct StabilizeConfig {
    /// Weight of the previous output where the input is unchanged (0 = off).
    pub keep: f32,
    /// Input change (mean absolute difference over a 3x3 neighbourhood, 0..1) at which the
    /// previous output stops counting.
    pub motion: f32,
    /// Mean absolute input difference over the frame above which the frame is a scene cut.
    pub cut: f32,
}

impl Default for StabilizeConfig {
    fn default() -> Self {
        Self { keep: 0.8, motion: 0.08, cut: 0.15 }
    }
}

/// The blend's state: the previous input and output.
pub struct Stabilizer {
    pub config: StabilizeConfig,
    previous: Option<(RgbF32, RgbF32)>,
}

impl Stabilizer {
    pub fn new(config: StabilizeConfig) -> Self {
        Self { config, previous: None }
    }

    /// The stabilised output for `input` (the frame the network saw) and its `output`.
    pub fn apply(&mut self, input: &RgbF32, output: RgbF32) -> RgbF32 {
        let out = match &self.previous {
            Some((prev_in, prev_out)) if (prev_in.width, prev_in.height) == (input.width, input.height) => {
                let change = local_change(prev_in, input);
                let mean = change.iter().sum::<f32>() / change.len().max(1) as f32;
                if mean > self.config.cut {
                    output
                } else {
                    let mut out = output;
                    for (i, px) in out.data.chunks_exact_mut(3).enumerate() {
                        let w = self.config.keep * (1.0 - change[i] / self.config.motion).clamp(0.0, 1.0);
                        for c in 0..3 {
                            px[c] = w * prev_out.data[3 * i + c] + (1.0 - w) * px[c];
                        }
                    }
                    out
                }
            }
            _ => output,
        };
        self.previous = Some((input.clone(), out.clone()));
        out
    }
}

/// Per pixel, the mean absolute difference of a and b over its 3x3 neighbourhood and channels.
fn local_change(a: &RgbF32, b: &RgbF32) -> Vec<f32> {
    let (w, h) = (a.width as usize, a.height as usize);
    let d: Vec<f32> = a.data.chunks_exact(3).zip(b.data.chunks_exact(3)).map(|(p, q)| ((p[0] - q[0]).abs() + (p[1] - q[1]).abs() + (p[2] - q[2]).abs()) / 3.0).collect();
    let mut out = vec![0.0; w * h];
    for y in 0..h {
        for x in 0..w {
            let (mut sum, mut n) = (0.0, 0);
            for yy in y.saturating_sub(1)..(y + 2).min(h) {
                for xx in x.saturating_sub(1)..(x + 2).min(w) {
                    sum += d[yy * w + xx];
                    n += 1;
                }
            }
            out[y * w + x] = sum / n as f32;
        }
    }
    out
}
