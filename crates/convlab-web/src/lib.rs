//! convlab in the browser: the only crate that knows about wasm-bindgen. It picks the backend
//! (WebGPU when the browser gives an adapter, else burn's CPU backend) and exposes the core's
//! trainer to JavaScript, with events delivered as plain JS objects.

pub mod gpu;

use convlab_core::{evaluate, Dataset, ModelSpec, StopHandle, TrainConfig, TrainEvent, Trainer};
use serde::Serialize;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

pub use gpu::{choose_backend, webgpu_adapter, webgpu_adapter_available};

/// Turns a core error into a JS exception with its message.
fn js_error(e: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&e.to_string()).into()
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(js_error)
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// A training run driven from JavaScript one batch at a time.
///
/// The trainer sits in a shared slot so that `step` can return a plain Promise (wasm-bindgen's
/// async methods cannot borrow `self` across an await); a second `step` while one is running
/// is refused.
#[wasm_bindgen]
pub struct WebTrainer {
    slot: Rc<RefCell<Option<Trainer>>>,
    stop: StopHandle,
    backend: String,
    on_event: js_sys::Function,
}

/// Builds a trainer. `spec` and `config` are JSON (ModelSpec, TrainConfig); the images and
/// labels are IDX files (raw or gzipped) as fetched. `on_event` receives every training event
/// as a plain object. With `prefer_webgpu` it trains on WebGPU when the browser has an adapter.
#[wasm_bindgen(js_name = createTrainer)]
pub async fn create_trainer(
    spec: String,
    config: String,
    images: Vec<u8>,
    labels: Vec<u8>,
    prefer_webgpu: bool,
    on_event: js_sys::Function,
) -> Result<WebTrainer, JsValue> {
    let spec = ModelSpec::from_json(&spec).map_err(js_error)?;
    let config: TrainConfig = serde_json::from_str(&config)
        .map_err(|e| js_error(format!("training settings are not valid: {e}")))?;
    let data = Dataset::from_idx("training images", &images, "training labels", &labels)
        .map_err(js_error)?;
    let backend = choose_backend(prefer_webgpu).await;
    let trainer = Trainer::new(&spec, config, data, backend.device).map_err(js_error)?;
    Ok(WebTrainer {
        stop: trainer.stop_handle(),
        slot: Rc::new(RefCell::new(Some(trainer))),
        backend: backend.description,
        on_event,
    })
}

const BUSY: &str = "the trainer is busy: wait for the previous step or evaluation to finish";

#[wasm_bindgen]
impl WebTrainer {
    /// Which backend (and adapter) trains.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// Trains one batch; resolves to `false` once training is over.
    pub fn step(&self) -> js_sys::Promise {
        let slot = self.slot.clone();
        let on_event = self.on_event.clone();
        future_to_promise(async move {
            let mut trainer = slot.borrow_mut().take().ok_or_else(|| js_error(BUSY))?;
            let mut failure = None;
            let mut emit = |event: TrainEvent| {
                if let Err(e) = to_js(&event).and_then(|v| on_event.call1(&JsValue::NULL, &v)) {
                    failure.get_or_insert(e);
                }
            };
            let result = trainer.step(&mut emit).await;
            *slot.borrow_mut() = Some(trainer);
            let more = result.map_err(js_error)?;
            match failure {
                Some(e) => Err(e),
                None => Ok(JsValue::from_bool(more)),
            }
        })
    }

    /// Asks training to stop before its next batch (works while a step is running).
    pub fn stop(&self) {
        self.stop.request_stop();
    }

    /// Resolves to `{loss, accuracy, predictions}` on a test set (IDX bytes).
    pub fn evaluate(&self, images: Vec<u8>, labels: Vec<u8>) -> js_sys::Promise {
        let slot = self.slot.clone();
        future_to_promise(async move {
            let data = Dataset::from_idx("test images", &images, "test labels", &labels)
                .map_err(js_error)?;
            let trainer = slot.borrow_mut().take().ok_or_else(|| js_error(BUSY))?;
            let result = evaluate(trainer.model(), &data, trainer.device()).await;
            *slot.borrow_mut() = Some(trainer);
            to_js(&result.map_err(js_error)?)
        })
    }
}
