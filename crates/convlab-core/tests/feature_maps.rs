//! Feature maps and a picture of one's own through the lab CNN, on the committed test subset.

mod common;

use convlab_core::{Backend, ModelSpec};

#[test]
fn feature_maps_of_the_lab_shoes() {
    let test = common::fixture_test();
    let spec = ModelSpec::preset("cnn").unwrap();
    let device = Backend::cpu().device;
    let model = convlab_core::Sequential::new(&spec, &device).unwrap();
    let maps = convlab_core::block_on(convlab_core::feature_maps(
        &model,
        &test,
        &[0, 23, 28],
        &device,
    ))
    .unwrap();
    let shapes: Vec<(&str, [usize; 4])> = maps
        .iter()
        .map(|m| (m.name.as_str(), [m.images, m.channels, m.height, m.width]))
        .collect();
    assert_eq!(
        shapes,
        vec![
            ("conv2d", [3, 32, 26, 26]),
            ("max_pooling2d", [3, 32, 13, 13]),
            ("conv2d_1", [3, 32, 11, 11]),
            ("max_pooling2d_1", [3, 32, 5, 5]),
        ]
    );
    // CONVOLUTION_NUMBER = 1 of the first conv layer for image 23: ReLU output, not blank.
    let channel = maps[0].channel(1, 1);
    assert_eq!(channel.len(), 26 * 26);
    assert!(channel.iter().all(|&v| v >= 0.0));
    assert!(maps.iter().all(|m| m.values.iter().any(|&v| v > 0.0)));
    // Pooling keeps the maximum of each 2x2 window of the conv output.
    let conv = maps[0].channel(0, 1);
    let pool = maps[1].channel(0, 1);
    let window = [conv[0], conv[1], conv[26], conv[27]];
    assert_eq!(pool[0], window.iter().cloned().fold(f32::MIN, f32::max));
    // Different shoes give different maps.
    assert_ne!(maps[0].channel(0, 1), maps[0].channel(1, 1));

    let none = convlab_core::block_on(convlab_core::feature_maps(&model, &test, &[], &device));
    assert_eq!(
        none.unwrap_err().to_string(),
        "invalid setting images: choose at least one image"
    );
    let empty = test.take(0);
    let err = convlab_core::block_on(convlab_core::evaluate(&model, &empty, &device)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid setting data: there are no examples to evaluate"
    );
    let err = convlab_core::block_on(convlab_core::feature_maps(&model, &test, &[5000], &device))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid setting images: image 5000 is out of range: there are 1000 images"
    );
}

#[test]
fn a_picture_of_ones_own_gets_probabilities_and_feature_maps() {
    let test = common::fixture_test();
    let spec = ModelSpec::preset("cnn").unwrap();
    let device = Backend::cpu().device;
    let model = convlab_core::Sequential::new(&spec, &device).unwrap();
    // Test image 23 as a picture of one's own: the same maps as the feature-map cell's.
    let pixels = test.pixels_f32([23]);
    let classified =
        convlab_core::block_on(convlab_core::classify(&model, &pixels, &device)).unwrap();
    assert_eq!(classified.probabilities.len(), 10);
    let sum: f32 = classified.probabilities.iter().sum();
    assert!((sum - 1.0).abs() < 1e-5, "probabilities sum to {sum}");
    let cell =
        convlab_core::block_on(convlab_core::feature_maps(&model, &test, &[23], &device)).unwrap();
    assert_eq!(classified.maps, cell);

    let short = convlab_core::block_on(convlab_core::classify(&model, &pixels[..700], &device));
    assert_eq!(
        short.unwrap_err().to_string(),
        "invalid setting picture: a picture is 28x28 = 784 pixels, not 700"
    );
    let mut bad = pixels.clone();
    bad[5] = f32::NAN;
    let nan = convlab_core::block_on(convlab_core::classify(&model, &bad, &device));
    assert_eq!(
        nan.unwrap_err().to_string(),
        "invalid setting picture: pixel 5 is NaN: pixels go from 0 (black) to 1 (white)"
    );
}
