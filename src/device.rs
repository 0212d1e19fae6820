//! Where burnish computes: burn's wgpu backend (Vulkan, Metal, DX12, the browser's WebGPU) or its
//! CPU backend. Setup never panics and never prints: what a caller should tell the user comes
//! back as [`ComputeDevice::notes`].
//!
//! - [`select`] (native): `auto` takes a hardware GPU, else the CPU (software adapters such as
//!   Mesa's lavapipe are 14-17x slower than the CPU backend per Gatys evaluation here, plus minutes
//!   of shader compilation, so they are used only when asked for with `wgpu`);
//! - [`wgpu_async`]: the browser's (or any) default adapter, without blocking;
//! - [`from_wgpu_setup`]: an application's own wgpu device and queue (a window that renders what
//!   burnish computes), shared with burn.

use burn::tensor::Device;
use burn::tensor::wgpu::WgpuSetup;

use crate::error::{Error, Result};

/// What the user asked for (`--device`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceChoice {
    /// A hardware GPU through wgpu when there is one, else the CPU.
    Auto,
    /// wgpu on its default adapter, a software one included.
    Wgpu,
    Cpu,
}

/// Which of burn's backends a device belongs to, known from how it was set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    Wgpu,
    /// A CPU backend computing in host memory (no kernel launches, no transfers).
    Cpu,
}

/// burn's CPU backends: flex (the default: 55x faster than ndarray on a Gatys evaluation here,
/// see README) and ndarray (for comparison).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuBackend {
    Flex,
    NdArray,
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

/// A device burn computes on, with what is known about it.
#[derive(Clone, Debug)]
pub struct ComputeDevice {
    pub device: Device,
    pub kind: BackendKind,
    pub info: AdapterInfo,
    /// The wgpu handles behind `device` (wgpu only), for sharing with a renderer.
    pub wgpu: Option<WgpuSetup>,
    /// What the caller should tell the user about the choice (e.g. a fallback to the CPU).
    pub notes: Vec<String>,
}

impl ComputeDevice {
    /// Whether tensors live in host memory (the CPU backends): no launch overhead to save.
    pub fn in_host_memory(&self) -> bool {
        self.kind == BackendKind::Cpu
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn with_note(mut self, note: String) -> Self {
        self.notes.push(note);
        self
    }
}

/// burn's flex CPU backend.
pub fn cpu() -> ComputeDevice {
    cpu_backend(CpuBackend::Flex)
}

pub fn cpu_backend(backend: CpuBackend) -> ComputeDevice {
    #[allow(deprecated)] // burn 0.22 deprecates ndarray in favour of flex; kept to compare
    let (device, api) = match backend {
        CpuBackend::Flex => (Device::flex(), "flex"),
        CpuBackend::NdArray => (Device::ndarray(), "ndarray"),
    };
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let info = AdapterInfo {
        backend: "cpu".into(),
        name: format!("burn {api}, {threads} threads"),
        api: api.into(),
        device_type: "Cpu".into(),
        driver: String::new(),
    };
    ComputeDevice { device, kind: BackendKind::Cpu, info, wgpu: None, notes: Vec::new() }
}

fn adapter_info(setup: &WgpuSetup) -> AdapterInfo {
    let a = setup.adapter.get_info();
    AdapterInfo {
        backend: "wgpu".into(),
        name: a.name.clone(),
        api: format!("{:?}", a.backend),
        device_type: format!("{:?}", a.device_type),
        driver: format!("{} {}", a.driver, a.driver_info).trim().to_string(),
    }
}

fn wgpu_device(device: Device, setup: WgpuSetup) -> ComputeDevice {
    ComputeDevice { device, kind: BackendKind::Wgpu, info: adapter_info(&setup), wgpu: Some(setup), notes: Vec::new() }
}

/// burn's wgpu runtime on the default adapter (high-performance preferred), without blocking: the
/// browser's WebGPU adapter in a page. The runtime can be initialised once per adapter and
/// process; callers keep the result.
pub async fn wgpu_async() -> Result<ComputeDevice> {
    let (device, setup) = Device::wgpu_options().init_with_setup_async().await.map_err(|e| Error::NoGpu(e.to_string()))?;
    Ok(wgpu_device(device, setup))
}

/// burn on an application's own wgpu instance, adapter, device and queue, so that what burnish
/// computes can be drawn without a copy through the host. Register a setup once.
pub fn from_wgpu_setup(setup: WgpuSetup) -> Result<ComputeDevice> {
    use_user_cache();
    let device = Device::wgpu_options().setup(setup.clone()).init().map_err(|e| Error::Device(e.to_string()))?;
    Ok(wgpu_device(device, setup))
}

/// [`wgpu_async`] on the native side, initialised once per process (later calls return the same
/// device or the same error).
#[cfg(not(target_arch = "wasm32"))]
pub fn wgpu() -> Result<ComputeDevice> {
    use_user_cache();
    static WGPU: std::sync::OnceLock<std::result::Result<ComputeDevice, String>> = std::sync::OnceLock::new();
    let init = || match std::panic::catch_unwind(|| crate::block_on(wgpu_async())) {
        Ok(Ok(d)) => Ok(d),
        Ok(Err(Error::NoGpu(m))) => Err(m),
        Ok(Err(e)) => Err(e.to_string()),
        Err(p) => Err(panic_message(&p)),
    };
    WGPU.get_or_init(init).clone().map_err(Error::NoGpu)
}

/// Makes cubecl keep its autotune results in one place per user (the user cache directory,
/// `~/.cache/cubecl` on Linux) instead of under the outermost Cargo.toml above the working
/// directory, so that a second run from anywhere does not tune again. Runs before the first GPU
/// device; cubecl's environment variables still apply, a `cubecl.toml` is not read.
#[cfg(not(target_arch = "wasm32"))]
fn use_user_cache() {
    use burn::cubecl::config::cache::CacheConfig;
    use burn::cubecl::config::{CubeClRuntimeConfig, RuntimeConfig};
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let mut config = CubeClRuntimeConfig::default();
        config.environment.path = CacheConfig::Global;
        // false when the configuration was already read (then it stays as it is).
        let _ = CubeClRuntimeConfig::try_set(config.override_from_env());
    });
}

/// The browser has no file system for cubecl's caches.
#[cfg(target_arch = "wasm32")]
fn use_user_cache() {}

/// Whether wgpu sees a hardware adapter (not a software one such as lavapipe) on Vulkan, Metal
/// or DX12.
#[cfg(not(target_arch = "wasm32"))]
fn hardware_adapter() -> Option<String> {
    use burn::tensor::wgpu::wgpu;
    let probe = std::panic::catch_unwind(|| {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor { backends: wgpu::Backends::PRIMARY, ..wgpu::InstanceDescriptor::new_without_display_handle() });
        let adapters = crate::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY));
        adapters.iter().map(|a| a.get_info()).find(|i| i.device_type != wgpu::DeviceType::Cpu).map(|i| i.name)
    });
    probe.ok().flatten()
}

/// The device for a `--device` choice. `auto`: a hardware GPU through wgpu, else the CPU, with a
/// note saying why.
#[cfg(not(target_arch = "wasm32"))]
pub fn select(choice: DeviceChoice) -> Result<ComputeDevice> {
    match choice {
        DeviceChoice::Cpu => Ok(cpu()),
        DeviceChoice::Wgpu => wgpu(),
        DeviceChoice::Auto => {
            if hardware_adapter().is_none() {
                return Ok(cpu().with_note("no hardware GPU found: using the CPU (--device wgpu uses a software adapter such as lavapipe, usually far slower)".into()));
            }
            match wgpu() {
                Ok(d) if d.info.device_type != "Cpu" => Ok(d),
                Ok(d) => Ok(cpu().with_note(format!("wgpu chose the software adapter {}: using the CPU instead (--device wgpu to use it)", d.info.name))),
                Err(e) => Ok(cpu().with_note(format!("{e}; using the CPU"))),
            }
        }
    }
}

/// The text of a caught panic.
pub fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}
