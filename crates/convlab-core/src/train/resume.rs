//! A trainer's state taken and given back: checkpoints after each epoch (and when stopped),
//! a run resumed from one, and the watched images' snapshots.

use crate::data::Dataset;
use crate::error::{CheckpointError, TrainError};
use crate::model::Sequential;
use crate::spec::ModelSpec;
use crate::train::checkpoint::{self, Checkpoint, EarlyStoppingState};
use crate::train::events::TrainEvent;
use crate::train::settings::TrainConfig;
use crate::train::trainer::Trainer;
use crate::weights;
use burn::tensor::Device;
use rand::seq::SliceRandom;
use web_time::Instant;

impl Trainer {
    /// A trainer that carries on from `checkpoint` (taken on any device) with the same spec,
    /// settings and data: the same weights, Adam state, shuffle order and history.
    pub fn resume(
        spec: &ModelSpec,
        config: TrainConfig,
        data: Dataset,
        device: Device,
        checkpoint: &Checkpoint,
    ) -> Result<Trainer, TrainError> {
        if checkpoint.epochs_done > config.epochs {
            return Err(CheckpointError::Epochs {
                epochs_done: checkpoint.epochs_done,
                epochs: config.epochs,
            }
            .into());
        }
        let mut trainer = Trainer::new(spec, config, data, device)?;
        let weights = weights::floats(&checkpoint.weights);
        let model = trainer.model.take().expect("a new trainer holds its model");
        trainer.model = Some(weights::with_weights(
            model,
            &weights,
            &trainer.train_device,
        )?);
        checkpoint::check_slots(trainer.model(), &checkpoint.adam)?;
        trainer.adam.restore(checkpoint.adam.clone());
        if let (Some(state), Some(saved)) =
            (&mut trainer.early_stopping, &checkpoint.early_stopping)
        {
            state.best = saved.best;
            state.wait = saved.wait;
            if !saved.best_weights.is_empty() {
                let best = Sequential::new(spec, &trainer.train_device)?;
                let values = weights::floats(&saved.best_weights);
                state.best_model =
                    Some(weights::with_weights(best, &values, &trainer.train_device)?);
            }
        }
        // The shuffles so far, replayed: the next batch sees the order it would have. A
        // checkpoint taken mid-epoch (a stop) carries on after its batch; that epoch's
        // metrics then cover the batches after it.
        let shuffles = checkpoint.epochs_done + usize::from(checkpoint.batches_done > 0);
        for _ in 0..shuffles {
            trainer.order.shuffle(&mut trainer.rng);
        }
        if checkpoint.batches_done >= trainer.batches_per_epoch() {
            return Err(CheckpointError::Batch {
                batch: checkpoint.batches_done,
                batches: trainer.batches_per_epoch(),
            }
            .into());
        }
        trainer.batch = checkpoint.batches_done;
        trainer.epoch = checkpoint.epochs_done;
        trainer.samples_seen = checkpoint.samples_seen;
        trainer.history = checkpoint.history.clone();
        trainer.finished = checkpoint.finished || trainer.epoch == trainer.config.epochs;
        trainer.resumed_from = Some(checkpoint.epochs_done);
        Ok(trainer)
    }

    /// Ask for a [`TrainEvent::Snapshot`] before the first epoch and after every epoch, with
    /// the feature maps of `images` (none: the kernels only).
    pub fn watch(&mut self, images: Dataset) {
        self.watched = Some(images);
    }

    pub(super) async fn emit_snapshot(
        &self,
        emit: &mut dyn FnMut(TrainEvent),
    ) -> Result<(), TrainError> {
        if let Some(watched) = &self.watched {
            let snapshot =
                crate::watch::snapshot(self.model(), watched, self.epoch, &self.device).await?;
            emit(TrainEvent::Snapshot(Box::new(snapshot)));
        }
        Ok(())
    }

    /// Ask for a [`TrainEvent::Checkpoint`] after every epoch and when stopped.
    pub fn emit_checkpoints(&mut self) {
        self.checkpoints = true;
    }

    /// The run's state now (between batches), read back from the device.
    pub async fn checkpoint(&self) -> Result<Checkpoint, TrainError> {
        let (weights, adam) = checkpoint::capture(self.model(), &self.adam).await?;
        let early_stopping = match &self.early_stopping {
            Some(state) => Some(EarlyStoppingState {
                best: state.best,
                wait: state.wait,
                best_weights: match &state.best_model {
                    Some(best) => weights::to_bytes(&weights::read_weights(best).await?),
                    None => Vec::new(),
                },
            }),
            None => None,
        };
        Ok(Checkpoint {
            epochs_done: self.epoch,
            batches_done: self.batch,
            samples_seen: self.samples_seen,
            finished: self.finished,
            history: self.history.clone(),
            weights,
            adam,
            early_stopping,
            seconds: 0.0,
        })
    }

    pub(super) async fn emit_checkpoint(
        &self,
        emit: &mut dyn FnMut(TrainEvent),
    ) -> Result<(), TrainError> {
        if self.checkpoints {
            let started = Instant::now();
            let mut checkpoint = self.checkpoint().await?;
            checkpoint.seconds = started.elapsed().as_secs_f64();
            emit(TrainEvent::Checkpoint(Box::new(checkpoint)));
        }
        Ok(())
    }
}
