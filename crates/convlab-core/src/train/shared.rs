//! A trainer's batches shared with helpers: each computes the gradients of its share from
//! the same weights, and one Adam step applies their sum.

use crate::error::TrainError;
use crate::model::Sequential;
use crate::shares::{self, GradientHelpers, HelperError, ShareBalance};
use crate::train::events::TrainEvent;
use crate::train::trainer::Trainer;
use burn::optim::GradientsParams;
use web_time::Instant;

impl Trainer {
    /// Shares every batch with `helpers` from the next step on: each computes the gradients
    /// of its part of the batch, and one Adam step applies their sum. Should they fail, the
    /// trainer reports [`TrainEvent::HelpersStopped`] and trains alone.
    pub fn use_helpers(&mut self, helpers: Box<dyn GradientHelpers>) {
        self.helpers = Some(helpers);
        self.balance = ShareBalance::default();
    }

    /// The gradients of the batch `range` of this epoch's order (and its figures added to
    /// the sums): shared with the helpers when there are any, otherwise computed here.
    pub(super) async fn batch_gradients(
        &mut self,
        model: &Sequential,
        range: std::ops::Range<usize>,
        emit: &mut dyn FnMut(TrainEvent),
    ) -> Result<GradientsParams, TrainError> {
        if self.helpers.is_some() && range.len() > 1 {
            match self.shared_gradients(model, range.clone()).await? {
                Ok(grads) => return Ok(grads),
                Err(error) => {
                    // This batch is computed here, and the rest of the run too.
                    self.helpers = None;
                    emit(TrainEvent::HelpersStopped {
                        message: error.to_string(),
                    });
                }
            }
        }
        let step = shares::share_step(
            model,
            &self.loss_fn,
            &self.train,
            &self.order[range],
            1.0,
            &self.train_device,
        );
        self.sums.add(step.predicted, step.labels, step.mean_loss);
        Ok(step.grads)
    }

    /// The batch `range` shared with the helpers: the trainer's own share computed while
    /// they compute theirs, the gradients summed. A helper's failure is the inner error (the
    /// caller then computes the batch itself); nothing is added to the sums then.
    async fn shared_gradients(
        &mut self,
        model: &Sequential,
        range: std::ops::Range<usize>,
    ) -> Result<Result<GradientsParams, HelperError>, TrainError> {
        let Some(helpers) = self.helpers.as_mut() else {
            unreachable!("only called with helpers");
        };
        let indices = &self.order[range];
        let shares = self.balance.ranges(indices.len(), helpers.count() + 1);
        helpers.start(shares::jobs_for(model, &self.train, indices, &shares).await?);
        let started = Instant::now();
        let own = shares::share_step(
            model,
            &self.loss_fn,
            &self.train,
            &indices[shares[0].clone()],
            shares[0].len() as f32 / indices.len() as f32,
            &self.train_device,
        );
        let own_seconds = started.elapsed().as_secs_f64();
        let results = helpers.finish().await;
        let waited = started.elapsed().as_secs_f64() - own_seconds;
        Ok(
            shares::add_shares(own.grads, model, results, shares.len() - 1, &self.device).map(
                |(grads, theirs)| {
                    self.sums.add(own.predicted, own.labels, own.mean_loss);
                    for share in &theirs {
                        self.sums.add_host(share.loss_sum, share.correct);
                    }
                    let sizes: Vec<usize> = shares.iter().map(|s| s.len()).collect();
                    let seconds: Vec<f64> = std::iter::once(own_seconds)
                        .chain(theirs.iter().map(|share| share.seconds))
                        .collect();
                    self.balance.record(&sizes, &seconds, waited);
                    grads
                },
            ),
        )
    }
}
