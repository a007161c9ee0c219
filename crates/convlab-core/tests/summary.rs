//! `model.summary()` numbers for every preset, checked against what Keras prints.

use convlab_core::{ModelSpec, Shape, Summary, PRESET_NAMES};

fn rows(preset: &str) -> Vec<(String, String, usize)> {
    let spec = ModelSpec::preset(preset).unwrap();
    Summary::of(&spec)
        .unwrap()
        .layers
        .into_iter()
        .map(|l| (l.name, l.output.to_string(), l.params))
        .collect()
}

fn expect(preset: &str, expected: &[(&str, &str, usize)], total: usize) {
    let got = rows(preset);
    let want: Vec<(String, String, usize)> = expected
        .iter()
        .map(|(n, s, p)| (n.to_string(), s.to_string(), *p))
        .collect();
    assert_eq!(got, want, "preset {preset}");
    let spec = ModelSpec::preset(preset).unwrap();
    assert_eq!(spec.param_count().unwrap(), total, "preset {preset} total");
}

#[test]
fn lab_cnn_matches_keras_summary() {
    expect(
        "cnn",
        &[
            ("conv2d", "(None, 26, 26, 32)", 320),
            ("max_pooling2d", "(None, 13, 13, 32)", 0),
            ("conv2d_1", "(None, 11, 11, 32)", 9_248),
            ("max_pooling2d_1", "(None, 5, 5, 32)", 0),
            ("flatten", "(None, 800)", 0),
            ("dense", "(None, 128)", 102_528),
            ("dense_1", "(None, 10)", 1_290),
        ],
        113_386,
    );
}

#[test]
fn dnn_matches_keras_summary() {
    expect(
        "dnn",
        &[
            ("flatten", "(None, 784)", 0),
            ("dense", "(None, 128)", 100_480),
            ("dense_1", "(None, 10)", 1_290),
        ],
        101_770,
    );
}

#[test]
fn filter_experiments_match_keras_summary() {
    expect(
        "cnn-16",
        &[
            ("conv2d", "(None, 26, 26, 16)", 160),
            ("max_pooling2d", "(None, 13, 13, 16)", 0),
            ("conv2d_1", "(None, 11, 11, 16)", 2_320),
            ("max_pooling2d_1", "(None, 5, 5, 16)", 0),
            ("flatten", "(None, 400)", 0),
            ("dense", "(None, 128)", 51_328),
            ("dense_1", "(None, 10)", 1_290),
        ],
        55_098,
    );
    expect(
        "cnn-64",
        &[
            ("conv2d", "(None, 26, 26, 64)", 640),
            ("max_pooling2d", "(None, 13, 13, 64)", 0),
            ("conv2d_1", "(None, 11, 11, 64)", 36_928),
            ("max_pooling2d_1", "(None, 5, 5, 64)", 0),
            ("flatten", "(None, 1600)", 0),
            ("dense", "(None, 128)", 204_928),
            ("dense_1", "(None, 10)", 1_290),
        ],
        243_786,
    );
}

#[test]
fn conv_count_experiments_match_keras_summary() {
    expect(
        "cnn-1conv",
        &[
            ("conv2d", "(None, 26, 26, 32)", 320),
            ("max_pooling2d", "(None, 13, 13, 32)", 0),
            ("flatten", "(None, 5408)", 0),
            ("dense", "(None, 128)", 692_352),
            ("dense_1", "(None, 10)", 1_290),
        ],
        693_962,
    );
    expect(
        "cnn-3conv",
        &[
            ("conv2d", "(None, 26, 26, 32)", 320),
            ("max_pooling2d", "(None, 13, 13, 32)", 0),
            ("conv2d_1", "(None, 11, 11, 32)", 9_248),
            ("max_pooling2d_1", "(None, 5, 5, 32)", 0),
            ("conv2d_2", "(None, 3, 3, 64)", 18_496),
            ("max_pooling2d_2", "(None, 1, 1, 64)", 0),
            ("flatten", "(None, 64)", 0),
            ("dense", "(None, 128)", 8_320),
            ("dense_1", "(None, 10)", 1_290),
        ],
        37_674,
    );
}

#[test]
fn every_preset_is_valid_and_ends_in_ten_classes() {
    for name in PRESET_NAMES {
        let layers = ModelSpec::preset(name).unwrap().infer().unwrap();
        assert_eq!(layers.last().unwrap().output, Shape::Vector { len: 10 });
    }
    assert!(ModelSpec::preset("cnn-128").is_none());
}

#[test]
fn table_has_keras_totals_and_names() {
    let table = Summary::of(&ModelSpec::preset("cnn").unwrap())
        .unwrap()
        .to_table("sequential");
    assert!(table.contains("conv2d_1 (Conv2D)"), "{table}");
    assert!(table.contains("max_pooling2d (MaxPooling2D)"), "{table}");
    assert!(table.contains("102,528"), "{table}");
    assert!(
        table.contains(" Total params: 113,386 (442.91 KB)"),
        "{table}"
    );
    assert!(
        table.contains(" Trainable params: 113,386 (442.91 KB)"),
        "{table}"
    );
    assert!(
        table.contains(" Non-trainable params: 0 (0.00 B)"),
        "{table}"
    );
}

#[test]
fn spec_round_trips_through_json() {
    let spec = ModelSpec::preset("cnn-3conv").unwrap();
    let json = serde_json::to_string(&spec).unwrap();
    assert!(json.contains(r#""type":"Conv2D""#), "{json}");
    assert_eq!(ModelSpec::from_json(&json).unwrap(), spec);
    let err = ModelSpec::from_json(r#"{"layers":[{"type":"Conv3D"}]}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("Conv3D"), "{err}");
}

#[test]
fn spec_round_trips_through_the_url_text_form() {
    assert_eq!(
        ModelSpec::preset("cnn").unwrap().to_text(),
        "conv:32:3:relu,pool:2,conv:32:3:relu,pool:2,flatten,dense:128:relu,dense:10:softmax"
    );
    for name in convlab_core::PRESET_NAMES {
        let spec = ModelSpec::preset(name).unwrap();
        assert_eq!(ModelSpec::parse_text(&spec.to_text()).unwrap(), spec);
    }
    // Keras's defaults for what is left out: kernel 3, pool 2, linear activation.
    let short = ModelSpec::parse_text("conv:16, pool, flatten, dense:10:softmax").unwrap();
    assert_eq!(
        short.to_text(),
        "conv:16:3:linear,pool:2,flatten,dense:10:softmax"
    );
}

#[test]
fn bad_url_text_names_the_layer_and_the_part() {
    let err = |text: &str| ModelSpec::parse_text(text).unwrap_err().to_string();
    assert_eq!(
        err("conv:32,pool:x"),
        "layer 1 'pool:x': pool 'x' is not a whole number from 1 to 28"
    );
    assert_eq!(
        err("conv:32:3:tanh"),
        "layer 0 'conv:32:3:tanh': unknown activation 'tanh' (use relu, softmax or linear)"
    );
    assert_eq!(
        err("conv:32,lstm:8"),
        "layer 1 'lstm:8': unknown layer 'lstm' (use conv, pool, flatten or dense)"
    );
    assert_eq!(err("dense"), "layer 0 'dense': units is missing");
    assert_eq!(err("flatten,,dense:10"), "layer 1 '': empty item");
    assert!(err(&vec!["flatten"; 100].join(",")).contains("at most 64"));
    // Parsing is not validating: an impossible stack parses, and infer() refuses it.
    assert!(ModelSpec::parse_text("dense:10").unwrap().infer().is_err());
}
