//! convlab's core: the lab's models, data and training loop on burn. Knows nothing of the web;
//! the CLI and the browser crate drive it through [`train::Trainer`] and its events.

pub mod backend;
pub mod batch;
pub mod data;
pub mod error;
pub mod features;
pub mod idx;
pub mod keras;
pub mod mistakes;
pub mod model;
pub mod model_file;
pub mod shares;
pub mod spec;
pub mod speed;
pub mod summary;
pub mod train;
pub mod units;
pub mod watch;
pub mod weights;

pub use backend::{Backend, BackendError, BackendKind};
pub use data::{DataError, Dataset, CLASS_NAMES};
pub use error::{CheckpointError, TrainError};
pub use features::{classify, feature_maps, Classified, FeatureMaps};
pub use keras::keras_code;
pub use mistakes::{most_confused_pairs, ConfusedPair, Prediction};
pub use model::Sequential;
pub use model_file::{ModelFileError, ModelHeader, TrainingInfo};
pub use shares::{
    GradientHelpers, HelperError, LocalHelpers, ShareBalance, ShareGradients, ShareJob,
    ShareJobError, ShareReplica, SharedEpoch, SharesFuture,
};
pub use spec::{
    Activation, LayerInfo, LayerSpec, MemoryEstimate, ModelSpec, Shape, SpecError, MEMORY_BUDGET,
    PRESET_NAMES,
};
pub use speed::{time_steps, BackendTimings, StepTiming};
pub use summary::Summary;
pub use train::{
    evaluate, run, run_pausing, Checkpoint, EarlyStoppingConfig, EpochMetrics, Evaluation, Monitor,
    RunSummary, StopHandle, StopReason, TrainConfig, TrainEvent, Trainer, LOSS_THRESHOLD_MESSAGE,
};
pub use watch::{snapshot, Kernels, Snapshot};

/// Runs a future to completion on the current thread (native callers of the async API).
#[cfg(not(target_family = "wasm"))]
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    pollster::block_on(future)
}
