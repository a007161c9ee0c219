//! What a run may ask for, checked before anything is allocated: the memory a model needs to
//! train at a batch size ([`MemoryEstimate`]) against a stated budget ([`MEMORY_BUDGET`]), and
//! the allowed values of every training setting as messages state them ([`allowed`]).
//!
//! Pure arithmetic on a [`ModelSpec`] and a [`TrainConfig`]: the CLI, the page and the worker
//! call [`TrainConfig::check_training`] (or [`ModelSpec::check_memory`]) before a tensor exists.

use crate::spec::{LayerSpec, ModelSpec, Shape, SpecError, INPUT_SHAPE};
use crate::summary::human_bytes;
use crate::train::{TrainConfig, TrainError, MAX_BATCH_SIZE, MAX_EPOCHS};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The most memory a run may need by [`MemoryEstimate::total`]: 2 GiB.
///
/// The page trains in a Web Worker whose wasm32 module can address at most 4 GiB of linear
/// memory (Chromium; other browsers and phones give less), and that worker also holds the
/// dataset (about 55 MB of pixels), the compiled module, the allocator's free lists and the
/// backend's temporaries the estimate leaves out; half of the address space is what is safely
/// left for the tensors the estimate counts. On WebGPU the tensors live in GPU memory, which
/// integrated GPUs share with the system: 2 GiB is also a fair share there. The CLI uses the
/// same budget, so a model trained on the command line also trains in the page. The lab's CNN
/// needs about 58 MB at batch 32 (most of it the evaluation pass over 500 images) and 2.0 GB
/// at batch 8192; its 64-filter variant is refused at 8192 (3.9 GB).
pub const MEMORY_BUDGET: u64 = 2 << 30;

/// Examples per forward pass when evaluating (validation after each epoch, the test set):
/// the batch of `train::evaluate`, which must stay the same.
pub const EVALUATION_BATCH: usize = 500;

/// Images per block of convolution patches at most (`convlab_ops::conv`'s `IMAGES_PER_BLOCK`).
const PATCH_BLOCK_IMAGES: usize = 32;

/// Most epochs EarlyStopping may wait for an improvement (as many as a run may have).
pub const MAX_PATIENCE: usize = MAX_EPOCHS;

/// Bytes of one f32.
const F32: u64 = 4;

/// The memory, in bytes, that training a model at one batch size needs, as f32 tensors. An
/// estimate from the shapes alone, kept simple:
///
/// - `weights`, `gradients`: 4 bytes per parameter each;
/// - `adam_state`: Adam's two moments, 8 bytes per parameter;
/// - `activations`: the input and every layer's output for one training batch (Flatten is a
///   view, not counted), kept by autodiff for the backward pass, and as much again for their
///   gradients on the way back: 2 × batch × Σ elements × 4;
/// - `evaluation`: an evaluation pass ([`EVALUATION_BATCH`] images, no gradients), at its
///   widest layer (that layer's input and output at once);
/// - `workspace`: the widest convolution's input patches (im2col) for one block of up to 32
///   images, which the CPU backend multiplies the kernels with;
/// - `total`: weights + gradients + Adam state + workspace + the larger of `activations` and
///   `evaluation` (a training step and an evaluation pass do not overlap).
///
/// Left out: the dataset, the backend's short-lived temporaries and the allocator's overhead;
/// [`MEMORY_BUDGET`] leaves room for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryEstimate {
    /// The batch size the estimate is for.
    pub batch_size: usize,
    pub params: u64,
    pub weights: u64,
    pub gradients: u64,
    pub adam_state: u64,
    pub activations: u64,
    pub evaluation: u64,
    pub workspace: u64,
    pub total: u64,
}

impl fmt::Display for MemoryEstimate {
    /// The lab's CNN: `about 57.56 MB (weights 442.91 KB, gradients 442.91 KB, Adam state
    /// 885.83 KB, activations 7.97 MB at batch 32, evaluation pass 51.57 MB, convolution
    /// patches 4.25 MB)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "about {} (weights {}, gradients {}, Adam state {}, activations {} at batch {}, evaluation pass {}, convolution patches {})",
            human_bytes(self.total),
            human_bytes(self.weights),
            human_bytes(self.gradients),
            human_bytes(self.adam_state),
            human_bytes(self.activations),
            self.batch_size,
            human_bytes(self.evaluation),
            human_bytes(self.workspace),
        )
    }
}

impl MemoryEstimate {
    /// The message of [`SpecError::TooLarge`].
    pub(crate) fn too_large(&self, budget: u64) -> String {
        format!(
            "training at batch {} needs {self}, more than the {} budget: use a smaller batch size, or fewer filters, units or layers",
            self.batch_size,
            human_bytes(budget)
        )
    }
}

impl ModelSpec {
    /// The memory training this stack at `batch_size` needs (see [`MemoryEstimate`]), or why
    /// the stack cannot be built. Counted in saturating u64: no size overflows, whatever the
    /// batch size or the platform's usize.
    pub fn memory_estimate(&self, batch_size: usize) -> Result<MemoryEstimate, SpecError> {
        let infos = self.infer()?;
        let elements = |shape: Shape| shape.num_elements() as u64;
        let params: u64 = infos.iter().map(|i| i.params as u64).sum();
        let mut kept = elements(INPUT_SHAPE);
        let mut widest_pass = 0u64;
        let mut widest_patches = 0u64;
        let mut input = INPUT_SHAPE;
        for (layer, info) in self.layers.iter().zip(&infos) {
            let output = info.output;
            if !matches!(layer, LayerSpec::Flatten) {
                kept = kept.saturating_add(elements(output));
            }
            widest_pass = widest_pass.max(elements(input).saturating_add(elements(output)));
            if let (
                LayerSpec::Conv2D { kernel, .. },
                Shape::Image { channels, .. },
                Shape::Image { height, width, .. },
            ) = (*layer, input, output)
            {
                let patches = [kernel, kernel, channels, height, width]
                    .iter()
                    .fold(1u64, |n, &d| n.saturating_mul(d as u64));
                widest_patches = widest_patches.max(patches);
            }
            input = output;
        }
        let bytes = |n: u64, times: u64| n.saturating_mul(times).saturating_mul(F32);
        let weights = bytes(params, 1);
        let gradients = bytes(params, 1);
        let adam_state = bytes(params, 2);
        let activations = bytes(kept, 2).saturating_mul(batch_size as u64);
        let evaluation = bytes(widest_pass, EVALUATION_BATCH as u64);
        let workspace = bytes(widest_patches, PATCH_BLOCK_IMAGES as u64);
        let total = [
            weights,
            gradients,
            adam_state,
            workspace,
            activations.max(evaluation),
        ]
        .into_iter()
        .fold(0u64, u64::saturating_add);
        Ok(MemoryEstimate {
            batch_size,
            params,
            weights,
            gradients,
            adam_state,
            activations,
            evaluation,
            workspace,
            total,
        })
    }

    /// [`memory_estimate`](Self::memory_estimate), refused with [`SpecError::TooLarge`] when
    /// its total is over [`MEMORY_BUDGET`].
    pub fn check_memory(&self, batch_size: usize) -> Result<MemoryEstimate, SpecError> {
        let estimate = self.memory_estimate(batch_size)?;
        if estimate.total > MEMORY_BUDGET {
            return Err(SpecError::TooLarge {
                estimate,
                budget: MEMORY_BUDGET,
            });
        }
        Ok(estimate)
    }
}

impl TrainConfig {
    /// The batch a training step uses: `batch_size`, or the whole training split when that is
    /// smaller (as in Keras, a batch size larger than the training set trains one batch per
    /// epoch).
    pub fn effective_batch(&self, train_len: usize) -> usize {
        let val_len = ((train_len as f64) * self.validation_split as f64).floor() as usize;
        self.batch_size
            .min(train_len.saturating_sub(val_len))
            .max(1)
    }

    /// Everything training checks before it allocates anything: the settings against the data
    /// ([`validate`](Self::validate)), the stack ([`ModelSpec::infer`]) and the memory it
    /// needs at the batch it will use ([`ModelSpec::check_memory`]). Returns the estimate.
    pub fn check_training(
        &self,
        spec: &ModelSpec,
        train_len: usize,
    ) -> Result<MemoryEstimate, TrainError> {
        self.validate(train_len)?;
        Ok(spec.check_memory(self.effective_batch(train_len))?)
    }
}

/// The values a training setting allows, by its name in [`TrainConfig`] and the URL, as the
/// messages for a value that does not parse state them (`epochs` → "a whole number from 1
/// to 1000").
pub fn allowed(setting: &str) -> String {
    match setting {
        "epochs" => format!("a whole number from 1 to {MAX_EPOCHS}"),
        "batch_size" => format!("a whole number from 1 to {MAX_BATCH_SIZE}"),
        "learning_rate" => "a number greater than 0".to_string(),
        "seed" => format!("a whole number from 0 to {}", u64::MAX),
        "validation_split" => "a number from 0 up to, not including, 1".to_string(),
        "train_images" | "limit" | "test_limit" => "a whole number of at least 1".to_string(),
        "stop_at_loss" => "a number greater than 0".to_string(),
        "patience" => format!("a whole number from 0 to {MAX_PATIENCE}"),
        "min_delta" => "a number of 0 or more".to_string(),
        _ => "a number".to_string(),
    }
}
