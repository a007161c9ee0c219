//! Between the training worker and its helper workers (one per further core, CPU only): a
//! share of a batch goes out with the weights to start from, its gradients come back.

use super::{from_js, to_js};
use crate::error::WebError;
use convlab_core::weights::{floats, to_bytes};
use convlab_core::{Dataset, HelperError, ModelSpec, ShareGradients, ShareJob};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use wasm_bindgen::JsValue;

/// One share of a batch for a helper. Each carries the model and its weights, so a helper
/// keeps nothing between steps but a replica to load them into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareRequest {
    pub spec: ModelSpec,
    /// Every parameter in visiting order, f32 little-endian.
    #[serde(with = "serde_bytes")]
    pub weights: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub images: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub labels: Vec<u8>,
    pub scale: f32,
}

impl ShareRequest {
    /// The requests for a step's jobs. They share one set of weights (one `Arc`), which is
    /// encoded once.
    pub fn for_jobs(spec: &ModelSpec, jobs: Vec<ShareJob>) -> Vec<ShareRequest> {
        let first = jobs
            .first()
            .map(|job| (job.weights.clone(), to_bytes(&job.weights)));
        jobs.into_iter()
            .map(|job| ShareRequest {
                spec: spec.clone(),
                weights: match &first {
                    Some((weights, bytes)) if Arc::ptr_eq(weights, &job.weights) => bytes.clone(),
                    _ => to_bytes(&job.weights),
                },
                images: job.examples.images,
                labels: job.examples.labels,
                scale: job.scale,
            })
            .collect()
    }

    pub fn job(self) -> ShareJob {
        ShareJob {
            weights: Arc::new(floats(&self.weights)),
            examples: Dataset {
                images: self.images,
                labels: self.labels,
            },
            scale: self.scale,
        }
    }

    pub fn to_js(&self) -> Result<JsValue, WebError> {
        to_js(self, "share request")
    }

    pub fn from_js(value: JsValue) -> Result<Self, WebError> {
        from_js(value, "share request")
    }
}

/// What a helper answers. `Crashed` has the shape `worker.js` posts when the worker's script
/// or module fails, as it does for the training worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", content = "data", rename_all = "snake_case")]
pub enum FromHelper {
    /// Its module is running and it takes shares from now on.
    Ready,
    Gradients {
        /// f32 little-endian, in visiting order.
        #[serde(with = "serde_bytes")]
        gradients: Vec<u8>,
        loss_sum: f32,
        correct: f32,
        /// When the answer was ready, on the clock the workers share (milliseconds): the
        /// training worker tells from it how long the share took ([`ShareGradients::seconds`]).
        #[serde(default)]
        ready_at_ms: f64,
    },
    Failed {
        message: String,
    },
    Crashed {
        message: String,
    },
}

impl FromHelper {
    /// The answer to a share, ready at `ready_at_ms` on the workers' shared clock.
    pub fn gradients(share: &ShareGradients, ready_at_ms: f64) -> FromHelper {
        FromHelper::Gradients {
            gradients: to_bytes(&share.gradients),
            loss_sum: share.loss_sum,
            correct: share.correct,
            ready_at_ms,
        }
    }

    /// What helper number `helper` answered to a share handed out at `sent_at_ms` (the
    /// shared clock), as the trainer takes it.
    pub fn into_share(self, helper: usize, sent_at_ms: f64) -> Result<ShareGradients, HelperError> {
        match self {
            FromHelper::Gradients {
                gradients,
                loss_sum,
                correct,
                ready_at_ms,
            } => Ok(ShareGradients {
                gradients: floats(&gradients),
                loss_sum,
                correct,
                seconds: (ready_at_ms - sent_at_ms) / 1e3,
            }),
            FromHelper::Ready => Err(HelperError::Failed {
                helper,
                message: "it answered a share by saying it is ready".to_string(),
            }),
            FromHelper::Failed { message } => Err(HelperError::Failed { helper, message }),
            FromHelper::Crashed { message } => Err(HelperError::Stopped {
                helper,
                reason: message,
            }),
        }
    }

    pub fn to_js(&self) -> Result<JsValue, WebError> {
        to_js(self, "helper reply")
    }

    pub fn from_js(value: JsValue) -> Result<Self, WebError> {
        from_js(value, "helper reply")
    }
}
