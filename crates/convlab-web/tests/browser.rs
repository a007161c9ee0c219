//! Training in headless Chromium. Run twice by `.ci/run`: built with the `webgpu` feature and
//! run with `--enable-unsafe-webgpu` (WebGPU through SwiftShader), and built without it (the
//! page's CPU-only module) and run without the flag (no adapter: the CPU fallback).
//! `CONVLAB_EXPECT_BACKEND` (wgpu or cpu, read at build time) says which run this is, so a
//! WebGPU run that silently fell back to the CPU fails.
#![cfg(target_family = "wasm")]

use convlab_core::{
    evaluate, Dataset, FeatureMaps, Kernels, ModelSpec, StopReason, TrainConfig, TrainEvent,
    Trainer, LOSS_THRESHOLD_MESSAGE,
};
use convlab_web::protocol::{BackendChoice, Destination, FromWorker, ToWorker, TrainRequest};
use convlab_web::worker::{Session, StopSlot};
use convlab_web::{choose_backend, webgpu_adapter_available};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const TRAIN_IMAGES: &[u8] =
    include_bytes!("../../../tests/fixtures/fashion-mnist/train-images-idx3-ubyte.gz");
const TRAIN_LABELS: &[u8] =
    include_bytes!("../../../tests/fixtures/fashion-mnist/train-labels-idx1-ubyte.gz");
const TEST_IMAGES: &[u8] =
    include_bytes!("../../../tests/fixtures/fashion-mnist/t10k-images-idx3-ubyte.gz");
const TEST_LABELS: &[u8] =
    include_bytes!("../../../tests/fixtures/fashion-mnist/t10k-labels-idx1-ubyte.gz");

fn expected_backend() -> &'static str {
    option_env!("CONVLAB_EXPECT_BACKEND").unwrap_or("any")
}

fn fixture() -> Dataset {
    Dataset::from_idx("train images", TRAIN_IMAGES, "train labels", TRAIN_LABELS).unwrap()
}

#[wasm_bindgen_test]
async fn backend_matches_the_browser() {
    let available = webgpu_adapter_available().await;
    let backend = choose_backend(BackendChoice::Webgpu).await;
    web_sys_log(&format!(
        "WebGPU adapter: {available}; backend: {}",
        backend.description
    ));
    match expected_backend() {
        "wgpu" => {
            assert!(
                available,
                "this run has --enable-unsafe-webgpu: an adapter was expected"
            );
            assert_eq!(
                backend.kind,
                convlab_core::BackendKind::Wgpu,
                "{}",
                backend.description
            );
        }
        "cpu" => {
            assert!(
                !available,
                "this run has no WebGPU flag: no adapter was expected"
            );
            assert_eq!(backend.kind, convlab_core::BackendKind::Cpu);
            assert!(
                backend.description.contains("no WebGPU adapter"),
                "{}",
                backend.description
            );
        }
        _ => {}
    }
}

/// A few steps of the lab CNN on real images lower the loss on those images.
#[wasm_bindgen_test]
async fn cnn_training_steps_lower_the_loss() {
    let backend = choose_backend(BackendChoice::Webgpu).await;
    let data = fixture().take(96);
    let config = TrainConfig {
        epochs: 1,
        batch_size: 16,
        report_every: 2,
        ..TrainConfig::default()
    };
    let spec = ModelSpec::preset("cnn").unwrap();
    let mut trainer = Trainer::new(&spec, config, data.clone(), backend.device.clone()).unwrap();
    let before = evaluate(trainer.model(), &data, trainer.device())
        .await
        .unwrap();
    let mut events = Vec::new();
    let started = js_sys::Date::now();
    while trainer.step(&mut |e| events.push(e)).await.unwrap() {}
    let ms_per_step = (js_sys::Date::now() - started) / 6.0;
    let after = evaluate(trainer.model(), &data, trainer.device())
        .await
        .unwrap();
    web_sys_log(&format!(
        "{}: loss {:.4} -> {:.4} after 6 steps of batch 16, {ms_per_step:.0} ms per step (the first steps include kernel compilation)",
        backend.description, before.loss, after.loss
    ));
    assert!(
        before.loss > 2.0 && before.loss < 2.6,
        "untrained loss {}",
        before.loss
    );
    assert!(
        after.loss < before.loss - 0.1,
        "{} -> {}",
        before.loss,
        after.loss
    );
    let batches = events
        .iter()
        .filter(|e| matches!(e, TrainEvent::Batch { .. }))
        .count();
    assert_eq!(batches, 3);
    assert!(matches!(events.last(), Some(TrainEvent::Epoch(m)) if m.samples == 96));
}

/// Messages cross postMessage as structured clones built by serde-wasm-bindgen: a request
/// and a reply survive the trip through a JS value.
#[wasm_bindgen_test]
fn messages_round_trip_through_js_values() {
    let request = ToWorker::Train(TrainRequest {
        spec: ModelSpec::preset("cnn").unwrap(),
        config: TrainConfig {
            stop_at_loss: Some(0.4),
            ..TrainConfig::default()
        },
        train_limit: Some(500),
        backend: BackendChoice::Webgpu,
        cpu_workers: 1,
        timings: None,
        resume: None,
        watch: Vec::new(),
    });
    let value = request.to_js().unwrap();
    let kind = js_sys::Reflect::get(&value, &"request".into()).unwrap();
    assert_eq!(kind.as_string().as_deref(), Some("train"));
    assert_eq!(ToWorker::from_js(value).unwrap(), request);

    let reply = FromWorker::Training(TrainEvent::Batch {
        epoch: 1,
        batch: 3,
        batches: 10,
        samples_seen: 96,
        loss: 0.5,
        accuracy: 0.75,
        samples_per_second: 1234.5,
    });
    assert_eq!(FromWorker::from_js(reply.to_js().unwrap()).unwrap(), reply);
    let snapshot = FromWorker::Snapshot {
        epoch: 2,
        kernels: vec![Kernels {
            layer: 0,
            name: "conv2d".into(),
            filters: 2,
            channels: 1,
            size: 3,
            values: (0..18).map(|v| v as f32 - 9.0).collect(),
        }],
        maps: Vec::new(),
    };
    assert_eq!(
        FromWorker::from_js(snapshot.to_js().unwrap()).unwrap(),
        snapshot
    );

    let err = ToWorker::from_js(JsValue::from_str("train"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("not a convlab request"), "{err}");
}

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

fn web_sys_log(message: &str) {
    web_sys_console_log(message);
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn web_sys_console_log(s: &str);
}

/// The warm-up runs the model's first step on a throwaway copy: it answers with the backend a
/// Train gets, and a Train after it reports exactly the losses of a Train without it.
#[wasm_bindgen_test]
async fn a_warm_up_readies_the_first_step_and_leaves_the_run_unchanged() {
    let spec = ModelSpec::preset("cnn-16").unwrap();
    let train = ToWorker::Train(TrainRequest {
        spec: spec.clone(),
        config: TrainConfig {
            epochs: 1,
            batch_size: 16,
            report_every: 1,
            ..TrainConfig::default()
        },
        train_limit: Some(48),
        backend: BackendChoice::Webgpu,
        cpu_workers: 1,
        timings: None,
        resume: None,
        watch: Vec::new(),
    });
    let losses = |replies: &[FromWorker]| -> Vec<f32> {
        replies
            .iter()
            .filter_map(|r| match r {
                FromWorker::Training(TrainEvent::Batch { loss, .. }) => Some(*loss),
                _ => None,
            })
            .collect()
    };
    let test =
        || Dataset::from_idx("test images", TEST_IMAGES, "test labels", TEST_LABELS).unwrap();

    let mut cold = Session::new(StopSlot::default());
    cold.set_data(fixture(), test());
    let mut cold_replies = Vec::new();
    cold.handle(train.clone(), &mut |r| cold_replies.push(r))
        .await;

    let mut warm = Session::new(StopSlot::default());
    warm.set_data(fixture(), test());
    let warm_up = convlab_web::protocol::WarmUp {
        spec,
        batch_size: 16,
        backend: BackendChoice::Webgpu,
        cpu_workers: 1,
        timings: None,
    };
    let mut replies = Vec::new();
    warm.handle(ToWorker::WarmUp(warm_up.clone()), &mut |r| replies.push(r))
        .await;
    let [FromWorker::WarmedUp {
        warm_up: answered,
        backend,
        seconds,
        ..
    }] = &replies[..]
    else {
        panic!("{replies:?}");
    };
    assert_eq!(answered, &warm_up);
    assert!(*seconds > 0.0);
    let expected = choose_backend(BackendChoice::Webgpu).await.kind;
    assert_eq!(*backend, expected);
    let mut warm_replies = Vec::new();
    warm.handle(train, &mut |r| warm_replies.push(r)).await;

    let (cold_losses, warm_losses) = (losses(&cold_replies), losses(&warm_replies));
    assert_eq!(cold_losses.len(), 3, "{cold_replies:?}");
    // Equal up to float rounding: on WebGPU the two runs may get differently tuned kernels
    // (the device is shared, and the first run's autotuning picks them); another seed or
    // shuffle would move the losses by far more.
    assert_eq!(warm_losses.len(), cold_losses.len());
    for (warm, cold) in warm_losses.iter().zip(&cold_losses) {
        assert!(
            (warm - cold).abs() < 1e-3,
            "the warm-up changed the run: {warm_losses:?} vs {cold_losses:?}"
        );
    }
    assert!(
        warm_replies
            .iter()
            .any(|r| matches!(r, FromWorker::Tested(_))),
        "{warm_replies:?}"
    );
}

/// The automatic choice: with a WebGPU adapter, the warm-up times the model on both backends
/// and readies the faster (SwiftShader, an emulation on the CPU, is expected to lose to the
/// CPU backend, but the test only holds the worker to its own figures); the timings sent back
/// then choose again without timing. Without an adapter it is the CPU, untimed.
#[wasm_bindgen_test]
async fn the_automatic_choice_trains_on_the_backend_it_timed_faster() {
    let spec = ModelSpec::parse_text("conv:4:3:relu,pool:2,flatten,dense:10:softmax").unwrap();
    let test = Dataset::from_idx("test images", TEST_IMAGES, "test labels", TEST_LABELS).unwrap();
    let mut session = Session::new(StopSlot::default());
    session.set_data(fixture(), test);
    let warm_up = convlab_web::protocol::WarmUp {
        spec: spec.clone(),
        batch_size: 32,
        backend: BackendChoice::Auto,
        cpu_workers: 1,
        timings: None,
    };
    let mut replies = Vec::new();
    session
        .handle(ToWorker::WarmUp(warm_up.clone()), &mut |r| replies.push(r))
        .await;
    let [FromWorker::WarmedUp {
        backend,
        description,
        timings,
        ..
    }] = &replies[..]
    else {
        panic!("{replies:?}");
    };
    web_sys_log(&format!("automatic choice: {description}"));
    if !webgpu_adapter_available().await {
        assert_eq!(*backend, convlab_core::BackendKind::Cpu);
        assert!(timings.is_none(), "nothing to time without an adapter");
        assert!(description.contains("no WebGPU adapter"), "{description}");
        return;
    }
    let timings = timings.clone().expect("both backends timed");
    assert!(
        timings.cpu.timed_steps > 0 && timings.webgpu.timed_steps > 0,
        "{timings:?}"
    );
    assert!(timings.cpu.samples_per_second > 0.0 && timings.webgpu.samples_per_second > 0.0);
    assert_eq!(timings.batch_size, 32);
    assert_eq!(timings.model, spec.to_text());
    assert_eq!(*backend, timings.faster(), "{timings:?}");
    assert!(description.contains(&timings.figures()), "{description}");

    // A Train that carries the timings trains on that backend without timing again.
    let train = ToWorker::Train(TrainRequest {
        spec,
        config: TrainConfig {
            epochs: 1,
            batch_size: 32,
            ..TrainConfig::default()
        },
        train_limit: Some(64),
        backend: BackendChoice::Auto,
        cpu_workers: 1,
        timings: Some(timings.clone()),
        resume: None,
        watch: Vec::new(),
    });
    let mut replies = Vec::new();
    session.handle(train, &mut |r| replies.push(r)).await;
    let chosen = replies.iter().find_map(|r| match r {
        FromWorker::Backend { kind, timings, .. } => Some((*kind, timings.is_none())),
        _ => None,
    });
    assert_eq!(chosen, Some((timings.faster(), true)), "{replies:?}");
    assert!(
        replies.iter().any(|r| matches!(r, FromWorker::Tested(_))),
        "{replies:?}"
    );
}

/// CPU workers that cannot be started (here the session runs in a page, not in a worker that
/// `worker.js` gave the CPU module) leave the run on one worker: the backend says why, and the
/// run trains as it would alone.
#[wasm_bindgen_test]
async fn helpers_that_cannot_start_leave_the_run_on_one_worker_and_say_why() {
    let mut session = Session::new(StopSlot::default());
    session.set_data(fixture().take(64), fixture().take(10));
    let mut replies = Vec::new();
    let train = ToWorker::Train(TrainRequest {
        spec: ModelSpec::preset("dnn").unwrap(),
        config: TrainConfig {
            epochs: 1,
            batch_size: 32,
            ..TrainConfig::default()
        },
        train_limit: None,
        backend: BackendChoice::Cpu,
        cpu_workers: 2,
        timings: None,
        resume: None,
        watch: Vec::new(),
    });
    session.handle(train, &mut |r| replies.push(r)).await;
    let description = replies
        .iter()
        .find_map(|r| match r {
            FromWorker::Backend { description, .. } => Some(description.clone()),
            _ => None,
        })
        .expect("the backend is named");
    // (An earlier test may have lost the GPU, which the description also mentions.)
    assert!(description.starts_with("CPU (burn-flex)"), "{description}");
    assert!(
        description.ends_with(
            " (on one worker: helper 0 stopped: this worker was not given the CPU module to \
             start helpers with)"
        ),
        "{description}"
    );
    assert!(
        matches!(replies.last(), Some(FromWorker::Tested(_))),
        "{replies:?}"
    );
}
