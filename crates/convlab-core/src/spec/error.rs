//! Why a stack cannot be built or trained: the layer (index and kind) and the shapes involved.

use crate::spec::layers::{MAX_LAYERS, MAX_PARAMS};
use crate::spec::memory::MemoryEstimate;
use serde::{Deserialize, Serialize};

/// Why a stack cannot be built; names the layer (index and kind) and the shapes involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum SpecError {
    #[error("the model has no layers")]
    Empty,
    #[error("the model has {count} layers; at most {MAX_LAYERS} are allowed")]
    TooManyLayers { count: usize },
    #[error("layer {index} ({kind}): {problem} (input {input})")]
    Layer {
        index: usize,
        kind: String,
        input: String,
        problem: String,
    },
    #[error("the last layer must give 10 class scores (Dense with 10 units); it gives {output}")]
    WrongOutput { output: String },
    #[error("the model has {params} parameters; at most {MAX_PARAMS} are allowed")]
    TooManyParams { params: u64 },
    /// Training would need more memory than the budget (see `MemoryEstimate`).
    #[error("{}", .estimate.too_large(*.budget))]
    TooLarge {
        estimate: MemoryEstimate,
        budget: u64,
    },
    /// An item of the text form (`conv:32:3:relu,...`) that does not parse.
    #[error("layer {index} '{item}': {problem}")]
    Text {
        index: usize,
        item: String,
        problem: String,
    },
    #[error("model spec is not valid JSON: {problem}")]
    Json { problem: String },
}
