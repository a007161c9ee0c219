//! The training loop: Adam with Keras's defaults, sparse categorical cross-entropy from
//! logits, accuracy, the lab's loss-threshold callback and Keras-style EarlyStopping.
//!
//! The loop is a state machine driven one batch at a time ([`Trainer::step`]), so a CLI can
//! drive it in a plain loop and a web worker can yield to its event loop between batches
//! (that is how a stop request arrives within one batch). Metrics are accumulated on the
//! device and read back asynchronously every [`TrainConfig::report_every`] batches: WebGPU in
//! a browser cannot read synchronously, and reading every batch would stall the GPU.

use crate::checkpoint::{self, Checkpoint, CheckpointError, EarlyStoppingState, TrackedAdam};
use crate::data::{Dataset, IMAGE_SIDE};
use crate::model::Sequential;
use crate::model_file::{ModelHeader, TrainingInfo};
use crate::shares::{self, GradientHelpers, HelperError, ShareBalance, SharedEpoch};
use crate::spec::{ModelSpec, SpecError, NUM_CLASSES};
use burn::module::Module;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use web_time::Instant;

/// The message Keras's lab callback prints, word for word.
pub const LOSS_THRESHOLD_MESSAGE: &str = "Reached the desired loss, so cancelling training!";

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

    fn needs_validation(self) -> bool {
        matches!(self, Monitor::ValLoss | Monitor::ValAccuracy)
    }

    /// Losses improve downwards, accuracies upwards (Keras's mode="auto").
    fn lower_is_better(self) -> bool {
        matches!(self, Monitor::Loss | Monitor::ValLoss)
    }

    fn read(self, m: &EpochMetrics) -> Option<f32> {
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

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("invalid model: {0}")]
    Spec(#[from] SpecError),
    #[error("invalid setting {setting}: {problem}")]
    Config {
        setting: &'static str,
        problem: String,
    },
    #[error("the backend failed to run the model: {0}")]
    Execution(#[from] burn::tensor::ExecutionError),
    #[error("the backend returned data that cannot be read: {0}")]
    Data(#[from] burn::tensor::DataError),
    #[error("the backend returned no value for {what}")]
    EmptyReadBack { what: &'static str },
    #[error("cannot resume from the checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("cannot compute the share: {0}")]
    Share(#[from] crate::shares::ShareJobError),
    #[error(
        "timing a backend needs at least two batches of {batch_size}; there are {images} images"
    )]
    TooFewForTiming { images: usize, batch_size: usize },
}

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
        let val_len = split_len(train_len, self.validation_split);
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
            if es.patience > crate::limits::MAX_PATIENCE {
                return fail(
                    "early_stopping.patience",
                    format!(
                        "must be between 0 and {}, got {}",
                        crate::limits::MAX_PATIENCE,
                        es.patience
                    ),
                );
            }
        }
        Ok(())
    }
}

fn split_len(len: usize, fraction: f32) -> usize {
    ((len as f64) * fraction as f64).floor() as usize
}

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

/// What the trainer reports as it goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TrainEvent {
    Started {
        train_samples: usize,
        val_samples: usize,
        batches_per_epoch: usize,
        epochs: usize,
        params: usize,
    },
    /// Running metrics of the current epoch, every `report_every` batches.
    Batch {
        epoch: usize,
        /// Batches done in this epoch (1-based count).
        batch: usize,
        batches: usize,
        /// Examples trained on since the start of training.
        samples_seen: usize,
        loss: f32,
        accuracy: f32,
        samples_per_second: f64,
    },
    Epoch(EpochMetrics),
    Stopped {
        epoch: usize,
        reason: StopReason,
        message: String,
    },
    Finished(Evaluation),
    /// The run's state at an epoch's end (or when stopped), when the trainer was asked for
    /// checkpoints ([`Trainer::emit_checkpoints`]).
    Checkpoint(Box<Checkpoint>),
    /// The kernels and the watched images' feature maps before the first epoch and after each
    /// one, when the trainer was asked to watch ([`Trainer::watch`]).
    Snapshot(Box<crate::watch::Snapshot>),
    /// The run continues from a checkpoint taken after `epoch` epochs (sent after `Started`).
    Resumed {
        epoch: usize,
    },
    /// The helpers sharing the batches failed; the trainer computed the batch itself and
    /// carries on alone.
    HelpersStopped {
        message: String,
    },
    /// How the epoch's batches were shared with the helpers (after its
    /// [`TrainEvent::Epoch`], when helpers took part).
    Shared(SharedEpoch),
}

/// Loss, accuracy and every prediction on a dataset (for the confusion matrix and the
/// mistakes: see [`crate::mistakes`]).
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

/// A handle that asks a running [`Trainer`] to stop before its next batch.
#[derive(Debug, Clone, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    pub fn request_stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn requested(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A `[batch, 1, 28, 28]` image tensor and its `[batch]` labels for the given examples.
pub(crate) fn batch_tensors(
    data: &Dataset,
    indices: &[usize],
    device: &Device,
) -> (Tensor<4>, Tensor<1, Int>) {
    let n = indices.len();
    let pixels = TensorData::new(
        data.pixels_f32(indices.iter().copied()),
        [n, 1, IMAGE_SIDE, IMAGE_SIDE],
    );
    let labels: Vec<i64> = indices.iter().map(|&i| data.labels[i] as i64).collect();
    (
        Tensor::from_data(pixels, device),
        Tensor::from_data(TensorData::new(labels, [n]), device),
    )
}

/// Sum of the per-example loss and the count of correct predictions, kept on the device in one
/// two-element tensor, so that reporting both costs one read-back (on WebGPU, one `mapAsync`).
pub(crate) struct DeviceSums {
    sums: Tensor<1>,
    /// Figures already on the CPU: the shares helpers computed.
    host_loss: f32,
    host_correct: f32,
    /// [1, 0] and [0, 1]: a batch's two figures are put in place by multiplying with these, an
    /// element-wise step that fuses with the addition (a `cat` costs three kernels on WebGPU).
    loss_place: Tensor<1>,
    correct_place: Tensor<1>,
}

impl DeviceSums {
    pub(crate) fn zeros(device: &Device) -> Self {
        DeviceSums {
            sums: Tensor::zeros([2], device),
            host_loss: 0.0,
            host_correct: 0.0,
            loss_place: Tensor::from_floats([1.0, 0.0], device),
            correct_place: Tensor::from_floats([0.0, 1.0], device),
        }
    }

    /// Adds a batch: its predicted classes (`[n, 1]`, as `argmax(1)` gives them: reshaping
    /// that output costs a copy kernel on WebGPU), its true labels and its mean loss.
    pub(crate) fn add(
        &mut self,
        predicted: Tensor<2, Int>,
        labels: Tensor<1, Int>,
        mean_loss: Tensor<1>,
    ) {
        let [n] = labels.dims();
        let correct = predicted.equal(labels.reshape([n, 1])).float().sum();
        self.sums = self.sums.clone()
            + self.loss_place.clone() * mean_loss.mul_scalar(n as f32)
            + self.correct_place.clone() * correct;
    }

    /// Adds a helper's share, whose figures it read back itself.
    fn add_host(&mut self, loss_sum: f32, correct: f32) {
        self.host_loss += loss_sum;
        self.host_correct += correct;
    }

    /// The loss sum and the correct count, in one read-back.
    pub(crate) async fn read(&self) -> Result<(f32, f32), TrainError> {
        let values = self
            .sums
            .clone()
            .into_data_async()
            .await?
            .convert::<f32>()
            .try_to_vec::<f32>()?;
        match values[..] {
            [loss, correct] => Ok((loss + self.host_loss, correct + self.host_correct)),
            _ => Err(TrainError::EmptyReadBack {
                what: "the loss and accuracy sums",
            }),
        }
    }
}

/// Examples per forward pass when evaluating (no gradients, so larger than training batches).
const EVAL_BATCH: usize = crate::limits::EVALUATION_BATCH;

/// Loss and accuracy of `model` on `data`, reading back once at the end.
pub async fn evaluate(
    model: &Sequential,
    data: &Dataset,
    device: &Device,
) -> Result<Evaluation, TrainError> {
    if data.is_empty() {
        return Err(TrainError::Config {
            setting: "data",
            problem: "there are no examples to evaluate".to_string(),
        });
    }
    let model = model.valid();
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let mut sums = DeviceSums::zeros(device);
    let mut predictions = Vec::new();
    let mut confidences = Vec::new();
    let indices: Vec<usize> = (0..data.len()).collect();
    for chunk in indices.chunks(EVAL_BATCH) {
        let (images, labels) = batch_tensors(data, chunk, device);
        let logits = model.forward(images);
        let loss = loss_fn.forward(logits.clone(), labels.clone());
        let predicted: Tensor<2, Int> = logits.clone().argmax(1);
        confidences.push(softmax(logits, 1).max_dim(1).reshape([chunk.len()]));
        sums.add(predicted.clone(), labels, loss);
        predictions.push(predicted.reshape([chunk.len()]));
    }
    let (loss_sum, correct) = sums.read().await?;
    let predicted = Tensor::cat(predictions, 0).into_data_async().await?;
    let predictions = predicted
        .convert::<i64>()
        .try_to_vec::<i64>()?
        .into_iter()
        .map(|p| p as u8)
        .collect();
    let confidences = Tensor::cat(confidences, 0)
        .into_data_async()
        .await?
        .convert::<f32>()
        .try_to_vec::<f32>()?;
    let n = data.len() as f32;
    Ok(Evaluation {
        loss: loss_sum / n,
        accuracy: correct / n,
        predictions,
        confidences,
    })
}

/// EarlyStopping's running state.
struct EarlyStopState {
    config: EarlyStoppingConfig,
    best: Option<(usize, f32)>,
    best_model: Option<Sequential>,
    wait: usize,
}

/// Trains one model on one dataset, a batch per [`Trainer::step`].
pub struct Trainer {
    model: Option<Sequential>,
    optimizer: ModuleOptimizer,
    /// The optimizer's Adam, whose latest moments a checkpoint reads.
    adam: TrackedAdam,
    loss_fn: CrossEntropyLoss,
    /// Where inference and evaluation run.
    device: Device,
    /// Its autodiff twin, where training batches go.
    train_device: Device,
    train: Dataset,
    val: Dataset,
    config: TrainConfig,
    rng: ChaCha8Rng,
    order: Vec<usize>,
    /// 0-based epoch being trained.
    epoch: usize,
    /// Batches done in the current epoch.
    batch: usize,
    sums: DeviceSums,
    samples_in_epoch: usize,
    samples_seen: usize,
    epoch_started: Instant,
    early_stopping: Option<EarlyStopState>,
    history: Vec<EpochMetrics>,
    stop_reason: Option<StopReason>,
    finished: bool,
    stop: StopHandle,
    pending_started: bool,
    /// Emit a [`TrainEvent::Checkpoint`] after every epoch and when stopped.
    checkpoints: bool,
    /// Epochs done by the checkpoint this run resumed from.
    resumed_from: Option<usize>,
    /// The images whose feature maps a [`TrainEvent::Snapshot`] carries, when watching.
    watched: Option<Dataset>,
    /// Replicas that take shares of each batch, when training on several cores.
    helpers: Option<Box<dyn GradientHelpers>>,
    /// How each batch is cut among the trainer and its helpers.
    balance: ShareBalance,
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
        let early_stopping = config.early_stopping.clone().map(|config| EarlyStopState {
            config,
            best: None,
            best_model: None,
            wait: 0,
        });
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
        let weights = checkpoint::floats(&checkpoint.weights);
        let model = trainer.model.take().expect("a new trainer holds its model");
        trainer.model = Some(checkpoint::with_weights(
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
                let values = checkpoint::floats(&saved.best_weights);
                state.best_model = Some(checkpoint::with_weights(
                    best,
                    &values,
                    &trainer.train_device,
                )?);
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

    async fn emit_snapshot(&self, emit: &mut dyn FnMut(TrainEvent)) -> Result<(), TrainError> {
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
                    Some(best) => checkpoint::to_bytes(&checkpoint::read_weights(best).await?),
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

    /// The 1-based epoch in progress and the batches done in it.
    pub fn position(&self) -> (usize, usize) {
        (self.epoch + 1, self.batch)
    }

    /// Shares every batch with `helpers` from the next step on: each computes the gradients
    /// of its part of the batch, and one Adam step applies their sum. Should they fail, the
    /// trainer reports [`TrainEvent::HelpersStopped`] and trains alone.
    pub fn use_helpers(&mut self, helpers: Box<dyn GradientHelpers>) {
        self.helpers = Some(helpers);
        self.balance = ShareBalance::default();
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

    /// The gradients of the batch `range` of this epoch's order (and its figures added to
    /// the sums): shared with the helpers when there are any, otherwise computed here.
    async fn batch_gradients(
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

        if let Some(threshold) = self.config.stop_at_loss {
            if loss < threshold {
                let reason = StopReason::LossThreshold { loss, threshold };
                self.finish_with(metrics.epoch, reason, emit);
                return Ok(());
            }
        }
        if let Some(reason) = self.early_stopping_check(&metrics) {
            self.finish_with(metrics.epoch, reason, emit);
            return Ok(());
        }
        if self.epoch == self.config.epochs {
            self.finished = true;
        }
        Ok(())
    }

    async fn emit_checkpoint(&self, emit: &mut dyn FnMut(TrainEvent)) -> Result<(), TrainError> {
        if self.checkpoints {
            let started = Instant::now();
            let mut checkpoint = self.checkpoint().await?;
            checkpoint.seconds = started.elapsed().as_secs_f64();
            emit(TrainEvent::Checkpoint(Box::new(checkpoint)));
        }
        Ok(())
    }

    /// Keras's EarlyStopping.on_epoch_end.
    fn early_stopping_check(&mut self, metrics: &EpochMetrics) -> Option<StopReason> {
        let state = self.early_stopping.as_mut()?;
        let monitor = state.config.monitor;
        let current = monitor.read(metrics)?;
        let improved = match state.best {
            None => true,
            Some((_, best)) if monitor.lower_is_better() => current < best - state.config.min_delta,
            Some((_, best)) => current > best + state.config.min_delta,
        };
        if improved {
            state.best = Some((metrics.epoch, current));
            state.wait = 0;
            if state.config.restore_best_weights {
                state.best_model = self.model.clone();
            }
            return None;
        }
        state.wait += 1;
        if state.wait < state.config.patience {
            return None;
        }
        let (best_epoch, best_value) = state.best.expect("set on the first epoch");
        let restored = match state.best_model.take() {
            Some(best) => {
                self.model = Some(best);
                true
            }
            None => false,
        };
        Some(StopReason::EarlyStopping {
            monitor,
            best_epoch,
            best_value,
            patience: state.config.patience,
            restored_best_weights: restored,
        })
    }
}

/// Everything a finished run produced, and the header its model file carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub history: Vec<EpochMetrics>,
    pub stop_reason: Option<StopReason>,
    pub test: Option<Evaluation>,
    /// The model's description as a `.convlab` file writes it (test accuracy included).
    pub header: ModelHeader,
}

/// Drives `trainer` to the end, then evaluates on `test` (Keras's `fit` then `evaluate`).
pub async fn run(
    trainer: &mut Trainer,
    test: Option<&Dataset>,
    emit: &mut dyn FnMut(TrainEvent),
) -> Result<RunSummary, TrainError> {
    run_pausing(trainer, test, emit, || std::future::ready(())).await
}

/// [`run`], awaiting `pause()` after every batch: a browser worker yields to its event loop
/// there, so that a Stop request is seen before the next batch. The one sequence of "train to
/// the end, evaluate on the test set, describe the model" that the CLI and the worker share.
pub async fn run_pausing<F: std::future::Future<Output = ()>>(
    trainer: &mut Trainer,
    test: Option<&Dataset>,
    emit: &mut dyn FnMut(TrainEvent),
    mut pause: impl FnMut() -> F,
) -> Result<RunSummary, TrainError> {
    while trainer.step(emit).await? {
        pause().await;
    }
    let test = match test {
        Some(data) => {
            let evaluation = evaluate(trainer.model(), data, trainer.device()).await?;
            emit(TrainEvent::Finished(evaluation.clone()));
            Some(evaluation)
        }
        None => None,
    };
    let header = ModelHeader::new(
        trainer.model().spec().clone(),
        Some(TrainingInfo {
            config: trainer.config().clone(),
            epochs_run: trainer.history().len(),
            train_images: trainer.train_len(),
            test_accuracy: test.as_ref().map(|t| t.accuracy),
        }),
    );
    Ok(RunSummary {
        history: trainer.history().to_vec(),
        stop_reason: trainer.stop_reason().cloned(),
        test,
        header,
    })
}
