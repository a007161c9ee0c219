//! The lab's callbacks, each one `on_epoch_end` as in Keras: the loss threshold ("Reached the
//! desired loss, so cancelling training!") and EarlyStopping; and why a run stopped early.

use crate::model::Sequential;
use crate::train::metrics::EpochMetrics;
use crate::train::settings::{EarlyStoppingConfig, Monitor};
use serde::{Deserialize, Serialize};

/// The message Keras's lab callback prints, word for word.
pub const LOSS_THRESHOLD_MESSAGE: &str = "Reached the desired loss, so cancelling training!";

/// Why training ended before its last epoch. Its [`code`](StopReason::code) is the one name
/// both the CLI's `--json` events and the page's host events use (README, "Stop reasons").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StopReason {
    /// The lab's callback: the epoch's loss fell below the threshold.
    LossThreshold { loss: f32, threshold: f32 },
    /// EarlyStopping ran out of patience.
    EarlyStopping {
        monitor: Monitor,
        /// 1-based epoch with the best monitored value.
        best_epoch: usize,
        best_value: f32,
        patience: usize,
        restored_best_weights: bool,
    },
    /// The loss became NaN or infinite.
    #[serde(rename = "not_finite")]
    NonFinite { batch: usize, value: f32 },
    /// The user pressed Stop (or a host page sent its stop command).
    #[serde(rename = "stopped")]
    Requested,
}

impl StopReason {
    /// Every [`code`](StopReason::code), in declaration order.
    pub const CODES: [&'static str; 4] =
        ["loss_threshold", "early_stopping", "not_finite", "stopped"];

    /// The reason's name in machine-readable output: the `kind` of the CLI's `--json` events
    /// and the `reason` of the page's `early_stop` event.
    pub fn code(&self) -> &'static str {
        match self {
            StopReason::LossThreshold { .. } => Self::CODES[0],
            StopReason::EarlyStopping { .. } => Self::CODES[1],
            StopReason::NonFinite { .. } => Self::CODES[2],
            StopReason::Requested => Self::CODES[3],
        }
    }

    /// What the CLI prints and the page shows.
    pub fn message(&self) -> String {
        match self {
            StopReason::LossThreshold { .. } => LOSS_THRESHOLD_MESSAGE.to_string(),
            StopReason::EarlyStopping {
                monitor,
                best_epoch,
                best_value,
                patience,
                restored_best_weights,
            } => format!(
                "EarlyStopping: {} did not improve for {patience} epoch(s) after its best value {best_value:.4} at epoch {best_epoch}{}",
                monitor.name(),
                if *restored_best_weights {
                    "; restored the weights of that epoch"
                } else {
                    ""
                }
            ),
            StopReason::NonFinite { batch, value } => format!(
                "Training stopped: the loss became {value} by batch {batch}; try a lower learning rate"
            ),
            StopReason::Requested => "Training stopped by request".to_string(),
        }
    }
}

/// The lab's callback: stop at an epoch's end where the loss is below the threshold.
pub(crate) fn loss_threshold_on_epoch_end(
    threshold: Option<f32>,
    metrics: &EpochMetrics,
) -> Option<StopReason> {
    let threshold = threshold?;
    (metrics.loss < threshold).then_some(StopReason::LossThreshold {
        loss: metrics.loss,
        threshold,
    })
}

/// Keras's EarlyStopping and its running state.
pub(crate) struct EarlyStopping {
    pub(crate) config: EarlyStoppingConfig,
    pub(crate) best: Option<(usize, f32)>,
    pub(crate) best_model: Option<Sequential>,
    pub(crate) wait: usize,
}

/// EarlyStopping's verdict when it stops a run: why, and the best epoch's model when it
/// restores that one.
pub(crate) struct EarlyStop {
    pub(crate) reason: StopReason,
    pub(crate) best_model: Option<Sequential>,
}

impl EarlyStopping {
    pub(crate) fn new(config: EarlyStoppingConfig) -> EarlyStopping {
        EarlyStopping {
            config,
            best: None,
            best_model: None,
            wait: 0,
        }
    }

    /// Keras's EarlyStopping.on_epoch_end, after training `model` for `metrics`'s epoch.
    pub(crate) fn on_epoch_end(
        &mut self,
        metrics: &EpochMetrics,
        model: &Sequential,
    ) -> Option<EarlyStop> {
        let monitor = self.config.monitor;
        let current = monitor.read(metrics)?;
        let improved = match self.best {
            None => true,
            Some((_, best)) if monitor.lower_is_better() => current < best - self.config.min_delta,
            Some((_, best)) => current > best + self.config.min_delta,
        };
        if improved {
            self.best = Some((metrics.epoch, current));
            self.wait = 0;
            if self.config.restore_best_weights {
                self.best_model = Some(model.clone());
            }
            return None;
        }
        self.wait += 1;
        if self.wait < self.config.patience {
            return None;
        }
        let (best_epoch, best_value) = self.best.expect("set on the first epoch");
        let best_model = self.best_model.take();
        Some(EarlyStop {
            reason: StopReason::EarlyStopping {
                monitor,
                best_epoch,
                best_value,
                patience: self.config.patience,
                restored_best_weights: best_model.is_some(),
            },
            best_model,
        })
    }
}
