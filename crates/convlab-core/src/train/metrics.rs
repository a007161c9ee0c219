//! What an epoch or an evaluation measured: Keras's epoch log line, and every prediction on a
//! dataset for the confusion matrix.

use crate::spec::NUM_CLASSES;
use serde::{Deserialize, Serialize};

/// Keras's per-epoch log: running means over the epoch's batches, validation after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based.
    pub epoch: usize,
    pub loss: f32,
    pub accuracy: f32,
    pub val_loss: Option<f32>,
    pub val_accuracy: Option<f32>,
    pub seconds: f64,
    pub samples: usize,
}

impl EpochMetrics {
    /// Keras's epoch line: `loss: 0.4893 - accuracy: 0.8232 - val_loss: ...`.
    pub fn log_line(&self) -> String {
        let mut line = format!(
            "{:.1}s - loss: {:.4} - accuracy: {:.4}",
            self.seconds, self.loss, self.accuracy
        );
        if let (Some(vl), Some(va)) = (self.val_loss, self.val_accuracy) {
            line += &format!(" - val_loss: {vl:.4} - val_accuracy: {va:.4}");
        }
        line
    }
}

/// Loss, accuracy and every prediction on a dataset (for the confusion matrix and the
/// mistakes: see `crate::mistakes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub loss: f32,
    pub accuracy: f32,
    pub predictions: Vec<u8>,
    /// The model's probability for each prediction.
    #[serde(default)]
    pub confidences: Vec<f32>,
}

impl Evaluation {
    /// `matrix[true][predicted]` counts.
    pub fn confusion_matrix(&self, labels: &[u8]) -> [[usize; NUM_CLASSES]; NUM_CLASSES] {
        let mut m = [[0; NUM_CLASSES]; NUM_CLASSES];
        for (&t, &p) in labels.iter().zip(&self.predictions) {
            m[t as usize][p as usize] += 1;
        }
        m
    }
}
