//! Data-parallel training steps: a batch is split into shares, a replica of the model computes
//! each share's gradients (in a browser, a helper worker on another core), and the trainer sums
//! them and applies one Adam step.
//!
//! Each replica differentiates its share's mean loss scaled by the share's part of the batch,
//! so the sum is the gradient of the whole batch's mean loss: the same step as one worker's,
//! up to float rounding. The models have no dropout or batch statistics, which would make a
//! share's step depend on the rest of the batch.

use crate::checkpoint::{read_weights, with_weights};
use crate::data::{Dataset, IMAGE_PIXELS};
use crate::model::Sequential;
use crate::spec::ModelSpec;
use crate::train::{batch_tensors, DeviceSums, TrainError};
use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use web_time::Instant;

mod balance;
pub use balance::{ShareBalance, SharedEpoch};

/// A helper's part of a training step: the weights to start from and the examples of its share.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareJob {
    /// Every parameter, in the module's visiting order (the same for every helper of a step).
    pub weights: Arc<Vec<f32>>,
    pub examples: Dataset,
    /// The share's part of the batch (its size over the batch's), which its loss is scaled by.
    pub scale: f32,
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
    /// posting the answer are not): the next steps' shares are sized by it ([`ShareBalance`]).
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

/// A replica of the model that computes shares' gradients: what a helper runs.
pub struct ShareReplica {
    model: Option<Sequential>,
    device: Device,
    train_device: Device,
    loss_fn: CrossEntropyLoss,
}

impl ShareReplica {
    /// A replica of `spec` on `device` (its weights come with each job).
    pub fn new(spec: &ModelSpec, device: &Device) -> Result<ShareReplica, TrainError> {
        let train_device = device.clone().autodiff();
        Ok(ShareReplica {
            model: Some(Sequential::new(spec, &train_device)?),
            train_device,
            device: device.clone(),
            loss_fn: CrossEntropyLossConfig::new().init(device),
        })
    }

    /// The gradients of `job`'s share, from `job`'s weights.
    pub async fn gradients(&mut self, job: &ShareJob) -> Result<ShareGradients, TrainError> {
        let started = Instant::now();
        let model = self
            .model
            .take()
            .expect("the replica's model is only taken out inside gradients");
        if let Err(error) = job.check(model.num_params()) {
            self.model = Some(model);
            return Err(error.into());
        }
        let model = match with_weights(model.clone(), &job.weights, &self.train_device) {
            Ok(model) => model,
            Err(error) => {
                self.model = Some(model);
                return Err(error.into());
            }
        };
        let indices: Vec<usize> = (0..job.examples.len()).collect();
        let step = share_step(
            &model,
            &self.loss_fn,
            &job.examples,
            &indices,
            job.scale,
            &self.train_device,
        );
        let gradients = flat_gradients(&step.grads, &model, &self.device)
            .into_data_async()
            .await?
            .convert::<f32>()
            .try_into_vec::<f32>()?;
        let mut sums = DeviceSums::zeros(&self.device);
        sums.add(step.predicted, step.labels, step.mean_loss);
        let (loss_sum, correct) = sums.read().await?;
        self.model = Some(model);
        Ok(ShareGradients {
            gradients,
            loss_sum,
            correct,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// Helpers in this thread, one after another: the reference the browser's helper workers are
/// tested against, and a way to check the splitting without workers.
pub struct LocalHelpers {
    replicas: Vec<ShareReplica>,
    jobs: Vec<ShareJob>,
}

impl LocalHelpers {
    pub fn new(
        spec: &ModelSpec,
        device: &Device,
        count: usize,
    ) -> Result<LocalHelpers, TrainError> {
        Ok(LocalHelpers {
            replicas: (0..count)
                .map(|_| ShareReplica::new(spec, device))
                .collect::<Result<_, _>>()?,
            jobs: Vec::new(),
        })
    }
}

impl GradientHelpers for LocalHelpers {
    fn count(&self) -> usize {
        self.replicas.len()
    }

    fn start(&mut self, jobs: Vec<ShareJob>) {
        self.jobs = jobs;
    }

    fn finish(&mut self) -> SharesFuture<'_> {
        Box::pin(async move {
            let jobs = std::mem::take(&mut self.jobs);
            let mut results = Vec::with_capacity(jobs.len());
            for (helper, (job, replica)) in jobs.iter().zip(&mut self.replicas).enumerate() {
                results.push(
                    replica
                        .gradients(job)
                        .await
                        .map_err(|e| HelperError::Failed {
                            helper,
                            message: e.to_string(),
                        }),
                );
            }
            results
        })
    }
}

/// One share's forward and backward pass: its gradients and what its metrics need.
pub(crate) struct ShareStep {
    pub grads: GradientsParams,
    /// Predicted classes, `[n, 1]`.
    pub predicted: Tensor<2, Int>,
    pub labels: Tensor<1, Int>,
    /// The share's mean loss (unscaled).
    pub mean_loss: Tensor<1>,
}

/// Gradients of `scale` × the mean loss of `data`'s `indices`. A scale of 1 (one worker) adds
/// no multiplication, so a single worker's step is unchanged.
pub(crate) fn share_step(
    model: &Sequential,
    loss_fn: &CrossEntropyLoss,
    data: &Dataset,
    indices: &[usize],
    scale: f32,
    train_device: &Device,
) -> ShareStep {
    let (images, labels) = batch_tensors(data, indices, train_device);
    let logits = model.forward(images);
    let loss = loss_fn.forward(logits.clone(), labels.clone());
    let backward = if scale == 1.0 {
        loss.backward()
    } else {
        loss.clone().mul_scalar(scale).backward()
    };
    ShareStep {
        grads: GradientsParams::from_grads(backward, model),
        predicted: logits.inner().argmax(1),
        labels: labels.inner(),
        mean_loss: loss.inner(),
    }
}

/// `n` examples cut into `parts` contiguous shares whose sizes differ by at most one, the
/// larger first.
pub(crate) fn share_ranges(n: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.clamp(1, n.max(1));
    let (size, larger) = (n / parts, n % parts);
    let mut start = 0;
    (0..parts)
        .map(|i| {
            let len = size + usize::from(i < larger);
            start += len;
            start - len..start
        })
        .collect()
}

/// The jobs for every share after the first (which the trainer keeps), from `model`'s weights.
pub(crate) async fn jobs_for(
    model: &Sequential,
    data: &Dataset,
    indices: &[usize],
    shares: &[Range<usize>],
) -> Result<Vec<ShareJob>, TrainError> {
    let weights = Arc::new(read_weights(model).await?);
    let n = indices.len() as f32;
    Ok(shares
        .iter()
        .skip(1)
        .map(|share| ShareJob {
            weights: weights.clone(),
            examples: data.select(&indices[share.clone()]),
            scale: share.len() as f32 / n,
        })
        .collect())
}

/// Every parameter's gradient in `model`'s visiting order, as one flat tensor.
fn flat_gradients(grads: &GradientsParams, model: &Sequential, device: &Device) -> Tensor<1> {
    struct Collect<'a> {
        grads: &'a GradientsParams,
        device: &'a Device,
        parts: Vec<Tensor<1>>,
    }
    impl ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let shape = param.lazy_shape();
            let len = shape.num_elements();
            let grad = self.grads.get::<D>(param.id).map_or_else(
                // A parameter the loss does not reach has a zero gradient.
                || Tensor::zeros([len], self.device),
                |g| g.reshape([len]),
            );
            self.parts.push(grad);
        }
    }
    let mut collect = Collect {
        grads,
        device,
        parts: Vec::new(),
    };
    model.visit(&mut collect);
    Tensor::cat(collect.parts, 0)
}

/// `grads` (the trainer's own share) plus the `asked` helpers' answers, parameter by
/// parameter, with the answers kept for their figures; the first failure, a missing answer
/// or gradients of the wrong size instead.
pub(crate) fn add_shares(
    mut grads: GradientsParams,
    model: &Sequential,
    results: Vec<Result<ShareGradients, HelperError>>,
    asked: usize,
    device: &Device,
) -> Result<(GradientsParams, Vec<ShareGradients>), HelperError> {
    let answered = results.len();
    let shares = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    if answered != asked {
        return Err(HelperError::Missing { asked, answered });
    }
    let expected = model.num_params();
    let mut summed: Option<Tensor<1>> = None;
    for (helper, share) in shares.iter().enumerate() {
        if share.gradients.len() != expected {
            return Err(HelperError::Gradients {
                helper,
                expected,
                found: share.gradients.len(),
            });
        }
        let part =
            Tensor::<1>::from_data(TensorData::new(share.gradients.clone(), [expected]), device);
        summed = Some(match summed {
            Some(sum) => sum + part,
            None => part,
        });
    }
    let Some(summed) = summed else {
        return Ok((grads, shares));
    };
    struct Add<'a> {
        grads: &'a mut GradientsParams,
        summed: Tensor<1>,
        at: usize,
    }
    impl ModuleVisitor for Add<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let shape = param.lazy_shape();
            let len = shape.num_elements();
            let theirs: Tensor<D> = self.summed.clone().narrow(0, self.at, len).reshape(shape);
            self.at += len;
            let sum = match self.grads.remove::<D>(param.id) {
                Some(own) => own + theirs,
                None => theirs,
            };
            self.grads.register(param.id, sum);
        }
    }
    model.visit(&mut Add {
        grads: &mut grads,
        summed,
        at: 0,
    });
    Ok((grads, shares))
}

#[cfg(test)]
mod tests {
    use super::share_ranges;

    #[test]
    fn shares_cover_the_batch_in_near_equal_contiguous_parts() {
        assert_eq!(share_ranges(32, 2), vec![0..16, 16..32]);
        assert_eq!(share_ranges(10, 3), vec![0..4, 4..7, 7..10]);
        // More helpers than examples: one example each, no empty share.
        assert_eq!(share_ranges(2, 4), vec![0..1, 1..2]);
        assert_eq!(share_ranges(5, 1), vec![0..5]);
    }
}
