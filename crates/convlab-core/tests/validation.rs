//! Impossible stacks are refused with errors that name the layer and the shapes; absurd sizes,
//! text and JSON that do not parse are refused before anything is allocated, naming the layer
//! and its range (the memory budget and the settings: `run_limits.rs`).

mod common;

use common::layers;

use convlab_core::{Activation, LayerSpec, ModelSpec, SpecError};

fn conv(filters: usize, kernel: usize) -> LayerSpec {
    LayerSpec::Conv2D {
        filters,
        kernel,
        activation: Activation::Relu,
    }
}

fn dense(units: usize) -> LayerSpec {
    LayerSpec::Dense {
        units,
        activation: Activation::Relu,
    }
}

fn error(layers: Vec<LayerSpec>) -> String {
    ModelSpec { layers }.infer().unwrap_err().to_string()
}

#[test]
fn kernel_larger_than_input_names_layer_and_shape() {
    let msg = error(vec![
        conv(32, 3),
        LayerSpec::MaxPool2D { pool: 2 },
        conv(32, 3),
        LayerSpec::MaxPool2D { pool: 2 },
        conv(32, 7),
        LayerSpec::Flatten,
        dense(10),
    ]);
    assert_eq!(
        msg,
        "layer 4 (Conv2D): kernel 7x7 does not fit the 5x5 input (input (None, 5, 5, 32))"
    );
}

#[test]
fn dense_before_flatten_is_refused() {
    let msg = error(vec![conv(32, 3), dense(10)]);
    assert!(
        msg.starts_with("layer 1 (Dense): Dense needs a flat input"),
        "{msg}"
    );
    assert!(msg.contains("(None, 26, 26, 32)"), "{msg}");
}

#[test]
fn conv_after_flatten_is_refused() {
    let msg = error(vec![LayerSpec::Flatten, conv(8, 3), dense(10)]);
    assert!(msg.starts_with("layer 1 (Conv2D)"), "{msg}");
    assert!(msg.contains("already flattened"), "{msg}");
}

#[test]
fn zero_and_absurd_sizes_are_refused() {
    let msg = error(vec![LayerSpec::Flatten, dense(0), dense(10)]);
    assert!(
        msg.starts_with("layer 1 (Dense): units must be between 1"),
        "{msg}"
    );
    let msg = error(vec![conv(0, 3), LayerSpec::Flatten, dense(10)]);
    assert!(
        msg.starts_with("layer 0 (Conv2D): filters must be"),
        "{msg}"
    );
    let msg = error(vec![LayerSpec::Flatten, dense(5_000_000), dense(10)]);
    assert!(msg.contains("units must be between 1 and 8192"), "{msg}");
    let msg = error(vec![
        LayerSpec::MaxPool2D { pool: 0 },
        LayerSpec::Flatten,
        dense(10),
    ]);
    assert!(msg.starts_with("layer 0 (MaxPooling2D): pool 0x0"), "{msg}");
    // Wide enough layers, each allowed, can still add up to too many weights.
    let spec = ModelSpec {
        layers: vec![conv(1024, 1), LayerSpec::Flatten, dense(8192), dense(10)],
    };
    assert!(matches!(spec.infer(), Err(SpecError::TooManyParams { .. })));
    // The widest allowed Dense on the widest allowed image: billions of weights, counted
    // without overflow (usize is 32 bits in wasm32).
    let spec = ModelSpec {
        layers: vec![conv(1024, 1), LayerSpec::Flatten, dense(8192), dense(10)],
    };
    assert_eq!(
        spec.infer().unwrap_err().to_string(),
        "the model has 6576678912 parameters; at most 50000000 are allowed"
    );
}

#[test]
fn output_must_be_ten_classes() {
    let msg = error(vec![LayerSpec::Flatten, dense(128)]);
    assert_eq!(
        msg,
        "the last layer must give 10 class scores (Dense with 10 units); it gives (None, 128)"
    );
    assert_eq!(error(vec![]), "the model has no layers");
}

#[test]
fn invalid_specs_never_reach_burn() {
    let device = convlab_core::Backend::cpu().device;
    let spec = ModelSpec {
        layers: vec![conv(32, 30), LayerSpec::Flatten, dense(10)],
    };
    let err = convlab_core::Sequential::new(&spec, &device).unwrap_err();
    assert!(err.to_string().contains("layer 0 (Conv2D)"), "{err}");
}

// ---- Bad input, everywhere it enters: absurd sizes, text, JSON, memory, settings. ----

#[test]
fn absurd_sizes_are_refused_naming_layer_kind_and_range() {
    let cases = [
        (
            "flatten,dense:1000000000,dense:10",
            "layer 1 (Dense): units must be between 1 and 8192, got 1000000000 (input (None, 784))",
        ),
        (
            "conv:1000000000,flatten,dense:10",
            "layer 0 (Conv2D): filters must be between 1 and 1024, got 1000000000 (input (None, 28, 28, 1))",
        ),
        (
            "conv:32:100000,flatten,dense:10",
            "layer 0 (Conv2D): kernel 100000x100000 does not fit the 28x28 input (input (None, 28, 28, 1))",
        ),
        (
            "conv:32:0,flatten,dense:10",
            "layer 0 (Conv2D): kernel 0x0 does not fit the 28x28 input (input (None, 28, 28, 1))",
        ),
        (
            "pool:100000,flatten,dense:10",
            "layer 0 (MaxPooling2D): pool 100000x100000 does not fit the 28x28 input (input (None, 28, 28, 1))",
        ),
        (
            "conv:8,pool:2,conv:8:20,flatten,dense:10",
            "layer 2 (Conv2D): kernel 20x20 does not fit the 13x13 input (input (None, 13, 13, 8))",
        ),
    ];
    for (text, message) in cases {
        let spec = layers(text);
        assert_eq!(spec.infer().unwrap_err().to_string(), message, "{text}");
        // The memory check refuses the same way, before any arithmetic on the sizes.
        assert_eq!(
            spec.check_memory(32).unwrap_err().to_string(),
            message,
            "{text}"
        );
    }
    // usize::MAX everywhere: no overflow, no panic.
    let max = usize::MAX;
    let spec = ModelSpec {
        layers: vec![conv(max, max), LayerSpec::Flatten, dense(max)],
    };
    assert!(spec.infer().unwrap_err().to_string().starts_with(
        "layer 0 (Conv2D): filters must be between 1 and 1024, got 18446744073709551615"
    ));
    let shape = convlab_core::Shape::Image {
        height: max,
        width: max,
        channels: max,
    };
    assert_eq!(shape.num_elements(), usize::MAX);
}

#[test]
fn hundreds_of_layers_and_an_empty_model_are_refused() {
    let many = ModelSpec {
        layers: vec![LayerSpec::Flatten; 500],
    };
    assert_eq!(
        many.infer().unwrap_err().to_string(),
        "the model has 500 layers; at most 64 are allowed"
    );
    let text = vec!["flatten"; 500].join(",");
    assert_eq!(
        ModelSpec::parse_text(&text).unwrap_err().to_string(),
        "the model has 500 layers; at most 64 are allowed"
    );
    let json = format!(
        r#"{{"layers": [{}]}}"#,
        vec![r#"{"type": "Flatten"}"#; 500].join(",")
    );
    assert_eq!(
        ModelSpec::from_json(&json).unwrap_err().to_string(),
        "the model has 500 layers; at most 64 are allowed"
    );
    let empty = ModelSpec::from_json(r#"{"layers": []}"#).unwrap();
    assert_eq!(empty.infer().unwrap_err(), SpecError::Empty);
    assert_eq!(
        empty.check_memory(32).unwrap_err().to_string(),
        "the model has no layers"
    );
    assert_eq!(
        ModelSpec::parse_text("").unwrap_err().to_string(),
        "layer 0 '': empty item"
    );
}

#[test]
fn text_that_is_not_a_count_names_the_item_and_the_range() {
    let cases = [
        (
            "flatten,dense -5",
            "layer 1 'dense -5': unknown layer 'dense -5' (use conv, pool, flatten or dense)",
        ),
        (
            "flatten,dense:-5",
            "layer 1 'dense:-5': units '-5' is not a whole number from 1 to 8192",
        ),
        (
            "conv2d:1e9,flatten,dense:10",
            "layer 0 'conv2d:1e9': filters '1e9' is not a whole number from 1 to 1024",
        ),
        (
            "conv:99999999999999999999999,flatten,dense:10",
            "layer 0 'conv:99999999999999999999999': filters '99999999999999999999999' is not a whole number from 1 to 1024",
        ),
        (
            "conv:32:3.5",
            "layer 0 'conv:32:3.5': kernel '3.5' is not a whole number from 1 to 28",
        ),
        (
            "pool:two",
            "layer 0 'pool:two': pool 'two' is not a whole number from 1 to 28",
        ),
    ];
    for (text, message) in cases {
        assert_eq!(
            ModelSpec::parse_text(text).unwrap_err().to_string(),
            message,
            "{text}"
        );
    }
}

#[test]
fn a_json_file_names_the_layer_that_does_not_parse() {
    let err = |json: &str| ModelSpec::from_json(json).unwrap_err().to_string();
    let msg = err(r#"{"layers": [{"type": "Flatten"}, {"type": "Dense", "units": -5}]}"#);
    assert!(
        msg.starts_with("model spec is not valid JSON: layer 1: invalid value: integer `-5`"),
        "{msg}"
    );
    let msg = err(r#"{"layers": [{"type": "Conv2D", "filters": 1e9, "kernel": 3}]}"#);
    assert!(
        msg.starts_with("model spec is not valid JSON: layer 0: invalid type: floating point"),
        "{msg}"
    );
    let msg = err(r#"{"layers": [{"type": "Flatten"}, {"type": "Dropout"}]}"#);
    assert!(
        msg.starts_with("model spec is not valid JSON: layer 1: unknown variant `Dropout`"),
        "{msg}"
    );
    let msg = err(r#"{"layers": [{"type": "Dense", "units": "ten"}]}"#);
    assert!(
        msg.contains("layer 0: invalid type: string \"ten\""),
        "{msg}"
    );
    assert!(err("not json").starts_with("model spec is not valid JSON: "));
    assert!(err(r#"{"layer": []}"#).contains("missing field `layers`"));
    // Shapes that cannot fit parse, and are refused by infer() with the layer named.
    let spec = ModelSpec::from_json(
        r#"{"layers": [{"type": "Conv2D", "filters": 8, "kernel": 30}, {"type": "Flatten"}, {"type": "Dense", "units": 10}]}"#,
    )
    .unwrap();
    assert!(spec
        .infer()
        .unwrap_err()
        .to_string()
        .starts_with("layer 0 (Conv2D): kernel 30x30 does not fit the 28x28 input"));
}
