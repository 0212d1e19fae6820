//! The `burnish` command line: parses the arguments and hands each subcommand to its module in
//! [`cli`]. Errors are reported with what to do next and a non-zero exit; outputs are written
//! atomically and only after the inputs were validated.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;

mod cli;

use cli::{Cli, Command, feedforward, gatys, live, studies};

fn main() -> ExitCode {
    quiet_wayland_probe();
    let cli = Cli::parse();
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                eprintln!("\ninterrupted twice: exiting without saving");
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: finishing the current step and saving (Ctrl-C again to quit at once)");
        });
    }
    let result = match cli.command {
        Command::Demo { output, gatys } => gatys::demo(&output, &gatys, stop),
        Command::Transfer { content, style, output, init, content_layer, content_weight, size, gatys } => {
            gatys::transfer(&content, &style, &output, init, &content_layer, content_weight, size, &gatys, stop)
        }
        Command::Texture { style, output, size, gatys } => gatys::texture(&style, &output, &size, &gatys, stop),
        Command::Ablation { study, gatys } => studies::ablation(&study, &gatys, stop),
        Command::Calibrate { study, gatys } => studies::calibrate(&study, &gatys, stop),
        Command::Stylize { inputs, output, model, size, frames, compute } => feedforward::stylize(&inputs, &output, &model, size, &frames, &compute, stop),
        Command::Styles => feedforward::styles(),
        Command::Export { model, output, f16 } => feedforward::export(&model, &output, f16),
        Command::Train(args) => feedforward::train(&args, stop),
        Command::Evaluate(args) => feedforward::evaluate(&args, stop),
        Command::Live(args) => live::live(&args, stop),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Without XDG_RUNTIME_DIR no Wayland compositor can be reached, yet Mesa's Vulkan drivers try,
/// and libwayland prints "XDG_RUNTIME_DIR is invalid or not set" for every try (four times per
/// run). An absolute WAYLAND_DISPLAY that names nothing makes that try fail silently.
fn quiet_wayland_probe() {
    if cfg!(target_os = "linux") && std::env::var_os("XDG_RUNTIME_DIR").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        // SAFETY: the first thing main does, before any other thread exists.
        unsafe { std::env::set_var("WAYLAND_DISPLAY", "/nonexistent/burnish-no-wayland") };
    }
}
