//! What a run reports as it goes, and the handle that stops it before its next batch.

use crate::shares::SharedEpoch;
use crate::train::callbacks::StopReason;
use crate::train::checkpoint::Checkpoint;
use crate::train::metrics::{EpochMetrics, Evaluation};
use crate::watch::Snapshot;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What the trainer reports as it goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TrainEvent {
    Started {
        train_samples: usize,
        val_samples: usize,
        batches_per_epoch: usize,
        epochs: usize,
        params: usize,
    },
    /// Running metrics of the current epoch, every `report_every` batches.
    Batch {
        epoch: usize,
        /// Batches done in this epoch (1-based count).
        batch: usize,
        batches: usize,
        /// Examples trained on since the start of training.
        samples_seen: usize,
        loss: f32,
        accuracy: f32,
        samples_per_second: f64,
    },
    Epoch(EpochMetrics),
    Stopped {
        epoch: usize,
        reason: StopReason,
        message: String,
    },
    Finished(Evaluation),
    /// The run's state at an epoch's end (or when stopped), when the trainer was asked for
    /// checkpoints (`Trainer::emit_checkpoints`).
    Checkpoint(Box<Checkpoint>),
    /// The kernels and the watched images' feature maps before the first epoch and after each
    /// one, when the trainer was asked to watch (`Trainer::watch`).
    Snapshot(Box<Snapshot>),
    /// The run continues from a checkpoint taken after `epoch` epochs (sent after `Started`).
    Resumed {
        epoch: usize,
    },
    /// The helpers sharing the batches failed; the trainer computed the batch itself and
    /// carries on alone.
    HelpersStopped {
        message: String,
    },
    /// How the epoch's batches were shared with the helpers (after its
    /// [`TrainEvent::Epoch`], when helpers took part).
    Shared(SharedEpoch),
}

/// A handle that asks a running `Trainer` to stop before its next batch.
#[derive(Debug, Clone, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    pub fn request_stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn requested(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
