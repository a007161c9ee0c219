//! What the worker tells the page, and which request each reply answers.

use super::{from_js, to_js, Destination, WarmUp};
use crate::error::WebError;
use convlab_core::{
    BackendKind, BackendTimings, ConfusedPair, Evaluation, FeatureMaps, Kernels, ModelHeader,
    Prediction, TrainEvent,
};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

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
        /// Both backends timed on this model, when the choice was automatic and made now.
        #[serde(default)]
        timings: Option<Box<BackendTimings>>,
    },
    Training(TrainEvent),
    /// A [`ToWorker::WarmUp`] is done: the device is started and this model's first step has
    /// run once on `backend`; it took `seconds` (on WebGPU, mostly compiling kernels), timing
    /// both backends included when that was done now (`timings`).
    WarmedUp {
        warm_up: WarmUp,
        backend: BackendKind,
        description: String,
        seconds: f64,
        #[serde(default)]
        timings: Option<Box<BackendTimings>>,
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
        #[serde(with = "super::wire::maps_as_bytes")]
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
        #[serde(with = "super::wire::maps_as_bytes")]
        maps: Vec<FeatureMaps>,
        trained: bool,
    },
    /// The kernels and the watched images' feature maps after `epoch` epochs of the run in
    /// progress (0: before the first).
    Snapshot {
        epoch: usize,
        #[serde(with = "super::wire::kernels_as_bytes")]
        kernels: Vec<Kernels>,
        #[serde(with = "super::wire::maps_as_bytes")]
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
        #[serde(with = "super::wire::maps_as_bytes")]
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
