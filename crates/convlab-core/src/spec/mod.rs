//! The model a student describes: a sequential stack over one 28x28 grey image, as in the
//! lab's `tf.keras.models.Sequential([...])`, with shape inference that refuses impossible
//! stacks before burn ever sees them.

mod budget;
mod error;
mod infer;
mod layers;
mod memory;
mod text;

pub use error::SpecError;
pub use infer::PRESET_NAMES;
pub use layers::{
    Activation, LayerInfo, LayerSpec, ModelSpec, Shape, INPUT_SHAPE, MAX_FILTERS, MAX_LAYERS,
    MAX_PARAMS, MAX_UNITS, NUM_CLASSES,
};
pub use memory::{MemoryEstimate, EVALUATION_BATCH, MEMORY_BUDGET};
