//! The layer editor: edits a [`ModelSpec`] the way the lab's cells do (add or remove conv
//! blocks, change filters, units, activations) and renders it as form rows. The edits are
//! plain functions on the spec, so they are tested natively.

use convlab_core::data::IMAGE_SIDE;
use convlab_core::spec::{MAX_FILTERS, MAX_UNITS};
use convlab_core::{Activation, LayerSpec, ModelSpec, SpecError};
use maud::{html, Markup};

/// Why an editor field was refused; names the layer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FieldError {
    #[error("there is no layer {index}")]
    NoLayer { index: usize },
    #[error(
        "layer {index} ({kind}): {field} must be a whole number from 1 to {most}, got '{value}'"
    )]
    NotWhole {
        index: usize,
        kind: &'static str,
        field: String,
        /// The field's largest value ([`convlab_core::ModelSpec::infer`]'s limit).
        most: usize,
        value: String,
    },
    #[error("layer {index} ({kind}) has no setting '{field}'")]
    NoSetting {
        index: usize,
        kind: &'static str,
        field: String,
    },
    #[error("layer {index} ({kind}): unknown activation '{value}'")]
    Activation {
        index: usize,
        kind: &'static str,
        value: String,
    },
}

/// What the "+" buttons add (`data-add` in index.html).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addition {
    /// Conv2D(32, 3x3, relu) followed by MaxPooling2D(2): one of the lab's conv blocks.
    Block,
    Conv,
    Pool,
    Dense,
}

impl Addition {
    pub fn parse(name: &str) -> Option<Addition> {
        match name {
            "block" => Some(Addition::Block),
            "conv" => Some(Addition::Conv),
            "pool" => Some(Addition::Pool),
            "dense" => Some(Addition::Dense),
            _ => None,
        }
    }
}

fn conv() -> LayerSpec {
    LayerSpec::Conv2D {
        filters: 32,
        kernel: 3,
        activation: Activation::Relu,
    }
}

/// Adds layers where they make sense: conv and pool layers before the Flatten (after the
/// last image layer), Dense layers before the output layer.
pub fn add(spec: &mut ModelSpec, addition: Addition) {
    let layers = &mut spec.layers;
    let image_end = layers
        .iter()
        .position(|l| matches!(l, LayerSpec::Flatten | LayerSpec::Dense { .. }))
        .unwrap_or(layers.len());
    let new: Vec<LayerSpec> = match addition {
        Addition::Block => vec![conv(), LayerSpec::MaxPool2D { pool: 2 }],
        Addition::Conv => vec![conv()],
        Addition::Pool => vec![LayerSpec::MaxPool2D { pool: 2 }],
        Addition::Dense => {
            let at = layers.len().saturating_sub(1).max(image_end);
            layers.insert(
                at,
                LayerSpec::Dense {
                    units: 128,
                    activation: Activation::Relu,
                },
            );
            return;
        }
    };
    layers.splice(image_end..image_end, new);
}

pub fn remove(spec: &mut ModelSpec, index: usize) {
    if index < spec.layers.len() {
        spec.layers.remove(index);
    }
}

/// Swaps layer `index` with its neighbour above (`up`) or below.
pub fn move_layer(spec: &mut ModelSpec, index: usize, up: bool) {
    let other = if up {
        index.checked_sub(1)
    } else {
        Some(index + 1)
    };
    if let Some(other) = other.filter(|&o| o < spec.layers.len() && index < spec.layers.len()) {
        spec.layers.swap(index, other);
    }
}

/// Sets one field of layer `index` from the text of its input; the error names the layer.
pub fn set_field(
    spec: &mut ModelSpec,
    index: usize,
    field: &str,
    value: &str,
) -> Result<(), FieldError> {
    let Some(layer) = spec.layers.get_mut(index) else {
        return Err(FieldError::NoLayer { index });
    };
    let kind = layer.kind();
    // Any count of at least 1 is kept (infer() names one over its limit, with the row);
    // text, 0, negatives and fractions are refused here.
    let whole = |value: &str| -> Result<usize, FieldError> {
        value
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| FieldError::NotWhole {
                index,
                kind,
                field: field.to_string(),
                most: match field {
                    "filters" => MAX_FILTERS,
                    "units" => MAX_UNITS,
                    _ => IMAGE_SIDE,
                },
                value: value.to_string(),
            })
    };
    match (layer, field) {
        (LayerSpec::Conv2D { filters, .. }, "filters") => *filters = whole(value)?,
        (LayerSpec::Conv2D { kernel, .. }, "kernel") => *kernel = whole(value)?,
        (LayerSpec::MaxPool2D { pool }, "pool") => *pool = whole(value)?,
        (LayerSpec::Dense { units, .. }, "units") => *units = whole(value)?,
        (
            LayerSpec::Conv2D { activation, .. } | LayerSpec::Dense { activation, .. },
            "activation",
        ) => {
            *activation = parse_activation(value).ok_or_else(|| FieldError::Activation {
                index,
                kind,
                value: value.to_string(),
            })?
        }
        _ => {
            return Err(FieldError::NoSetting {
                index,
                kind,
                field: field.to_string(),
            })
        }
    }
    Ok(())
}

fn parse_activation(value: &str) -> Option<Activation> {
    match value {
        "relu" => Some(Activation::Relu),
        "softmax" => Some(Activation::Softmax),
        "linear" | "none" => Some(Activation::None),
        _ => None,
    }
}

/// The layer a spec error is about, to highlight its row.
pub fn error_layer(error: &SpecError) -> Option<usize> {
    match error {
        SpecError::Layer { index, .. } => Some(*index),
        _ => None,
    }
}

/// A short name of the architecture for the run history: `C32-P2-C32-P2-F-D128-D10`.
pub fn short_name(spec: &ModelSpec) -> String {
    spec.layers
        .iter()
        .map(|l| match l {
            LayerSpec::Conv2D {
                filters, kernel, ..
            } if *kernel == 3 => format!("C{filters}"),
            LayerSpec::Conv2D {
                filters, kernel, ..
            } => format!("C{filters}k{kernel}"),
            LayerSpec::MaxPool2D { pool } => format!("P{pool}"),
            LayerSpec::Flatten => "F".to_string(),
            LayerSpec::Dense { units, .. } => format!("D{units}"),
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn number_input(index: usize, field: &str, value: usize) -> Markup {
    html! {
        label { (field) " " input type="number" min="1" value=(value) data-index=(index) data-field=(field); }
    }
}

fn activation_select(index: usize, current: Activation, choices: &[Activation]) -> Markup {
    html! {
        label { "activation "
            select data-index=(index) data-field="activation" {
                @for a in choices {
                    option value=(a.keras_name()) selected[*a == current] { (a.keras_name()) }
                }
            }
        }
    }
}

/// The editor's rows: one per layer, with its settings and move/remove buttons.
pub fn rows(spec: &ModelSpec, bad_layer: Option<usize>) -> Markup {
    let last = spec.layers.len().saturating_sub(1);
    html! {
        tbody {
            @for (i, layer) in spec.layers.iter().enumerate() {
                tr data-row=(i) class=[(bad_layer == Some(i)).then_some("bad")] {
                    td { (i) }
                    th { (layer.kind()) }
                    td {
                        @match *layer {
                            LayerSpec::Conv2D { filters, kernel, activation } => {
                                (number_input(i, "filters", filters))
                                (number_input(i, "kernel", kernel))
                                (activation_select(i, activation, &[Activation::Relu, Activation::None]))
                            }
                            LayerSpec::MaxPool2D { pool } => (number_input(i, "pool", pool)),
                            LayerSpec::Flatten => {}
                            LayerSpec::Dense { units, activation } => {
                                (number_input(i, "units", units))
                                (activation_select(i, activation, &[Activation::Relu, Activation::Softmax, Activation::None]))
                            }
                        }
                    }
                    td class="row-buttons" {
                        button type="button" data-action="up" data-index=(i) title="move up" disabled[i == 0] { "↑" }
                        button type="button" data-action="down" data-index=(i) title="move down" disabled[i == last] { "↓" }
                        button type="button" data-action="remove" data-index=(i) title="remove" { "✕" }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cnn() -> ModelSpec {
        ModelSpec::preset("cnn").unwrap()
    }

    #[test]
    fn a_block_goes_after_the_last_pool() {
        let mut spec = ModelSpec::preset("cnn-1conv").unwrap();
        add(&mut spec, Addition::Block);
        assert_eq!(spec, cnn());
        assert_eq!(spec.param_count().unwrap(), 113_386);
    }

    #[test]
    fn dense_goes_before_the_output_layer() {
        let mut spec = cnn();
        add(&mut spec, Addition::Dense);
        assert_eq!(short_name(&spec), "C32-P2-C32-P2-F-D128-D128-D10");
        assert!(spec.infer().is_ok());
    }

    #[test]
    fn removing_the_blocks_gives_the_dense_baseline() {
        let mut spec = cnn();
        for _ in 0..4 {
            remove(&mut spec, 0);
        }
        assert_eq!(spec, ModelSpec::preset("dnn").unwrap());
    }

    #[test]
    fn fields_change_and_bad_values_name_the_layer() {
        let mut spec = cnn();
        set_field(&mut spec, 0, "filters", "64").unwrap();
        set_field(&mut spec, 5, "units", "256").unwrap();
        set_field(&mut spec, 5, "activation", "linear").unwrap();
        assert_eq!(short_name(&spec), "C64-P2-C32-P2-F-D256-D10");
        assert_eq!(
            spec.layers[5],
            LayerSpec::Dense {
                units: 256,
                activation: Activation::None
            }
        );
        let err = set_field(&mut spec, 2, "filters", "0")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("layer 2 (Conv2D): filters"), "{err}");
        let err = set_field(&mut spec, 1, "filters", "3")
            .unwrap_err()
            .to_string();
        assert!(err.contains("has no setting 'filters'"), "{err}");
    }

    #[test]
    fn absurd_field_values_name_the_layer_and_the_range() {
        let mut spec = cnn();
        for (index, field, value, message) in [
            (0, "filters", "1e9", "layer 0 (Conv2D): filters must be a whole number from 1 to 1024, got '1e9'"),
            (0, "kernel", "-5", "layer 0 (Conv2D): kernel must be a whole number from 1 to 28, got '-5'"),
            (1, "pool", "", "layer 1 (MaxPooling2D): pool must be a whole number from 1 to 28, got ''"),
            (5, "units", "lots", "layer 5 (Dense): units must be a whole number from 1 to 8192, got 'lots'"),
            (5, "units", "0", "layer 5 (Dense): units must be a whole number from 1 to 8192, got '0'"),
            (5, "units", "99999999999999999999999", "layer 5 (Dense): units must be a whole number from 1 to 8192, got '99999999999999999999999'"),
        ] {
            let err = set_field(&mut spec, index, field, value).unwrap_err();
            assert_eq!(err.to_string(), message);
        }
        assert_eq!(spec, cnn(), "a refused value leaves the model as it was");
        assert_eq!(
            set_field(&mut spec, 9, "units", "1")
                .unwrap_err()
                .to_string(),
            "there is no layer 9"
        );

        // A count that parses but is too large is kept; infer() names it, with its row, and
        // nothing is allocated (the summary is shapes and counts).
        set_field(&mut spec, 5, "units", "1000000000").unwrap();
        let error = spec.infer().unwrap_err();
        assert_eq!(error_layer(&error), Some(5));
        assert_eq!(
            error.to_string(),
            "layer 5 (Dense): units must be between 1 and 8192, got 1000000000 (input (None, 800))"
        );
        set_field(&mut spec, 5, "units", "128").unwrap();
        set_field(&mut spec, 2, "kernel", "100000").unwrap();
        let error = spec.infer().unwrap_err();
        assert_eq!(error_layer(&error), Some(2));
        assert_eq!(
            error.to_string(),
            "layer 2 (Conv2D): kernel 100000x100000 does not fit the 13x13 input (input (None, 13, 13, 32))"
        );
        set_field(&mut spec, 2, "kernel", "3").unwrap();

        // Hundreds of layers, then none.
        for _ in 0..300 {
            add(&mut spec, Addition::Dense);
        }
        assert_eq!(
            spec.infer().unwrap_err().to_string(),
            "the model has 307 layers; at most 64 are allowed"
        );
        while !spec.layers.is_empty() {
            remove(&mut spec, 0);
        }
        assert_eq!(
            spec.infer().unwrap_err().to_string(),
            "the model has no layers"
        );
        assert_eq!(rows(&spec, None).into_string(), "<tbody></tbody>");
    }

    #[test]
    fn moving_a_dense_layer_above_flatten_is_an_error_naming_it() {
        let mut spec = cnn();
        move_layer(&mut spec, 5, true); // Dense(128) above Flatten
        move_layer(&mut spec, 0, true); // no-op at the top
        let error = spec.infer().unwrap_err();
        assert_eq!(error_layer(&error), Some(4), "{error}");
        let rows = rows(&spec, error_layer(&error)).into_string();
        assert!(rows.contains(r#"<tr data-row="4" class="bad">"#), "{rows}");
        assert!(
            rows.contains(r#"<option value="relu" selected>relu</option>"#),
            "{rows}"
        );
    }
}
