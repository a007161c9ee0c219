//! A stack's memory to train at a batch size, estimated from its shapes and refused over the
//! budget (see [`MemoryEstimate`] for what is counted).

use crate::spec::error::SpecError;
use crate::spec::layers::{LayerSpec, ModelSpec, Shape, INPUT_SHAPE};
use crate::spec::memory::{
    MemoryEstimate, EVALUATION_BATCH, F32, MEMORY_BUDGET, PATCH_BLOCK_IMAGES,
};

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
