//! The live window: winit + wgpu. One frame at a time: take the newest captured frame, stylize it
//! at the governor's size, draw it (stylized, original or side by side) with the readout, present.
//!
//! On a GPU the window and burn share one wgpu device ([`crate::device::from_wgpu_setup`]): the
//! camera frame is uploaded once as a tensor, resized and stylized on the device, and the display
//! pass reads the network's output buffer directly. On the CPU device the frames go through the
//! host and the window only presents (any adapter, software ones included).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use burn::tensor::Tensor;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::wgpu::{WgpuSetup, wgpu};
use web_time::Instant;
use winit::application::ApplicationHandler;
use winit::event::{ElementState, WindowEvent};
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop};
use winit::keyboard::{Key, NamedKey};
use winit::window::{Fullscreen, Window, WindowId};

use super::capture::{Capture, CaptureState, Captured};
use super::controls::{Action, Controls, KEYS, View, action_for};
use super::display::{Display, GpuImage, Overlay, Picture};
use super::governor::Governor;
use crate::device::{ComputeDevice, DeviceChoice};
use crate::error::{Error, Result};
use crate::feedforward::Stylizer;
use crate::frames::{PostProcess, StabilizeConfig, Stabilizer};
use crate::image::RgbF32;
use crate::image::tensor::frame_tensor;

/// How the window starts.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// The styles the keys step through (shipped names or network files); `start` is shown first.
    pub models: Vec<String>,
    pub start: usize,
    pub target_fps: f64,
    /// A fixed processing size (largest side); None: automatic.
    pub size: Option<u32>,
    pub post: PostProcess,
    pub stabilize: bool,
    pub device: DeviceChoice,
    pub window_size: (u32, u32),
    pub fullscreen: bool,
    /// Where screenshots go (burnish-live-NNNN.png).
    pub screenshot_dir: PathBuf,
    /// Close the window after this long (benchmarks, tests).
    pub close_after: Option<Duration>,
    /// Close the window when this turns true (Ctrl-C).
    pub stop: Option<Arc<std::sync::atomic::AtomicBool>>,
}

/// What happened, for the command line to say.
#[derive(Clone, Debug)]
pub enum LiveEvent {
    Started { device: String, camera: String, notes: Vec<String> },
    Style(String),
    Screenshot(PathBuf),
    Warning(String),
}

/// Measured over the run.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct LiveStats {
    pub frames: u64,
    pub seconds: f64,
    pub fps: f64,
    /// Mean time from taking a frame to its picture submitted and finished on the device.
    pub frame_ms: f64,
    /// Mean time in the network (host-measured, including the device finishing).
    pub network_ms: f64,
    /// Mean time from capture to present.
    pub latency_ms: f64,
    /// Captured frames replaced before the window took them.
    pub dropped: u64,
    /// Processing size (largest side) at the end.
    pub size: u32,
    pub device: String,
    /// Whether the network's output was drawn from its GPU buffer (no host copy).
    pub zero_copy: bool,
}

/// Runs the window until it is closed. `capture` is already running.
pub fn run(capture: Capture, options: LiveOptions, events: &mut dyn FnMut(LiveEvent)) -> Result<LiveStats> {
    let event_loop = EventLoop::new().map_err(|e| Error::Display(format!("cannot open a window ({e}); run it on a desktop, or under Xvfb (xvfb-run burnish live ...)")))?;
    event_loop.set_control_flow(ControlFlow::Poll);
    let mut app = App { capture, options, events, state: None, error: None, stats: LiveStats::default() };
    event_loop.run_app(&mut app).map_err(|e| Error::Display(e.to_string()))?;
    if let Some(e) = app.error.take() {
        return Err(e);
    }
    Ok(app.stats)
}

struct Gfx {
    window: Arc<Window>,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    setup: WgpuSetup,
    display: Display,
}

struct State {
    gfx: Gfx,
    /// Where the network runs (shares `gfx.setup` when it is a GPU).
    compute: ComputeDevice,
    shared: bool,
    stylizers: HashMap<usize, Stylizer>,
    controls: Controls,
    governor: Governor,
    stabilizer: Option<Stabilizer>,
    /// The frame on screen: its capture, and the pictures drawn.
    shown: Option<Shown>,
    screenshot_next: bool,
    screenshots: u32,
    started: Instant,
    frame_ms_sum: f64,
    network_ms_sum: f64,
    latency_ms_sum: f64,
    last_network_ms: f64,
    last_latency_ms: f64,
    fps_window: Vec<Instant>,
    message: Option<String>,
}

struct Shown {
    captured_at: Instant,
    stylized: Frame,
    original: Frame,
    size: (u32, u32),
}

/// A picture ready to draw: on the device (no copy) or on the host.
pub enum Frame {
    Gpu(GpuImage),
    Host(RgbF32),
}

/// One frame stylized: what to draw.
pub struct Processed {
    pub stylized: Frame,
    pub original: Frame,
    /// The network's input size.
    pub size: (u32, u32),
    /// Host-measured network time (host path only; 0 on the device path, which is asynchronous).
    pub network_ms: f64,
}

/// Stylizes `frame` at `size` (largest side, at most the frame's). With `shared` (the window's
/// wgpu device, which burn runs on) and no host post-processing, the frame is uploaded once and
/// resized, stylized and drawn on the device; otherwise everything goes through the host.
pub fn stylize_frame(frame: RgbF32, size: u32, stylizer: &Stylizer, shared: Option<&burn::tensor::Device>, post: PostProcess, stabilizer: Option<&mut Stabilizer>) -> Result<Processed> {
    let (fw, fh) = (frame.width, frame.height);
    let (pw, ph) = crate::image::frame::fit_max_side(fw, fh, size.min(fw.max(fh)));
    match shared {
        Some(device) if post.is_identity() && stabilizer.is_none() => {
            let full = frame_tensor(&frame, device); // [1, 3, fh, fw]
            let input = if (pw, ph) == (fw, fh) {
                full.clone()
            } else {
                interpolate(full.clone(), InterpolateOptions::new(InterpolateMode::Bilinear).with_output_size([ph as usize, pw as usize]))
            }; // [1, 3, ph, pw]
            let out: Tensor<4> = stylizer.tensor(input); // [1, 3, ph, pw]
            Ok(Processed { stylized: Frame::Gpu(GpuImage::new(out)?), original: Frame::Gpu(GpuImage::new(full)?), size: (pw, ph), network_ms: 0.0 })
        }
        _ => {
            let small = if (pw, ph) == (fw, fh) { frame.clone() } else { frame.resize_exact(pw, ph) };
            let t = Instant::now();
            let styled = stylizer.frame(&small)?;
            let network_ms = t.elapsed().as_secs_f64() * 1e3;
            let mut out = post.apply(&small, styled);
            if let Some(s) = stabilizer {
                out = s.apply(&small, out);
            }
            Ok(Processed { stylized: Frame::Host(out), original: Frame::Host(frame), size: (pw, ph), network_ms })
        }
    }
}

impl Frame {
    pub fn picture(&self) -> Picture<'_> {
        match self {
            Frame::Gpu(g) => Picture::Gpu(g),
            Frame::Host(f) => Picture::Host(f),
        }
    }
}

struct App<'a> {
    capture: Capture,
    options: LiveOptions,
    events: &'a mut dyn FnMut(LiveEvent),
    state: Option<State>,
    error: Option<Error>,
    stats: LiveStats,
}

/// A wgpu device for the window: with burn's features and limits when burn shares it.
fn request_device(adapter: &wgpu::Adapter, for_burn: bool) -> Result<(wgpu::Device, wgpu::Queue)> {
    let descriptor = if for_burn {
        wgpu::DeviceDescriptor {
            label: Some("burnish live"),
            // burn picks its kernels from the adapter's features and limits: the device must have them all.
            required_features: adapter.features().difference(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS),
            required_limits: adapter.limits(),
            memory_hints: wgpu::MemoryHints::MemoryUsage,
            trace: wgpu::Trace::Off,
            // SAFETY: the same request burn's own runtime makes for this adapter.
            experimental_features: unsafe { wgpu::ExperimentalFeatures::enabled() },
        }
    } else {
        wgpu::DeviceDescriptor { label: Some("burnish live display"), required_limits: adapter.limits(), ..Default::default() }
    };
    crate::block_on(adapter.request_device(&descriptor)).map_err(|e| Error::Device(e.to_string()))
}

impl App<'_> {
    fn start(&mut self, event_loop: &ActiveEventLoop) -> Result<State> {
        let o = &self.options;
        let mut attrs = Window::default_attributes().with_title("burnish live").with_inner_size(winit::dpi::PhysicalSize::new(o.window_size.0, o.window_size.1));
        if o.fullscreen {
            attrs = attrs.with_fullscreen(Some(Fullscreen::Borderless(None)));
        }
        let window = Arc::new(event_loop.create_window(attrs).map_err(|e| Error::Display(e.to_string()))?);
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor { backends: wgpu::Backends::PRIMARY, ..wgpu::InstanceDescriptor::new_without_display_handle() });
        let surface = instance.create_surface(window.clone()).map_err(|e| Error::Display(e.to_string()))?;
        let adapter = crate::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            compatible_surface: Some(&surface),
            ..Default::default()
        }))
        .map_err(|e| Error::NoGpu(format!("no wgpu adapter can draw to this window: {e}")))?;
        let hardware = adapter.get_info().device_type != wgpu::DeviceType::Cpu;
        let mut notes = Vec::new();
        // Share the device with burn on a GPU (or when asked); else the network runs on the CPU.
        let share = match o.device {
            DeviceChoice::Wgpu => true,
            DeviceChoice::Cpu => false,
            DeviceChoice::Auto => {
                if !hardware {
                    notes.push(format!("no hardware GPU ({} is a software adapter): the network runs on the CPU, at a size that keeps it live", adapter.get_info().name));
                }
                hardware
            }
        };
        let (device, queue) = request_device(&adapter, share)?;
        let backend = adapter.get_info().backend;
        let setup = WgpuSetup { instance, adapter, device, queue, backend };
        let compute = if share { crate::device::from_wgpu_setup(setup.clone())? } else { crate::device::cpu() };
        let caps = surface.get_capabilities(&setup.adapter);
        let size = window.inner_size();
        let mut config = surface
            .get_default_config(&setup.adapter, size.width.max(1), size.height.max(1))
            .ok_or_else(|| Error::Display("the adapter cannot present to this window".into()))?;
        // The pixels are sRGB-encoded already: a non-sRGB format shows them as they are.
        config.format = caps.formats.iter().copied().find(|f| !f.is_srgb()).unwrap_or(config.format);
        config.present_mode = wgpu::PresentMode::AutoVsync;
        surface.configure(&setup.device, &config);
        let display = Display::new(&setup.device, config.format);
        let (cw, ch) = self.capture.size;
        let start_size = o.size.unwrap_or(if share { 640 } else { 256 });
        let governor = Governor::new(o.target_fps, start_size, cw.max(ch), o.size.is_none());
        let controls = Controls::new(o.models.len(), o.start, o.post, o.stabilize);
        (self.events)(LiveEvent::Started { device: compute.info.to_string(), camera: self.capture.description.clone(), notes });
        window.request_redraw();
        Ok(State {
            gfx: Gfx { window, surface, config, setup, display },
            shared: share,
            compute,
            stylizers: HashMap::new(),
            controls,
            governor,
            stabilizer: o.stabilize.then(|| Stabilizer::new(StabilizeConfig::default())),
            shown: None,
            screenshot_next: false,
            screenshots: 0,
            started: Instant::now(),
            frame_ms_sum: 0.0,
            network_ms_sum: 0.0,
            latency_ms_sum: 0.0,
            last_network_ms: 0.0,
            last_latency_ms: 0.0,
            fps_window: Vec::new(),
            message: None,
        })
    }
}

impl State {
    /// Stylizes `c` at the governor's size; the pictures to draw.
    fn process(&mut self, c: Captured, models: &[String]) -> Result<()> {
        let size = self.governor.size();
        let post = self.controls.post;
        let stabilizer = if self.controls.stabilize { Some(self.stabilizer.get_or_insert_with(|| Stabilizer::new(StabilizeConfig::default()))) } else { None };
        let shared = self.shared.then(|| self.compute.device.clone());
        let i = self.controls.style;
        if !self.stylizers.contains_key(&i) {
            let s = Stylizer::load(&models[i], &self.compute.device)?;
            self.stylizers.insert(i, s);
        }
        let p = stylize_frame(c.frame, size, &self.stylizers[&i], shared.as_ref(), post, stabilizer)?;
        self.shown = Some(Shown { captured_at: c.at, stylized: p.stylized, original: p.original, size: p.size });
        // On the device path the network's time is known only once the frame is done (redraw).
        if !self.shared {
            self.last_network_ms = p.network_ms;
        }
        Ok(())
    }

    fn readout(&self, capture: &Capture, models: &[String]) -> Vec<String> {
        let now = Instant::now();
        let fps = match (self.fps_window.first(), self.fps_window.len()) {
            (Some(first), n) if n > 1 => (n - 1) as f64 / (now - *first).as_secs_f64().max(1e-6),
            _ => 0.0,
        };
        let view = match self.controls.view {
            View::Stylized => "stylized",
            View::Original => "original",
            View::SideBySide => "side by side",
        };
        let (pw, ph) = self.shown.as_ref().map(|s| s.size).unwrap_or((0, 0));
        let mut lines = vec![
            format!(
                "{} ({}/{})  {view}  {pw}x{ph}{}  {fps:.1} fps",
                models[self.controls.style],
                self.controls.style + 1,
                models.len(),
                if self.governor.auto { " auto" } else { "" }
            ),
            format!(
                "frame {:.1} ms  network {:.1} ms  latency {:.0} ms  strength {:.1}{}{}  {}  ? keys",
                self.governor.average_ms().unwrap_or(0.0),
                self.last_network_ms,
                self.last_latency_ms,
                self.controls.post.strength,
                if self.controls.post.preserve_colour { "  colours kept" } else { "" },
                if self.controls.stabilize { "  stabilised" } else { "" },
                self.compute.info.name,
            ),
        ];
        if let CaptureState::Failed(m) = capture.latest.state() {
            lines.push(format!("the camera stopped: {m} (q quits)"));
        }
        if let Some(m) = &self.message {
            lines.push(m.clone());
        }
        if self.controls.help {
            lines.push(String::new());
            lines.extend(KEYS.iter().map(|(k, what)| format!("{k:<22} {what}")));
        }
        lines
    }
}

impl ApplicationHandler for App<'_> {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.state.is_some() {
            return;
        }
        match self.start(event_loop) {
            Ok(s) => self.state = Some(s),
            Err(e) => {
                self.error = Some(e);
                event_loop.exit();
            }
        }
    }

    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        if let Some(s) = &self.state {
            let stopped = self.options.stop.as_ref().is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst));
            if stopped || self.options.close_after.is_some_and(|d| s.started.elapsed() >= d) {
                event_loop.exit();
                return;
            }
            s.gfx.window.request_redraw();
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _: WindowId, event: WindowEvent) {
        let Some(state) = self.state.as_mut() else { return };
        match event {
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::Resized(size) if size.width > 0 && size.height > 0 => {
                state.gfx.config.width = size.width;
                state.gfx.config.height = size.height;
                state.gfx.surface.configure(&state.gfx.setup.device, &state.gfx.config);
            }
            WindowEvent::KeyboardInput { event, .. } if event.state == ElementState::Pressed => {
                let key = match &event.logical_key {
                    Key::Character(c) => c.to_string(),
                    Key::Named(NamedKey::Space) => "Space".into(),
                    Key::Named(n) => format!("{n:?}"),
                    _ => return,
                };
                let Some(action) = action_for(&key) else { return };
                match action {
                    Action::Quit => event_loop.exit(),
                    Action::Screenshot => state.screenshot_next = true,
                    Action::ToggleFullscreen => {
                        let w = &state.gfx.window;
                        w.set_fullscreen(if w.fullscreen().is_some() { None } else { Some(Fullscreen::Borderless(None)) });
                    }
                    Action::Size(d) => {
                        state.governor.step(d);
                    }
                    Action::AutoSize => state.governor.set_auto(),
                    a => {
                        if state.controls.apply(a) {
                            (self.events)(LiveEvent::Style(self.options.models[state.controls.style].clone()));
                        }
                        if a == Action::ToggleStabilize {
                            state.stabilizer = None;
                        }
                    }
                }
            }
            WindowEvent::RedrawRequested => {
                if let Err(e) = self.redraw() {
                    self.error = Some(e);
                    event_loop.exit();
                }
            }
            _ => {}
        }
    }

    fn exiting(&mut self, _: &ActiveEventLoop) {
        if let Some(s) = &self.state {
            let n = self.stats.frames.max(1) as f64;
            self.stats.seconds = s.started.elapsed().as_secs_f64();
            self.stats.fps = self.stats.frames as f64 / self.stats.seconds.max(1e-9);
            self.stats.frame_ms = s.frame_ms_sum / n;
            self.stats.network_ms = s.network_ms_sum / n;
            self.stats.latency_ms = s.latency_ms_sum / n;
            self.stats.dropped = self.capture.latest.dropped();
            self.stats.size = s.governor.size();
            self.stats.device = s.compute.info.to_string();
            self.stats.zero_copy = s.shared;
        }
    }
}

impl App<'_> {
    fn redraw(&mut self) -> Result<()> {
        let models = self.options.models.clone();
        let Some(state) = self.state.as_mut() else { return Ok(()) };
        // The newest frame, if a new one came (else the last one is drawn again).
        let t0 = Instant::now();
        let fresh = self.capture.latest.wait(Duration::from_millis(if state.shown.is_some() { 5 } else { 100 }));
        let had_frame = fresh.is_some();
        if let Some(c) = fresh {
            if let Err(e) = state.process(c, &models) {
                // A network that cannot be loaded: say so in the window, go back to the first style.
                state.message = Some(format!("{}: {e}", models[state.controls.style]));
                (self.events)(LiveEvent::Warning(format!("{}: {e}", models[state.controls.style])));
                state.stylizers.remove(&state.controls.style);
                state.controls.style = 0;
                return Ok(());
            }
        }
        if state.shown.is_none() {
            return Ok(());
        }
        let lines = state.readout(&self.capture, &models);
        let Some(shown) = &state.shown else { return Ok(()) };
        let g = &mut state.gfx;
        let target_size = (g.config.width, g.config.height);
        let scale = if target_size.0 >= 1200 { 2 } else { 1 };
        let overlay = Overlay::text(target_size.0, &lines, scale);
        let frame = match g.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(t) | wgpu::CurrentSurfaceTexture::Suboptimal(t) => t,
            wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost => {
                g.surface.configure(&g.setup.device, &g.config);
                return Ok(());
            }
            _ => return Ok(()),
        };
        let target = frame.texture.create_view(&Default::default());
        let mut encoder = g.setup.device.create_command_encoder(&Default::default());
        let (stylized, original) = (shown.stylized.picture(), shown.original.picture());
        g.display.draw(&g.setup.device, &g.setup.queue, &mut encoder, &target, target_size, state.controls.view, &stylized, &original, Some(&overlay));
        g.setup.queue.submit([encoder.finish()]);
        if state.screenshot_next {
            state.screenshot_next = false;
            let img = g.display.render_to_image(&g.setup.device, &g.setup.queue, target_size, state.controls.view, &stylized, &original, Some(&overlay))?;
            state.screenshots += 1;
            let path = next_screenshot(&self.options.screenshot_dir, state.screenshots);
            let mut png = Vec::new();
            img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).map_err(|e| Error::Display(e.to_string()))?;
            crate::image::files::write_atomic(&path, &png)?;
            (self.events)(LiveEvent::Screenshot(path));
        }
        g.window.pre_present_notify();
        g.setup.queue.present(frame);
        if had_frame {
            // Wait for the device, so the frame time is what this frame really cost.
            let _ = g.setup.device.poll(wgpu::PollType::wait_indefinitely());
            let ms = t0.elapsed().as_secs_f64() * 1e3;
            state.governor.record(ms);
            let latency = shown.captured_at.elapsed().as_secs_f64() * 1e3;
            state.last_latency_ms = latency;
            if !state.shared {
                state.network_ms_sum += state.last_network_ms;
            } else {
                state.last_network_ms = ms;
                state.network_ms_sum += ms;
            }
            state.frame_ms_sum += ms;
            state.latency_ms_sum += latency;
            self.stats.frames += 1;
            let now = Instant::now();
            state.fps_window.push(now);
            state.fps_window.retain(|t| now.duration_since(*t) < Duration::from_secs(2));
        }
        Ok(())
    }
}

/// The first free `burnish-live-NNNN.png` in `dir`, counting from `n`.
fn next_screenshot(dir: &std::path::Path, n: u32) -> PathBuf {
    (n..).map(|i| dir.join(format!("burnish-live-{i:04}.png"))).find(|p| !p.exists()).expect("a free name")
}
