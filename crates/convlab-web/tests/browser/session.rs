//! The worker's logic without its transport: a run with the lab callback, a stop, the test
//! set and feature maps; and requests refused with why.

use crate::{fixture, TEST_IMAGES, TEST_LABELS};
use convlab_core::{
    Dataset, FeatureMaps, Kernels, ModelSpec, StopReason, TrainConfig, TrainEvent,
    LOSS_THRESHOLD_MESSAGE,
};
use convlab_web::protocol::{BackendChoice, Destination, FromWorker, ToWorker, TrainRequest};
use convlab_web::worker::{Session, StopSlot};
use wasm_bindgen_test::*;

/// The worker's logic without its transport: train on a subset with the lab callback, stop
/// through the stop slot, evaluate on the test set and draw feature maps of the trained model.
#[wasm_bindgen_test]
async fn worker_session_trains_stops_and_shows_feature_maps() {
    let stop = StopSlot::default();
    let mut session = Session::new(stop.clone());
    let test = Dataset::from_idx("test images", TEST_IMAGES, "test labels", TEST_LABELS).unwrap();
    let ready = session.set_data(fixture(), test);
    assert!(
        matches!(ready, FromWorker::DataReady { train: 3000, test: 1000, ref samples, .. } if samples.len() == 100 * 784)
    );

    let spec = ModelSpec::preset("cnn-16").unwrap();
    let mut replies = Vec::new();
    // A threshold every first epoch beats: the lab's callback ends training after epoch 1.
    let train = ToWorker::Train(TrainRequest {
        spec: spec.clone(),
        config: TrainConfig {
            epochs: 3,
            batch_size: 32,
            stop_at_loss: Some(5.0),
            report_every: 1,
            ..TrainConfig::default()
        },
        train_limit: Some(64),
        backend: BackendChoice::Webgpu,
        cpu_workers: 1,
        timings: None,
        resume: None,
        // 5000 is past the fixture's test set: left out.
        watch: vec![0, 23, 28, 5000],
    });
    session.handle(train, &mut |r| replies.push(r)).await;
    let snapshots: Vec<(usize, &[Kernels], &[FeatureMaps])> = replies
        .iter()
        .filter_map(|r| match r {
            FromWorker::Snapshot {
                epoch,
                kernels,
                maps,
            } => Some((*epoch, &kernels[..], &maps[..])),
            _ => None,
        })
        .collect();
    let epochs: Vec<usize> = snapshots.iter().map(|s| s.0).collect();
    assert_eq!(epochs, [0, 1], "before training and after its one epoch");
    let (_, kernels, watched) = snapshots[1];
    assert_eq!(
        (kernels[0].filters, kernels[0].channels, kernels[0].size),
        (16, 1, 3)
    );
    assert_ne!(
        kernels[0].values, snapshots[0].1[0].values,
        "training moved the kernels"
    );
    assert_eq!(watched[0].images, 3);
    let stopped = replies.iter().find_map(|r| match r {
        FromWorker::Training(TrainEvent::Stopped { epoch, message, .. }) => {
            Some((*epoch, message.clone()))
        }
        _ => None,
    });
    assert_eq!(
        stopped,
        Some((1, LOSS_THRESHOLD_MESSAGE.to_string())),
        "{replies:?}"
    );
    let Some(FromWorker::Tested(result)) = replies.last() else {
        panic!("training ends with the test result: {replies:?}");
    };
    assert_eq!(result.confusion.iter().flatten().sum::<usize>(), 1000);
    assert!((0.0..=1.0).contains(&result.accuracy));
    assert!(
        matches!(&replies[0], FromWorker::Backend { description, .. } if !description.is_empty())
    );

    let mut replies = Vec::new();
    let maps = ToWorker::FeatureMaps {
        spec: spec.clone(),
        images: vec![0, 23, 28],
        seed: 42,
    };
    session.handle(maps, &mut |r| replies.push(r)).await;
    let [FromWorker::FeatureMaps {
        maps,
        labels,
        trained,
        ..
    }] = &replies[..]
    else {
        panic!("{replies:?}");
    };
    assert!(trained, "the maps are of the model just trained");
    assert_eq!(maps, watched, "the last snapshot is of the trained model");
    assert_eq!(
        labels,
        &[9, 9, 9],
        "test images 0, 23 and 28 are ankle boots"
    );
    let shapes: Vec<_> = maps
        .iter()
        .map(|m| (m.name.as_str(), m.height, m.channels))
        .collect();
    assert_eq!(
        shapes,
        [
            ("conv2d", 26, 16),
            ("max_pooling2d", 13, 16),
            ("conv2d_1", 11, 16),
            ("max_pooling2d_1", 5, 16)
        ]
    );

    // The mistakes view's requests: test images' pixels, and one image through the model.
    let test = Dataset::from_idx("test images", TEST_IMAGES, "test labels", TEST_LABELS).unwrap();
    let mut replies = Vec::new();
    let asked = ToWorker::TestImages {
        indices: vec![23, 0],
    };
    session.handle(asked, &mut |r| replies.push(r)).await;
    let [FromWorker::TestImages { indices, pixels }] = &replies[..] else {
        panic!("{replies:?}");
    };
    assert_eq!(indices, &[23, 0]);
    assert_eq!(pixels[..], test.select(&[23, 0]).images[..]);
    let mut replies = Vec::new();
    for index in [23, 5000] {
        session
            .handle(ToWorker::Inspect { index }, &mut |r| replies.push(r))
            .await;
    }
    let [FromWorker::Inspected {
        index: 23,
        probabilities,
        maps: inspected,
    }, FromWorker::Failed { message, .. }] = &replies[..]
    else {
        panic!("{replies:?}");
    };
    assert!((probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    // Image 23 is the second row of the feature-map cell above.
    for (one, three) in inspected.iter().zip(maps) {
        let (a, b) = (one.channel(0, 3), three.channel(1, 3));
        assert!(
            a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4),
            "{}",
            one.name
        );
    }
    assert_eq!(
        message,
        "there is no test image #5000: the test set has 1000"
    );

    // The trained model as a .convlab file, loaded back: the same test accuracy.
    let accuracy = result.accuracy;
    let mut replies = Vec::new();
    let export = ToWorker::ExportModel {
        destination: Destination::File,
    };
    session.handle(export, &mut |r| replies.push(r)).await;
    let [FromWorker::ModelExported { file, header, .. }] = &replies[..] else {
        panic!("{replies:?}");
    };
    assert_eq!(header.spec, spec);
    assert_eq!(
        header.trained.as_ref().unwrap().test_accuracy,
        Some(accuracy)
    );
    let load = ToWorker::LoadModel {
        origin: "cnn16.convlab".into(),
        file: file.clone(),
    };
    let mut replies = Vec::new();
    session.handle(load, &mut |r| replies.push(r)).await;
    let [FromWorker::ModelLoaded { test, header, .. }] = &replies[..] else {
        panic!("{replies:?}");
    };
    assert_eq!(test.accuracy, accuracy);
    assert_eq!(header.spec, spec);

    // Stop between batches: the request lands through the slot while training runs.
    let mut replies = Vec::new();
    let long = ToWorker::Train(TrainRequest {
        spec: ModelSpec::preset("dnn").unwrap(),
        config: TrainConfig {
            epochs: 50,
            batch_size: 16,
            report_every: 1,
            ..TrainConfig::default()
        },
        train_limit: Some(256),
        backend: BackendChoice::Cpu,
        cpu_workers: 1,
        timings: None,
        resume: None,
        watch: Vec::new(),
    });
    let stopper = stop.clone();
    let mut batches = 0;
    session
        .handle(long, &mut |r| {
            if matches!(r, FromWorker::Training(TrainEvent::Batch { .. })) {
                batches += 1;
                if batches == 3 {
                    stopper.request_stop();
                }
            }
            replies.push(r)
        })
        .await;
    assert_eq!(batches, 3, "no batch runs after the stop request");
    assert!(replies.iter().any(|r| matches!(
        r,
        FromWorker::Training(TrainEvent::Stopped {
            reason: StopReason::Requested,
            ..
        })
    )));
    assert!(matches!(replies.last(), Some(FromWorker::Tested(_))));
}

/// Requests that cannot be served say why instead of failing silently.
#[wasm_bindgen_test]
async fn worker_session_refuses_bad_requests() {
    let mut session = Session::new(StopSlot::default());
    let mut replies = Vec::new();
    let train = ToWorker::Train(TrainRequest {
        spec: ModelSpec::preset("cnn").unwrap(),
        config: TrainConfig::default(),
        train_limit: None,
        backend: BackendChoice::Cpu,
        cpu_workers: 1,
        timings: None,
        resume: None,
        watch: Vec::new(),
    });
    session
        .handle(train.clone(), &mut |r| replies.push(r))
        .await;
    assert!(
        matches!(&replies[..], [FromWorker::Failed { request, message }] if request == "train" && message.contains("not loaded")),
        "{replies:?}"
    );
    let mut replies = Vec::new();
    let export = ToWorker::ExportModel {
        destination: Destination::File,
    };
    session.handle(export, &mut |r| replies.push(r)).await;
    assert!(
        matches!(&replies[..], [FromWorker::Failed { request, message }] if request == "export_model" && message.contains("no trained model")),
        "{replies:?}"
    );

    let test = fixture().take(10);
    session.set_data(fixture().take(100), test);
    let bad_model = ModelSpec::from_json(r#"{"layers":[{"type":"Dense","units":10}]}"#).unwrap();
    let mut replies = Vec::new();
    let maps = ToWorker::FeatureMaps {
        spec: ModelSpec::preset("cnn").unwrap(),
        images: vec![10],
        seed: 1,
    };
    session.handle(maps, &mut |r| replies.push(r)).await;
    let train = ToWorker::Train(TrainRequest {
        spec: bad_model,
        config: TrainConfig::default(),
        train_limit: None,
        backend: BackendChoice::Cpu,
        cpu_workers: 1,
        timings: None,
        resume: None,
        watch: Vec::new(),
    });
    session.handle(train, &mut |r| replies.push(r)).await;
    let load = ToWorker::LoadModel {
        origin: "notes.txt".into(),
        file: b"my notes, not a model".to_vec(),
    };
    session.handle(load, &mut |r| replies.push(r)).await;
    let messages: Vec<&str> = replies
        .iter()
        .filter_map(|r| match r {
            FromWorker::Failed { message, .. } => Some(message.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(messages.len(), 3, "{replies:?}");
    assert!(
        messages[2].starts_with("notes.txt: not a convlab model file"),
        "{}",
        messages[2]
    );
    assert!(
        messages[0].contains("image 10 is out of range"),
        "{}",
        messages[0]
    );
    assert!(messages[1].contains("layer 0 (Dense)"), "{}", messages[1]);
}
