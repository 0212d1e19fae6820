//! The style networks that ship inside the binary (trained with `burnish train`; see weights/README.md).

use std::path::Path;

use super::files::{self, NetFile};
use crate::error::{Error, Result};

pub struct Shipped {
    pub name: &'static str,
    pub title: &'static str,
    /// Its file in weights/styles/ (the browser app fetches it from there).
    pub file: &'static str,
    /// The file's bytes, embedded in native builds; empty in the browser build, which fetches
    /// [`Shipped::file`] instead of carrying every network in its wasm module.
    pub bytes: &'static [u8],
}

#[cfg(not(target_arch = "wasm32"))]
macro_rules! embedded {
    ($name:literal) => {
        include_bytes!(concat!("../../weights/styles/", $name, ".f16.safetensors"))
    };
}
#[cfg(target_arch = "wasm32")]
macro_rules! embedded {
    ($name:literal) => {
        &[]
    };
}

macro_rules! shipped {
    ($name:literal, $title:literal) => {
        Shipped { name: $name, title: $title, file: concat!($name, ".f16.safetensors"), bytes: embedded!($name) }
    };
}

/// The style used when none is named (the CLI's `--model` default).
pub const DEFAULT: &str = "scream-light";

pub static SHIPPED: &[Shipped] = &[
    shipped!("scream-light", "The Scream, Edvard Munch (1893), public domain: the training recipe, light network (the default)"),
    shipped!("scream", "The Scream, Edvard Munch (1893), public domain: the training recipe, full network (scream-light widened and trained on)"),
    shipped!("wave-light", "The Great Wave off Kanagawa, Katsushika Hokusai (c. 1831), public domain: the training recipe, light network"),
    shipped!("wave", "The Great Wave off Kanagawa, Katsushika Hokusai (c. 1831), public domain: the training recipe, full network (wave-light widened and trained on)"),
    shipped!("udnie-light", "Udnie (Young American Girl, The Dance), Francis Picabia (1913), public domain: the training recipe, light network"),
    shipped!("udnie", "Udnie (Young American Girl, The Dance), Francis Picabia (1913), public domain: the training recipe, full network (udnie-light widened and trained on)"),
    shipped!("composition-vii-light", "Composition VII, Wassily Kandinsky (1913), public domain: the training recipe, light network"),
    shipped!("composition-vii", "Composition VII, Wassily Kandinsky (1913), public domain: the training recipe, full network (composition-vii-light widened and trained on)"),
    shipped!("starry-night-light", "The Starry Night, Vincent van Gogh (1889), public domain: the training recipe, light network"),
    shipped!("starry-night", "The Starry Night, Vincent van Gogh (1889), public domain: the training recipe, full network (starry-night-light widened and trained on)"),
    shipped!("woman-with-hat-light", "Woman with a Hat, Henri Matisse (1905), public domain: the training recipe, light network"),
    shipped!("woman-with-hat", "Woman with a Hat, Henri Matisse (1905), public domain: the training recipe, full network (woman-with-hat-light widened and trained on)"),
];

/// A shipped style by name, or a network file / ml5 folder by path.
pub fn resolve(model: &str) -> Result<NetFile> {
    if let Some(s) = SHIPPED.iter().find(|s| s.name.eq_ignore_ascii_case(model) && !s.bytes.is_empty()) {
        return files::load_safetensors(s.bytes, Path::new(&format!("<shipped {}>", s.name)));
    }
    let path = Path::new(model);
    if path.exists() {
        return files::load(path);
    }
    let names: Vec<&str> = SHIPPED.iter().map(|s| s.name).collect();
    Err(Error::InvalidOption(format!(
        "--model {model}: not a shipped style ({}) and no such file or folder",
        if names.is_empty() { "none shipped in this build".to_string() } else { names.join(", ") }
    )))
}
