//! What the page asks of the worker.

use super::{from_js, to_js, RequestKind};
use crate::error::WebError;
use convlab_core::{BackendTimings, Checkpoint, ModelSpec, TrainConfig};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

/// What the page asks of the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum ToWorker {
    /// Fetch (or take from the browser's cache) and decode the four Fashion-MNIST files found
    /// at `base_url` (a folder URL, relative to the page or absolute).
    LoadData { base_url: String },
    /// Train a fresh model; events stream back as [`FromWorker::Training`].
    Train(TrainRequest),
    /// Get the first training step of this model ready while the student reads or edits:
    /// start the backend's device and run one step on a throwaway copy, so that on WebGPU
    /// every kernel the step needs is compiled before Train. Answered by
    /// [`FromWorker::WarmedUp`]; skipped when a newer WarmUp or a Train is already queued.
    WarmUp(WarmUp),
    /// Stop the running training before its next batch.
    Stop,
    /// For the fault tests only (the page sends it only when its URL has `test-faults`):
    /// acts at once, like Stop, even during a run.
    Fault(Fault),
    /// The conv and pool layers' outputs for these test images: of the last trained model if
    /// it has this architecture, otherwise of a fresh, untrained one (seeded with `seed`).
    FeatureMaps {
        spec: ModelSpec,
        images: Vec<usize>,
        seed: u64,
    },
    /// A student's own picture (28x28 pixels, 0 black to 1 white, row by row: made ready by
    /// convlab-picture in the page) through the last trained model if it has this
    /// architecture, otherwise through a fresh one seeded with `seed`.
    Classify {
        spec: ModelSpec,
        pixels: Vec<f32>,
        seed: u64,
    },
    /// These test images' pixels (for the pages of the mistakes view).
    TestImages { indices: Vec<usize> },
    /// One test image through the last trained (or loaded) model: its probabilities and
    /// every conv and pool layer's output.
    Inspect { index: usize },
    /// The last trained (or loaded) model as a `.convlab` file, for `destination`.
    ExportModel { destination: Destination },
    /// Rebuild the model in a `.convlab` file and evaluate it on the test set; it becomes the
    /// model whose feature maps are shown.
    LoadModel {
        /// Where the bytes came from, for messages ("cnn.convlab", "saved model 'x'").
        origin: String,
        #[serde(with = "serde_bytes")]
        file: Vec<u8>,
    },
}

/// A Train request: what to train, how, on which backend, and what to watch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainRequest {
    pub spec: ModelSpec,
    pub config: TrainConfig,
    /// Train on the first this-many training images only (for quick experiments).
    pub train_limit: Option<usize>,
    pub backend: BackendChoice,
    /// Workers that share each batch when the CPU trains (the training worker and its
    /// helpers, one per core), as the page resolved the student's setting.
    #[serde(default = "one_worker")]
    pub cpu_workers: usize,
    /// What an earlier timing found for this model on this browser ([`BackendChoice::Auto`]
    /// only): the worker trains on the faster without timing again when they are for its
    /// adapter, model, batch size and CPU workers.
    #[serde(default)]
    pub timings: Option<Box<BackendTimings>>,
    /// Carry on from this checkpoint of the same run (after a lost GPU or worker).
    #[serde(default)]
    pub resume: Option<Box<Checkpoint>>,
    /// Test images whose feature maps are captured, with the kernels, before the first epoch
    /// and after each one ([`FromWorker::Snapshot`]).
    #[serde(default)]
    pub watch: Vec<usize>,
}

/// What a warm-up prepares: a model's first step at a batch size, on the backend a Train
/// with the same `backend` and `timings` would get. With [`BackendChoice::Auto`] and no
/// timings, the worker times the model on both backends first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmUp {
    pub spec: ModelSpec,
    pub batch_size: usize,
    pub backend: BackendChoice,
    /// As in [`TrainRequest::cpu_workers`]: the warm-up starts the helpers too.
    #[serde(default = "one_worker")]
    pub cpu_workers: usize,
    #[serde(default)]
    pub timings: Option<Box<BackendTimings>>,
}

/// Requests from before the CPU trained on several workers trained on one.
fn one_worker() -> usize {
    1
}

impl WarmUp {
    /// Whether `other` prepares the same model, batch size, backend choice and CPU workers
    /// (timings that arrived since do not make a new warm-up).
    pub fn prepares_same(&self, other: &WarmUp) -> bool {
        self.spec == other.spec
            && self.batch_size == other.batch_size
            && self.backend == other.backend
            && self.cpu_workers == other.cpu_workers
    }
}

/// Which backend trains: the faster of the two, timed on the student's model (the default),
/// or the one the student forces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    #[default]
    Auto,
    Webgpu,
    Cpu,
}

impl BackendChoice {
    pub fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Webgpu => "webgpu",
            BackendChoice::Cpu => "cpu",
        }
    }

    pub fn from_name(name: &str) -> Option<BackendChoice> {
        [
            BackendChoice::Auto,
            BackendChoice::Webgpu,
            BackendChoice::Cpu,
        ]
        .into_iter()
        .find(|choice| choice.name() == name)
    }

    /// Whether the worker needs the WebGPU module for it.
    pub fn may_use_webgpu(self) -> bool {
        self != BackendChoice::Cpu
    }
}

/// Reads the name, and also the `true`/`false` of the "Use WebGPU when available" checkbox
/// that saved settings held before: `true` (its default) is the automatic choice now.
impl<'de> Deserialize<'de> for BackendChoice {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Choice;
        impl serde::de::Visitor<'_> for Choice {
            type Value = BackendChoice;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"auto\", \"webgpu\" or \"cpu\"")
            }
            fn visit_bool<E: serde::de::Error>(self, use_webgpu: bool) -> Result<Self::Value, E> {
                Ok(if use_webgpu {
                    BackendChoice::Auto
                } else {
                    BackendChoice::Cpu
                })
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Self::Value, E> {
                BackendChoice::from_name(name)
                    .ok_or_else(|| E::unknown_variant(name, &["auto", "webgpu", "cpu"]))
            }
        }
        deserializer.deserialize_any(Choice)
    }
}

/// A fault the end-to-end tests make happen inside the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// `destroy()` the worker's WebGPU device, as a GPU reset would lose it.
    LoseGpu,
    /// Panic inside the worker (a bug, an out-of-memory abort).
    Panic,
    /// End the first helper worker of a CPU run on several workers, with no word to the
    /// training worker (as a browser may end a worker it runs out of memory for).
    StopHelper,
}

/// Where an exported model goes: a download, or the browser's IndexedDB under a name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Destination {
    File,
    Browser { name: String },
}

impl ToWorker {
    pub fn to_js(&self) -> Result<JsValue, WebError> {
        to_js(self, "request")
    }

    pub fn from_js(value: JsValue) -> Result<Self, WebError> {
        from_js(value, "request")
    }

    pub fn kind(&self) -> RequestKind {
        match self {
            ToWorker::LoadData { .. } => RequestKind::LoadData,
            ToWorker::Train(_) => RequestKind::Train,
            ToWorker::WarmUp(_) => RequestKind::WarmUp,
            ToWorker::Stop => RequestKind::Stop,
            ToWorker::FeatureMaps { .. } => RequestKind::FeatureMaps,
            ToWorker::Classify { .. } => RequestKind::Classify,
            ToWorker::TestImages { .. } => RequestKind::TestImages,
            ToWorker::Inspect { .. } => RequestKind::Inspect,
            ToWorker::ExportModel { .. } => RequestKind::ExportModel,
            ToWorker::LoadModel { .. } => RequestKind::LoadModel,
            ToWorker::Fault(_) => RequestKind::Fault,
        }
    }
}
