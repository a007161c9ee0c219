//! Backend choice in the browser: WebGPU through burn-wgpu when `navigator.gpu` gives an
//! adapter, otherwise burn's CPU backend, and always a description of which one runs.

use convlab_core::Backend;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Whether `navigator.gpu.requestAdapter()` gives an adapter (works in windows and workers).
pub async fn webgpu_adapter_available() -> bool {
    let get = |target: &JsValue, key: &str| js_sys::Reflect::get(target, &JsValue::from_str(key));
    let Ok(navigator) = get(&js_sys::global(), "navigator") else {
        return false;
    };
    let Ok(gpu) = get(&navigator, "gpu") else {
        return false;
    };
    if gpu.is_undefined() || gpu.is_null() {
        return false;
    }
    let Ok(request) = get(&gpu, "requestAdapter")
        .and_then(|f| f.dyn_into::<js_sys::Function>().map_err(JsValue::from))
    else {
        return false;
    };
    let Ok(promise) = request
        .call0(&gpu)
        .and_then(|p| p.dyn_into::<js_sys::Promise>().map_err(JsValue::from))
    else {
        return false;
    };
    matches!(JsFuture::from(promise).await, Ok(adapter) if !adapter.is_null() && !adapter.is_undefined())
}

/// WebGPU when asked for and available, else the CPU; the description says which and why.
pub async fn choose_backend(prefer_webgpu: bool) -> Backend {
    if !prefer_webgpu {
        return Backend::cpu();
    }
    if !webgpu_adapter_available().await {
        let mut cpu = Backend::cpu();
        cpu.description = format!("{} (this browser gives no WebGPU adapter)", cpu.description);
        return cpu;
    }
    match Backend::wgpu().await {
        Ok(backend) => backend,
        Err(why) => {
            let mut cpu = Backend::cpu();
            cpu.description = format!("{} (WebGPU failed to start: {why})", cpu.description);
            cpu
        }
    }
}
