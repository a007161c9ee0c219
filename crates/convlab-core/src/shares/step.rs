//! One share's forward and backward pass, the shares a batch is cut into, and their gradients
//! summed into one step's.

use crate::batch::batch_tensors;
use crate::data::Dataset;
use crate::error::TrainError;
use crate::model::Sequential;
use crate::shares::job::{HelperError, ShareGradients, ShareJob};
use crate::weights::read_weights;
use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::loss::CrossEntropyLoss;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};
use std::ops::Range;
use std::sync::Arc;

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
pub(crate) fn flat_gradients(
    grads: &GradientsParams,
    model: &Sequential,
    device: &Device,
) -> Tensor<1> {
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
