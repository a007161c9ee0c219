//! The memory training a model needs at one batch size ([`MemoryEstimate`]) and the budget it
//! must fit ([`MEMORY_BUDGET`]): pure arithmetic on shapes, checked before a tensor exists.

use crate::units::human_bytes;
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
pub(crate) const PATCH_BLOCK_IMAGES: usize = 32;

/// Bytes of one f32.
pub(crate) const F32: u64 = 4;

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
    /// The message of `SpecError::TooLarge`.
    pub(crate) fn too_large(&self, budget: u64) -> String {
        format!(
            "training at batch {} needs {self}, more than the {} budget: use a smaller batch size, or fewer filters, units or layers",
            self.batch_size,
            human_bytes(budget)
        )
    }
}
