//! Backend choice in the browser: WebGPU through burn-wgpu when `navigator.gpu` gives an
//! adapter, otherwise burn's CPU backend, and always a description of which one runs.

use crate::protocol::BackendChoice;
use convlab_core::Backend;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn get(target: &JsValue, key: &str) -> Option<JsValue> {
    js_sys::Reflect::get(target, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// The global where `worker.js` leaves why it runs the CPU-only module.
const CPU_REASON: &str = "convlabCpuReason";
/// The global where `worker.js` keeps the GPU device burn-wgpu asked for (for the fault test).
const GPU_DEVICE: &str = "convlabGpuDevice";
/// The global where `worker.js` (from the device's `lost` promise) or the session (from a
/// failure on the device) leaves why the GPU is gone.
const GPU_LOST: &str = "convlabGpuLost";

/// Why the worker's GPU device was lost ("destroyed: ...", "unknown: ..."), once it was.
pub fn lost_reason() -> Option<String> {
    get(&js_sys::global(), GPU_LOST)?.as_string()
}

/// Why the device was lost, when a failure on it may be the loss: the device's `lost` promise
/// can settle just after the failed read-back that revealed it, so this waits for it briefly.
pub async fn wait_for_lost_reason() -> Option<String> {
    if let Some(reason) = lost_reason() {
        return Some(reason);
    }
    let global = js_sys::global();
    let lost = get(&get(&global, GPU_DEVICE)?, "lost")?
        .dyn_into::<js_sys::Promise>()
        .ok()?;
    let set_timeout = get(&global, "setTimeout")?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    let timeout = js_sys::Promise::new(&mut |resolve, _| {
        let _ = set_timeout.call2(&global, &resolve, &JsValue::from(LOST_WAIT_MS));
    });
    let _ = JsFuture::from(js_sys::Promise::race(&js_sys::Array::of2(&lost, &timeout))).await;
    // worker.js's reaction to `lost` was registered first, so it has run.
    lost_reason()
}

/// How long a failure on the GPU waits for the device's `lost` promise.
const LOST_WAIT_MS: u32 = 1000;

/// Remembers that the GPU is gone, so that later runs choose the CPU.
pub fn mark_lost(reason: &str) {
    if lost_reason().is_none() {
        let _ = js_sys::Reflect::set(&js_sys::global(), &GPU_LOST.into(), &reason.into());
    }
}

/// `destroy()`s the worker's GPU device, as the fault test's stand-in for a GPU reset.
/// Returns whether there was one.
pub fn destroy_device() -> bool {
    let Some(device) = get(&js_sys::global(), GPU_DEVICE) else {
        return false;
    };
    get(&device, "destroy")
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .is_some_and(|destroy| destroy.call0(&device).is_ok())
}

/// The adapter `navigator.gpu.requestAdapter()` gives (in windows and workers alike),
/// described by its `info` ("google swiftshader", ...), or `None` without WebGPU.
pub async fn webgpu_adapter() -> Option<String> {
    let gpu = get(&get(&js_sys::global(), "navigator")?, "gpu")?;
    let request = get(&gpu, "requestAdapter")?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    let promise = request
        .call0(&gpu)
        .ok()?
        .dyn_into::<js_sys::Promise>()
        .ok()?;
    let adapter = JsFuture::from(promise)
        .await
        .ok()
        .filter(|a| !a.is_null() && !a.is_undefined())?;
    let info = get(&adapter, "info");
    let words: Vec<String> = ["vendor", "architecture", "description"]
        .iter()
        .filter_map(|key| info.as_ref().and_then(|i| get(i, key))?.as_string())
        .filter(|word| !word.is_empty())
        .collect();
    Some(if words.is_empty() {
        "unnamed adapter".to_string()
    } else {
        words.join(" ")
    })
}

/// Whether the browser gives a WebGPU adapter.
pub async fn webgpu_adapter_available() -> bool {
    webgpu_adapter().await.is_some()
}

/// WebGPU when it may be used (forced, or the automatic choice before any timing) and is
/// available, else the CPU; the description says which and why.
pub async fn choose_backend(choice: BackendChoice) -> Backend {
    if let Some(reason) = lost_reason() {
        let mut cpu = Backend::cpu();
        cpu.description = format!("{} (the GPU was reset: {reason})", cpu.description);
        return cpu;
    }
    if !choice.may_use_webgpu() {
        return Backend::cpu();
    }
    let Some(adapter) = webgpu_adapter().await else {
        let mut cpu = Backend::cpu();
        cpu.description = format!("{} (this browser gives no WebGPU adapter)", cpu.description);
        return cpu;
    };
    if !cfg!(feature = "webgpu") {
        // The page's CPU-only module runs where the browser has an adapter only when WebGPU
        // was switched off at page load or its module failed to load; worker.js says which.
        let why = get(&js_sys::global(), CPU_REASON)
            .and_then(|e| e.as_string())
            .unwrap_or_else(|| "this module was built without WebGPU".to_string());
        let mut cpu = Backend::cpu();
        cpu.description = format!("{} (WebGPU adapter: {adapter}; {why})", cpu.description);
        return cpu;
    }
    match Backend::wgpu().await {
        Ok(mut backend) => {
            backend.description = format!("WebGPU ({adapter})");
            backend
        }
        Err(why) => {
            let mut cpu = Backend::cpu();
            cpu.description = format!("{} (WebGPU failed to start: {why})", cpu.description);
            cpu
        }
    }
}

/// The most workers a CPU run uses, the training worker included: past this, the shares of
/// the lab's batches get too small to pay for their messages.
pub const MAX_CPU_WORKERS: usize = 8;

/// The cores the browser reports (`navigator.hardwareConcurrency`, in a window or a worker);
/// 1 where it does not say.
pub fn cores() -> usize {
    get(&js_sys::global(), "navigator")
        .and_then(|navigator| get(&navigator, "hardwareConcurrency"))
        .and_then(|cores| cores.as_f64())
        .map_or(1, |cores| cores as usize)
}
