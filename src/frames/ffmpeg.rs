//! Video files through the system ffmpeg, as subprocesses with raw RGB frames over pipes:
//! [`probe`] (ffprobe), [`VideoSource`] (decode at the stream's average frame rate, rotation
//! applied) and [`VideoSink`] (H.264, BT.709 tagged, sizes padded to even, the input's audio
//! copied). Frames stream through bounded queues, so memory stays flat whatever the length;
//! each process's stderr is drained on its own thread; a source or sink dropped before its end
//! kills its process and leaves no file behind.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::{FrameSink, FrameSource};
use crate::error::{Error, Result};
use crate::image::RgbF32;

/// Extensions read as video.
pub const VIDEO_EXTENSIONS: [&str; 7] = ["mp4", "m4v", "mov", "mkv", "webm", "avi", "mpg"];

/// Frames queued between the processes and the network, each way.
const QUEUE: usize = 4;

/// Whether a path names a video by its extension.
pub fn is_video_file(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The ffmpeg muxer for an output path, by extension.
pub fn output_muxer(path: &Path) -> Result<&'static str> {
    match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
        Some("mp4" | "m4v") => Ok("mp4"),
        Some("mov") => Ok("mov"),
        Some("mkv") => Ok("matroska"),
        _ => Err(Error::Write { path: path.into(), reason: "unsupported video extension; use .mp4, .mov or .mkv".into() }),
    }
}

/// What a video holds, as ffprobe reports it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct VideoInfo {
    /// Frame size as shown (after the rotation ffmpeg applies on decode).
    pub width: u32,
    pub height: u32,
    /// Rotation of the stored frames, degrees clockwise: 0, 90, 180 or 270.
    pub rotation: u32,
    /// Average frame rate as a fraction (numerator, denominator).
    pub frame_rate: (u32, u32),
    /// Seconds of video.
    pub duration: f64,
    /// Frames at the average rate over the duration (what decoding yields).
    pub frames: usize,
    /// Codecs of the audio streams (empty: no audio).
    pub audio: Vec<String>,
}

impl VideoInfo {
    pub fn fps(&self) -> f64 {
        self.frame_rate.0 as f64 / self.frame_rate.1.max(1) as f64
    }
}

fn spawn(mut cmd: Command, program: &str, path: &Path) -> Result<Child> {
    #[cfg(unix)]
    {
        // Its own process group: a terminal's Ctrl-C reaches burnish, which ends the process
        // itself, rather than ffmpeg finishing a half-written file on its own.
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NoFfmpeg { program: program.into() },
        _ => Error::Ffmpeg { path: path.into(), reason: format!("cannot start {program}: {e}") },
    })
}

/// Reads a process's stderr to its end on its own thread (a full pipe would block the process);
/// keeps the last 8 KiB for error messages.
fn drain(child: &mut Child) -> JoinHandle<String> {
    let mut stderr = child.stderr.take().expect("stderr is piped");
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
            if all.len() > 16384 {
                all.drain(..all.len() - 8192);
            }
        }
        String::from_utf8_lossy(&all).trim().to_string()
    })
}

fn parse_rate(s: &str) -> Option<(u32, u32)> {
    let (n, d) = s.split_once('/')?;
    let (n, d) = (n.trim().parse().ok()?, d.trim().parse().ok()?);
    (n > 0 && d > 0).then_some((n, d))
}

/// Probes `path` with ffprobe.
pub fn probe(path: &Path) -> Result<VideoInfo> {
    if !path.is_file() {
        return Err(Error::Read { path: path.into(), source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file") });
    }
    let mut cmd = Command::new("ffprobe");
    cmd.args(["-v", "error", "-show_streams", "-show_format", "-of", "json"]).arg(path).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = spawn(cmd, "ffprobe", path)?.wait_with_output().map_err(|e| Error::Ffmpeg { path: path.into(), reason: e.to_string() })?;
    let bad = |reason: String| Error::BadVideo { path: path.into(), reason };
    if !out.status.success() {
        return Err(bad(String::from_utf8_lossy(&out.stderr).trim().to_string()));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| bad(format!("unreadable ffprobe output: {e}")))?;
    let streams = v["streams"].as_array().cloned().unwrap_or_default();
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video" && s["disposition"]["attached_pic"] != 1)
        .ok_or_else(|| bad("it has no video stream".into()))?;
    let (cw, ch) = (video["width"].as_u64().unwrap_or(0) as u32, video["height"].as_u64().unwrap_or(0) as u32);
    if cw == 0 || ch == 0 {
        return Err(bad("its video stream has no frame size".into()));
    }
    let side_rotation = video["side_data_list"].as_array().and_then(|l| l.iter().find_map(|d| d["rotation"].as_f64()));
    let tag_rotation = video["tags"]["rotate"].as_str().and_then(|r| r.parse::<f64>().ok()).map(|r| -r);
    // ffprobe's display-matrix rotation is counter-clockwise; the rotate tag is clockwise.
    let rotation = ((-side_rotation.or(tag_rotation).unwrap_or(0.0)).round() as i64).rem_euclid(360) as u32;
    let (width, height) = if rotation % 180 == 90 { (ch, cw) } else { (cw, ch) };
    let frame_rate = video["avg_frame_rate"]
        .as_str()
        .and_then(parse_rate)
        .or_else(|| video["r_frame_rate"].as_str().and_then(parse_rate))
        .ok_or_else(|| bad("its video stream has no frame rate".into()))?;
    let number = |x: &serde_json::Value| x.as_str().and_then(|s| s.parse::<f64>().ok()).filter(|d| d.is_finite() && *d > 0.0);
    let duration = number(&video["duration"]).or_else(|| number(&v["format"]["duration"])).ok_or_else(|| bad("its duration is unknown".into()))?;
    let fps = frame_rate.0 as f64 / frame_rate.1 as f64;
    let frames = (duration * fps).round().max(1.0) as usize;
    let audio = streams.iter().filter(|s| s["codec_type"] == "audio").map(|s| s["codec_name"].as_str().unwrap_or("?").to_string()).collect();
    Ok(VideoInfo { width, height, rotation, frame_rate, duration, frames, audio })
}

/// Decoded frames of a video's first video stream, at its average frame rate, upright.
pub struct VideoSource {
    path: PathBuf,
    child: Child,
    frames: Receiver<RgbF32>,
    reader: Option<JoinHandle<std::io::Result<()>>>,
    stderr: Option<JoinHandle<String>>,
    expected: usize,
}

impl VideoSource {
    pub fn open(path: &Path, info: &VideoInfo) -> Result<Self> {
        let (num, den) = info.frame_rate;
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-nostdin", "-v", "error", "-i"])
            .arg(path)
            .args(["-map", "0:v:0", "-vf", &format!("fps={num}/{den}"), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn(cmd, "ffmpeg", path)?;
        let stderr = drain(&mut child);
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let (w, h) = (info.width, info.height);
        let (tx, frames) = sync_channel(QUEUE);
        let reader = std::thread::spawn(move || -> std::io::Result<()> {
            let mut buf = vec![0u8; (w * h * 3) as usize];
            loop {
                match stdout.read_exact(&mut buf) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                    Err(e) => return Err(e),
                }
                let data = buf.iter().map(|&b| b as f32 / 255.0).collect();
                if tx.send(RgbF32::new(w, h, data)).is_err() {
                    return Ok(()); // the pipeline stopped
                }
            }
        });
        Ok(Self { path: path.into(), child, frames, reader: Some(reader), stderr: Some(stderr), expected: info.frames })
    }

    /// The decoder's end: an error if it failed.
    fn close(&mut self) -> Result<()> {
        let read = self.reader.take().map(|r| r.join());
        let status = self.child.wait().map_err(|e| Error::Ffmpeg { path: self.path.clone(), reason: e.to_string() })?;
        let stderr = self.stderr.take().and_then(|t| t.join().ok()).unwrap_or_default();
        check(&self.path, status, &stderr, "decoding")?;
        match read {
            Some(Ok(Err(e))) => Err(Error::Ffmpeg { path: self.path.clone(), reason: format!("reading decoded frames: {e}") }),
            _ => Ok(()),
        }
    }
}

fn check(path: &Path, status: ExitStatus, stderr: &str, what: &str) -> Result<()> {
    if status.success() {
        return Ok(());
    }
    let last = stderr.lines().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("; ");
    Err(Error::Ffmpeg { path: path.into(), reason: format!("{what} failed ({status}): {last}") })
}

impl FrameSource for VideoSource {
    fn next_frame(&mut self) -> Result<Option<RgbF32>> {
        match self.frames.recv() {
            Ok(f) => Ok(Some(f)),
            Err(_) => {
                self.close()?;
                Ok(None)
            }
        }
    }

    fn frames_hint(&self) -> Option<usize> {
        Some(self.expected)
    }
}

impl Drop for VideoSource {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What happens to the input's audio.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Audio {
    None,
    /// Copied packet for packet.
    Copy,
    /// Re-encoded to AAC: the container refuses the original codec.
    Aac,
}

/// Whether the output container takes the input's audio as it is (a one-second trial mux).
pub fn audio_plan(input: &Path, info: &VideoInfo, muxer: &str) -> Result<Audio> {
    if info.audio.is_empty() {
        return Ok(Audio::None);
    }
    let trial = std::env::temp_dir().join(format!("burnish-audio-{}.tmp", std::process::id()));
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(input)
        .args(["-map", "0:a", "-c:a", "copy", "-t", "1", "-f", muxer])
        .arg(&trial)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let ok = spawn(cmd, "ffmpeg", input)?.wait().map(|s| s.success()).unwrap_or(false);
    let _ = std::fs::remove_file(&trial);
    Ok(if ok { Audio::Copy } else { Audio::Aac })
}

/// An H.264 video written from frames, with the audio of `audio_from` (copied, or AAC where the
/// container refuses the codec), to a temporary file renamed into place by [`FrameSink::finish`].
pub struct VideoSink {
    path: PathBuf,
    temp: PathBuf,
    child: Child,
    frames: Option<SyncSender<Vec<u8>>>,
    writer: Option<JoinHandle<std::io::Result<()>>>,
    stderr: Option<JoinHandle<String>>,
    size: (u32, u32),
    done: bool,
}

impl VideoSink {
    /// `size`: the frames' size; `frame_rate`: (numerator, denominator).
    pub fn create(path: &Path, size: (u32, u32), frame_rate: (u32, u32), audio_from: Option<(&Path, Audio)>) -> Result<Self> {
        let muxer = output_muxer(path)?;
        let fail = |reason: String| Error::Write { path: path.into(), reason };
        if path.is_dir() {
            return Err(fail("it is a folder".into()));
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(fail(format!("folder {} does not exist", dir.display())));
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temp = dir.join(format!(".{name}.burnish-{}.tmp", std::process::id()));
        let (w, h) = size;
        let (num, den) = frame_rate;
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", &format!("{w}x{h}"), "-framerate", &format!("{num}/{den}"), "-i", "pipe:0"]);
        match audio_from {
            Some((input, audio)) if audio != Audio::None => {
                cmd.arg("-i").arg(input).args(["-map", "0:v:0", "-map", "1:a"]);
                match audio {
                    Audio::Copy => cmd.args(["-c:a", "copy"]),
                    _ => cmd.args(["-c:a", "aac", "-b:a", "192k"]),
                };
            }
            _ => {
                cmd.args(["-map", "0:v:0"]);
            }
        }
        // yuv420p needs even sides: pad (never stretch); RGB -> Y'CbCr with the BT.709 matrix,
        // and the stream tagged BT.709 so players do not shift the colours.
        cmd.args([
            "-vf",
            "pad=ceil(iw/2)*2:ceil(ih/2)*2,scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "medium",
            "-crf",
            "18",
            "-colorspace",
            "bt709",
            "-color_primaries",
            "bt709",
            "-color_trc",
            "bt709",
            "-color_range",
            "tv",
        ]);
        if muxer != "matroska" {
            cmd.args(["-movflags", "+faststart"]);
        }
        cmd.args(["-f", muxer]).arg(&temp).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = spawn(cmd, "ffmpeg", path)?;
        let stderr = drain(&mut child);
        let stdin: ChildStdin = child.stdin.take().expect("stdin is piped");
        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
        let writer = std::thread::spawn(move || -> std::io::Result<()> {
            let mut stdin = stdin;
            for frame in rx {
                stdin.write_all(&frame)?;
            }
            stdin.flush()
        });
        Ok(Self { path: path.into(), temp, child, frames: Some(tx), writer: Some(writer), stderr: Some(stderr), size, done: false })
    }

    /// Ends the encoder; its error if it failed.
    fn close(&mut self) -> Result<()> {
        self.frames.take();
        let written = self.writer.take().map(|w| w.join());
        let status = self.child.wait().map_err(|e| Error::Ffmpeg { path: self.path.clone(), reason: e.to_string() })?;
        let stderr = self.stderr.take().and_then(|t| t.join().ok()).unwrap_or_default();
        check(&self.path, status, &stderr, "encoding")?;
        match written {
            Some(Ok(Err(e))) => Err(Error::Ffmpeg { path: self.path.clone(), reason: format!("writing frames to ffmpeg: {e}") }),
            _ => Ok(()),
        }
    }
}

impl FrameSink for VideoSink {
    fn write_frame(&mut self, frame: &RgbF32) -> Result<()> {
        if (frame.width, frame.height) != self.size {
            return Err(Error::InvalidOption(format!("a {}x{} frame in a {}x{} video", frame.width, frame.height, self.size.0, self.size.1)));
        }
        let bytes = frame.to_rgb8().into_raw();
        let sent = self.frames.as_ref().is_some_and(|tx| tx.send(bytes).is_ok());
        if !sent {
            // The encoder stopped early: its error says why.
            self.close()?;
            return Err(Error::Ffmpeg { path: self.path.clone(), reason: "the encoder stopped early".into() });
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.close()?;
        std::fs::rename(&self.temp, &self.path).map_err(|e| Error::Write { path: self.path.clone(), reason: e.to_string() })?;
        self.done = true;
        Ok(())
    }
}

impl Drop for VideoSink {
    fn drop(&mut self) {
        if !self.done {
            self.frames.take();
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
