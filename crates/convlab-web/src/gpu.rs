//! Backend choice in the browser: WebGPU through burn-wgpu when `navigator.gpu` gives an
//! adapter, otherwise burn's CPU backend, and always a description of which one runs.

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

/// WebGPU when asked for and available, else the CPU; the description says which and why.
pub async fn choose_backend(prefer_webgpu: bool) -> Backend {
    if !prefer_webgpu {
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
