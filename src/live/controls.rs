//! What the live window's keys do, as plain state (no window needed to test it).

use crate::frames::PostProcess;

/// What the window shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Stylized,
    Original,
    SideBySide,
}

/// An action a key asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    NextStyle,
    PreviousStyle,
    /// Style number N (0-based) of the list.
    Style(usize),
    /// Stylized → original → side by side → stylized.
    CycleView,
    /// Strength down / up by a step.
    Strength(i32),
    TogglePreserveColour,
    ToggleStabilize,
    /// Processing size one step down / up (manual).
    Size(i32),
    AutoSize,
    Screenshot,
    ToggleFullscreen,
    ToggleHelp,
    Quit,
}

/// The key bindings, for `?` and the README.
pub const KEYS: &[(&str, &str)] = &[
    ("Right / Left, n / p", "next / previous style"),
    ("1 .. 9", "style by number"),
    ("Space", "stylized / original / side by side"),
    ("[ / ]", "strength down / up"),
    ("c", "preserve the camera's colours on / off"),
    ("s", "stabilisation on / off"),
    ("- / +", "processing size down / up (manual)"),
    ("a", "automatic processing size"),
    ("Enter / F12", "screenshot (PNG)"),
    ("f / F11", "fullscreen"),
    ("? / h", "this help"),
    ("Esc / q", "quit"),
];

/// The key (winit's logical key as text, or a named key) to its action.
pub fn action_for(key: &str) -> Option<Action> {
    Some(match key {
        "ArrowRight" | "n" => Action::NextStyle,
        "ArrowLeft" | "p" => Action::PreviousStyle,
        "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" => Action::Style(key.parse::<usize>().ok()? - 1),
        "Space" | " " => Action::CycleView,
        "[" => Action::Strength(-1),
        "]" => Action::Strength(1),
        "c" => Action::TogglePreserveColour,
        "s" => Action::ToggleStabilize,
        "-" => Action::Size(-1),
        "+" | "=" => Action::Size(1),
        "a" => Action::AutoSize,
        "Enter" | "F12" => Action::Screenshot,
        "f" | "F11" => Action::ToggleFullscreen,
        "?" | "h" => Action::ToggleHelp,
        "Escape" | "q" => Action::Quit,
        _ => return None,
    })
}

/// The window's settings that keys change.
#[derive(Clone, Debug)]
pub struct Controls {
    pub style: usize,
    pub styles: usize,
    pub view: View,
    pub post: PostProcess,
    pub stabilize: bool,
    pub help: bool,
}

impl Controls {
    pub fn new(styles: usize, style: usize, post: PostProcess, stabilize: bool) -> Self {
        Self { style: style.min(styles.saturating_sub(1)), styles, view: View::Stylized, post, stabilize, help: false }
    }

    /// Applies the settings part of `a` (style, view, post-processing, stabilisation, help);
    /// returns whether the style changed. Size, screenshot, fullscreen and quit are the window's.
    pub fn apply(&mut self, a: Action) -> bool {
        let before = self.style;
        match a {
            Action::NextStyle => self.style = (self.style + 1) % self.styles.max(1),
            Action::PreviousStyle => self.style = (self.style + self.styles.max(1) - 1) % self.styles.max(1),
            Action::Style(i) if i < self.styles => self.style = i,
            Action::CycleView => {
                self.view = match self.view {
                    View::Stylized => View::Original,
                    View::Original => View::SideBySide,
                    View::SideBySide => View::Stylized,
                }
            }
            Action::Strength(d) => self.post.strength = (self.post.strength + 0.1 * d as f32).clamp(0.0, 1.0),
            Action::TogglePreserveColour => self.post.preserve_colour = !self.post.preserve_colour,
            Action::ToggleStabilize => self.stabilize = !self.stabilize,
            Action::ToggleHelp => self.help = !self.help,
            _ => {}
        }
        self.style != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_change_the_settings() {
        let mut c = Controls::new(3, 0, PostProcess::default(), true);
        assert!(c.apply(action_for("ArrowLeft").unwrap()));
        assert_eq!(c.style, 2, "wraps around");
        assert!(c.apply(action_for("n").unwrap()));
        assert_eq!(c.style, 0);
        assert!(c.apply(action_for("2").unwrap()));
        assert_eq!(c.style, 1);
        assert!(!c.apply(action_for("9").unwrap()), "no ninth style");
        c.apply(action_for(" ").unwrap());
        assert_eq!(c.view, View::Original);
        c.apply(action_for("Space").unwrap());
        assert_eq!(c.view, View::SideBySide);
        for _ in 0..3 {
            c.apply(action_for("[").unwrap());
        }
        assert!((c.post.strength - 0.7).abs() < 1e-6);
        c.apply(action_for("c").unwrap());
        c.apply(action_for("s").unwrap());
        assert!(c.post.preserve_colour && !c.stabilize);
        assert_eq!(action_for("Escape"), Some(Action::Quit));
        assert_eq!(action_for("x"), None);
        for (keys, _) in KEYS {
            assert!(!keys.is_empty());
        }
    }
}
