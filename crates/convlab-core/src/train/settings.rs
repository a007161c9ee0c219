//! The training settings (`model.compile` + `model.fit` and the callbacks' settings), their
//! limits, and every check made on them before anything is allocated.

use crate::data::validation_len;
use crate::error::TrainError;
use crate::spec::{MemoryEstimate, ModelSpec};
use crate::train::metrics::EpochMetrics;
use serde::{Deserialize, Serialize};

/// A metric EarlyStopping can watch, by Keras's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    Loss,
    ValLoss,
    Accuracy,
    ValAccuracy,
}

impl Monitor {
    pub const ALL: [Monitor; 4] = [
        Monitor::Loss,
        Monitor::ValLoss,
        Monitor::Accuracy,
        Monitor::ValAccuracy,
    ];

    /// The monitor Keras calls `name` (`loss`, `val_loss`, `accuracy`, `val_accuracy`).
    pub fn from_name(name: &str) -> Option<Monitor> {
        Monitor::ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Monitor::Loss => "loss",
            Monitor::ValLoss => "val_loss",
            Monitor::Accuracy => "accuracy",
            Monitor::ValAccuracy => "val_accuracy",
        }
    }

    pub(crate) fn needs_validation(self) -> bool {
        matches!(self, Monitor::ValLoss | Monitor::ValAccuracy)
    }

    /// Losses improve downwards, accuracies upwards (Keras's mode="auto").
    pub(crate) fn lower_is_better(self) -> bool {
        matches!(self, Monitor::Loss | Monitor::ValLoss)
    }

    pub(crate) fn read(self, m: &EpochMetrics) -> Option<f32> {
        match self {
            Monitor::Loss => Some(m.loss),
            Monitor::Accuracy => Some(m.accuracy),
            Monitor::ValLoss => m.val_loss,
            Monitor::ValAccuracy => m.val_accuracy,
        }
    }
}

/// Keras's `tf.keras.callbacks.EarlyStopping`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStoppingConfig {
    pub monitor: Monitor,
    /// An epoch must beat the best by more than this to count as an improvement.
    #[serde(default)]
    pub min_delta: f32,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Put back the weights of the best epoch when stopping.
    #[serde(default)]
    pub restore_best_weights: bool,
}

/// Everything `model.compile` + `model.fit` decide in the lab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub seed: u64,
    /// Fraction of the training data held out for validation (Keras: the last examples).
    pub validation_split: f32,
    /// The lab's callback: stop at an epoch end where the loss is below this.
    pub stop_at_loss: Option<f32>,
    pub early_stopping: Option<EarlyStoppingConfig>,
    /// Batches between two read-backs of the running metrics (and batch events).
    pub report_every: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 5,
            batch_size: 32,
            learning_rate: 1e-3,
            seed: 42,
            validation_split: 0.0,
            stop_at_loss: None,
            early_stopping: None,
            report_every: 20,
        }
    }
}

/// The lab callback's default threshold.
pub const DEFAULT_LOSS_THRESHOLD: f32 = 0.01;

/// Limits on settings, so that a typo gets an error and not an out-of-memory tab.
pub const MAX_EPOCHS: usize = 1000;
pub const MAX_BATCH_SIZE: usize = 8192;
/// Most epochs EarlyStopping may wait for an improvement (as many as a run may have).
pub const MAX_PATIENCE: usize = MAX_EPOCHS;

impl TrainConfig {
    /// Checks every setting against the data it will train on.
    pub fn validate(&self, train_len: usize) -> Result<(), TrainError> {
        let fail = |setting, problem: String| Err(TrainError::Config { setting, problem });
        if self.epochs == 0 || self.epochs > MAX_EPOCHS {
            return fail(
                "epochs",
                format!("must be between 1 and {MAX_EPOCHS}, got {}", self.epochs),
            );
        }
        // A batch larger than the training set is allowed, as in Keras: one batch per epoch.
        if self.batch_size == 0 || self.batch_size > MAX_BATCH_SIZE {
            return fail(
                "batch_size",
                format!(
                    "must be between 1 and {MAX_BATCH_SIZE}, got {}",
                    self.batch_size
                ),
            );
        }
        // No upper bound, as in Keras: a huge rate is how a student meets a loss that turns
        // NaN (1e30 does on the lab's models; 1e6 only makes it huge), which stops the run.
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return fail(
                "learning_rate",
                format!(
                    "must be a finite number greater than 0, got {}",
                    self.learning_rate
                ),
            );
        }
        if !(0.0..1.0).contains(&self.validation_split) {
            return fail(
                "validation_split",
                format!("must be in [0, 1), got {}", self.validation_split),
            );
        }
        if let Some(t) = self.stop_at_loss {
            if !(t.is_finite() && t > 0.0) {
                return fail(
                    "stop_at_loss",
                    format!("must be a finite number greater than 0, got {t}"),
                );
            }
        }
        if self.report_every == 0 {
            return fail("report_every", "must be at least 1".to_string());
        }
        if train_len == 0 {
            return fail("data", "there are no training examples".to_string());
        }
        let val_len = validation_len(train_len, self.validation_split);
        if train_len - val_len == 0 {
            return fail(
                "validation_split",
                format!("leaves no training examples out of {train_len}"),
            );
        }
        if let Some(es) = &self.early_stopping {
            if es.monitor.needs_validation() && val_len == 0 {
                return fail(
                    "early_stopping.monitor",
                    format!(
                        "{} needs a validation split greater than 0",
                        es.monitor.name()
                    ),
                );
            }
            if !es.min_delta.is_finite() || es.min_delta < 0.0 {
                return fail(
                    "early_stopping.min_delta",
                    format!("must be a finite number of 0 or more, got {}", es.min_delta),
                );
            }
            if es.patience > MAX_PATIENCE {
                return fail(
                    "early_stopping.patience",
                    format!(
                        "must be between 0 and {}, got {}",
                        MAX_PATIENCE, es.patience
                    ),
                );
            }
        }
        Ok(())
    }
}

impl TrainConfig {
    /// The batch a training step uses: `batch_size`, or the whole training split when that is
    /// smaller (as in Keras, a batch size larger than the training set trains one batch per
    /// epoch).
    pub fn effective_batch(&self, train_len: usize) -> usize {
        let val_len = validation_len(train_len, self.validation_split);
        self.batch_size
            .min(train_len.saturating_sub(val_len))
            .max(1)
    }

    /// Everything training checks before it allocates anything: the settings against the data
    /// ([`validate`](Self::validate)), the stack ([`ModelSpec::infer`]) and the memory it
    /// needs at the batch it will use ([`ModelSpec::check_memory`]). Returns the estimate.
    pub fn check_training(
        &self,
        spec: &ModelSpec,
        train_len: usize,
    ) -> Result<MemoryEstimate, TrainError> {
        self.validate(train_len)?;
        Ok(spec.check_memory(self.effective_batch(train_len))?)
    }
}

/// The values a training setting allows, by its name in [`TrainConfig`] and the URL, as the
/// messages for a value that does not parse state them (`epochs` → "a whole number from 1
/// to 1000").
pub fn allowed(setting: &str) -> String {
    match setting {
        "epochs" => format!("a whole number from 1 to {MAX_EPOCHS}"),
        "batch_size" => format!("a whole number from 1 to {MAX_BATCH_SIZE}"),
        "learning_rate" => "a number greater than 0".to_string(),
        "seed" => format!("a whole number from 0 to {}", u64::MAX),
        "validation_split" => "a number from 0 up to, not including, 1".to_string(),
        "train_images" | "limit" | "test_limit" => "a whole number of at least 1".to_string(),
        "stop_at_loss" => "a number greater than 0".to_string(),
        "patience" => format!("a whole number from 0 to {MAX_PATIENCE}"),
        "min_delta" => "a number of 0 or more".to_string(),
        _ => "a number".to_string(),
    }
}
