//! convlab in the browser: the only crate that knows about wasm-bindgen. It picks the backend
//! (WebGPU when the browser gives an adapter, else burn's CPU backend) and exposes the core's
//! trainer to JavaScript, with events delivered as plain JS objects.

pub mod gpu;

use convlab_core::{Dataset, ModelSpec, TrainConfig, TrainEvent, Trainer};
use serde::Serialize;
use wasm_bindgen::prelude::*;

pub use gpu::{choose_backend, webgpu_adapter_available};

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
#[wasm_bindgen]
pub struct WebTrainer {
    trainer: Trainer,
    backend: String,
    on_event: js_sys::Function,
}

#[wasm_bindgen]
impl WebTrainer {
    /// Builds a trainer. `spec` and `config` are JSON strings (ModelSpec, TrainConfig);
    /// the images and labels are IDX files (raw or gzipped) as fetched. `on_event` receives
    /// every training event as an object.
    pub async fn create(
        spec: &str,
        config: &str,
        images: &[u8],
        labels: &[u8],
        prefer_webgpu: bool,
        on_event: js_sys::Function,
    ) -> Result<WebTrainer, JsValue> {
        let spec = ModelSpec::from_json(spec).map_err(js_error)?;
        let config: TrainConfig = serde_json::from_str(config)
            .map_err(|e| js_error(format!("training settings are not valid: {e}")))?;
        let data = Dataset::from_idx("training images", images, "training labels", labels)
            .map_err(js_error)?;
        let backend = choose_backend(prefer_webgpu).await;
        let trainer = Trainer::new(&spec, config, &data, backend.device).map_err(js_error)?;
        Ok(WebTrainer {
            trainer,
            backend: backend.description,
            on_event,
        })
    }

    /// Which backend (and adapter) trains.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// Trains one batch; resolves to `false` once training is over.
    pub async fn step(&mut self) -> Result<bool, JsValue> {
        let on_event = self.on_event.clone();
        let mut failure = None;
        let mut emit = |event: TrainEvent| {
            if let Err(e) = to_js(&event).and_then(|v| on_event.call1(&JsValue::NULL, &v)) {
                failure.get_or_insert(e);
            }
        };
        let more = self.trainer.step(&mut emit).await.map_err(js_error)?;
        match failure {
            Some(e) => Err(e),
            None => Ok(more),
        }
    }

    /// Asks training to stop before its next batch.
    pub fn stop(&self) {
        self.trainer.stop_handle().request_stop();
    }

    /// Loss, accuracy and predictions on a test set (IDX bytes).
    pub async fn evaluate(&self, images: &[u8], labels: &[u8]) -> Result<JsValue, JsValue> {
        let data =
            Dataset::from_idx("test images", images, "test labels", labels).map_err(js_error)?;
        let evaluation = convlab_core::evaluate(self.trainer.model(), &data, self.trainer.device())
            .await
            .map_err(js_error)?;
        to_js(&evaluation)
    }
}
