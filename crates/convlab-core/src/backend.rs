//! Which burn backend runs the training: WebGPU/Vulkan through burn-wgpu, or burn's CPU
//! backend (`flex`: gemm with SIMD, also in wasm). Chosen at run time.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Cpu,
    Wgpu,
}

impl std::str::FromStr for BackendKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cpu" => Ok(BackendKind::Cpu),
            "wgpu" | "webgpu" => Ok(BackendKind::Wgpu),
            other => Err(format!("unknown backend '{other}': use cpu or wgpu")),
        }
    }
}

/// A ready device and what to call it in the UI.
#[derive(Debug, Clone)]
pub struct Backend {
    pub kind: BackendKind,
    pub device: Device,
    /// e.g. "CPU (burn-flex)" or "WebGPU: SwiftShader Device (Subzero)".
    pub description: String,
}

/// Why burn-wgpu could not start.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("this build of convlab has no WebGPU backend (its `webgpu` feature is off)")]
    NotBuilt,
    #[cfg(feature = "webgpu")]
    #[error(transparent)]
    Init(#[from] burn::tensor::wgpu::WgpuInitError),
    #[error("an earlier start of the GPU runtime panicked")]
    Poisoned,
}

impl Backend {
    /// burn's CPU backend; always available.
    pub fn cpu() -> Backend {
        Backend {
            kind: BackendKind::Cpu,
            device: Device::flex(),
            description: "CPU (burn-flex)".to_string(),
        }
    }

    /// burn-wgpu on the best adapter the platform offers (WebGPU in a browser, Vulkan, Metal
    /// or DX12 natively). Fails with the adapter error when there is none.
    ///
    /// burn registers one wgpu runtime per process (or page) and refuses a second, so the
    /// first success is kept and handed out again.
    #[cfg(feature = "webgpu")]
    pub async fn wgpu() -> Result<Backend, BackendError> {
        static STARTED: std::sync::Mutex<Option<Backend>> = std::sync::Mutex::new(None);
        if let Some(backend) = STARTED.lock().map_err(|_| BackendError::Poisoned)?.clone() {
            return Ok(backend);
        }
        let (device, setup) = Device::wgpu_options().init_with_setup_async().await?;
        let info = setup.adapter.get_info();
        // Browsers hide the adapter's name; the web layer describes it from `adapter.info`.
        let name = if info.name.is_empty() {
            "adapter".to_string()
        } else {
            info.name
        };
        let backend = Backend {
            kind: BackendKind::Wgpu,
            device,
            description: format!("{:?}: {name}", setup.backend),
        };
        *STARTED.lock().map_err(|_| BackendError::Poisoned)? = Some(backend.clone());
        Ok(backend)
    }

    /// Built without the `webgpu` feature (the page's CPU-only module): always an error.
    #[cfg(not(feature = "webgpu"))]
    pub async fn wgpu() -> Result<Backend, BackendError> {
        Err(BackendError::NotBuilt)
    }

    /// The requested backend; for wgpu, falls back to the CPU when no adapter exists and says
    /// why in the description.
    pub async fn choose(kind: BackendKind) -> Backend {
        match kind {
            BackendKind::Cpu => Backend::cpu(),
            BackendKind::Wgpu => match Backend::wgpu().await {
                Ok(backend) => backend,
                Err(why) => {
                    let mut cpu = Backend::cpu();
                    cpu.description =
                        format!("{} (no WebGPU/Vulkan device: {why})", cpu.description);
                    cpu
                }
            },
        }
    }
}
