//! Real cameras through nokhwa (V4L2 on Linux), behind the cargo feature `camera` (on by default).
//! Without it, or with no camera attached, opening one is a clear error that points at
//! `--source FILE`.

use crate::error::{Error, Result};

use super::capture::Camera;

/// What to say when there is no camera to open.
const USE_SOURCE: &str = "pass --source FILE to use a video (looped) or an image as the camera";

/// The cameras attached, as "N: name" lines.
#[cfg(all(feature = "camera", target_os = "linux"))]
pub fn list() -> Result<Vec<String>> {
    let cams = nokhwa::query(nokhwa::utils::ApiBackend::Auto).map_err(|e| Error::Camera(format!("cannot list the cameras ({e}); {USE_SOURCE}")))?;
    Ok(cams.iter().map(|c| format!("{}: {}", c.index(), c.human_name())).collect())
}

#[cfg(not(all(feature = "camera", target_os = "linux")))]
pub fn list() -> Result<Vec<String>> {
    Err(Error::Camera(format!("this build has no camera support (it needs the `camera` feature, on Linux); {USE_SOURCE}")))
}

/// Opens camera `index` at about `want` pixels.
pub fn open(index: u32, want: (u32, u32)) -> Result<Box<dyn Camera>> {
    let cams = list()?;
    if cams.is_empty() {
        return Err(Error::Camera(format!("no camera found (no /dev/video* device); {USE_SOURCE}")));
    }
    if index as usize >= cams.len() {
        return Err(Error::Camera(format!("there is no camera {index}; the cameras are:\n  {}", cams.join("\n  "))));
    }
    imp::open(index, want)
}

#[cfg(all(feature = "camera", target_os = "linux"))]
mod imp {
    use nokhwa::pixel_format::RgbFormat;
    use nokhwa::utils::{CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType};

    use super::{Camera, Error, Result};
    use crate::image::RgbF32;

    pub struct WebCamera {
        camera: nokhwa::Camera,
        size: (u32, u32),
        name: String,
    }

    pub fn open(index: u32, want: (u32, u32)) -> Result<Box<dyn Camera>> {
        let format = CameraFormat::new_from(want.0, want.1, FrameFormat::YUYV, 30);
        let request = RequestedFormat::with_formats(RequestedFormatType::Closest(format), &[FrameFormat::YUYV, FrameFormat::MJPEG, FrameFormat::NV12, FrameFormat::RAWRGB]);
        let mut camera = nokhwa::Camera::new(CameraIndex::Index(index), request).map_err(|e| Error::Camera(format!("cannot open camera {index}: {e}")))?;
        camera.open_stream().map_err(|e| Error::Camera(format!("cannot start camera {index}: {e}")))?;
        let r = camera.resolution();
        let name = camera.info().human_name();
        Ok(Box::new(WebCamera { camera, size: (r.width_x, r.height_y), name }))
    }

    impl Camera for WebCamera {
        fn grab(&mut self) -> Result<RgbF32> {
            let buffer = self.camera.frame().map_err(|e| Error::Camera(format!("the camera stopped: {e}")))?;
            match buffer.source_frame_format() {
                // MJPEG through the project's own decoder (nokhwa's needs a C library).
                FrameFormat::MJPEG => crate::image::files::decode(buffer.buffer(), std::path::Path::new("camera frame")),
                _ => {
                    let img = buffer.decode_image::<RgbFormat>().map_err(|e| Error::Camera(format!("cannot decode a camera frame: {e}")))?;
                    let (w, h) = img.dimensions();
                    Ok(RgbF32::new(w, h, img.into_raw().into_iter().map(|v| v as f32 / 255.0).collect()))
                }
            }
        }

        fn size(&self) -> (u32, u32) {
            self.size
        }

        fn describe(&self) -> String {
            format!("{} ({}x{})", self.name, self.size.0, self.size.1)
        }
    }
}

#[cfg(not(all(feature = "camera", target_os = "linux")))]
mod imp {
    use super::{Camera, Result};

    pub fn open(_: u32, _: (u32, u32)) -> Result<Box<dyn Camera>> {
        super::list().map(|_| unreachable!("list() fails without camera support"))
    }
}
