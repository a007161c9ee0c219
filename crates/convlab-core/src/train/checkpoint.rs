//! A run's state at an epoch's end, on the CPU side: every weight, Adam's moments and where
//! the run stands. A browser worker keeps one so that a run survives its GPU: when the device
//! is lost, training continues on the CPU from the last checkpoint instead of starting over.
//!
//! burn's own optimizer record reads tensors synchronously, which WebGPU in a browser cannot
//! do; so Adam is wrapped ([`TrackedAdam`]: burn's Adam does the math) to keep a handle on the
//! latest moments, and the checkpoint reads them with the weights in one asynchronous
//! read-back.

use crate::error::{CheckpointError, TrainError};
use crate::model::Sequential;
use crate::train::metrics::EpochMetrics;
use crate::weights::{floats, parameters, to_bytes};
use burn::optim::{Adam, AdamState, AdaptiveMomentumState, LearningRate, Optimizer};
use burn::tensor::{Device, Tensor, TensorData, Transaction};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

/// A run's state after `epochs_done` epochs, enough to train on from there on another device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub epochs_done: usize,
    /// Batches done in the next epoch: 0 at an epoch's end, more when taken at a stop.
    pub batches_done: usize,
    pub samples_seen: usize,
    /// Training is over (all epochs, a callback or a stop): only the test evaluation is left.
    #[serde(default)]
    pub finished: bool,
    pub history: Vec<EpochMetrics>,
    /// Every parameter's values in the module's visiting order, f32 little-endian.
    #[serde(with = "serde_bytes")]
    pub weights: Vec<u8>,
    /// Adam's state per parameter, in the same order (empty before the first step).
    pub adam: Vec<AdamSlot>,
    pub early_stopping: Option<EarlyStoppingState>,
    /// How long taking it took (the read-back and the copies), for the benchmarks.
    #[serde(default)]
    pub seconds: f64,
}

impl Checkpoint {
    /// Its size in memory: the weights, the moments and the best weights.
    pub fn bytes(&self) -> usize {
        let adam: usize = self
            .adam
            .iter()
            .map(|s| s.moment_1.len() + s.moment_2.len())
            .sum();
        let best = self
            .early_stopping
            .as_ref()
            .map_or(0, |e| e.best_weights.len());
        self.weights.len() + adam + best
    }
}

/// Adam's state for one parameter: its step count and both moments, f32 little-endian.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdamSlot {
    pub time: usize,
    #[serde(with = "serde_bytes")]
    pub moment_1: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub moment_2: Vec<u8>,
}

/// EarlyStopping's memory: the best epoch and value so far, the epochs waited since, and the
/// best weights when it restores them (empty otherwise).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStoppingState {
    pub best: Option<(usize, f32)>,
    pub wait: usize,
    #[serde(with = "serde_bytes")]
    pub best_weights: Vec<u8>,
}

/// Adam's moments as last stepped, flattened, per parameter in stepping order.
struct Moments {
    time: usize,
    moment_1: Tensor<1>,
    moment_2: Tensor<1>,
}

#[derive(Default)]
struct Track {
    latest: Vec<Moments>,
    restore: VecDeque<AdamSlot>,
}

/// burn's Adam, keeping a handle on each parameter's latest state (for checkpoints) and
/// starting each parameter from a checkpoint's state when one was given.
#[derive(Clone)]
pub(crate) struct TrackedAdam {
    adam: Adam,
    track: Arc<Mutex<Track>>,
}

impl TrackedAdam {
    pub(crate) fn new(adam: Adam) -> TrackedAdam {
        TrackedAdam {
            adam,
            track: Arc::default(),
        }
    }

    fn track(&self) -> std::sync::MutexGuard<'_, Track> {
        self.track.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Called before each optimizer step: the handles are dropped so that the step owns the
    /// moments alone (and burn can update them in place).
    pub(crate) fn forget_latest(&self) {
        self.track().latest.clear();
    }

    /// The next parameters stepped without a state start from these (in stepping order).
    pub(crate) fn restore(&self, slots: Vec<AdamSlot>) {
        self.track().restore = slots.into();
    }
}

impl Optimizer for TrackedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let state = state.or_else(|| {
            let slot = self.track().restore.pop_front()?;
            let device = tensor.device();
            let shape = tensor.shape();
            let moment = |bytes: &[u8]| {
                let values = floats(bytes);
                let len = values.len();
                Tensor::<1>::from_data(TensorData::new(values, [len]), &device)
                    .reshape(shape.clone())
            };
            Some(AdamState::new(AdaptiveMomentumState::new(
                slot.time,
                moment(&slot.moment_1),
                moment(&slot.moment_2),
            )))
        });
        let (tensor, state) = self.adam.step(lr, tensor, grad, state);
        if let Some(state) = &state {
            let len = state.momentum.moment_1.shape().num_elements();
            self.track().latest.push(Moments {
                time: state.momentum.time,
                moment_1: state.momentum.moment_1.clone().reshape([len]),
                moment_2: state.momentum.moment_2.clone().reshape([len]),
            });
        }
        (tensor, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        <Adam as Optimizer>::to_device(state, device)
    }
}
/// Reads the weights and Adam's latest moments in one read-back.
pub(crate) async fn capture(
    model: &Sequential,
    adam: &TrackedAdam,
) -> Result<(Vec<u8>, Vec<AdamSlot>), TrainError> {
    let (times, transaction) = {
        let track = adam.track();
        let mut transaction = Transaction::default().register(Tensor::cat(parameters(model), 0));
        for moments in &track.latest {
            transaction = transaction
                .register(moments.moment_1.clone())
                .register(moments.moment_2.clone());
        }
        let times: Vec<usize> = track.latest.iter().map(|m| m.time).collect();
        (times, transaction)
    };
    let data = transaction.execute_async().await?;
    let mut data = data.into_iter();
    let mut bytes = |what: &'static str| -> Result<Vec<u8>, TrainError> {
        let d = data.next().ok_or(TrainError::EmptyReadBack { what })?;
        Ok(to_bytes(&d.convert::<f32>().try_into_vec::<f32>()?))
    };
    let weights = bytes("the weights")?;
    let mut slots = Vec::with_capacity(times.len());
    for time in times {
        slots.push(AdamSlot {
            time,
            moment_1: bytes("Adam's first moments")?,
            moment_2: bytes("Adam's second moments")?,
        });
    }
    Ok((weights, slots))
}
/// Checks the optimizer state against the model's parameters before resuming.
pub(crate) fn check_slots(model: &Sequential, slots: &[AdamSlot]) -> Result<(), CheckpointError> {
    if slots.is_empty() {
        return Ok(());
    }
    let lengths: Vec<usize> = parameters(model)
        .iter()
        .map(|p| p.shape().num_elements())
        .collect();
    for (index, &expected) in lengths.iter().enumerate() {
        let found = slots
            .get(index)
            .map_or(0, |s| s.moment_1.len().min(s.moment_2.len()) / 4);
        if found != expected {
            return Err(CheckpointError::Moments {
                index,
                expected,
                found,
            });
        }
    }
    Ok(())
}
