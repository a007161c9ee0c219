//! The warm-up, the automatic backend choice it times, and CPU workers that cannot start.

use crate::{fixture, web_sys_log, TEST_IMAGES, TEST_LABELS};
use convlab_core::{Dataset, ModelSpec, TrainConfig, TrainEvent};
use convlab_web::protocol::{BackendChoice, FromWorker, ToWorker, TrainRequest};
use convlab_web::worker::{Session, StopSlot};
use convlab_web::{choose_backend, webgpu_adapter_available};
use wasm_bindgen_test::*;

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
