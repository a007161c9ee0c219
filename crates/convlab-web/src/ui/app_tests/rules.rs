//! What is allowed when: the enabling rules, the author's locks, host commands, a lost worker.

use super::*;
use crate::protocol::{FromWorker, RequestKind, ToWorker, TrainRequest};
use crate::ui::app::{Effect, ModelsMsg, Msg, Phase};
use crate::ui::host::{HostCommand, HostEvent};
use crate::ui::Control;

#[test]
fn the_rules_block_training_on_a_broken_model_or_setting() {
    let mut app = idle("");
    app.update(Msg::EditField {
        index: 0,
        field: "filters".into(),
        value: "0".into(),
    });
    assert!(!app.enabled(Control::Train));
    assert!(app
        .model_problem()
        .unwrap()
        .0
        .starts_with("layer 0 (Conv2D): filters"));
    for index in [0, 2] {
        app.update(Msg::EditField {
            index,
            field: "filters".into(),
            value: "16".into(),
        });
    }
    assert!(app.enabled(Control::Train));
    assert_eq!(
        app.state.preset, "cnn-16",
        "the edit is recognised as a lab cell"
    );
    app.update(Msg::MoveLayer { index: 5, up: true });
    let (_, row) = app.model_problem().unwrap();
    assert_eq!(row, Some(4), "the Dense above Flatten is highlighted");
    assert!(!app.enabled(Control::Train));
    app.update(Msg::ChoosePreset("dnn".into()));
    assert!(app.enabled(Control::Train));
    app.update(Msg::SettingsEdited(Err(
        "Epochs: 'x' is not a valid number".into(),
    )));
    assert!(!app.enabled(Control::Train));
    assert!(app.update(Msg::Train).is_empty());
}

#[test]
fn host_commands_while_the_student_trains_are_refused_with_a_reason() {
    let mut app = idle("allow=https://course.example.org");
    app.update(Msg::Train);
    for (command, name) in [
        (HostCommand::Start, "start"),
        (
            HostCommand::LoadPreset {
                preset: "dnn".into(),
            },
            "load_preset",
        ),
        (
            HostCommand::SetLayers {
                layers: "flatten,dense:10:softmax".into(),
            },
            "set_layers",
        ),
    ] {
        let effects = app.update(Msg::Host(command));
        let [HostEvent::CommandFailed { command, message }] = &posts(&effects)[..] else {
            panic!("{effects:?}");
        };
        assert_eq!(command, name);
        assert!(message.contains("running"), "{message}");
    }
    assert_eq!(app.state.preset, "cnn", "the student's model is untouched");
    // The host's stop stops the student's run.
    assert_eq!(
        sends(&app.update(Msg::Host(HostCommand::Stop))),
        [&ToWorker::Stop]
    );
}

#[test]
fn a_host_started_run_reports_its_failure_to_the_host() {
    let mut app = idle("");
    let effects = app.update(Msg::Host(HostCommand::Start));
    assert_eq!(app.phase, Phase::Training { by_host: true });
    assert!(matches!(sends(&effects)[..], [ToWorker::Train(_)]));
    let effects = app.update(Msg::Worker(FromWorker::Failed {
        request: RequestKind::Train,
        message: "out of memory".into(),
    }));
    assert!(
        matches!(&posts(&effects)[..], [HostEvent::CommandFailed { command, .. }] if command == "start")
    );
    // Before the data, the host is told why it cannot start.
    let mut booting = app_with("");
    let effects = booting.update(Msg::Host(HostCommand::Start));
    assert!(
        matches!(&posts(&effects)[..], [HostEvent::CommandFailed { message, .. }] if message.contains("not loaded"))
    );
}

#[test]
fn a_worker_failure_in_every_phase_starts_a_fresh_one_and_keeps_the_students_work() {
    type Reach = fn(&mut App);
    let phases: [(&str, Reach); 5] = [
        ("booting", |_| {}),
        ("loading data", |app| {
            app.update(Msg::Worker(FromWorker::Ready));
        }),
        ("idle", |app| {
            app.update(Msg::Worker(FromWorker::Ready));
            app.update(Msg::Worker(data_ready()));
        }),
        ("training", |app| {
            app.update(Msg::Worker(FromWorker::Ready));
            app.update(Msg::Worker(data_ready()));
            app.update(Msg::Host(HostCommand::Start));
        }),
        ("loading a model", |app| {
            app.update(Msg::Worker(FromWorker::Ready));
            app.update(Msg::Worker(data_ready()));
            app.update(Msg::Models(ModelsMsg::Open {
                origin: "m.convlab".into(),
                file: vec![1, 2, 3],
            }));
            assert_eq!(app.phase, Phase::LoadingModel);
        }),
    ];
    for (name, reach) in phases {
        let mut app = app_with("");
        app.update(Msg::ChoosePreset("cnn-64".into()));
        reach(&mut app);
        let was_training = matches!(app.phase, Phase::Training { .. });
        let effects = app.update(Msg::WorkerFailed(
            "the training worker failed (unreachable)".into(),
        ));
        assert!(
            effects.contains(&Effect::RestartWorker { webgpu: true }),
            "{name}: {effects:?}"
        );
        assert_eq!(app.phase, Phase::Booting, "{name}");
        assert!(
            app.notice.as_deref().unwrap().contains("unreachable"),
            "{name}"
        );
        assert_eq!(app.state.preset, "cnn-64", "{name}: the model is kept");
        assert!(
            app.enabled(Control::Editor) && app.enabled(Control::Settings),
            "{name}: editing still works"
        );
        // The fresh worker loads the dataset; a run in progress carries on from its start
        // (no checkpoint yet), anything else returns to Idle with Train enabled.
        let effects = app.update(Msg::Worker(FromWorker::Ready));
        assert!(matches!(sends(&effects)[..], [ToWorker::LoadData { .. }]));
        let effects = app.update(Msg::Worker(data_ready()));
        if was_training {
            assert!(
                matches!(app.phase, Phase::Training { by_host: true }),
                "{name}"
            );
            assert!(
                matches!(
                    sends(&effects)[..],
                    [ToWorker::Train(TrainRequest { resume: None, .. })]
                ),
                "{name}: {effects:?}"
            );
            let notes = &app.run.as_ref().unwrap().notes;
            assert!(
                notes[0].contains("crashed") && notes[0].ends_with("continued from the start"),
                "{notes:?}"
            );
        } else {
            assert_eq!(app.phase, Phase::Idle, "{name}");
            assert!(app.enabled(Control::Train), "{name}: Train works again");
        }
    }
}

#[test]
fn a_worker_that_keeps_dying_is_reported_not_restarted_forever() {
    let mut app = app_with("");
    for _ in 0..3 {
        let effects = app.update(Msg::WorkerFailed("cannot start".into()));
        assert!(effects
            .iter()
            .any(|e| matches!(e, Effect::RestartWorker { .. })));
    }
    let effects = app.update(Msg::WorkerFailed("cannot start".into()));
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::RestartWorker { .. })));
    assert!(matches!(app.phase, Phase::WorkerLost { .. }));
    assert!(app
        .data_error
        .as_deref()
        .unwrap()
        .contains("reload the page"));
    assert!(!app.enabled(Control::Train) && app.enabled(Control::Editor));
}

#[test]
fn a_data_lock_still_lets_the_page_load_its_dataset() {
    let mut app = app_with("lock=data");
    let effects = app.update(Msg::Worker(FromWorker::Ready));
    assert!(matches!(sends(&effects)[..], [ToWorker::LoadData { .. }]));
    app.update(Msg::Worker(data_ready()));
    assert!(!app.enabled(Control::DataLoad) && !app.enabled(Control::DataUrl));
    assert!(app
        .update(Msg::LoadData {
            folder: "elsewhere/".into()
        })
        .is_empty());
    assert!(app.enabled(Control::Train));
}

#[test]
fn an_author_lock_holds_in_every_phase() {
    let mut app = idle("lock=model,maps&panels=model,train");
    assert!(!app.enabled(Control::Preset) && !app.enabled(Control::Editor));
    assert!(!app.enabled(Control::MapsImages) && !app.enabled(Control::ModelFile));
    assert!(app.update(Msg::ChoosePreset("dnn".into())).is_empty());
    assert!(app.update(Msg::RemoveLayer(0)).is_empty());
    assert_eq!(app.state.preset, "cnn");
    app.update(Msg::Models(ModelsMsg::Open {
        origin: "x".into(),
        file: vec![],
    }));
    assert!(app
        .models_error
        .as_deref()
        .unwrap()
        .contains("fixed on this page"));
    assert!(app.enabled(Control::Train), "the lab still trains");
}

#[test]
fn a_url_experiment_sets_up_once_and_resets() {
    let mut app = idle("preset=cnn-16&epochs=2&colour=red");
    assert_eq!(app.state.preset, "cnn-16");
    assert_eq!(app.state.settings.epochs, 2);
    assert!(app
        .setup_error
        .as_deref()
        .unwrap()
        .contains("unknown URL parameter 'colour'"));
    assert!(app.storage_key.ends_with("?epochs=2&preset=cnn-16"));
    app.update(Msg::ChoosePreset("dnn".into()));
    let form = app.versions.form;
    app.update(Msg::ResetToExercise);
    assert_eq!(app.state.preset, "cnn-16");
    assert!(
        app.versions.form > form,
        "the form shows the exercise's settings again"
    );
    let effects = app.update(Msg::Share {
        base: "https://host/lab/".into(),
    });
    assert!(
        matches!(&effects[..], [Effect::Copy { text, .. }] if text.starts_with("https://host/lab/?preset=cnn-16&epochs=2"))
    );
}

#[test]
fn feature_map_requests_name_bad_images() {
    let mut app = idle("");
    app.update(Msg::MapsImages("0, 23, 5000".into()));
    assert!(sends(&app.update(Msg::ShowMaps)).is_empty());
    assert_eq!(
        app.maps.status,
        "test image '5000' is not a number from 0 to 999"
    );
    app.update(Msg::MapsImages("0 23 28".into()));
    assert!(
        matches!(sends(&app.update(Msg::ShowMaps))[..], [ToWorker::FeatureMaps { images, .. }] if images == &[0, 23, 28])
    );
    app.update(Msg::Worker(FromWorker::Failed {
        request: RequestKind::FeatureMaps,
        message: "image 10 is out of range".into(),
    }));
    assert_eq!(app.maps.status, "image 10 is out of range");
}
