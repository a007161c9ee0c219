//! The parts of the page's state that have their own types: the dataset as the page knows it,
//! the run in progress, the test result on show, the feature-map cell, and the versions the
//! panels compare with what they last drew. [`super::app::App`] holds them.

use super::saved::Settings;
use crate::protocol::{TestResult, WarmUp};
use convlab_core::{EpochMetrics, FeatureMaps, ModelSpec};

/// The decoded dataset as the page knows it (the worker holds the images).
#[derive(Debug, Clone, PartialEq)]
pub struct DataInfo {
    pub train: usize,
    pub test: usize,
    /// The first test images (row-major bytes) and their labels, for the thumbnails.
    pub samples: Vec<u8>,
    pub sample_labels: Vec<u8>,
}

/// The run being trained (or the last one), for progress, charts, the log and the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub spec: ModelSpec,
    pub settings: Settings,
    pub params: usize,
    pub epochs: usize,
    pub train_samples: usize,
    pub history: Vec<EpochMetrics>,
    /// The epoch training ended in early, and why.
    pub stop: Option<(usize, String)>,
    pub backend: String,
    /// The worker's wasm memory after each epoch, in bytes.
    pub memory: Vec<u64>,
    /// Keras's epoch log.
    pub log: String,
    /// The 1-based epoch and the batches done in it, as last reported.
    pub at: (usize, usize),
    /// The run trains on WebGPU (as the worker's Backend reply said).
    pub on_gpu: bool,
    /// The test images watched epoch by epoch (the feature-map cell's when it started).
    pub watch: Vec<usize>,
    /// What happened to the run on the way: a lost GPU, a crashed worker, where it resumed.
    pub notes: Vec<String>,
    /// How often it was resumed after its worker crashed.
    pub crashes: usize,
}

/// The test-set result on show.
#[derive(Debug, Clone, PartialEq)]
pub enum TestView {
    Prompt,
    Training,
    Shown { lead: String, result: TestResult },
}

/// The feature-map panel: what the student typed and chose, and the maps on show.
#[derive(Debug, Clone, PartialEq)]
pub struct Maps {
    pub images_text: String,
    pub filter: usize,
    pub layer: String,
    pub row: usize,
    pub status: String,
    pub shown: Option<ShownMaps>,
}

/// Feature maps on show and what they were computed for.
#[derive(Debug, Clone, PartialEq)]
pub struct ShownMaps {
    pub maps: Vec<FeatureMaps>,
    /// The test images' indices and labels.
    pub images: Vec<usize>,
    pub labels: Vec<u8>,
    /// Of the trained model, not a freshly initialised one.
    pub trained: bool,
}

/// Counters the panels compare with what they last drew, so that costly parts (the layer
/// rows, canvases, tables) are rebuilt only when they changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Versions {
    /// The layer rows (not bumped by a field edit, which would take the focus away).
    pub layers: u64,
    /// The settings form and the dataset folder field, when the state replaced them.
    pub form: u64,
    pub charts: u64,
    pub maps: u64,
    pub picture: u64,
    pub mistakes: u64,
    pub filters: u64,
    pub samples: u64,
    pub history: u64,
    /// The runs chosen for comparison (the charts, not the table).
    pub compared: u64,
    pub models: u64,
}

/// The worker's warm-up of the model on screen ([`crate::protocol::ToWorker::WarmUp`]): what
/// was last asked of this worker, and how the last one ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Warm {
    pub sent: Option<WarmUp>,
    /// The last warm-up done or failed, and what to say about it.
    pub outcome: Option<(WarmUp, Result<String, String>)>,
}
