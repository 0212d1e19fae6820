//! Live stylization (`burnish live`): frames from a camera or a looping file, captured on their
//! own thread ([`capture`]), stylized at a processing size that holds the frame rate
//! ([`governor`]), shown in a window with key controls ([`controls`]).

pub mod app;
pub mod camera;
pub mod capture;
pub mod controls;
pub mod display;
pub mod governor;

pub use app::{LiveEvent, LiveOptions, LiveStats, run};
pub use capture::{Camera, Capture, CaptureState, Captured, LatestFrame, VirtualCamera};
pub use display::{Display, GpuImage, Overlay, Picture};
pub use controls::{Action, Controls, KEYS, View, action_for};
pub use governor::{Governor, SIZE_LADDER};
