//! Device selection: burn's wgpu backend (Vulkan / Metal / DX12, lavapipe without a GPU) or the
//! CPU backend, with a clear error instead of a panic when no adapter exists.

use burn::tensor::Device;

#[cfg(not(target_arch = "wasm32"))]
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceChoice {
    /// wgpu when an adapter is found, else the CPU.
    Auto,
    Wgpu,
    Cpu,
}

/// What a run ran on, for progress lines and reports.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdapterInfo {
    /// "wgpu" or "cpu".
    pub backend: String,
    /// Adapter name, e.g. "NVIDIA H200" or "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// Graphics API (Vulkan, Metal, Dx12, Gl, BrowserWebGpu) or the CPU backend's name.
    pub api: String,
    /// DiscreteGpu, IntegratedGpu, VirtualGpu, Cpu, Other.
    pub device_type: String,
    pub driver: String,
}

impl std::fmt::Display for AdapterInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.backend == "cpu" {
            write!(f, "cpu ({})", self.name)
        } else {
            write!(f, "wgpu: {} ({}, {}, {})", self.name, self.api, self.device_type, self.driver)
        }
    }
}

const CPU_FLEX_DEFAULT: bool = true;

pub struct Selected {
    pub device: Device,
    pub info: AdapterInfo,
}

/// The CPU backend burnish uses (burn flex: 55x faster than ndarray here on a Gatys evaluation; see README).
/// `BURNISH_CPU_BACKEND=flex|ndarray` overrides the choice (for measuring).
pub fn cpu_device() -> Selected {
    let flex = std::env::var("BURNISH_CPU_BACKEND").map(|v| v == "flex").unwrap_or(CPU_FLEX_DEFAULT);
    #[allow(deprecated)]
    let (device, api) = if flex { (Device::flex(), "flex") } else { (Device::ndarray(), "ndarray") };
    let info = AdapterInfo {
        backend: "cpu".into(),
        name: format!("burn {api}, {} threads", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)),
        api: api.into(),
        device_type: "Cpu".into(),
        driver: String::new(),
    };
    Selected { device, info }
}

/// Initialise burn's wgpu runtime on the default adapter, without panicking. The runtime can be
/// initialised once per process, so the outcome is kept and later calls return it.
#[cfg(not(target_arch = "wasm32"))]
pub fn wgpu_device() -> Result<Selected> {
    static WGPU: std::sync::OnceLock<std::result::Result<(Device, AdapterInfo), String>> = std::sync::OnceLock::new();
    match WGPU.get_or_init(|| init_wgpu().map(|s| (s.device, s.info)).map_err(|e| match e {
        Error::NoGpu(m) => m,
        other => other.to_string(),
    })) {
        Ok((device, info)) => Ok(Selected { device: device.clone(), info: info.clone() }),
        Err(m) => Err(Error::NoGpu(m.clone())),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn init_wgpu() -> Result<Selected> {
    let init = std::panic::catch_unwind(|| Device::wgpu_options().init_with_setup());
    let (device, setup) = match init {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return Err(Error::NoGpu(format!("{e}"))),
        Err(p) => return Err(Error::NoGpu(panic_message(&p))),
    };
    let a = setup.adapter.get_info();
    let info = AdapterInfo {
        backend: "wgpu".into(),
        name: a.name.clone(),
        api: format!("{:?}", a.backend),
        device_type: format!("{:?}", a.device_type),
        driver: format!("{} {}", a.driver, a.driver_info).trim().to_string(),
    };
    Ok(Selected { device, info })
}

#[cfg(not(target_arch = "wasm32"))]
pub fn select(choice: DeviceChoice) -> Result<Selected> {
    match choice {
        DeviceChoice::Cpu => Ok(cpu_device()),
        DeviceChoice::Wgpu => wgpu_device(),
        DeviceChoice::Auto => match wgpu_device() {
            Ok(s) => Ok(s),
            Err(e) => {
                eprintln!("note: {e}; using the CPU.");
                Ok(cpu_device())
            }
        },
    }
}

pub fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}
