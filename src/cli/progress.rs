//! The one progress reporter of the command line, for evaluations, iterations and frames: a bar
//! on a terminal, else a line at the start, every tenth of the run or 30 s, and the end, each
//! with the rate, the ETA and the current losses.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    lines: bool,
    label: String,
    unit: &'static str,
    total: u64,
    /// Where this session started counting (a resumed run starts past 0).
    first: u64,
    start: Instant,
    last_line: Option<(Instant, u64)>,
}

impl Progress {
    /// Progress of `label` towards `total` `unit`s (e.g. "evals", "it", "frames"), starting at `first`.
    pub fn new(label: &str, unit: &'static str, total: u64, first: u64, quiet: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = (tty && !quiet).then(|| {
            let bar = ProgressBar::new(total);
            let template = format!("{{prefix}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{per_sec}} ETA {{eta}} {{msg}}");
            bar.set_style(ProgressStyle::with_template(&template).expect("valid template").progress_chars("=> "));
            bar.set_prefix(label.to_string());
            bar.set_position(first);
            bar.reset_eta();
            bar
        });
        Self { bar, lines: !tty && !quiet, label: label.into(), unit, total, first, start: Instant::now(), last_line: None }
    }

    /// Now at `pos` of the total; `msg` says how it goes (the current losses).
    pub fn update(&mut self, pos: u64, msg: &str) {
        if let Some(bar) = &self.bar {
            bar.set_position(pos);
            bar.set_message(msg.to_string());
            return;
        }
        if !self.lines {
            return;
        }
        let tenth = (self.total / 10).max(1);
        let due = match self.last_line {
            None => true,
            Some((at, last)) => pos == self.total || pos / tenth > last / tenth || at.elapsed() >= Duration::from_secs(30),
        };
        if due {
            let done = pos.saturating_sub(self.first) as f64;
            let rate = done / self.start.elapsed().as_secs_f64().max(1e-9);
            let eta = self.total.saturating_sub(pos) as f64 / rate.max(1e-9);
            let unit = self.unit;
            let msg = if msg.is_empty() { String::new() } else { format!(": {msg}") };
            eprintln!("{} {pos}/{} {unit}, {rate:.3} {unit}/s, ETA {eta:.0} s{msg}", self.label, self.total);
            self.last_line = Some((Instant::now(), pos));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The losses as progress shows them.
pub fn losses_message(total: f64, content: f64, style: f64) -> String {
    format!("loss {total:.3e} (content {content:.3e}, style {style:.3e})")
}
