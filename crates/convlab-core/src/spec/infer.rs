//! The lab's presets and shape inference: each layer's output shape and parameter count, and
//! the refusal of impossible stacks before burn ever sees them.

use crate::spec::error::SpecError;
use crate::spec::layers::{
    Activation, LayerInfo, LayerSpec, ModelSpec, Shape, INPUT_SHAPE, MAX_FILTERS, MAX_LAYERS,
    MAX_PARAMS, MAX_UNITS, NUM_CLASSES,
};

/// Presets for every cell of the lab, by the names the CLI and page use.
pub const PRESET_NAMES: [&str; 6] = ["dnn", "cnn", "cnn-16", "cnn-64", "cnn-1conv", "cnn-3conv"];

fn conv(filters: usize) -> LayerSpec {
    LayerSpec::Conv2D {
        filters,
        kernel: 3,
        activation: Activation::Relu,
    }
}

fn pool() -> LayerSpec {
    LayerSpec::MaxPool2D { pool: 2 }
}

/// Flatten, Dense(128, relu), Dense(10, softmax): the head every lab model ends with.
fn dense_head() -> [LayerSpec; 3] {
    [
        LayerSpec::Flatten,
        LayerSpec::Dense {
            units: 128,
            activation: Activation::Relu,
        },
        LayerSpec::Dense {
            units: NUM_CLASSES,
            activation: Activation::Softmax,
        },
    ]
}

impl ModelSpec {
    /// The model for one of [`PRESET_NAMES`], or `None` for an unknown name.
    pub fn preset(name: &str) -> Option<ModelSpec> {
        let convs: &[usize] = match name {
            "dnn" => &[],
            "cnn" => &[32, 32],
            "cnn-16" => &[16, 16],
            "cnn-64" => &[64, 64],
            "cnn-1conv" => &[32],
            "cnn-3conv" => &[32, 32, 64],
            _ => return None,
        };
        let mut layers: Vec<LayerSpec> = convs.iter().flat_map(|&f| [conv(f), pool()]).collect();
        layers.extend(dense_head());
        Some(ModelSpec { layers })
    }

    /// Infers every layer's output shape and parameter count, refusing impossible stacks.
    pub fn infer(&self) -> Result<Vec<LayerInfo>, SpecError> {
        if self.layers.is_empty() {
            return Err(SpecError::Empty);
        }
        if self.layers.len() > MAX_LAYERS {
            return Err(SpecError::TooManyLayers {
                count: self.layers.len(),
            });
        }
        let mut shape = INPUT_SHAPE;
        let mut counts = std::collections::HashMap::new();
        let mut infos = Vec::with_capacity(self.layers.len());
        let mut total = 0u64;
        for (index, layer) in self.layers.iter().enumerate() {
            let refuse = |problem: String| SpecError::Layer {
                index,
                kind: layer.kind().to_string(),
                input: shape.to_string(),
                problem,
            };
            // Counted in u64: on wasm32 a wide Dense layer's count can overflow usize.
            let weights = |dims: &[usize], biases: usize| -> u64 {
                dims.iter().map(|&d| d as u64).product::<u64>() + biases as u64
            };
            let (output, params): (Shape, u64) = match (*layer, shape) {
                (
                    LayerSpec::Conv2D {
                        filters, kernel, ..
                    },
                    Shape::Image {
                        height,
                        width,
                        channels,
                    },
                ) => {
                    if filters == 0 || filters > MAX_FILTERS {
                        return Err(refuse(format!(
                            "filters must be between 1 and {MAX_FILTERS}, got {filters}"
                        )));
                    }
                    if kernel == 0 || kernel > height || kernel > width {
                        return Err(refuse(format!(
                            "kernel {kernel}x{kernel} does not fit the {height}x{width} input"
                        )));
                    }
                    let output = Shape::Image {
                        height: height - kernel + 1,
                        width: width - kernel + 1,
                        channels: filters,
                    };
                    (
                        output,
                        weights(&[kernel, kernel, channels, filters], filters),
                    )
                }
                (
                    LayerSpec::MaxPool2D { pool },
                    Shape::Image {
                        height,
                        width,
                        channels,
                    },
                ) => {
                    if pool == 0 || pool > height || pool > width {
                        return Err(refuse(format!(
                            "pool {pool}x{pool} does not fit the {height}x{width} input"
                        )));
                    }
                    // 'valid' padding: the last partial window is dropped (floor).
                    let output = Shape::Image {
                        height: height / pool,
                        width: width / pool,
                        channels,
                    };
                    (output, 0)
                }
                (LayerSpec::Flatten, input) => (
                    Shape::Vector {
                        len: input.num_elements(),
                    },
                    0,
                ),
                (LayerSpec::Dense { units, .. }, Shape::Vector { len }) => {
                    if units == 0 || units > MAX_UNITS {
                        return Err(refuse(format!(
                            "units must be between 1 and {MAX_UNITS}, got {units}"
                        )));
                    }
                    (Shape::Vector { len: units }, weights(&[len, units], units))
                }
                (LayerSpec::Dense { .. }, Shape::Image { .. }) => {
                    return Err(refuse(
                        "Dense needs a flat input: add a Flatten layer before it".to_string(),
                    ))
                }
                (LayerSpec::Conv2D { .. } | LayerSpec::MaxPool2D { .. }, Shape::Vector { .. }) => {
                    return Err(refuse(format!(
                        "{} needs an image input, but the input was already flattened",
                        layer.kind()
                    )))
                }
            };
            let base = layer.keras_base_name();
            let seen = counts.entry(base).or_insert(0usize);
            let name = if *seen == 0 {
                base.to_string()
            } else {
                format!("{base}_{seen}")
            };
            *seen += 1;
            total += params;
            if total > MAX_PARAMS as u64 {
                return Err(SpecError::TooManyParams { params: total });
            }
            infos.push(LayerInfo {
                name,
                kind: layer.kind().to_string(),
                output,
                params: params as usize,
            });
            shape = output;
        }
        if shape != (Shape::Vector { len: NUM_CLASSES }) {
            return Err(SpecError::WrongOutput {
                output: shape.to_string(),
            });
        }
        Ok(infos)
    }

    /// Total trainable parameters, or the reason the stack is impossible.
    pub fn param_count(&self) -> Result<usize, SpecError> {
        Ok(self.infer()?.iter().map(|i| i.params).sum())
    }
}
