//! `burnish ablation` and `calibrate`: the seed's studies, each rendered as one labelled sheet.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::Result;

use burnish::gatys::{GatysRun, Init, RunConfig, RunOutput};
use burnish::image::RgbF32;
use burnish::image::files::{self, check_side};
use burnish::loss::LossConfig;
use burnish::optim::lbfgs::LineSearch;
use burnish::sheet::{self, Cell, Series};
use burnish::vgg::taps::{Tap, parse_layer_list};
use burnish::vgg::weights::InputConvention;

use super::gatys::{CliObserver, Loaded, optimise, run_config};
use super::{GatysArgs, Study};

/// Validate a study's output path and size, and load its two images.
fn load_study(study: &Study) -> Result<(RgbF32, RgbF32)> {
    files::check_writable(&study.output)?;
    check_side("--size", study.size)?;
    Ok((files::load_rgb(&study.content)?, files::load_rgb(&study.style)?))
}

/// One run of a study; None when interrupted.
#[allow(clippy::too_many_arguments)]
fn run_one(ctx: &Loaded, args: &GatysArgs, output: &Path, stop: &Arc<AtomicBool>, label: &str, cfg: &RunConfig, content: Option<&RgbF32>, style: &RgbF32, size: (u32, u32)) -> Result<Option<RunOutput>> {
    // Only a different feature scale needs the network rebuilt on the device.
    let rescaled = (cfg.loss.feature_scale != ctx.vgg.feature_scale).then(|| cfg.loss.vgg(&ctx.weights, &ctx.device.device));
    let vgg = rescaled.as_ref().unwrap_or(&ctx.vgg);
    let mut obs = CliObserver::new(args, output, stop.clone(), label).without_snapshots();
    let out = optimise(GatysRun::new(vgg, cfg, content, style, size, &ctx.device)?, &mut obs)?;
    Ok(if out.stopped { None } else { Some(out) })
}

fn interrupted() -> Result<ExitCode> {
    eprintln!("interrupted: no sheet written");
    Ok(ExitCode::from(130))
}

/// Content layer conv_1/4/7/10, style layers shallow/mid/deep as textures, and two noise seeds
/// with their pixel difference, on one sheet.
pub fn ablation(study: &Study, args: &GatysArgs, stop: Arc<AtomicBool>) -> Result<ExitCode> {
    let (content, style) = load_study(study)?;
    let (size, output) = (study.size, study.output.as_path());
    let content = content.resize_max_side(size);
    let (w, h) = (content.width, content.height);
    let style_small = style.resize_max_side(args.style_size.unwrap_or(size));
    let base = run_config(args, Some(&super::default_content_layer()), LossConfig::gatys().content_weight, Init::Noise)?;
    let ctx = Loaded::new(args, &base.loss)?;
    let t0 = Instant::now();
    let with_layers = |cfg: &RunConfig, content_layer: Option<Tap>, style_layers: &str| -> Result<RunConfig> {
        let mut cfg = cfg.clone();
        cfg.loss.content_layer = content_layer;
        cfg.loss.style_layers = parse_layer_list(style_layers)?;
        Ok(cfg)
    };
    let mut jobs: Vec<(String, RunConfig, bool)> = Vec::new();
    for layer in ["conv_1", "conv_4", "conv_7", "conv_10"] {
        jobs.push((format!("content {layer}"), with_layers(&base, Some(Tap::parse(layer)?), "shallow")?, true));
    }
    let tex = RunConfig { loss: LossConfig { content_layer: None, content_weight: 0.0, ..base.loss.clone() }, init: Init::Noise, ..base.clone() };
    for preset in ["shallow", "mid", "deep"] {
        jobs.push((format!("style {preset}"), with_layers(&tex, None, preset)?, false));
    }
    for seed in [1u64, 2] {
        jobs.push((format!("seed {seed}"), RunConfig { seed, ..with_layers(&tex, None, "shallow")? }, false));
    }
    let mut results: Vec<(String, RunOutput)> = Vec::new();
    let n = jobs.len();
    for (i, (label, cfg, is_transfer)) in jobs.into_iter().enumerate() {
        if !args.compute.quiet {
            eprintln!("ablation run {}/{}: {label}", i + 1, n);
        }
        let c = if is_transfer { Some(&content) } else { None };
        let Some(out) = run_one(&ctx, args, output, &stop, &label, &cfg, c, &style_small, (w, h))? else { return interrupted() };
        results.push((label, out));
    }
    let cap = |label: &str, o: &RunOutput| {
        let f = o.final_losses;
        let mut c = vec![label.to_string(), format!("style {:.3e}", f.style)];
        if f.content > 0.0 {
            c.push(format!("content {:.3e}", f.content));
        }
        c
    };
    let cell = |i: usize| Cell { image: results[i].1.image.to_rgb8(), caption: cap(&results[i].0, &results[i].1) };
    let style_thumb = style.resize_max_side(size);
    let row1 = vec![
        Cell { image: content.to_rgb8(), caption: vec!["content".into()] },
        Cell { image: style_thumb.to_rgb8(), caption: vec!["style".into()] },
    ];
    let row2 = (0..4).map(cell).collect();
    let row3 = (4..7).map(cell).collect();
    let (a, b) = (results[7].1.image.to_rgb8(), results[8].1.image.to_rgb8());
    let mad = a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| (*x as f64 - *y as f64).abs()).sum::<f64>() / a.as_raw().len() as f64;
    let row4 = vec![cell(7), cell(8), Cell { image: sheet::diff_image(&a, &b, 4.0), caption: vec!["|seed1 - seed2| x4".into(), format!("mean {mad:.1}/255")] }];
    let title = format!("burnish ablation: {} evals, sw {:.0e}, k {}, init noise", base.evaluations, base.loss.style_weight, base.loss.feature_scale);
    files::save_rgb8(output, &sheet::grid(&title, &[row1, row2, row3, row4]))?;
    if !args.compute.quiet {
        eprintln!("ablation: {} runs in {:.1} s on {}; wrote {}", n, t0.elapsed().as_secs_f64(), ctx.device.info, output.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Feature scale and style weight sweeps, and the line-search comparison, on one sheet.
pub fn calibrate(study: &Study, args: &GatysArgs, stop: Arc<AtomicBool>) -> Result<ExitCode> {
    let (content, style) = load_study(study)?;
    let (size, output) = (study.size, study.output.as_path());
    let content = content.resize_max_side(size);
    let (w, h) = (content.width, content.height);
    let style_small = style.resize_max_side(args.style_size.unwrap_or(size));
    let base = run_config(args, Some(&super::default_content_layer()), LossConfig::gatys().content_weight, Init::Content)?;
    let ctx = Loaded::new(args, &base.loss)?;
    let t0 = Instant::now();
    let run = |label: &str, cfg: &RunConfig, with_content: bool, size: (u32, u32)| {
        if !args.compute.quiet {
            eprintln!("calibration run: {label}");
        }
        run_one(&ctx, args, output, &stop, label, cfg, with_content.then_some(&content), &style_small, size)
    };
    let caption = |o: &RunOutput, head: String| {
        let f = o.final_losses;
        vec![head, format!("content {:.2e}", f.content), format!("style {:.2e}", f.style)]
    };
    let with_loss = |loss: LossConfig| RunConfig { loss, ..base.clone() };
    let mut row1 = Vec::new();
    for k in [1.0, 8.0, InputConvention::CaffeBgr.calibrated_feature_scale(), 255.0] {
        let cfg = with_loss(LossConfig { feature_scale: k, style_weight: 1e6, ..base.loss.clone() });
        let Some(o) = run(&format!("k {k}"), &cfg, true, (w, h))? else { return interrupted() };
        row1.push(Cell { image: o.image.to_rgb8(), caption: caption(&o, format!("k = {k}, sw 1e6")) });
    }
    let mut row2 = Vec::new();
    for sw in [1e4, 1e5, 1e7, 1e8] {
        let cfg = with_loss(LossConfig { style_weight: sw, ..base.loss.clone() });
        let Some(o) = run(&format!("sw {sw:e}"), &cfg, true, (w, h))? else { return interrupted() };
        row2.push(Cell { image: o.image.to_rgb8(), caption: caption(&o, format!("k = {}, sw {sw:.0e}", base.loss.feature_scale)) });
    }
    // Texture synthesis on the raw network (k = 1), with and without line search.
    let mut row3 = Vec::new();
    let mut series = Vec::new();
    let tex = RunConfig { init: Init::Noise, ..with_loss(LossConfig { content_layer: None, content_weight: 0.0, feature_scale: 1.0, ..base.loss.clone() }) };
    for (i, ls) in [LineSearch::None, LineSearch::StrongWolfe].into_iter().enumerate() {
        let name = if ls == LineSearch::None { "no line search" } else { "strong Wolfe" };
        let cfg = RunConfig { line_search: ls, ..tex.clone() };
        let Some(o) = run(&format!("texture k=1, {name}"), &cfg, false, (w.min(h), w.min(h)))? else { return interrupted() };
        let first = o.history.first().map(|l| l.style).unwrap_or(0.0);
        let max = o.history.iter().map(|l| l.style).fold(0.0, f64::max);
        row3.push(Cell {
            image: o.image.to_rgb8(),
            caption: vec![format!("texture k=1, {name}"), format!("style {first:.2e} -> {:.2e}", o.final_losses.style), format!("max {max:.2e}")],
        });
        series.push(Series { name: name.into(), color: sheet::PALETTE[i], points: o.history.iter().map(|l| (l.evaluation as f64, l.style)).collect() });
    }
    let plot = sheet::plot_log("texture style loss (k = 1)", "evaluation", &series, (2 * w).max(320), h.max(200));
    row3.push(Cell { image: plot, caption: vec!["style loss per evaluation".into()] });
    let title = format!("burnish calibration: content conv_4, style conv_1..5, {} evaluations, init content", base.evaluations);
    files::save_rgb8(output, &sheet::grid(&title, &[row1, row2, row3]))?;
    if !args.compute.quiet {
        eprintln!("calibration: {:.1} s on {}; wrote {}", t0.elapsed().as_secs_f64(), ctx.device.info, output.display());
    }
    Ok(ExitCode::SUCCESS)
}
