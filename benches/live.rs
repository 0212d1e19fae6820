//! Benchmark: the live loop without a window. A still frame (640×480 and 1280×720) is the camera;
//! each frame is stylized at the governor's size (holding `--fps`), drawn by the live display pass
//! into an offscreen texture and read back (the screenshot path stands in for the screen, so the
//! time includes waiting for the device). Prints one JSON object per device and frame size:
//! frames/s, frame and network ms, capture-to-readback latency, and the size the governor settled at.
//!
//!     cargo bench --bench live -- [--device cpu|wgpu|all] [--seconds 8] [--model scream-light] [--fps 30]
//!
//! On the CPU device the network runs on the CPU and the display pass on the wgpu adapter (lavapipe
//! here); on wgpu both share burn's device and the output is drawn from its buffer (no host copy).

mod common;

use common::arg;

use burnish::device::ComputeDevice;
use burnish::feedforward::Stylizer;
use burnish::image::RgbF32;
use burnish::live::app::stylize_frame;
use burnish::live::{Display, Governor, View};
use burnish::frames::PostProcess;
use burn::tensor::wgpu::wgpu;
use web_time::Instant;

fn bench(network: &ComputeDevice, screen: &ComputeDevice, width: u32, height: u32) -> serde_json::Value {
    let seconds: f64 = arg("--seconds").map(|s| s.parse().unwrap()).unwrap_or(8.0);
    let fps: f64 = arg("--fps").map(|s| s.parse().unwrap()).unwrap_or(30.0);
    let model = arg("--model").unwrap_or("scream-light".into());
    let stylizer = Stylizer::load(&model, &network.device).unwrap();
    let setup = screen.wgpu.as_ref().expect("a wgpu device for the display");
    let mut display = Display::new(&setup.device, wgpu::TextureFormat::Rgba8Unorm);
    let frame = RgbF32::noise(width, height, 7);
    let shared = network.wgpu.is_some();
    // Where the window starts: 640 px on a GPU, 256 on the CPU or a software adapter.
    let start = if network.info.device_type == "Cpu" { 256 } else { 640 };
    let mut governor = Governor::new(fps, start, width.max(height), true);
    let (mut frames, mut frame_ms, mut network_ms) = (0u64, Vec::new(), Vec::new());
    let t_start = Instant::now();
    while t_start.elapsed().as_secs_f64() < seconds || frames < 3 {
        let captured = Instant::now();
        let p = stylize_frame(frame.clone(), governor.size(), &stylizer, shared.then_some(&network.device), PostProcess::default(), None).unwrap();
        let t_net = captured.elapsed().as_secs_f64() * 1e3;
        let (s, o) = (p.stylized.picture(), p.original.picture());
        display.render_to_image(&setup.device, &setup.queue, (width, height), View::Stylized, &s, &o, None).unwrap();
        let ms = captured.elapsed().as_secs_f64() * 1e3;
        governor.record(ms);
        frames += 1;
        // The last half, after the governor has settled.
        if t_start.elapsed().as_secs_f64() > seconds / 2.0 {
            frame_ms.push(ms);
            network_ms.push(if shared { t_net } else { p.network_ms });
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    serde_json::json!({
        "bench": "live",
        "network_adapter": network.info,
        "display_adapter": screen.info,
        "model": model,
        "frame": [width, height],
        "target_fps": fps,
        "size_settled": governor.size(),
        "frames": frames,
        "fps_second_half": 1000.0 / mean(&frame_ms),
        "frame_ms": mean(&frame_ms),
        "network_ms": mean(&network_ms),
        "network_ms_note": if shared { "until the output's buffer is handed to the display (the device may still be working)" } else { "host-measured, stylize + read back" },
        "capture_to_readback_ms": mean(&frame_ms),
        "zero_copy": shared,
    })
}

fn main() {
    let settings = common::settings();
    let screen = burnish::device::wgpu().expect("the display pass needs a wgpu adapter (lavapipe: apt-get install mesa-vulkan-drivers)");
    for network in common::devices("all") {
        for (w, h) in [(640, 480), (1280, 720)] {
            let mut row = bench(&network, &screen, w, h);
            row["settings"] = settings.clone();
            println!("{row}");
        }
    }
}
