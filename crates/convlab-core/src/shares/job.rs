//! What a helper is handed (a share of a batch and the weights to start from), what it gives
//! back, and the trait the trainer hands shares out through.

use crate::data::{Dataset, IMAGE_PIXELS};
use crate::error::ShareJobError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A helper's part of a training step: the weights to start from and the examples of its share.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareJob {
    /// Every parameter, in the module's visiting order (the same for every helper of a step).
    pub weights: Arc<Vec<f32>>,
    pub examples: Dataset,
    /// The share's part of the batch (its size over the batch's), which its loss is scaled by.
    pub scale: f32,
}

impl ShareJob {
    /// Whether a replica of a model of `params` parameters can compute this job.
    pub fn check(&self, params: usize) -> Result<(), ShareJobError> {
        if self.weights.len() != params {
            return Err(ShareJobError::Weights {
                expected: params,
                found: self.weights.len(),
            });
        }
        let examples = &self.examples;
        if examples.is_empty() {
            return Err(ShareJobError::Empty);
        }
        let expected = examples.len() * IMAGE_PIXELS;
        if examples.images.len() != expected {
            return Err(ShareJobError::Images {
                labels: examples.len(),
                bytes: examples.images.len(),
                expected,
            });
        }
        if let Some(index) = examples.labels.iter().position(|&label| label >= 10) {
            return Err(ShareJobError::Label {
                index,
                label: examples.labels[index],
            });
        }
        if !(self.scale > 0.0 && self.scale <= 1.0) {
            return Err(ShareJobError::Scale(self.scale));
        }
        Ok(())
    }
}

/// What a helper computed for its share.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareGradients {
    /// The gradient of the scaled loss for every parameter, in visiting order.
    pub gradients: Vec<f32>,
    /// The share's loss summed over its examples (unscaled), for the epoch's metrics.
    pub loss_sum: f32,
    /// How many of the share's examples the model classified correctly.
    pub correct: f32,
    /// How long the helper took, from being handed the share to having its gradients (in a
    /// browser, the request's way to the helper and its decoding included; encoding and
    /// posting the answer are not): the next steps' shares are sized by it (`ShareBalance`).
    pub seconds: f64,
}

/// Why a helper's share did not come back; the trainer then computes the batch itself.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HelperError {
    #[error("helper {helper} stopped: {reason}")]
    Stopped { helper: usize, reason: String },
    #[error("helper {helper} failed: {message}")]
    Failed { helper: usize, message: String },
    #[error("helper {helper} sent {found} gradients for a model of {expected} parameters")]
    Gradients {
        helper: usize,
        expected: usize,
        found: usize,
    },
    #[error("{asked} shares were asked of helpers, {answered} answered")]
    Missing { asked: usize, answered: usize },
}

/// The results of the shares handed out, in their order.
pub type SharesFuture<'a> =
    Pin<Box<dyn Future<Output = Vec<Result<ShareGradients, HelperError>>> + 'a>>;

/// Replicas that compute shares of a step on other cores. `start` returns at once, so that the
/// trainer computes its own share while they compute theirs; `finish` waits for them.
pub trait GradientHelpers {
    /// How many shares they can take at once.
    fn count(&self) -> usize;
    /// Hands out `jobs` (at most [`GradientHelpers::count`]), the first to the first helper.
    fn start(&mut self, jobs: Vec<ShareJob>);
    /// The results of the jobs last started, in their order.
    fn finish(&mut self) -> SharesFuture<'_>;
}
