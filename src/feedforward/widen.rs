//! Widening a trained network without changing what it computes (Net2WiderNet, Chen et al. 2016,
//! "Net2Net"), so a full-width network can start from its light variant (`burnish train --init
//! scream-light --width 32`) instead of from nothing.
//!
//! Every channel `c` of the wider network copies channel `c mod old` of the narrow one (its
//! incoming weights, bias and instance-norm scale and shift). The copies carry equal values, and
//! instance norm gives copies equal statistics, so each layer's output holds the narrow layer's
//! channels repeated. A layer that reads widened channels splits each old input weight between
//! that input's copies in random shares that sum to one: its output is unchanged, and since the
//! copies now feed the next layer with different weights, their gradients differ and training
//! pulls them apart (equal halves would keep them twins for ever). Residual blocks stay exact
//! because every tensor of one channel count is widened with the same map.

use rand::{Rng, SeedableRng};

use super::net::{LayerKind, NetSpec, Upsample};
use crate::error::{Error, Result};

/// The wider layout and its parameters (in [`NetSpec::param_shapes`] order), computing what
/// `spec` with `values` computes. `width` must be at least `spec.width`; the shares are drawn
/// from `seed`.
pub fn widen(spec: &NetSpec, values: &[Vec<f32>], width: usize, seed: u64) -> Result<(NetSpec, Vec<Vec<f32>>)> {
    if width < spec.width {
        return Err(Error::InvalidOption(format!("--width {width} is narrower than the --init network's width {}; a network can only be widened", spec.width)));
    }
    let wide = NetSpec { width, ..spec.clone() };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut old_values = values.iter();
    let mut next = || old_values.next().expect("one value vector per parameter of the layout");
    let mut out = Vec::with_capacity(values.len());
    for (old, new) in spec.layers().iter().zip(wide.layers()) {
        let k2 = old.k * old.k;
        // burn / PyTorch layouts: conv [out, in, k, k], transposed conv [in, out, k, k].
        let transposed = matches!(old.kind, LayerKind::Up(Upsample::Transposed));
        let at = |o: usize, i: usize, cout: usize, cin: usize| if transposed { (i * cout + o) * k2 } else { (o * cin + i) * k2 };
        let weight = next();
        let mut wide_weight = vec![0.0; new.cout * new.cin * k2];
        for o in 0..new.cout {
            // share[c]: the part of old input c % old.cin that copy c carries into output o.
            let draw: Vec<f32> = (0..new.cin).map(|_| if new.cin > old.cin { rng.random_range(0.5..1.5) } else { 1.0 }).collect();
            let mut group = vec![0.0f32; old.cin];
            for (c, d) in draw.iter().enumerate() {
                group[c % old.cin] += d;
            }
            for c in 0..new.cin {
                let share = draw[c] / group[c % old.cin];
                let src = at(o % old.cout, c % old.cin, old.cout, old.cin);
                let dst = at(o, c, new.cout, new.cin);
                for t in 0..k2 {
                    wide_weight[dst + t] = weight[src + t] * share;
                }
            }
        }
        out.push(wide_weight);
        let per_output = |v: &Vec<f32>| (0..new.cout).map(|o| v[o % old.cout]).collect::<Vec<f32>>();
        if spec.conv_bias {
            out.push(per_output(next()));
        }
        if old.norm.is_some() {
            out.push(per_output(next())); // scale
            out.push(per_output(next())); // shift
        }
    }
    debug_assert_eq!(out.len(), wide.param_shapes().len());
    Ok((wide, out))
}
