//! Capture on its own thread into a one-frame slot: the newest frame replaces an unread one
//! (counted as dropped), so a slow network always gets the latest picture and latency stays at
//! about one frame time. Sources: a camera ([`super::camera`]) or a virtual camera that plays a
//! video or a still image in a loop at its own frame rate.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use web_time::Instant;

use crate::error::{Error, Result};
use crate::frames::FrameSource;
use crate::frames::ffmpeg::{VideoSource, is_video_file, probe};
use crate::image::RgbF32;
use crate::image::files::load_rgb;

/// A captured frame and when it was captured.
#[derive(Clone, Debug)]
pub struct Captured {
    pub frame: RgbF32,
    pub at: Instant,
    /// Counts frames from 1.
    pub number: u64,
}

/// What the capture thread reports besides frames.
#[derive(Clone, Debug, PartialEq)]
pub enum CaptureState {
    Running,
    /// The source ended for good (a camera that went away, a decoder that failed): the message.
    Failed(String),
}

struct Slot {
    frame: Option<Captured>,
    state: CaptureState,
}

/// The newest frame, shared between the capture thread and the consumer.
pub struct LatestFrame {
    slot: Mutex<Slot>,
    ready: Condvar,
    dropped: AtomicU64,
}

impl LatestFrame {
    fn new() -> Self {
        Self { slot: Mutex::new(Slot { frame: None, state: CaptureState::Running }), ready: Condvar::new(), dropped: AtomicU64::new(0) }
    }

    fn put(&self, c: Captured) {
        let mut s = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if s.frame.replace(c).is_some() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.ready.notify_all();
    }

    fn fail(&self, message: String) {
        let mut s = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        s.state = CaptureState::Failed(message);
        self.ready.notify_all();
    }

    /// Takes the newest frame if there is one not yet taken.
    pub fn take(&self) -> Option<Captured> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner()).frame.take()
    }

    /// Waits up to `timeout` for a frame not yet taken.
    pub fn wait(&self, timeout: Duration) -> Option<Captured> {
        let s = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        let (mut s, _) = self.ready.wait_timeout_while(s, timeout, |s| s.frame.is_none() && s.state == CaptureState::Running).unwrap_or_else(|e| e.into_inner());
        s.frame.take()
    }

    pub fn state(&self) -> CaptureState {
        self.slot.lock().unwrap_or_else(|e| e.into_inner()).state.clone()
    }

    /// Frames replaced before anyone took them.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Something that yields frames as they happen (blocking until the next one). It lives on the
/// capture thread ([`Capture::start`] opens it there: some camera handles cannot move threads).
pub trait Camera {
    /// The next frame; an error ends the capture (the message goes to the window).
    fn grab(&mut self) -> Result<RgbF32>;
    /// Width and height of its frames.
    fn size(&self) -> (u32, u32);
    /// What it is, for the readout.
    fn describe(&self) -> String;
}

/// The capture thread: runs `camera` into a [`LatestFrame`] until stopped or failed.
pub struct Capture {
    pub latest: Arc<LatestFrame>,
    pub size: (u32, u32),
    pub description: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Opens a camera (on the capture thread).
pub type OpenCamera = Box<dyn FnOnce() -> Result<Box<dyn Camera>> + Send>;

impl Capture {
    /// Opens the camera on a new capture thread and starts capturing; an error opening it is
    /// returned here.
    pub fn start(open: OpenCamera) -> Result<Self> {
        let latest = Arc::new(LatestFrame::new());
        let stop = Arc::new(AtomicBool::new(false));
        let (opened, is_open) = std::sync::mpsc::channel::<Result<((u32, u32), String)>>();
        let thread = {
            let (latest, stop) = (latest.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut camera = match open() {
                    Ok(c) => {
                        let _ = opened.send(Ok((c.size(), c.describe())));
                        c
                    }
                    Err(e) => {
                        let _ = opened.send(Err(e));
                        return;
                    }
                };
                let mut number = 0;
                while !stop.load(Ordering::Relaxed) {
                    match camera.grab() {
                        Ok(frame) => {
                            number += 1;
                            latest.put(Captured { frame, at: Instant::now(), number });
                        }
                        Err(e) => {
                            latest.fail(e.to_string());
                            return;
                        }
                    }
                }
            })
        };
        let (size, description) = match is_open.recv() {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => return Err(Error::Camera("the capture thread ended before the camera opened".into())),
        };
        Ok(Self { latest, size, description, stop, thread: Some(thread) })
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A video file (looped) or a still image as a camera, paced at the file's frame rate (a still:
/// `still_fps`).
pub struct VirtualCamera {
    path: PathBuf,
    kind: VirtualKind,
    frame_time: Duration,
    next_due: Instant,
    size: (u32, u32),
}

enum VirtualKind {
    Still(RgbF32),
    Video { source: Option<VideoSource>, info: crate::frames::ffmpeg::VideoInfo },
}

impl VirtualCamera {
    pub fn open(path: &Path, still_fps: f64) -> Result<Self> {
        if !path.exists() {
            return Err(Error::InvalidOption(format!("--source {}: no such file", path.display())));
        }
        let (kind, fps, size) = if is_video_file(path) {
            let info = probe(path)?;
            let fps = info.fps();
            let size = (info.width, info.height);
            (VirtualKind::Video { source: None, info }, fps, size)
        } else {
            let still = load_rgb(path)?;
            let size = (still.width, still.height);
            (VirtualKind::Still(still), still_fps, size)
        };
        let frame_time = Duration::from_secs_f64(1.0 / fps.clamp(0.5, 240.0));
        Ok(Self { path: path.into(), kind, frame_time, next_due: Instant::now(), size })
    }

    /// Frames per second it plays at.
    pub fn fps(&self) -> f64 {
        1.0 / self.frame_time.as_secs_f64()
    }
}

impl Camera for VirtualCamera {
    fn grab(&mut self) -> Result<RgbF32> {
        // Pace like a camera: one frame per frame time, whatever the consumer does.
        let now = Instant::now();
        if self.next_due > now {
            std::thread::sleep(self.next_due - now);
        }
        self.next_due = self.next_due.max(now - self.frame_time) + self.frame_time;
        match &mut self.kind {
            VirtualKind::Still(f) => Ok(f.clone()),
            VirtualKind::Video { source, info } => {
                for _ in 0..2 {
                    if source.is_none() {
                        *source = Some(VideoSource::open(&self.path, info)?);
                    }
                    match source.as_mut().expect("just opened").next_frame()? {
                        Some(f) => return Ok(f),
                        None => *source = None, // the end: play it again
                    }
                }
                Err(Error::BadVideo { path: self.path.clone(), reason: "it has no frames".into() })
            }
        }
    }

    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn describe(&self) -> String {
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        format!("{name} ({}x{}, {:.0} fps, looped)", self.size.0, self.size.1, self.fps())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter {
        n: u32,
        fail_after: u32,
    }

    impl Camera for Counter {
        fn grab(&mut self) -> Result<RgbF32> {
            std::thread::sleep(Duration::from_millis(2));
            self.n += 1;
            if self.n > self.fail_after {
                return Err(Error::Camera("the camera went away".into()));
            }
            Ok(RgbF32::new(1, 1, vec![self.n as f32; 3]))
        }
        fn size(&self) -> (u32, u32) {
            (1, 1)
        }
        fn describe(&self) -> String {
            "counter".into()
        }
    }

    #[test]
    fn a_slow_consumer_gets_the_newest_frame_and_stale_ones_are_dropped() {
        let cap = Capture::start(Box::new(|| Ok(Box::new(Counter { n: 0, fail_after: 40 }) as Box<dyn Camera>))).unwrap();
        let first = cap.latest.wait(Duration::from_secs(2)).expect("a frame");
        std::thread::sleep(Duration::from_millis(30));
        let later = cap.latest.wait(Duration::from_secs(2)).expect("a frame");
        assert!(later.number > first.number + 3, "{} then {}", first.number, later.number);
        assert!(cap.latest.dropped() > 0);
        // The camera fails: the state says why and no frame is left to wait for.
        std::thread::sleep(Duration::from_millis(150));
        let _ = cap.latest.take();
        assert_eq!(cap.latest.state(), CaptureState::Failed("the camera went away".into()));
        assert!(cap.latest.wait(Duration::from_millis(50)).is_none());
    }
}
