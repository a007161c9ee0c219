//! The first training step made ready while the student reads or edits: which model, batch
//! size and backend the worker is asked to warm up, when, and what the page says.

use super::*;
use crate::protocol::{BackendChoice, RequestKind, TrainRequest, WarmUp};
use crate::ui::app::{Msg, Phase};
use crate::ui::saved::Settings;
use convlab_core::{BackendKind, BackendTimings, ModelSpec, StepTiming};

fn warm_ups(effects: &[Effect]) -> Vec<&WarmUp> {
    sends(effects)
        .into_iter()
        .filter_map(|r| match r {
            ToWorker::WarmUp(w) => Some(w),
            _ => None,
        })
        .collect()
}

fn warmed(warm_up: WarmUp, backend: BackendKind, description: &str) -> Msg {
    Msg::Worker(FromWorker::WarmedUp {
        warm_up,
        backend,
        description: description.into(),
        seconds: 7.84,
        timings: None,
    })
}

#[test]
fn the_model_on_screen_is_warmed_up_once_the_data_is_ready_and_again_after_each_change() {
    let mut app = app_with("");
    assert!(warm_ups(&app.update(Msg::Worker(FromWorker::Ready))).is_empty());
    let effects = app.update(Msg::Worker(data_ready()));
    let settings = Settings::default();
    let first = WarmUp {
        spec: ModelSpec::preset("cnn").unwrap(),
        batch_size: settings.batch_size,
        backend: settings.backend,
        // Automatic: this browser's two cores, 16 images each.
        cpu_workers: 2,
        timings: None,
    };
    assert_eq!(warm_ups(&effects), [&first]);
    assert_eq!(
        app.warm_status(),
        "Preparing this model's first training step…"
    );

    // Nothing that leaves the model, batch size and backend alone asks again.
    assert!(warm_ups(&app.update(Msg::SettingsEdited(Ok(Settings {
        epochs: 2,
        ..settings.clone()
    }))))
    .is_empty());
    assert!(warm_ups(&app.update(Msg::MapsFilter("3".into()))).is_empty());

    // A new model or batch size is another first step.
    let effects = app.update(Msg::ChoosePreset("cnn-64".into()));
    assert_eq!(
        warm_ups(&effects)[0].spec,
        ModelSpec::preset("cnn-64").unwrap()
    );
    let effects = app.update(Msg::SettingsEdited(Ok(Settings {
        epochs: 2,
        batch_size: 128,
        ..settings.clone()
    })));
    let latest = warm_ups(&effects)[0].clone();
    assert_eq!(latest.batch_size, 128);
    // So is another number of CPU workers (automatic: this browser's two cores, 64 images each at batch 128).
    let effects = app.update(Msg::SettingsEdited(Ok(Settings {
        epochs: 2,
        batch_size: 128,
        cpu_workers: Some(1),
        ..settings.clone()
    })));
    assert_eq!(warm_ups(&effects)[0].cpu_workers, 1);
    let effects = app.update(Msg::SettingsEdited(Ok(Settings {
        epochs: 2,
        batch_size: 128,
        ..settings.clone()
    })));
    assert_eq!(warm_ups(&effects)[0], &latest);

    // An answer for a model no longer on screen says nothing; the current one's is shown.
    app.update(warmed(
        first,
        BackendKind::Wgpu,
        "WebGPU (google swiftshader)",
    ));
    assert_eq!(
        app.warm_status(),
        "Preparing this model's first training step…"
    );
    app.update(warmed(
        latest,
        BackendKind::Wgpu,
        "WebGPU (google swiftshader)",
    ));
    assert_eq!(
        app.warm_status(),
        "Ready to train on WebGPU (google swiftshader). Its first step is compiled (7.8 s, done while you read)."
    );
}

#[test]
fn nothing_is_warmed_up_while_training_or_for_a_model_that_cannot_train() {
    let mut app = idle("");
    let effects = app.update(Msg::Train);
    assert!(warm_ups(&effects).is_empty());
    assert!(matches!(app.phase, Phase::Training { .. }));
    assert_eq!(app.warm_status(), "", "no remark during a run");
    // The run compiled its own kernels: the same model after it is not warmed up again.
    app.update(Msg::Worker(tested()));
    assert_eq!(app.phase, Phase::Idle);
    assert!(warm_ups(&app.update(Msg::MapsFilter("2".into()))).is_empty());

    // A model too large for its batch cannot train: nothing is warmed up for it.
    app.update(Msg::ChoosePreset("cnn-64".into()));
    let huge = Settings {
        batch_size: 8192,
        ..app.state.settings.clone()
    };
    let effects = app.update(Msg::SettingsEdited(Ok(huge)));
    assert!(!app.enabled(Control::Train));
    assert!(warm_ups(&effects).is_empty());
    assert_eq!(app.warm_up_key(), None);
    assert_eq!(app.warm_status(), "");
}

#[test]
fn a_fresh_worker_or_a_lost_gpu_warms_up_again_and_a_failure_is_only_a_remark() {
    let mut app = idle("");
    let sent = app.warm.sent.clone().expect("warmed up at data ready");
    assert_eq!(sent.backend, BackendChoice::Auto);
    // A fresh worker has nothing compiled: once it has the data, the same model is sent again.
    app.update(Msg::Worker(FromWorker::Ready));
    let effects = app.update(Msg::Worker(data_ready()));
    assert_eq!(warm_ups(&effects), [&sent]);

    // A lost GPU during the warm-up: it is said where the warm-up is, and the CPU is warmed up.
    let effects = app.update(Msg::Worker(FromWorker::GpuLost {
        request: RequestKind::WarmUp,
        reason: "destroyed: device was destroyed".into(),
        epoch: 0,
        batch: 0,
    }));
    assert_eq!(
        warm_ups(&effects)[0].backend,
        BackendChoice::Cpu,
        "then on the CPU"
    );
    assert_eq!(app.notice, None, "not an error of the student's");

    let effects = app.update(Msg::Worker(FromWorker::Failed {
        request: RequestKind::WarmUp,
        message: "the model needs 3.1 GB to train at this batch size".into(),
    }));
    assert!(effects.is_empty());
    assert_eq!(app.notice, None);
    assert_eq!(
        app.warm_status(),
        "The first step could not be prepared ahead: the model needs 3.1 GB to train at this batch size"
    );
    assert!(app.enabled(Control::Train), "Train still says for itself");
}

fn timings(cpu: f64, webgpu: f64) -> BackendTimings {
    let step = |samples_per_second| StepTiming {
        first_step_seconds: 0.5,
        samples_per_second,
        timed_steps: 4,
    };
    BackendTimings {
        adapter: "google swiftshader".into(),
        model: ModelSpec::preset("cnn").unwrap().to_text(),
        batch_size: 32,
        cpu_workers: 2,
        cpu: step(cpu),
        webgpu: step(webgpu),
    }
}

#[test]
fn the_automatic_choice_times_a_model_once_and_remembers_it_per_adapter() {
    let mut app = app_with("");
    app.update(Msg::AdapterProbed(Some("google swiftshader".into())));
    app.update(Msg::Worker(FromWorker::Ready));
    let effects = app.update(Msg::Worker(data_ready()));
    let sent = warm_ups(&effects)[0].clone();
    assert_eq!((sent.backend, &sent.timings), (BackendChoice::Auto, &None));
    assert_eq!(
        app.warm_status(),
        "Timing this model on WebGPU and on the CPU, to train on the faster…"
    );

    // The worker timed both: the figures are shown and kept, and no second warm-up is sent.
    let measured = timings(479.0, 20.3);
    let effects = app.update(Msg::Worker(FromWorker::WarmedUp {
        warm_up: sent.clone(),
        backend: BackendKind::Cpu,
        description: format!(
            "CPU (burn-flex): faster here than WebGPU (google swiftshader) for this model ({})",
            measured.figures()
        ),
        seconds: 23.4,
        timings: Some(Box::new(measured.clone())),
    }));
    assert_eq!(effects, [Effect::SaveTimings]);
    assert_eq!(app.timings.remembered, std::slice::from_ref(&measured));
    assert_eq!(
        app.warm_status(),
        "Ready to train on CPU (burn-flex): faster here than WebGPU (google swiftshader) for this model (WebGPU 20.3 samples/s, CPU 479 samples/s). Timed in 23.4 s while you read."
    );

    // Train carries the timings, so the worker does not time the model again.
    let effects = app.update(Msg::Train);
    let train = sends(&effects)
        .into_iter()
        .find_map(|r| match r {
            ToWorker::Train(TrainRequest {
                backend, timings, ..
            }) => Some((*backend, timings.clone())),
            _ => None,
        })
        .expect("a Train request");
    assert_eq!(
        train,
        (BackendChoice::Auto, Some(Box::new(measured.clone())))
    );
    assert_eq!(app.train_status, "Starting…");

    // Another batch size is another timing.
    app.update(Msg::Worker(tested()));
    let effects = app.update(Msg::SettingsEdited(Ok(Settings {
        batch_size: 128,
        ..app.state.settings.clone()
    })));
    assert_eq!(warm_ups(&effects)[0].timings, None);
}

#[test]
fn remembered_timings_are_sent_after_a_reload_and_a_forced_backend_ignores_them() {
    let mut app = App::new(Boot {
        timings: vec![timings(479.0, 20.3)],
        ..boot("")
    });
    app.update(Msg::AdapterProbed(Some("google swiftshader".into())));
    app.update(Msg::Worker(FromWorker::Ready));
    let sent = warm_ups(&app.update(Msg::Worker(data_ready())))[0].clone();
    assert_eq!(sent.timings, Some(Box::new(timings(479.0, 20.3))));
    assert_eq!(
        app.warm_status(),
        "Preparing this model's first training step…"
    );
    app.update(warmed(
        sent,
        BackendKind::Cpu,
        "CPU (burn-flex): faster here",
    ));
    assert_eq!(
        app.warm_status(),
        "Ready to train on CPU (burn-flex): faster here, as timed earlier in this browser."
    );

    // Forcing WebGPU warms it up without timings; the worker needs its module for it.
    let effects = app.update(Msg::SettingsEdited(Ok(Settings {
        backend: BackendChoice::Webgpu,
        ..app.state.settings.clone()
    })));
    let forced = warm_ups(&effects)[0];
    assert_eq!(
        (forced.backend, &forced.timings),
        (BackendChoice::Webgpu, &None)
    );
    assert!(app.worker_may_use_webgpu());
    app.update(Msg::SettingsEdited(Ok(Settings {
        backend: BackendChoice::Cpu,
        ..app.state.settings.clone()
    })));
    assert!(
        !app.worker_may_use_webgpu(),
        "a forced CPU never loads the WebGPU module"
    );
}

#[test]
fn a_run_that_overtook_the_warm_up_leaves_the_model_ready() {
    let mut app = idle("");
    assert_eq!(
        app.warm_status(),
        "Preparing this model's first training step…"
    );
    // Train before the warm-up answered: the worker cancels it, and it never replies.
    app.update(Msg::Train);
    app.update(Msg::Worker(FromWorker::Backend {
        kind: BackendKind::Cpu,
        description: "CPU (burn-flex)".into(),
        timings: None,
    }));
    app.update(Msg::Worker(tested()));
    assert_eq!(app.phase, Phase::Idle);
    assert_eq!(
        app.warm_status(),
        "Ready to train on CPU (burn-flex): the last run prepared it."
    );
    // Another model is prepared afresh.
    app.update(Msg::ChoosePreset("cnn-16".into()));
    assert_eq!(
        app.warm_status(),
        "Preparing this model's first training step…"
    );
}
