//! From booting to a trained, saved or loaded model.

use super::*;
use crate::protocol::{Destination, FromWorker, RequestKind, ToWorker};
use crate::ui::app::{Effect, ModelsMsg, Msg, Phase};
use crate::ui::host::HostEvent;
use crate::ui::Control;
use convlab_core::{EpochMetrics, ModelHeader, StopReason, TrainEvent};

#[test]
fn boot_loads_the_data_when_the_worker_is_ready() {
    let mut app = app_with("");
    assert_eq!(app.phase, Phase::Booting);
    assert!(!app.enabled(Control::Train) && !app.enabled(Control::DataLoad));
    let effects = app.update(Msg::Worker(FromWorker::Ready));
    assert_eq!(app.phase, Phase::LoadingData);
    assert_eq!(
        sends(&effects),
        [&ToWorker::LoadData {
            base_url: "http://127.0.0.1:8080/lab/data/".into()
        }]
    );
    assert!(!app.enabled(Control::DataLoad), "one load at a time");
    let effects = app.update(Msg::Worker(data_ready()));
    assert_eq!(app.phase, Phase::Idle);
    assert!(app
        .data_status
        .starts_with("Fashion-MNIST ready: 3,000 training"));
    // The untrained model's feature maps are asked for, its first step is prepared, and the
    // host told the lab is ready.
    assert!(matches!(
        sends(&effects)[..],
        [ToWorker::FeatureMaps { .. }, ToWorker::WarmUp(_)]
    ));
    assert!(matches!(posts(&effects)[..], [HostEvent::Ready { .. }]));
    // Ready is sent once, not on every reload of the data.
    app.update(Msg::LoadData {
        folder: "other/".into(),
    });
    let again = app.update(Msg::Worker(data_ready()));
    assert!(posts(&again).is_empty());
}

#[test]
fn a_failed_download_can_be_retried() {
    let mut app = app_with("");
    app.update(Msg::Worker(FromWorker::Ready));
    let effects = app.update(Msg::Worker(FromWorker::DataFailed {
        message: "could not fetch x: HTTP 404 Not Found".into(),
    }));
    assert_eq!(app.phase, Phase::Idle);
    assert!(app.data.is_none());
    assert!(app
        .data_error
        .as_deref()
        .unwrap()
        .ends_with("press Load data to retry."));
    assert!(matches!(posts(&effects)[..], [HostEvent::Error { .. }]));
    assert_eq!(
        enabled(&app),
        [
            "preset",
            "editor",
            "settings",
            "data-url",
            "data-load",
            "fm-images",
            "fm-filter"
        ]
    );
    let retry = app.update(Msg::LoadData {
        folder: " https://example.org/fm ".into(),
    });
    assert_eq!(
        sends(&retry),
        [&ToWorker::LoadData {
            base_url: "https://example.org/fm".into()
        }]
    );
    assert_eq!(app.state.data_url, "https://example.org/fm");
}

#[test]
fn training_runs_from_idle_to_tested_and_records_the_run() {
    let mut app = idle("");
    assert!(app.enabled(Control::Train) && !app.enabled(Control::Stop));
    let effects = app.update(Msg::Train);
    assert_eq!(app.phase, Phase::Training { by_host: false });
    assert!(matches!(sends(&effects)[..], [ToWorker::Train(_)]));
    assert!(matches!(
        posts(&effects)[..],
        [HostEvent::TrainingStarted {
            params: 113_386,
            ..
        }]
    ));
    assert_eq!(
        enabled(&app),
        ["stop", "data-url", "fm-images", "fm-filter"]
    );
    assert!(app.update(Msg::Train).is_empty(), "no second run");

    app.update(Msg::Worker(FromWorker::Backend {
        kind: convlab_core::BackendKind::Cpu,
        description: "CPU (burn-flex)".into(),
        timings: None,
    }));
    app.update(Msg::Worker(FromWorker::Training(TrainEvent::Started {
        train_samples: 3000,
        val_samples: 0,
        batches_per_epoch: 94,
        epochs: 5,
        params: 113_386,
    })));
    let metrics = EpochMetrics {
        epoch: 1,
        loss: 0.3,
        accuracy: 0.9,
        val_loss: None,
        val_accuracy: None,
        seconds: 2.0,
        samples: 3000,
    };
    let effects = app.update(Msg::Worker(FromWorker::Training(TrainEvent::Epoch(
        metrics,
    ))));
    assert!(matches!(
        posts(&effects)[..],
        [HostEvent::EpochEnd { epochs: 5, .. }]
    ));
    let effects = app.update(Msg::Worker(FromWorker::Training(TrainEvent::Stopped {
        epoch: 1,
        message: convlab_core::LOSS_THRESHOLD_MESSAGE.into(),
        reason: StopReason::LossThreshold {
            loss: 0.3,
            threshold: 0.4,
        },
    })));
    let [HostEvent::EarlyStop { reason, .. }] = &posts(&effects)[..] else {
        panic!("{effects:?}");
    };
    assert_eq!(reason, "loss_threshold");
    app.now = "2026-12-01 09:00".into();
    let effects = app.update(Msg::Worker(tested()));
    assert_eq!(app.phase, Phase::Idle);
    assert!(app.has_model && app.enabled(Control::ModelSaveFile));
    assert!(effects.contains(&Effect::SaveHistory));
    assert!(matches!(
        posts(&effects)[..],
        [HostEvent::Finished { epochs_run: 1, .. }]
    ));
    let record = &app.runs[0];
    assert_eq!(record.architecture, "C32-P2-C32-P2-F-D128-D10");
    assert_eq!(record.samples_per_second, 1500.0);
    assert_eq!(record.backend, "CPU (burn-flex)");
    assert!(record
        .stop_reason
        .starts_with("epoch 1: Reached the desired loss"));
    assert_eq!(
        app.train_status,
        "Done: 1 epoch(s), final loss 0.3000, accuracy 0.9000."
    );
}

#[test]
fn stop_asks_the_worker_and_a_failed_run_returns_to_idle() {
    let mut app = idle("");
    app.update(Msg::Train);
    assert_eq!(sends(&app.update(Msg::Stop)), [&ToWorker::Stop]);
    assert_eq!(app.train_status, "Stopping before the next batch…");
    app.update(Msg::Worker(FromWorker::Failed {
        request: RequestKind::Train,
        message: "invalid model: layer 0 (Dense)".into(),
    }));
    assert_eq!(app.phase, Phase::Idle);
    assert_eq!(app.train_status, "Training did not run.");
    assert!(app
        .notice
        .as_deref()
        .unwrap()
        .starts_with("train failed: invalid model"));
    // Stop outside a run does nothing.
    assert!(app.update(Msg::Stop).is_empty());
}

#[test]
fn loading_a_model_waits_for_its_evaluation() {
    let mut app = idle("");
    let effects = app.update(Msg::Models(ModelsMsg::Open {
        origin: "cnn.convlab".into(),
        file: vec![7],
    }));
    assert!(matches!(sends(&effects)[..], [ToWorker::LoadModel { .. }]));
    assert_eq!(
        enabled(&app),
        [
            "preset",
            "editor",
            "settings",
            "data-url",
            "data-load",
            "fm-show",
            "fm-images",
            "fm-filter"
        ]
    );
    let spec = convlab_core::ModelSpec::preset("cnn-1conv").unwrap();
    let FromWorker::Tested(result) = tested() else {
        unreachable!()
    };
    app.update(Msg::Worker(FromWorker::ModelLoaded {
        origin: "cnn.convlab".into(),
        header: ModelHeader::new(spec.clone(), None),
        test: result,
    }));
    assert_eq!(app.phase, Phase::Idle);
    assert_eq!(app.state.spec, spec);
    assert_eq!(app.state.preset, "cnn-1conv");
    assert!(app
        .models_status
        .starts_with("Loaded cnn.convlab: C32-P2-F-D128-D10"));
    // A failed load returns to Idle and names the problem.
    app.update(Msg::Models(ModelsMsg::Open {
        origin: "notes.txt".into(),
        file: vec![1],
    }));
    app.update(Msg::Worker(FromWorker::Failed {
        request: RequestKind::LoadModel,
        message: "notes.txt: not a convlab model file".into(),
    }));
    assert_eq!(app.phase, Phase::Idle);
    assert!(app
        .models_error
        .as_deref()
        .unwrap()
        .starts_with("notes.txt"));
}

#[test]
fn exports_go_to_a_download_or_the_browser() {
    let mut app = idle("");
    app.update(Msg::Train);
    app.update(Msg::Worker(tested()));
    let effects = app.update(Msg::Models(ModelsMsg::Save {
        to_browser: false,
        name: "my model".into(),
    }));
    assert_eq!(
        sends(&effects),
        [&ToWorker::ExportModel {
            destination: Destination::File
        }]
    );
    let header = ModelHeader::new(app.state.spec.clone(), None);
    let effects = app.update(Msg::Worker(FromWorker::ModelExported {
        destination: Destination::File,
        header: header.clone(),
        file: vec![1, 2],
    }));
    assert!(
        matches!(&effects[..], [Effect::Download { file_name, .. }] if file_name == "my_model.convlab")
    );
    assert!(app
        .update(Msg::Models(ModelsMsg::Save {
            to_browser: true,
            name: "  ".into(),
        }))
        .is_empty());
    assert_eq!(
        app.models_error.as_deref(),
        Some("Give the model a name to save it under.")
    );
}
