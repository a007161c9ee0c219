//! The stack's vocabulary: layers, activations, shapes, the model and a summary row, with the
//! limits on their sizes.

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
    pub(crate) fn keras_base_name(&self) -> &'static str {
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
