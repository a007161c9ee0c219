//! Training, one job per file: the settings and their checks, what a run reports, the
//! callbacks, evaluation, the trainer (its batches shared with helpers, its checkpoints and
//! resuming), and the run driver the CLI and the worker share.

pub mod callbacks;
pub mod checkpoint;
pub mod evaluate;
pub mod events;
pub mod metrics;
mod resume;
pub mod run;
pub mod settings;
mod shared;
pub mod trainer;

pub use crate::error::TrainError;
pub use callbacks::{StopReason, LOSS_THRESHOLD_MESSAGE};
pub use checkpoint::{AdamSlot, Checkpoint, EarlyStoppingState};
pub use evaluate::evaluate;
pub use events::{StopHandle, TrainEvent};
pub use metrics::{EpochMetrics, Evaluation};
pub use run::{run, run_pausing, RunSummary};
pub use settings::{
    allowed, EarlyStoppingConfig, Monitor, TrainConfig, DEFAULT_LOSS_THRESHOLD, MAX_BATCH_SIZE,
    MAX_EPOCHS, MAX_PATIENCE,
};
pub use trainer::Trainer;
