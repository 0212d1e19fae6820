//! Image files as frames: a folder (or list) of images as a sequence, and a folder of numbered
//! PNG frames as a sink, written to a temporary folder and renamed into place when complete.

use std::path::{Path, PathBuf};

use super::{FrameSink, FrameSource};
use crate::error::{Error, Result};
use crate::image::RgbF32;
use crate::image::files::{load_rgb, save_rgb};

/// Images read in order (an image sequence).
pub struct ImageSequence {
    files: Vec<PathBuf>,
    next: usize,
}

impl ImageSequence {
    pub fn new(files: Vec<PathBuf>) -> Self {
        Self { files, next: 0 }
    }
}

impl FrameSource for ImageSequence {
    fn next_frame(&mut self) -> Result<Option<RgbF32>> {
        let Some(path) = self.files.get(self.next) else { return Ok(None) };
        self.next += 1;
        load_rgb(path).map(Some)
    }

    fn frames_hint(&self) -> Option<usize> {
        Some(self.files.len())
    }
}

/// Frames as `frame_000001.png`, ... in a folder that appears only when every frame is written.
pub struct FrameFolder {
    dir: PathBuf,
    temp: PathBuf,
    written: usize,
    done: bool,
}

impl FrameFolder {
    /// `dir` must not exist yet, or be an empty folder.
    pub fn create(dir: &Path) -> Result<Self> {
        let fail = |reason: String| Error::Write { path: dir.into(), reason };
        if dir.exists() && (!dir.is_dir() || std::fs::read_dir(dir).map_err(|e| fail(e.to_string()))?.next().is_some()) {
            return Err(fail("it exists and is not an empty folder; frames go to a new or empty folder".into()));
        }
        let name = dir.file_name().ok_or_else(|| fail("no folder name".into()))?.to_string_lossy().into_owned();
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            return Err(fail(format!("folder {} does not exist", parent.display())));
        }
        let temp = parent.join(format!(".{name}.burnish-{}.tmp", std::process::id()));
        std::fs::create_dir(&temp).map_err(|e| fail(e.to_string()))?;
        Ok(Self { dir: dir.into(), temp, written: 0, done: false })
    }
}

impl FrameSink for FrameFolder {
    fn write_frame(&mut self, frame: &RgbF32) -> Result<()> {
        self.written += 1;
        save_rgb(&self.temp.join(format!("frame_{:06}.png", self.written)), frame)
    }

    fn finish(&mut self) -> Result<()> {
        let fail = |e: std::io::Error| Error::Write { path: self.dir.clone(), reason: e.to_string() };
        if self.dir.is_dir() {
            std::fs::remove_dir(&self.dir).map_err(fail)?;
        }
        std::fs::rename(&self.temp, &self.dir).map_err(fail)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for FrameFolder {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.temp);
        }
    }
}
