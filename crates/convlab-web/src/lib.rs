//! convlab in the browser: the only crate that knows about wasm-bindgen and web-sys.
//!
//! The same code serves both halves: in the page's window it runs the UI ([`ui`]); in the Web
//! Worker the page starts, it runs the trainer ([`worker`]). They talk through the typed
//! messages of [`protocol`]. Built twice: without the `webgpu` feature (the page's module, and
//! the worker's where there is no WebGPU) and with it (crate `convlab-web-gpu`).

pub mod error;
pub mod fetch;
pub mod gpu;
pub mod protocol;
pub mod ui;
pub mod worker;

pub use error::WebError;
pub use gpu::{choose_backend, webgpu_adapter, webgpu_adapter_available};

use wasm_bindgen::prelude::*;

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    let global = js_sys::global();
    if let Some(scope) = global.dyn_ref::<web_sys::DedicatedWorkerGlobalScope>() {
        // `worker.js` marks the training worker's helpers.
        let helper = js_sys::Reflect::get(&global, &"convlabHelper".into())
            .is_ok_and(|flag| flag.is_truthy());
        if helper {
            worker::helper::start(scope.clone());
        } else {
            worker::start(scope.clone());
        }
    } else if global.dyn_ref::<web_sys::Window>().is_some() && page_has_ui() {
        ui::start();
    }
}

/// Whether this window is convlab's page (tests load the module into an empty page).
fn page_has_ui() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("layers"))
        .is_some()
}
