//! The training loop: Adam with Keras's defaults, sparse categorical cross-entropy from
//! logits, accuracy, the lab's loss-threshold callback and Keras-style EarlyStopping.
//!
//! The loop is a state machine driven one batch at a time ([`Trainer::step`]), so a CLI can
//! drive it in a plain loop and a web worker can yield to its event loop between batches
//! (that is how a stop request arrives within one batch). Metrics are accumulated on the
//! device and read back asynchronously every [`TrainConfig::report_every`] batches: WebGPU in
//! a browser cannot read synchronously, and reading every batch would stall the GPU.

use crate::batch::DeviceSums;
use crate::data::Dataset;
use crate::error::TrainError;
use crate::model::Sequential;
use crate::shares::{GradientHelpers, ShareBalance};
use crate::spec::ModelSpec;
use crate::train::callbacks::{loss_threshold_on_epoch_end, EarlyStop, EarlyStopping, StopReason};
use crate::train::checkpoint::TrackedAdam;
use crate::train::evaluate::evaluate;
use crate::train::events::{StopHandle, TrainEvent};
use crate::train::metrics::EpochMetrics;
use crate::train::settings::TrainConfig;
use burn::module::Module;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::Device;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use web_time::Instant;

/// Trains one model on one dataset, a batch per [`Trainer::step`].
pub struct Trainer {
    pub(super) model: Option<Sequential>,
    pub(super) optimizer: ModuleOptimizer,
    /// The optimizer's Adam, whose latest moments a checkpoint reads.
    pub(super) adam: TrackedAdam,
    pub(super) loss_fn: CrossEntropyLoss,
    /// Where inference and evaluation run.
    pub(super) device: Device,
    /// Its autodiff twin, where training batches go.
    pub(super) train_device: Device,
    pub(super) train: Dataset,
    pub(super) val: Dataset,
    pub(super) config: TrainConfig,
    pub(super) rng: ChaCha8Rng,
    pub(super) order: Vec<usize>,
    /// 0-based epoch being trained.
    pub(super) epoch: usize,
    /// Batches done in the current epoch.
    pub(super) batch: usize,
    pub(super) sums: DeviceSums,
    pub(super) samples_in_epoch: usize,
    pub(super) samples_seen: usize,
    pub(super) epoch_started: Instant,
    pub(super) early_stopping: Option<EarlyStopping>,
    pub(super) history: Vec<EpochMetrics>,
    pub(super) stop_reason: Option<StopReason>,
    pub(super) finished: bool,
    pub(super) stop: StopHandle,
    pub(super) pending_started: bool,
    /// Emit a [`TrainEvent::Checkpoint`] after every epoch and when stopped.
    pub(super) checkpoints: bool,
    /// Epochs done by the checkpoint this run resumed from.
    pub(super) resumed_from: Option<usize>,
    /// The images whose feature maps a [`TrainEvent::Snapshot`] carries, when watching.
    pub(super) watched: Option<Dataset>,
    /// Replicas that take shares of each batch, when training on several cores.
    pub(super) helpers: Option<Box<dyn GradientHelpers>>,
    /// How each batch is cut among the trainer and its helpers.
    pub(super) balance: ShareBalance,
}

impl Trainer {
    /// Builds the model on `device` (seeded with `config.seed`) and splits off validation data.
    pub fn new(
        spec: &ModelSpec,
        config: TrainConfig,
        data: Dataset,
        device: Device,
    ) -> Result<Trainer, TrainError> {
        // The settings, the model and its memory at this batch size, before any allocation.
        config.check_training(spec, data.len())?;
        device.seed(config.seed);
        let train_device = device.clone().autodiff();
        let model = Sequential::new(spec, &train_device)?;
        let adam = TrackedAdam::new(
            AdamConfig::new()
                .with_beta_1(0.9)
                .with_beta_2(0.999)
                .with_epsilon(1e-7)
                .build(),
        );
        let optimizer = ModuleOptimizer::from(adam.clone());
        let (train, val) = data.split_validation(config.validation_split);
        let early_stopping = config.early_stopping.clone().map(EarlyStopping::new);
        Ok(Trainer {
            model: Some(model),
            optimizer,
            adam,
            loss_fn: CrossEntropyLossConfig::new().init(&device),
            sums: DeviceSums::zeros(&device),
            order: (0..train.len()).collect(),
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            train,
            val,
            device,
            train_device,
            config,
            epoch: 0,
            batch: 0,
            samples_in_epoch: 0,
            samples_seen: 0,
            epoch_started: Instant::now(),
            early_stopping,
            history: Vec::new(),
            stop_reason: None,
            finished: false,
            stop: StopHandle::default(),
            pending_started: true,
            checkpoints: false,
            watched: None,
            resumed_from: None,
            helpers: None,
            balance: ShareBalance::default(),
        })
    }

    /// The 1-based epoch in progress and the batches done in it.
    pub fn position(&self) -> (usize, usize) {
        (self.epoch + 1, self.batch)
    }

    /// Stops on `handle` from now on: one made before this trainer existed, so that a stop
    /// asked for while the run was being prepared still counts.
    pub fn stop_with(&mut self, handle: StopHandle) {
        self.stop = handle;
    }

    /// A handle another task (or a UI message) can use to stop training before the next batch.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    pub fn model(&self) -> &Sequential {
        self.model
            .as_ref()
            .expect("the model is only taken out inside step")
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn history(&self) -> &[EpochMetrics] {
        &self.history
    }

    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Training examples per epoch (the validation split left out).
    pub fn train_len(&self) -> usize {
        self.train.len()
    }

    pub fn stop_reason(&self) -> Option<&StopReason> {
        self.stop_reason.as_ref()
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    pub fn batches_per_epoch(&self) -> usize {
        self.train.len().div_ceil(self.config.batch_size)
    }

    /// Ends training during the 1-based `epoch` for `reason`.
    fn finish_with(&mut self, epoch: usize, reason: StopReason, emit: &mut dyn FnMut(TrainEvent)) {
        emit(TrainEvent::Stopped {
            epoch,
            message: reason.message(),
            reason: reason.clone(),
        });
        self.stop_reason = Some(reason);
        self.finished = true;
    }

    /// Trains one batch (and, after an epoch's last batch, validates and runs the callbacks).
    /// Returns `false` once training is over.
    pub async fn step(&mut self, emit: &mut dyn FnMut(TrainEvent)) -> Result<bool, TrainError> {
        if self.finished {
            return Ok(false);
        }
        if self.pending_started {
            self.pending_started = false;
            emit(TrainEvent::Started {
                train_samples: self.train.len(),
                val_samples: self.val.len(),
                batches_per_epoch: self.batches_per_epoch(),
                epochs: self.config.epochs,
                params: self.model().num_params(),
            });
            match self.resumed_from {
                Some(epoch) => emit(TrainEvent::Resumed { epoch }),
                None => self.emit_snapshot(emit).await?,
            }
        }
        if self.stop.requested() {
            self.finish_with(self.epoch + 1, StopReason::Requested, emit);
            self.emit_checkpoint(emit).await?;
            return Ok(false);
        }
        let batches = self.batches_per_epoch();
        if self.batch == 0 {
            self.order.shuffle(&mut self.rng);
            self.sums = DeviceSums::zeros(&self.device);
            self.samples_in_epoch = 0;
            self.epoch_started = Instant::now();
        }

        let start = self.batch * self.config.batch_size;
        let end = (start + self.config.batch_size).min(self.train.len());
        let model = self
            .model
            .take()
            .expect("the model is only taken out inside step");
        let grads = match self.batch_gradients(&model, start..end, emit).await {
            Ok(grads) => grads,
            Err(error) => {
                self.model = Some(model);
                return Err(error);
            }
        };
        self.adam.forget_latest();
        self.model = Some(self.optimizer.step(self.config.learning_rate, model, grads));

        self.batch += 1;
        self.samples_in_epoch += end - start;
        self.samples_seen += end - start;
        let epoch_done = self.batch == batches;
        if self.batch.is_multiple_of(self.config.report_every) || epoch_done {
            let (loss_sum, correct) = self.sums.read().await?;
            let n = self.samples_in_epoch as f32;
            let loss = loss_sum / n;
            if !loss.is_finite() {
                self.finish_with(
                    self.epoch + 1,
                    StopReason::NonFinite {
                        batch: self.batch,
                        value: loss,
                    },
                    emit,
                );
                return Ok(false);
            }
            let seconds = self.epoch_started.elapsed().as_secs_f64();
            emit(TrainEvent::Batch {
                epoch: self.epoch + 1,
                batch: self.batch,
                batches,
                samples_seen: self.samples_seen,
                loss,
                accuracy: correct / n,
                samples_per_second: self.samples_in_epoch as f64 / seconds.max(1e-9),
            });
            if epoch_done {
                self.end_epoch(loss, correct / n, emit).await?;
                self.emit_snapshot(emit).await?;
                self.emit_checkpoint(emit).await?;
            }
        }
        Ok(!self.finished)
    }

    async fn end_epoch(
        &mut self,
        loss: f32,
        accuracy: f32,
        emit: &mut dyn FnMut(TrainEvent),
    ) -> Result<(), TrainError> {
        let seconds = self.epoch_started.elapsed().as_secs_f64();
        let (val_loss, val_accuracy) = if self.val.is_empty() {
            (None, None)
        } else {
            let e = evaluate(self.model(), &self.val, &self.device).await?;
            (Some(e.loss), Some(e.accuracy))
        };
        let metrics = EpochMetrics {
            epoch: self.epoch + 1,
            loss,
            accuracy,
            val_loss,
            val_accuracy,
            seconds,
            samples: self.samples_in_epoch,
        };
        emit(TrainEvent::Epoch(metrics.clone()));
        if let Some(shared) = self.balance.end_epoch(metrics.epoch) {
            emit(TrainEvent::Shared(shared));
        }
        self.history.push(metrics.clone());
        self.epoch += 1;
        self.batch = 0;

        if let Some(reason) = loss_threshold_on_epoch_end(self.config.stop_at_loss, &metrics) {
            self.finish_with(metrics.epoch, reason, emit);
            return Ok(());
        }
        let early_stop = match self.early_stopping.as_mut() {
            Some(callback) => callback.on_epoch_end(
                &metrics,
                self.model
                    .as_ref()
                    .expect("the model is only taken out inside step"),
            ),
            None => None,
        };
        if let Some(EarlyStop { reason, best_model }) = early_stop {
            if let Some(best) = best_model {
                self.model = Some(best);
            }
            self.finish_with(metrics.epoch, reason, emit);
            return Ok(());
        }
        if self.epoch == self.config.epochs {
            self.finished = true;
        }
        Ok(())
    }
}
