//! Timing a backend on a model (what the page's automatic backend choice measures), on the CPU.

mod common;

use convlab_core::speed::timing_images;
use convlab_core::{
    time_steps, Backend, BackendKind, BackendTimings, ModelSpec, StopHandle, TrainError,
};

fn time(
    spec: &ModelSpec,
    batch_size: usize,
    images: usize,
) -> Result<convlab_core::StepTiming, TrainError> {
    let data = common::fixture_train().take(images);
    convlab_core::block_on(time_steps(
        spec,
        batch_size,
        &data,
        Backend::cpu().device,
        None,
        &StopHandle::default(),
        || std::future::ready(()),
    ))
}

#[test]
fn timing_trains_a_few_steps_after_the_first_and_reports_their_speed() {
    let spec = ModelSpec::preset("cnn").unwrap();
    let timing = time(&spec, 32, timing_images(32)).unwrap();
    assert!(
        (3..=8).contains(&timing.timed_steps),
        "between three and eight steps are timed after the first: {timing:?}"
    );
    assert!(timing.samples_per_second > 0.0 && timing.samples_per_second.is_finite());
    assert!(timing.first_step_seconds > 0.0);
    // A step of 32 images cannot take longer than the whole timing did.
    let timed_seconds = timing.timed_steps as f64 * 32.0 / timing.samples_per_second;
    assert!(timed_seconds < 30.0, "{timing:?}");
}

#[test]
fn a_bigger_model_times_slower_on_the_same_device() {
    let small = ModelSpec::preset("dnn").unwrap();
    let big = ModelSpec::preset("cnn-64").unwrap();
    let small = time(&small, 64, timing_images(64)).unwrap();
    let big = time(&big, 64, timing_images(64)).unwrap();
    assert!(
        small.samples_per_second > 2.0 * big.samples_per_second,
        "the dense baseline trains much faster than the 64-filter CNN: {small:?} vs {big:?}"
    );
}

#[test]
fn timing_needs_two_batches() {
    let spec = ModelSpec::preset("dnn").unwrap();
    match time(&spec, 32, 50) {
        Err(TrainError::TooFewForTiming {
            images: 50,
            batch_size: 32,
        }) => {}
        other => panic!("expected TooFewForTiming, got {other:?}"),
    }
}

#[test]
fn the_faster_backend_wins_and_timings_match_only_their_own_model() {
    let spec = ModelSpec::preset("cnn").unwrap();
    let cpu = time(&spec, 32, timing_images(32)).unwrap();
    let mut slow_gpu = cpu;
    slow_gpu.samples_per_second = cpu.samples_per_second / 20.0;
    let timings = BackendTimings {
        adapter: "google swiftshader".to_string(),
        model: spec.to_text(),
        batch_size: 32,
        cpu_workers: 1,
        cpu,
        webgpu: slow_gpu,
    };
    assert_eq!(timings.faster(), BackendKind::Cpu);
    let fast_gpu = BackendTimings {
        webgpu: convlab_core::StepTiming {
            samples_per_second: cpu.samples_per_second * 3.0,
            ..cpu
        },
        ..timings.clone()
    };
    assert_eq!(fast_gpu.faster(), BackendKind::Wgpu);
    assert!(timings.matches("google swiftshader", &spec, 32, 1));
    assert!(!timings.matches("nvidia", &spec, 32, 1), "another adapter");
    assert!(
        !timings.matches("google swiftshader", &spec, 128, 1),
        "another batch size"
    );
    assert!(
        !timings.matches("google swiftshader", &spec, 32, 2),
        "the CPU on another number of workers"
    );
    let other = ModelSpec::preset("cnn-64").unwrap();
    assert!(
        !timings.matches("google swiftshader", &other, 32, 1),
        "another model"
    );
    assert!(
        timings.figures().starts_with("WebGPU "),
        "{}",
        timings.figures()
    );
}

#[test]
fn a_cancelled_timing_stops_after_its_first_step() {
    let spec = ModelSpec::preset("dnn").unwrap();
    let data = common::fixture_train().take(timing_images(32));
    let cancel = StopHandle::default();
    cancel.request_stop();
    let timing = convlab_core::block_on(time_steps(
        &spec,
        32,
        &data,
        Backend::cpu().device,
        None,
        &cancel,
        || std::future::ready(()),
    ))
    .unwrap();
    assert_eq!(timing.timed_steps, 0, "{timing:?}");
    assert_eq!(timing.samples_per_second, 0.0);
}

/// A Stop asked for while the backends were timed, before the run's trainer existed: the run
/// takes the same handle, so it stops before its first batch (and still reports why).
#[test]
fn a_stop_asked_for_before_the_trainer_existed_still_stops_it() {
    let spec = ModelSpec::preset("dnn").unwrap();
    let stop = StopHandle::default();
    stop.request_stop();
    let mut trainer = convlab_core::Trainer::new(
        &spec,
        convlab_core::TrainConfig::default(),
        common::fixture_train().take(320),
        Backend::cpu().device,
    )
    .unwrap();
    trainer.stop_with(stop);
    let mut events = Vec::new();
    convlab_core::block_on(convlab_core::run(&mut trainer, None, &mut |e| {
        events.push(e)
    }))
    .unwrap();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, convlab_core::TrainEvent::Batch { .. })),
        "no batch trained: {events:?}"
    );
    assert_eq!(
        trainer.stop_reason(),
        Some(&convlab_core::StopReason::Requested)
    );
}
