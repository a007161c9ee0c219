//! A lost GPU and a crashed worker cost the student nothing: the run carries on from its last
//! checkpoint, and its record says where and why.

use super::*;
use crate::protocol::{BackendChoice, TrainRequest};
use convlab_core::{BackendKind, Checkpoint, EpochMetrics, TrainEvent};

fn epoch(n: usize) -> FromWorker {
    FromWorker::Training(TrainEvent::Epoch(EpochMetrics {
        epoch: n,
        loss: 0.5,
        accuracy: 0.8,
        val_loss: None,
        val_accuracy: None,
        seconds: 2.0,
        samples: 3000,
    }))
}

fn checkpoint(epochs_done: usize) -> FromWorker {
    FromWorker::Training(TrainEvent::Checkpoint(Box::new(Checkpoint {
        epochs_done,
        batches_done: 0,
        samples_seen: 3000 * epochs_done,
        finished: false,
        history: Vec::new(),
        weights: vec![0; 8],
        adam: Vec::new(),
        early_stopping: None,
        seconds: 0.01,
    })))
}

/// Idle, then a run on WebGPU through two epochs (checkpointed) and into the third.
fn training_on_the_gpu() -> App {
    let mut app = idle("");
    app.update(Msg::Train);
    app.update(Msg::Worker(FromWorker::Backend {
        kind: BackendKind::Wgpu,
        description: "WebGPU (google swiftshader)".into(),
        timings: None,
    }));
    for n in 1..=2 {
        app.update(Msg::Worker(epoch(n)));
        app.update(Msg::Worker(checkpoint(n)));
    }
    app.update(Msg::Worker(FromWorker::Training(TrainEvent::Batch {
        epoch: 3,
        batch: 40,
        batches: 94,
        samples_seen: 7280,
        loss: 0.4,
        accuracy: 0.85,
        samples_per_second: 100.0,
    })));
    app
}

#[test]
fn a_lost_gpu_continues_the_run_on_the_cpu_from_the_last_checkpoint() {
    let mut app = training_on_the_gpu();
    let effects = app.update(Msg::Worker(FromWorker::GpuLost {
        request: crate::protocol::RequestKind::Train,
        reason: "destroyed: device was destroyed".into(),
        epoch: 3,
        batch: 41,
    }));
    let [ToWorker::Train(TrainRequest {
        backend: BackendChoice::Cpu,
        timings: None,
        resume: Some(resume),
        ..
    })] = &sends(&effects)[..]
    else {
        panic!("{effects:?}");
    };
    assert_eq!(resume.epochs_done, 2);
    assert_eq!(app.phase, Phase::Training { by_host: false });
    assert!(app.enabled(Control::Stop));
    let note = "the GPU was reset (destroyed: device was destroyed) during epoch 3, batch 41; continued on the CPU from the end of epoch 2";
    assert_eq!(app.run.as_ref().unwrap().notes, [note]);
    assert!(app.train_status.starts_with("The GPU was reset"));

    app.update(Msg::Worker(FromWorker::Backend {
        kind: BackendKind::Cpu,
        description: "CPU (burn-flex)".into(),
        timings: None,
    }));
    app.update(Msg::Worker(FromWorker::Training(TrainEvent::Resumed {
        epoch: 2,
    })));
    for n in 3..=5 {
        app.update(Msg::Worker(epoch(n)));
    }
    app.update(Msg::Worker(tested()));
    let record = &app.runs[0];
    assert_eq!(record.epochs_run, 5, "epochs before and after the loss");
    assert_eq!(
        record.backend,
        "WebGPU (google swiftshader), then CPU (burn-flex)"
    );
    assert_eq!(record.notes, note);

    // Later runs train on the CPU.
    let effects = app.update(Msg::Train);
    assert!(matches!(
        sends(&effects)[..],
        [ToWorker::Train(TrainRequest {
            backend: BackendChoice::Cpu,
            timings: None,
            resume: None,
            ..
        })]
    ));
}

#[test]
fn a_crash_on_the_gpu_resumes_on_the_cpu_in_a_fresh_worker() {
    let mut app = training_on_the_gpu();
    let effects = app.update(Msg::Worker(FromWorker::Crashed {
        message: "the training worker panicked: wgpu error".into(),
    }));
    assert!(effects.contains(&Effect::RestartWorker { webgpu: false }));
    assert!(
        sends(&effects).is_empty(),
        "nothing is sent to the dead worker"
    );
    app.update(Msg::Worker(FromWorker::Ready));
    let effects = app.update(Msg::Worker(data_ready()));
    assert!(matches!(
        sends(&effects)[..],
        [ToWorker::Train(TrainRequest {
            backend: BackendChoice::Cpu,
            timings: None,
            resume: Some(_),
            ..
        })]
    ));
    assert_eq!(app.phase, Phase::Training { by_host: false });
    assert!(
        app.run.as_ref().unwrap().notes[0].contains("continued on the CPU from the end of epoch 2")
    );
}

#[test]
fn a_run_that_crashes_twice_on_the_cpu_ends_and_is_recorded() {
    let mut app = idle("");
    app.update(Msg::Train);
    app.update(Msg::Worker(epoch(1)));
    app.update(Msg::Worker(checkpoint(1)));
    let crash = || {
        Msg::Worker(FromWorker::Crashed {
            message: "the training worker stopped: RuntimeError: unreachable".into(),
        })
    };
    app.update(crash());
    app.update(Msg::Worker(FromWorker::Ready));
    app.update(Msg::Worker(data_ready()));
    assert!(matches!(app.phase, Phase::Training { .. }), "resumed once");
    let effects = app.update(crash());
    assert!(effects.contains(&Effect::SaveHistory));
    let record = &app.runs[0];
    assert_eq!(record.epochs_run, 1);
    assert_eq!(record.test_accuracy, None);
    assert!(record
        .stop_reason
        .starts_with("interrupted: the training worker stopped"));
    app.update(Msg::Worker(FromWorker::Ready));
    app.update(Msg::Worker(data_ready()));
    assert_eq!(app.phase, Phase::Idle);
    assert!(
        app.enabled(Control::Train),
        "buttons are never left disabled"
    );
}

#[test]
fn a_gpu_lost_outside_a_run_fails_that_request_by_name() {
    let mut app = idle("");
    app.has_model = true;
    app.update(Msg::Worker(FromWorker::GpuLost {
        request: crate::protocol::RequestKind::FeatureMaps,
        reason: "unknown: GPU process crashed".into(),
        epoch: 0,
        batch: 0,
    }));
    assert!(app
        .maps
        .status
        .contains("the GPU was reset (unknown: GPU process crashed)"));
    assert!(!app.has_model, "the model lived on the GPU");
    assert!(app.backend.contains("CPU"));
}

#[test]
fn faults_reach_the_worker_only_when_the_url_asks_for_the_test_hook() {
    let mut app = idle("");
    assert!(app
        .update(Msg::Fault(crate::protocol::Fault::Panic))
        .is_empty());
    let mut app = idle("test-faults");
    assert!(matches!(
        sends(&app.update(Msg::Fault(crate::protocol::Fault::LoseGpu)))[..],
        [ToWorker::Fault(crate::protocol::Fault::LoseGpu)]
    ));
}
