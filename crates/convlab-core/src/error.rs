//! The core's error types: why a run, a resumed checkpoint or a helper's share cannot go on.
//! Kept apart from the modules that raise them, which all depend on them.

use crate::spec::SpecError;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("invalid model: {0}")]
    Spec(#[from] SpecError),
    #[error("invalid setting {setting}: {problem}")]
    Config {
        setting: &'static str,
        problem: String,
    },
    #[error("the backend failed to run the model: {0}")]
    Execution(#[from] burn::tensor::ExecutionError),
    #[error("the backend returned data that cannot be read: {0}")]
    Data(#[from] burn::tensor::DataError),
    #[error("the backend returned no value for {what}")]
    EmptyReadBack { what: &'static str },
    #[error("cannot resume from the checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("cannot compute the share: {0}")]
    Share(#[from] ShareJobError),
    #[error(
        "timing a backend needs at least two batches of {batch_size}; there are {images} images"
    )]
    TooFewForTiming { images: usize, batch_size: usize },
}

/// Why a checkpoint cannot be resumed with this model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckpointError {
    #[error("the checkpoint holds {found} weights, but the model has {expected}")]
    Weights { expected: usize, found: usize },
    #[error("the checkpoint's optimizer state for parameter {index} holds {found} values, but the parameter has {expected}")]
    Moments {
        index: usize,
        expected: usize,
        found: usize,
    },
    #[error("the checkpoint is at batch {batch} of an epoch of {batches} batches")]
    Batch { batch: usize, batches: usize },
    #[error("the checkpoint is after epoch {epochs_done}, beyond this run's {epochs} epochs")]
    Epochs { epochs_done: usize, epochs: usize },
}

/// What is wrong with a job a replica was handed. A helper checks what it is sent before it
/// computes, so a malformed message is answered with this rather than a panic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShareJobError {
    #[error("the share has no examples")]
    Empty,
    #[error("the share's {labels} labels come with {bytes} image bytes, not {expected}")]
    Images {
        labels: usize,
        bytes: usize,
        expected: usize,
    },
    #[error("example {index} of the share has label {label}, not a class 0-9")]
    Label { index: usize, label: u8 },
    #[error("the share's part of the batch must be above 0 and at most 1, got {0}")]
    Scale(f32),
    #[error("the share comes with {found} weights, but the model has {expected} parameters")]
    Weights { expected: usize, found: usize },
}
