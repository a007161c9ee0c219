//! The text form of a stack (`conv:32:3:relu,pool:2,...`, in URLs and on the command line)
//! and its JSON form, parsed with errors that name the item.

use crate::data::IMAGE_SIDE;
use crate::spec::error::SpecError;
use crate::spec::layers::{Activation, LayerSpec, ModelSpec, MAX_FILTERS, MAX_LAYERS, MAX_UNITS};
use serde::Deserialize;

impl ModelSpec {
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
