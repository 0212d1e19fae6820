//! The adaptive processing size: steps the network's input resolution down when frames take
//! longer than the target frame time and back up when there is room, so the window stays live.

/// The sizes (largest side, pixels) the governor steps through.
pub const SIZE_LADDER: [u32; 14] = [96, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 960, 1280];

/// Frames to wait after a change before judging the new size.
const SETTLE_FRAMES: u32 = 8;
/// Weight of the newest frame time in the running average.
const SMOOTHING: f64 = 0.25;

#[derive(Clone, Debug)]
pub struct Governor {
    /// The frame time to hold, ms.
    pub target_ms: f64,
    /// Whether the size follows the frame time (false: fixed by the user).
    pub auto: bool,
    index: usize,
    /// The largest ladder index allowed (the source's own size).
    max_index: usize,
    average_ms: Option<f64>,
    settle: u32,
}

impl Governor {
    /// Starts at the ladder size nearest `start` (at most `max_side`), holding `target_fps`.
    pub fn new(target_fps: f64, start: u32, max_side: u32, auto: bool) -> Self {
        let max_index = SIZE_LADDER.iter().rposition(|&s| s <= max_side.max(SIZE_LADDER[0])).unwrap_or(0);
        let index = nearest(start).min(max_index);
        Self { target_ms: 1000.0 / target_fps.max(0.1), auto, index, max_index, average_ms: None, settle: SETTLE_FRAMES }
    }

    /// The current processing size (largest side).
    pub fn size(&self) -> u32 {
        SIZE_LADDER[self.index]
    }

    /// The running average of the processing time, ms.
    pub fn average_ms(&self) -> Option<f64> {
        self.average_ms
    }

    /// One frame took `ms` to process: returns the new size when it changes.
    pub fn record(&mut self, ms: f64) -> Option<u32> {
        let avg = match self.average_ms {
            Some(a) => a + SMOOTHING * (ms - a),
            None => ms,
        };
        self.average_ms = Some(avg);
        if !self.auto {
            return None;
        }
        if self.settle > 0 {
            self.settle -= 1;
            return None;
        }
        // Cost grows with the pixel count: predict the next size up before taking it.
        let ratio = |a: usize, b: usize| (SIZE_LADDER[b] as f64 / SIZE_LADDER[a] as f64).powi(2);
        let next = if avg > self.target_ms * 1.1 && self.index > 0 {
            // Straight to the largest size predicted to fit (at least one step).
            (0..self.index).rev().find(|&i| avg * ratio(self.index, i) <= self.target_ms).unwrap_or(0)
        } else if self.index < self.max_index && avg * ratio(self.index, self.index + 1) < self.target_ms * 0.8 {
            self.index + 1
        } else {
            return None;
        };
        self.set_index(next);
        Some(self.size())
    }

    /// One step smaller (-1) or larger (+1) by hand; switches automatic sizing off.
    pub fn step(&mut self, direction: i32) -> u32 {
        self.auto = false;
        let i = (self.index as i64 + direction as i64).clamp(0, self.max_index as i64) as usize;
        self.set_index(i);
        self.size()
    }

    /// Automatic sizing on again.
    pub fn set_auto(&mut self) {
        self.auto = true;
        self.settle = SETTLE_FRAMES;
    }

    /// The source's size changed (another camera or file): cap the ladder at `max_side`.
    pub fn set_max_side(&mut self, max_side: u32) {
        self.max_index = SIZE_LADDER.iter().rposition(|&s| s <= max_side.max(SIZE_LADDER[0])).unwrap_or(0);
        if self.index > self.max_index {
            self.set_index(self.max_index);
        }
    }

    fn set_index(&mut self, i: usize) {
        if i != self.index {
            // The old average says nothing about the new size.
            self.average_ms = self.average_ms.map(|a| a * (SIZE_LADDER[i] as f64 / SIZE_LADDER[self.index] as f64).powi(2));
            self.index = i;
        }
        self.settle = SETTLE_FRAMES;
    }
}

/// The ladder index of the size nearest `side`.
fn nearest(side: u32) -> usize {
    (0..SIZE_LADDER.len()).min_by_key(|&i| (SIZE_LADDER[i] as i64 - side as i64).abs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A simulated network whose cost is `ms_per_megapixel` per million pixels of a 4:3 frame.
    fn settle(g: &mut Governor, ms_per_megapixel: f64, frames: usize) {
        for _ in 0..frames {
            let s = g.size() as f64;
            g.record(ms_per_megapixel * s * s * 0.75 / 1e6);
        }
    }

    #[test]
    fn holds_the_target_frame_time() {
        // 200 ms per megapixel, 30 fps (33 ms): at most sqrt(33 / 200 / 0.75) ≈ 469 px.
        let mut g = Governor::new(30.0, 1280, 1280, true);
        settle(&mut g, 200.0, 400);
        assert_eq!(g.size(), 448, "the largest ladder size under 33 ms");
        // A faster network (40 ms/MP): 768 px takes 17.7 ms, 960 px would take 27.6 ms (over
        // 80 % of the frame time, no headroom): it climbs to 768.
        settle(&mut g, 40.0, 400);
        assert_eq!(g.size(), 768);
        settle(&mut g, 1.0, 400);
        assert_eq!(g.size(), 1280);
    }

    #[test]
    fn manual_steps_switch_auto_off_and_stay_in_range() {
        let mut g = Governor::new(30.0, 256, 640, true);
        assert_eq!(g.step(1), 320);
        settle(&mut g, 1e4, 50);
        assert_eq!(g.size(), 320, "fixed by hand: no automatic change");
        for _ in 0..20 {
            g.step(1);
        }
        assert_eq!(g.size(), 640, "never above the source");
        for _ in 0..20 {
            g.step(-1);
        }
        assert_eq!(g.size(), 96);
        // From below it climbs while the next size fits in 80 % of the frame time: 384 px (22 ms;
        // 448 px would take 30 ms). From above it stops at the first size under 110 % (448).
        g.set_auto();
        settle(&mut g, 200.0, 400);
        assert_eq!(g.size(), 384);
    }
}
