//! The one typed message enum pair between the page and its training worker. Both sides are
//! this crate, so a message is built and matched as a Rust value and crosses `postMessage`
//! through serde-wasm-bindgen (structured clone), never as hand-written JSON.

use crate::error::WebError;
use convlab_core::{
    BackendKind, Checkpoint, ConfusedPair, Evaluation, FeatureMaps, Kernels, ModelHeader,
    ModelSpec, Prediction, TrainConfig, TrainEvent,
};
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
    Train {
        spec: ModelSpec,
        config: TrainConfig,
        /// Train on the first this-many training images only (for quick experiments).
        train_limit: Option<usize>,
        prefer_webgpu: bool,
        /// Carry on from this checkpoint of the same run (after a lost GPU or worker).
        #[serde(default)]
        resume: Option<Box<Checkpoint>>,
        /// Test images whose feature maps are captured, with the kernels, before the first
        /// epoch and after each one ([`FromWorker::Snapshot`]).
        #[serde(default)]
        watch: Vec<usize>,
    },
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

/// What a warm-up prepares: a model's first step at a batch size, on the backend a Train
/// with `prefer_webgpu` would get.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmUp {
    pub spec: ModelSpec,
    pub batch_size: usize,
    pub prefer_webgpu: bool,
}

/// A fault the end-to-end tests make happen inside the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// `destroy()` the worker's WebGPU device, as a GPU reset would lose it.
    LoseGpu,
    /// Panic inside the worker (a bug, an out-of-memory abort).
    Panic,
}

/// Where an exported model goes: a download, or the browser's IndexedDB under a name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Destination {
    File,
    Browser { name: String },
}

/// One of the four dataset files while it downloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileProgress {
    pub file: String,
    pub loaded: u64,
    /// From Content-Length, when the server sends it.
    pub total: Option<u64>,
    /// Served from the browser's cache, not the network.
    pub cached: bool,
}

/// Test-set results after training: what the page's confusion matrix needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    pub loss: f32,
    pub accuracy: f32,
    /// `confusion[true class][predicted class]`.
    pub confusion: Vec<Vec<usize>>,
    /// Each test image's true class, predicted class and the probability of the prediction,
    /// in test-set order: the mistakes view lists a cell's images from them.
    #[serde(default, with = "serde_bytes")]
    pub labels: Vec<u8>,
    #[serde(default, with = "serde_bytes")]
    pub predictions: Vec<u8>,
    #[serde(default)]
    pub confidences: Vec<f32>,
}

impl TestResult {
    /// The images of class `truth` predicted as `predicted`, the most confident first.
    pub fn cell(&self, truth: u8, predicted: u8) -> Vec<Prediction> {
        self.evaluation().cell(&self.labels, truth, predicted)
    }

    /// The pairs of classes mixed up at least once, the most mixed-up first.
    pub fn confused_pairs(&self) -> Vec<ConfusedPair> {
        self.evaluation().confused_pairs(&self.labels)
    }

    fn evaluation(&self) -> Evaluation {
        Evaluation {
            loss: self.loss,
            accuracy: self.accuracy,
            predictions: self.predictions.clone(),
            confidences: self.confidences.clone(),
        }
    }

    /// Accuracy of each true class (`None` for a class with no examples).
    pub fn per_class_accuracy(&self) -> Vec<Option<f32>> {
        self.confusion
            .iter()
            .enumerate()
            .map(|(class, row)| {
                let total: usize = row.iter().sum();
                (total > 0).then(|| row.get(class).copied().unwrap_or(0) as f32 / total as f32)
            })
            .collect()
    }
}

/// What the worker tells the page: `{"reply": "data_ready", "data": {...}}`.
///
/// Adjacently tagged, not internally: serde buffers an internally tagged enum into its generic
/// content form first, which made serde-wasm-bindgen walk typed arrays element by element
/// (seconds for one feature-map reply); with the tag first, the payload deserializes directly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", content = "data", rename_all = "snake_case")]
pub enum FromWorker {
    /// The worker has started and waits for requests.
    Ready,
    DataProgress(FileProgress),
    /// The dataset is decoded and held in the worker. Carries the first test images and labels
    /// for the page's thumbnails.
    DataReady {
        train: usize,
        test: usize,
        /// `samples.len() / 784` test images, row-major bytes.
        #[serde(with = "serde_bytes")]
        samples: Vec<u8>,
        #[serde(with = "serde_bytes")]
        sample_labels: Vec<u8>,
    },
    DataFailed {
        message: String,
    },
    /// Which backend trains, in words ("WebGPU (google swiftshader)", "CPU (burn-flex) ...").
    Backend {
        kind: BackendKind,
        description: String,
    },
    Training(TrainEvent),
    /// A [`ToWorker::WarmUp`] is done: the device is started and this model's first step has
    /// run once on `backend`, taking `seconds` (on WebGPU, mostly compiling kernels).
    WarmedUp {
        warm_up: WarmUp,
        backend: BackendKind,
        description: String,
        seconds: f64,
    },
    /// The worker's WebAssembly memory after an epoch (it only grows: a leak shows as growth
    /// from one epoch to the next). WebGPU buffers live outside it.
    WorkerMemory {
        epoch: usize,
        wasm_bytes: u64,
    },
    /// Training is over and the model was evaluated on the whole test set.
    Tested(TestResult),
    FeatureMaps {
        #[serde(with = "maps_as_bytes")]
        maps: Vec<FeatureMaps>,
        /// The images' indices in the test set and their labels.
        images: Vec<usize>,
        labels: Vec<u8>,
        trained: bool,
    },
    /// A Classify request's answer: the ten class probabilities and every conv and pool
    /// layer's output for the picture.
    Classified {
        probabilities: Vec<f32>,
        #[serde(with = "maps_as_bytes")]
        maps: Vec<FeatureMaps>,
        trained: bool,
    },
    /// The kernels and the watched images' feature maps after `epoch` epochs of the run in
    /// progress (0: before the first).
    Snapshot {
        epoch: usize,
        #[serde(with = "kernels_as_bytes")]
        kernels: Vec<Kernels>,
        #[serde(with = "maps_as_bytes")]
        maps: Vec<FeatureMaps>,
    },
    /// A TestImages request's answer: 784 bytes per image, in the order asked.
    TestImages {
        indices: Vec<usize>,
        #[serde(with = "serde_bytes")]
        pixels: Vec<u8>,
    },
    /// An Inspect request's answer.
    Inspected {
        index: usize,
        probabilities: Vec<f32>,
        #[serde(with = "maps_as_bytes")]
        maps: Vec<FeatureMaps>,
    },
    /// The `.convlab` file of the last trained or loaded model.
    ModelExported {
        destination: Destination,
        header: ModelHeader,
        #[serde(with = "serde_bytes")]
        file: Vec<u8>,
    },
    /// A model file was loaded and evaluated on the test set.
    ModelLoaded {
        origin: String,
        header: ModelHeader,
        test: TestResult,
    },
    /// A request failed; `request` says which kind, `message` why (in the student's words).
    Failed {
        request: RequestKind,
        message: String,
    },
    /// The WebGPU device was lost while serving `request` (during `epoch`, after `batch`
    /// batches, when training); nothing computed after the loss is reported. From now on the
    /// worker runs on the CPU.
    GpuLost {
        request: RequestKind,
        reason: String,
        epoch: usize,
        batch: usize,
    },
    /// The worker is dying: a panic (sent by its panic hook) or an error or trap that reached
    /// its global scope (sent by `worker.js`). The page starts a fresh one.
    Crashed {
        message: String,
    },
}

/// Which request a reply answers: the page routes a failure by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// The worker's start (its `Ready`).
    Start,
    LoadData,
    Train,
    WarmUp,
    Stop,
    FeatureMaps,
    Classify,
    TestImages,
    Inspect,
    ExportModel,
    LoadModel,
    Fault,
    /// A message that was not a request at all.
    Unknown,
}

impl RequestKind {
    /// The request's name on the wire (`"train"`, `"feature_maps"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            RequestKind::Start => "start",
            RequestKind::LoadData => "load_data",
            RequestKind::Train => "train",
            RequestKind::WarmUp => "warm_up",
            RequestKind::Stop => "stop",
            RequestKind::FeatureMaps => "feature_maps",
            RequestKind::Classify => "classify",
            RequestKind::TestImages => "test_images",
            RequestKind::Inspect => "inspect",
            RequestKind::ExportModel => "export_model",
            RequestKind::LoadModel => "load_model",
            RequestKind::Fault => "fault",
            RequestKind::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for RequestKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `kind == "train"`: the wire name, for logs and tests.
impl PartialEq<str> for RequestKind {
    fn eq(&self, other: &str) -> bool {
        self.name() == other
    }
}

impl PartialEq<&str> for RequestKind {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

/// Feature maps on the wire: the activations as the little-endian bytes of their f32s, which
/// serde-wasm-bindgen sends as one Uint8Array instead of an array of 100k JS numbers.
mod maps_as_bytes {
    use convlab_core::FeatureMaps;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Wire {
        layer: usize,
        name: String,
        images: usize,
        channels: usize,
        height: usize,
        width: usize,
        #[serde(with = "serde_bytes")]
        values: Vec<u8>,
    }

    pub fn serialize<S: Serializer>(maps: &[FeatureMaps], s: S) -> Result<S::Ok, S::Error> {
        let wire: Vec<Wire> = maps
            .iter()
            .map(|m| Wire {
                layer: m.layer,
                name: m.name.clone(),
                images: m.images,
                channels: m.channels,
                height: m.height,
                width: m.width,
                values: m.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            })
            .collect();
        wire.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<FeatureMaps>, D::Error> {
        let wire = Vec::<Wire>::deserialize(d)?;
        wire.into_iter()
            .map(|w| {
                // Checked: dimensions whose product overflows must not pass for a short buffer.
                let expected = [w.images, w.channels, w.height, w.width, 4]
                    .iter()
                    .try_fold(1usize, |n, &d| n.checked_mul(d));
                if expected != Some(w.values.len()) {
                    return Err(serde::de::Error::custom(format!(
                        "feature maps of {} carry {} bytes for {}x{}x{}x{} values",
                        w.name,
                        w.values.len(),
                        w.images,
                        w.channels,
                        w.height,
                        w.width
                    )));
                }
                Ok(FeatureMaps {
                    layer: w.layer,
                    name: w.name,
                    images: w.images,
                    channels: w.channels,
                    height: w.height,
                    width: w.width,
                    values: w
                        .values
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect(),
                })
            })
            .collect()
    }
}

/// Kernels on the wire as feature maps are (one "image" per filter, a channel per input
/// channel, the kernel's side as height and width): the same checked byte encoding.
mod kernels_as_bytes {
    use convlab_core::{FeatureMaps, Kernels};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(kernels: &[Kernels], s: S) -> Result<S::Ok, S::Error> {
        let maps: Vec<FeatureMaps> = kernels
            .iter()
            .map(|k| FeatureMaps {
                layer: k.layer,
                name: k.name.clone(),
                images: k.filters,
                channels: k.channels,
                height: k.size,
                width: k.size,
                values: k.values.clone(),
            })
            .collect();
        super::maps_as_bytes::serialize(&maps, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Kernels>, D::Error> {
        let maps = super::maps_as_bytes::deserialize(d)?;
        maps.into_iter()
            .map(|m| {
                if m.height != m.width {
                    return Err(serde::de::Error::custom(format!(
                        "kernels of {} are {}x{}, not square",
                        m.name, m.height, m.width
                    )));
                }
                Ok(Kernels {
                    layer: m.layer,
                    name: m.name,
                    filters: m.images,
                    channels: m.channels,
                    size: m.height,
                    values: m.values,
                })
            })
            .collect()
    }
}

/// How many test images the page shows as thumbnails (the lab prints the first 100 labels).
pub const SAMPLE_COUNT: usize = 100;

/// JSON-like values (objects, `null` for `None`), except that bytes become one Uint8Array:
/// `json_compatible()` would make them arrays of numbers, which are slow to read back.
fn to_js<T: Serialize>(value: &T, what: &'static str) -> Result<JsValue, WebError> {
    let serializer = serde_wasm_bindgen::Serializer::new()
        .serialize_missing_as_null(true)
        .serialize_maps_as_objects(true);
    value.serialize(&serializer).map_err(|e| WebError::Message {
        expected: what,
        problem: e.to_string(),
    })
}

fn from_js<T: for<'de> Deserialize<'de>>(
    value: JsValue,
    what: &'static str,
) -> Result<T, WebError> {
    serde_wasm_bindgen::from_value(value).map_err(|e| WebError::Message {
        expected: what,
        problem: e.to_string(),
    })
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
            ToWorker::Train { .. } => RequestKind::Train,
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

impl FromWorker {
    pub fn to_js(&self) -> Result<JsValue, WebError> {
        to_js(self, "worker message")
    }

    /// The request this reply answers, for a [`FromWorker::Failed`] sent in its place when
    /// the reply itself cannot be sent.
    pub fn request(&self) -> RequestKind {
        match self {
            FromWorker::Ready => RequestKind::Start,
            FromWorker::DataProgress(_)
            | FromWorker::DataReady { .. }
            | FromWorker::DataFailed { .. } => RequestKind::LoadData,
            FromWorker::Backend { .. }
            | FromWorker::Training(_)
            | FromWorker::WorkerMemory { .. }
            | FromWorker::Snapshot { .. }
            | FromWorker::Tested(_) => RequestKind::Train,
            FromWorker::WarmedUp { .. } => RequestKind::WarmUp,
            FromWorker::FeatureMaps { .. } => RequestKind::FeatureMaps,
            FromWorker::Classified { .. } => RequestKind::Classify,
            FromWorker::TestImages { .. } => RequestKind::TestImages,
            FromWorker::Inspected { .. } => RequestKind::Inspect,
            FromWorker::ModelExported { .. } => RequestKind::ExportModel,
            FromWorker::ModelLoaded { .. } => RequestKind::LoadModel,
            FromWorker::Failed { request, .. } | FromWorker::GpuLost { request, .. } => *request,
            FromWorker::Crashed { .. } => RequestKind::Unknown,
        }
    }

    pub fn from_js(value: JsValue) -> Result<Self, WebError> {
        from_js(value, "worker message")
    }
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
