//! The style networks that ship inside the binary (trained with `burnish train`; see weights/README.md).

use std::path::Path;

use super::files::{self, NetFile};
use crate::error::{Error, Result};

pub struct Shipped {
    pub name: &'static str,
    pub title: &'static str,
    pub bytes: &'static [u8],
}

pub static SHIPPED: &[Shipped] = &[
    Shipped {
        name: "scream-light",
        title: "The Scream, Edvard Munch (1893), public domain: the training recipe, light network (the default)",
        bytes: include_bytes!("../../weights/styles/scream-light.f16.safetensors"),
    },
    Shipped {
        name: "scream",
        title: "The Scream, Edvard Munch (1893), public domain (old recipe: paints the photo away)",
        bytes: include_bytes!("../../weights/styles/scream.f16.safetensors"),
    },
    Shipped {
        name: "wave",
        title: "The Great Wave off Kanagawa, Katsushika Hokusai (c. 1831), public domain (old recipe: paints the photo away)",
        bytes: include_bytes!("../../weights/styles/wave.f16.safetensors"),
    },
    Shipped {
        name: "starry-night",
        title: "The Starry Night, Vincent van Gogh (1889), public domain (old recipe: paints the photo away)",
        bytes: include_bytes!("../../weights/styles/starry-night.f16.safetensors"),
    },
    Shipped {
        name: "composition-vii",
        title: "Composition VII, Wassily Kandinsky (1913), public domain (old recipe: paints the photo away)",
        bytes: include_bytes!("../../weights/styles/composition-vii.f16.safetensors"),
    },
];

/// A shipped style by name, or a network file / ml5 folder by path.
pub fn resolve(model: &str) -> Result<NetFile> {
    if let Some(s) = SHIPPED.iter().find(|s| s.name.eq_ignore_ascii_case(model)) {
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
