//! Watching the filters learn: a snapshot of the kernels and the watched images' feature maps
//! before the first epoch and after each one, on the CPU backend with real images.

mod common;

use convlab_core::{run, Backend, ModelSpec, Snapshot, TrainConfig, TrainEvent, Trainer};

fn snapshots(events: &[TrainEvent]) -> Vec<&Snapshot> {
    events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Snapshot(s) => Some(&**s),
            _ => None,
        })
        .collect()
}

#[test]
fn every_epoch_end_is_captured_and_the_last_matches_the_trained_model() {
    let test = common::fixture_test();
    let spec = ModelSpec::preset("cnn").unwrap();
    let config = TrainConfig {
        epochs: 2,
        ..TrainConfig::default()
    };
    let device = Backend::cpu().device;
    let data = common::fixture_train().take(512);
    let mut trainer = Trainer::new(&spec, config, data, device.clone()).unwrap();
    let shoes = [0, 23, 28];
    trainer.watch(test.select(&shoes));
    let mut events = Vec::new();
    convlab_core::block_on(run(&mut trainer, Some(&test), &mut |e| events.push(e))).unwrap();

    // Epoch 0 (as initialised) before the first batch, then one per epoch.
    let taken = snapshots(&events);
    let epochs: Vec<usize> = taken.iter().map(|s| s.epoch).collect();
    assert_eq!(epochs, [0, 1, 2]);
    assert!(
        matches!(events[1], TrainEvent::Snapshot(_)),
        "{:?}",
        events[1]
    );

    let first = &taken[0].kernels;
    let shapes: Vec<(&str, usize, usize, usize, usize)> = first
        .iter()
        .map(|k| (k.name.as_str(), k.layer, k.filters, k.channels, k.size))
        .collect();
    assert_eq!(
        shapes,
        [("conv2d", 0, 32, 1, 3), ("conv2d_1", 2, 32, 32, 3)]
    );
    assert_eq!(first[1].kernel(31, 31).len(), 9);
    // Training moved every layer's kernels.
    for (before, after) in first.iter().zip(&taken[2].kernels) {
        assert_ne!(
            before.values, after.values,
            "{} did not change",
            before.name
        );
    }

    // The last snapshot is the trained model's: the same maps the feature-map cell draws.
    let maps = convlab_core::block_on(convlab_core::feature_maps(
        trainer.model(),
        &test,
        &shoes,
        &device,
    ))
    .unwrap();
    assert_eq!(taken[2].maps, maps);
    assert_ne!(taken[0].maps, maps);
    assert!(taken.iter().all(|s| s.seconds > 0.0));
}

#[test]
fn without_watching_there_are_no_snapshots_and_a_dense_model_has_no_kernels() {
    let spec = ModelSpec::preset("dnn").unwrap();
    let config = TrainConfig {
        epochs: 1,
        ..TrainConfig::default()
    };
    let device = Backend::cpu().device;
    let data = common::fixture_train().take(64);
    let test = common::fixture_test().take(64);
    let mut trainer = Trainer::new(&spec, config.clone(), data.clone(), device.clone()).unwrap();
    let mut events = Vec::new();
    convlab_core::block_on(run(&mut trainer, Some(&test), &mut |e| events.push(e))).unwrap();
    assert!(snapshots(&events).is_empty());

    let mut trainer = Trainer::new(&spec, config, data, device).unwrap();
    trainer.watch(test.select(&[0]));
    let mut events = Vec::new();
    convlab_core::block_on(run(&mut trainer, Some(&test), &mut |e| events.push(e))).unwrap();
    let taken = snapshots(&events);
    assert_eq!(taken.len(), 2);
    assert!(taken
        .iter()
        .all(|s| s.kernels.is_empty() && s.maps.is_empty()));
}
