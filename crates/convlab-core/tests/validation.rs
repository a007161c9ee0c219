//! Impossible stacks are refused with errors that name the layer and the shapes.

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
