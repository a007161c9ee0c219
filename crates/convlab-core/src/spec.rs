//! The model a student describes: a sequential stack over one 28x28 grey image, as in the
//! lab's `tf.keras.models.Sequential([...])`, with shape inference that refuses impossible
//! stacks before burn ever sees them.

use crate::data::IMAGE_SIDE;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Height, width and channels of every input image (Fashion-MNIST).
pub const INPUT_SHAPE: Shape = Shape::Image {
    height: IMAGE_SIDE,
    width: IMAGE_SIDE,
    channels: 1,
};

/// Layers wider than this are refused: nothing in the lab needs more, and a typo such as
/// 1280000 units would otherwise exhaust a browser tab's memory.
pub const MAX_UNITS: usize = 8192;
/// Per-layer limit on convolution filters, for the same reason.
pub const MAX_FILTERS: usize = 1024;
/// A model with more weights than this is refused (about 200 MB of f32 parameters).
pub const MAX_PARAMS: usize = 50_000_000;
/// Most layers one stack may have.
pub const MAX_LAYERS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Relu,
    Softmax,
    #[default]
    None,
}

impl Activation {
    /// The name Keras uses for the `activation=` argument.
    pub fn keras_name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Softmax => "softmax",
            Activation::None => "linear",
        }
    }
}

/// One layer of the stack, as the student writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum LayerSpec {
    Conv2D {
        filters: usize,
        /// Square kernel side, as in Keras's `(3, 3)`.
        kernel: usize,
        #[serde(default)]
        activation: Activation,
    },
    MaxPool2D {
        /// Square pool side and stride, as in Keras's `MaxPooling2D(2, 2)`.
        pool: usize,
    },
    Flatten,
    Dense {
        units: usize,
        #[serde(default)]
        activation: Activation,
    },
}

impl LayerSpec {
    /// The Keras class name, used in summaries and error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            LayerSpec::Conv2D { .. } => "Conv2D",
            LayerSpec::MaxPool2D { .. } => "MaxPooling2D",
            LayerSpec::Flatten => "Flatten",
            LayerSpec::Dense { .. } => "Dense",
        }
    }

    /// Keras's snake_case base name for automatic layer names (`conv2d`, `max_pooling2d`, ...).
    fn keras_base_name(&self) -> &'static str {
        match self {
            LayerSpec::Conv2D { .. } => "conv2d",
            LayerSpec::MaxPool2D { .. } => "max_pooling2d",
            LayerSpec::Flatten => "flatten",
            LayerSpec::Dense { .. } => "dense",
        }
    }
}

/// The shape of one example flowing through the stack (batch dimension left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Shape {
    Image {
        height: usize,
        width: usize,
        channels: usize,
    },
    Vector {
        len: usize,
    },
}

impl Shape {
    /// Elements of one example (saturating: a shape built by hand cannot overflow it).
    pub fn num_elements(self) -> usize {
        match self {
            Shape::Image {
                height,
                width,
                channels,
            } => height.saturating_mul(width).saturating_mul(channels),
            Shape::Vector { len } => len,
        }
    }
}

impl fmt::Display for Shape {
    /// Keras's notation, channels last: `(None, 26, 26, 32)` or `(None, 800)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Image {
                height,
                width,
                channels,
            } => write!(f, "(None, {height}, {width}, {channels})"),
            Shape::Vector { len } => write!(f, "(None, {len})"),
        }
    }
}

/// A sequential model over [`INPUT_SHAPE`] images with 10 class scores out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub layers: Vec<LayerSpec>,
}

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
    /// Training would need more memory than the budget (see [`crate::limits`]).
    #[error("{}", .estimate.too_large(*.budget))]
    TooLarge {
        estimate: crate::limits::MemoryEstimate,
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

/// One row of the inferred model: what Keras's `model.summary()` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// Keras's automatic name: `conv2d`, `max_pooling2d`, `conv2d_1`, ...
    pub name: String,
    /// Keras class name: `Conv2D`, `MaxPooling2D`, `Flatten`, `Dense`.
    pub kind: String,
    pub output: Shape,
    pub params: usize,
}

/// Number of classes in Fashion-MNIST.
pub const NUM_CLASSES: usize = 10;

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

    /// The compact text form used in URLs and on the command line, one item per layer:
    /// `conv:32:3:relu,pool:2,conv:32:3:relu,pool:2,flatten,dense:128:relu,dense:10:softmax`.
    pub fn to_text(&self) -> String {
        self.layers
            .iter()
            .map(|layer| match *layer {
                LayerSpec::Conv2D {
                    filters,
                    kernel,
                    activation,
                } => format!("conv:{filters}:{kernel}:{}", activation.keras_name()),
                LayerSpec::MaxPool2D { pool } => format!("pool:{pool}"),
                LayerSpec::Flatten => "flatten".to_string(),
                LayerSpec::Dense { units, activation } => {
                    format!("dense:{units}:{}", activation.keras_name())
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses the text form of [`to_text`](Self::to_text). As in Keras, a kernel left out is
    /// 3, a pool left out is 2 and an activation left out is linear. Errors name the item.
    /// The stack itself is checked by [`infer`](Self::infer), not here.
    pub fn parse_text(text: &str) -> Result<ModelSpec, SpecError> {
        let mut layers = Vec::new();
        for (index, item) in text.split(',').enumerate() {
            let item = item.trim();
            let fail = |problem: String| SpecError::Text {
                index,
                item: item.to_string(),
                problem,
            };
            let parts: Vec<&str> = item.split(':').map(str::trim).collect();
            // Only the number is read here; its range is checked by infer(), with the shapes.
            let count =
                |at: usize, what: &str, most: usize, default: Option<usize>| match parts.get(at) {
                    Some(text) => text.parse::<usize>().map_err(|_| {
                        fail(format!(
                            "{what} '{text}' is not a whole number from 1 to {most}"
                        ))
                    }),
                    None => default.ok_or_else(|| fail(format!("{what} is missing"))),
                };
            let activation = |at: usize| match parts.get(at).copied() {
                None | Some("linear") | Some("none") => Ok(Activation::None),
                Some("relu") => Ok(Activation::Relu),
                Some("softmax") => Ok(Activation::Softmax),
                Some(other) => Err(fail(format!(
                    "unknown activation '{other}' (use relu, softmax or linear)"
                ))),
            };
            let most = |n: usize| {
                if parts.len() > n {
                    Err(fail(format!("too many ':' parts (at most {n})")))
                } else {
                    Ok(())
                }
            };
            let layer = match parts[0].to_ascii_lowercase().as_str() {
                "conv" | "conv2d" => {
                    most(4)?;
                    LayerSpec::Conv2D {
                        filters: count(1, "filters", MAX_FILTERS, None)?,
                        kernel: count(2, "kernel", IMAGE_SIDE, Some(3))?,
                        activation: activation(3)?,
                    }
                }
                "pool" | "maxpool" | "maxpooling2d" => {
                    most(2)?;
                    LayerSpec::MaxPool2D {
                        pool: count(1, "pool", IMAGE_SIDE, Some(2))?,
                    }
                }
                "flatten" => {
                    most(1)?;
                    LayerSpec::Flatten
                }
                "dense" => {
                    most(3)?;
                    LayerSpec::Dense {
                        units: count(1, "units", MAX_UNITS, None)?,
                        activation: activation(2)?,
                    }
                }
                "" => return Err(fail("empty item".to_string())),
                other => {
                    return Err(fail(format!(
                        "unknown layer '{other}' (use conv, pool, flatten or dense)"
                    )))
                }
            };
            layers.push(layer);
            if layers.len() > MAX_LAYERS {
                return Err(SpecError::TooManyLayers {
                    count: text.split(',').count(),
                });
            }
        }
        Ok(ModelSpec { layers })
    }

    /// Parses a model from JSON, as the page and the CLI accept it. A layer that does not
    /// parse is named by its index; more than [`MAX_LAYERS`] layers are refused before any is
    /// read.
    pub fn from_json(json: &str) -> Result<ModelSpec, SpecError> {
        let fail = |problem: String| SpecError::Json { problem };
        #[derive(Deserialize)]
        struct Layers {
            layers: Vec<serde_json::Value>,
        }
        let raw: Layers = serde_json::from_str(json).map_err(|e| fail(e.to_string()))?;
        if raw.layers.len() > MAX_LAYERS {
            return Err(SpecError::TooManyLayers {
                count: raw.layers.len(),
            });
        }
        let layers = raw
            .layers
            .into_iter()
            .enumerate()
            .map(|(index, layer)| {
                LayerSpec::deserialize(layer).map_err(|e| fail(format!("layer {index}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(ModelSpec { layers })
    }
}
