//! `burnish live`: a camera or a looping file, stylized in a window.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result, bail};
use burnish::feedforward::shipped::SHIPPED;
use burnish::frames::PostProcess;
use burnish::image::files;
use burnish::live::capture::OpenCamera;
use burnish::live::{Capture, LiveEvent, LiveOptions, VirtualCamera, camera};

use super::{LiveArgs, Switch};

pub fn live(a: &LiveArgs, stop: Arc<AtomicBool>) -> Result<ExitCode> {
    let (w, h) = a
        .window
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
        .filter(|&(w, h)| (64..=8192).contains(&w) && (64..=8192).contains(&h))
        .with_context(|| format!("--window {}: expected WIDTHxHEIGHT, each 64..8192", a.window))?;
    if !(a.fps.is_finite() && a.fps > 0.0) {
        bail!("--fps must be a positive number");
    }
    if let Some(s) = a.size {
        files::check_side("--size", s)?;
    }
    if !a.screenshots.is_dir() {
        bail!("--screenshots {}: no such folder", a.screenshots.display());
    }
    if let Some(p) = &a.report {
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        if !dir.is_dir() || p.is_dir() {
            bail!("--report {}: check that the folder exists and that it is a file name", p.display());
        }
    }
    let open: OpenCamera = match (&a.source, a.camera.as_deref()) {
        (Some(path), _) => {
            let path = path.clone();
            Box::new(move || Ok(Box::new(VirtualCamera::open(&path, 30.0)?) as Box<dyn burnish::live::Camera>))
        }
        (None, Some("list")) => {
            let cams = camera::list()?;
            if cams.is_empty() {
                println!("no camera found (no /dev/video* device)");
            }
            for c in cams {
                println!("{c}");
            }
            return Ok(ExitCode::SUCCESS);
        }
        (None, index) => {
            let n: u32 = match index {
                Some(s) => s.parse().with_context(|| format!("--camera {s}: a camera number, or list"))?,
                None => 0,
            };
            Box::new(move || camera::open(n, (1280, 720)))
        }
    };
    // The style list: the chosen one first if it is not shipped, then every shipped style.
    let mut models: Vec<String> = SHIPPED.iter().map(|s| s.name.to_string()).collect();
    let start = match models.iter().position(|m| m.eq_ignore_ascii_case(&a.model)) {
        Some(i) => i,
        None => {
            burnish::feedforward::shipped::resolve(&a.model)?;
            models.insert(0, a.model.clone());
            0
        }
    };
    let options = LiveOptions {
        models,
        start,
        target_fps: a.fps,
        size: a.size,
        post: PostProcess { strength: a.strength.clamp(0.0, 1.0), preserve_colour: a.preserve_colour },
        stabilize: a.stabilize == Switch::On,
        device: a.compute.device.into(),
        window_size: (w, h),
        fullscreen: a.fullscreen,
        screenshot_dir: a.screenshots.clone(),
        close_after: a.seconds.map(std::time::Duration::from_secs_f64),
        stop: Some(stop),
    };
    let quiet = a.compute.quiet;
    let capture = Capture::start(open)?;
    let stats = burnish::live::run(capture, options, &mut |e| match e {
        LiveEvent::Started { device, camera, notes } => {
            if !quiet {
                for n in notes {
                    eprintln!("note: {n}");
                }
                eprintln!("device: {device}\ncamera: {camera}\nkeys: ? in the window");
            }
        }
        LiveEvent::Style(name) => {
            if !quiet {
                eprintln!("style: {name}");
            }
        }
        LiveEvent::Screenshot(path) => eprintln!("screenshot: {}", path.display()),
        LiveEvent::Warning(m) => eprintln!("warning: {m}"),
    })?;
    if !quiet {
        eprintln!(
            "{} frames in {:.1} s: {:.1} frames/s, frame {:.1} ms, network {:.1} ms, latency {:.0} ms, {} camera frames dropped, size {}",
            stats.frames, stats.seconds, stats.fps, stats.frame_ms, stats.network_ms, stats.latency_ms, stats.dropped, stats.size
        );
    }
    if let Some(p) = &a.report {
        files::write_atomic(p, serde_json::to_string_pretty(&stats)?.as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}
