//! Input that arrives at the wrong time (issue 15, "Bad input, everywhere it enters"): Start
//! twice, edits while a run trains, Stop while the test set is evaluated.

use super::*;
use crate::protocol::{FromWorker, ToWorker};
use crate::ui::app::{Effect, ModelsMsg, Msg, Phase};
use crate::ui::host::{HostCommand, HostEvent};
use crate::ui::saved::Settings;
use crate::ui::Control;
use convlab_core::{EpochMetrics, ModelSpec, TrainEvent};

fn last_epoch(epochs: usize) -> FromWorker {
    FromWorker::Training(TrainEvent::Epoch(EpochMetrics {
        epoch: epochs,
        loss: 0.4,
        accuracy: 0.85,
        val_loss: None,
        val_accuracy: None,
        seconds: 1.0,
        samples: 64,
    }))
}

#[test]
fn start_pressed_twice_trains_once() {
    let mut app = idle("");
    let first = app.update(Msg::Train);
    assert!(matches!(sends(&first)[..], [ToWorker::Train(_)]));
    // A double click, and the host's start at the same moment: nothing more is sent.
    assert!(app.update(Msg::Train).is_empty());
    let effects = app.update(Msg::Host(HostCommand::Start));
    assert!(sends(&effects).is_empty());
    assert!(
        matches!(&posts(&effects)[..], [HostEvent::CommandFailed { command, message }]
            if command == "start" && message == "training is already running"),
        "{effects:?}"
    );
    assert_eq!(app.phase, Phase::Training { by_host: false });
}

#[test]
fn edits_while_training_change_neither_the_run_nor_the_form() {
    let mut app = idle("");
    app.update(Msg::Train);
    let before = app.state.clone();
    let versions = app.versions;
    // Whatever reaches the state while the editor and the form are disabled (a script, an
    // extension, a queued event) is ignored, and nothing is saved.
    let attempts = [
        Msg::EditField {
            index: 0,
            field: "filters".into(),
            value: "8".into(),
        },
        Msg::SettingsEdited(Ok(Settings {
            epochs: 99,
            ..Settings::default()
        })),
        Msg::SettingsEdited(Err("Epochs: 'x' is not a whole number".into())),
        Msg::ChoosePreset("dnn".into()),
        Msg::RemoveLayer(0),
        Msg::MoveLayer { index: 1, up: true },
        Msg::ResetToExercise,
        Msg::LoadData {
            folder: "elsewhere/".into(),
        },
        Msg::Models(ModelsMsg::Open {
            origin: "other.convlab".into(),
            file: vec![1, 2, 3],
        }),
    ];
    for msg in attempts {
        let shown = format!("{msg:?}");
        assert!(app.update(msg).is_empty(), "{shown} had effects");
    }
    assert_eq!(app.state, before);
    // The ignored values are drawn over with the state's.
    assert!(app.versions.layers > versions.layers && app.versions.form > versions.form);
    assert_eq!(app.settings_error, None);
    assert_eq!(app.field_error, None);
    assert_eq!(app.phase, Phase::Training { by_host: false });
    // The run ends with the model and settings it started with.
    app.update(Msg::Worker(last_epoch(5)));
    app.update(Msg::Worker(tested()));
    assert_eq!(app.runs[0].architecture, "C32-P2-C32-P2-F-D128-D10");
    assert_eq!(app.runs[0].epochs_planned, 5);
    // Afterwards the same edits apply.
    app.update(Msg::SettingsEdited(Ok(Settings {
        epochs: 2,
        ..Settings::default()
    })));
    assert_eq!(app.state.settings.epochs, 2);
    app.update(Msg::ChoosePreset("dnn".into()));
    assert_eq!(app.state.spec, ModelSpec::preset("dnn").unwrap());
}

#[test]
fn stop_during_the_evaluation_ends_the_run_normally() {
    let mut app = idle("");
    app.update(Msg::Train);
    // The last epoch is done: the worker now evaluates the test set.
    app.update(Msg::Worker(last_epoch(5)));
    assert_eq!(sends(&app.update(Msg::Stop)), [&ToWorker::Stop]);
    // The worker finishes the evaluation (a Stop after the last batch has nothing to stop).
    let effects = app.update(Msg::Worker(tested()));
    assert_eq!(app.phase, Phase::Idle);
    assert!(effects.contains(&Effect::SaveHistory));
    assert!(matches!(
        posts(&effects)[..],
        [HostEvent::Finished { epochs_run: 1, .. }]
    ));
    assert_eq!(app.runs.len(), 1);
    assert_eq!(app.runs[0].stop_reason, "", "not recorded as stopped");
    assert!(app.enabled(Control::Train) && !app.enabled(Control::Stop));
    assert!(app.has_model);
    // A second Stop, now that nothing runs, sends nothing; the next run starts normally.
    assert!(app.update(Msg::Stop).is_empty());
    assert!(matches!(
        sends(&app.update(Msg::Train))[..],
        [ToWorker::Train(_)]
    ));
}
