//! Bad input in the page's state: a model too large to train at the chosen batch is refused
//! before the worker is asked, with the estimate named; a loss that turns NaN ends the run and
//! keeps its record.

use super::*;
use crate::protocol::FromWorker;
use crate::ui::app::{Msg, Phase};
use crate::ui::host::{HostCommand, HostEvent};
use crate::ui::saved::Settings;
use crate::ui::Control;
use convlab_core::{StopReason, TrainEvent};

#[test]
fn a_model_too_large_for_its_batch_cannot_be_trained_and_says_why() {
    let mut app = idle("allow=https://course.example.org");
    app.update(Msg::ChoosePreset("cnn-64".into()));
    assert!(app.enabled(Control::Train));
    let huge = Settings {
        batch_size: 8192,
        ..app.state.settings.clone()
    };
    assert_eq!(huge.check(), Ok(()), "each setting is in range");
    app.update(Msg::SettingsEdited(Ok(huge.clone())));
    assert!(!app.enabled(Control::Train), "but the model does not fit");
    assert!(app.update(Msg::Train).is_empty(), "nothing is sent");
    let note = app
        .state
        .settings
        .memory_note(&app.state.spec)
        .unwrap()
        .unwrap_err();
    assert!(
        note.starts_with(
            "This model cannot be trained with these settings: training at batch 8192"
        ),
        "{note}"
    );
    // The host page is told why, with the estimate and the budget.
    let effects = app.update(Msg::Host(HostCommand::Start));
    let [HostEvent::CommandFailed { command, message }] = &posts(&effects)[..] else {
        panic!("{effects:?}");
    };
    assert_eq!(command, "start");
    assert!(
        message.starts_with("training at batch 8192 needs about 3.94 GB (weights"),
        "{message}"
    );
    assert!(
        message.contains("more than the 2.00 GB budget"),
        "{message}"
    );
    assert_eq!(app.phase, Phase::Idle);

    // A smaller batch fits; so does the large batch on few images (one batch of them).
    app.update(Msg::SettingsEdited(Ok(Settings {
        batch_size: 512,
        ..huge.clone()
    })));
    assert!(app.enabled(Control::Train));
    app.update(Msg::SettingsEdited(Ok(Settings {
        train_limit: 1000,
        ..huge
    })));
    assert!(app.enabled(Control::Train));
    assert!(matches!(
        sends(&app.update(Msg::Train))[..],
        [crate::protocol::ToWorker::Train(_)]
    ));
}

#[test]
fn a_loss_that_turns_nan_ends_the_run_and_keeps_its_record() {
    let mut app = idle("");
    app.update(Msg::Train);
    app.update(Msg::Worker(FromWorker::Training(TrainEvent::Started {
        train_samples: 3000,
        val_samples: 0,
        batches_per_epoch: 94,
        epochs: 5,
        params: 113_386,
    })));
    let reason = StopReason::NonFinite {
        batch: 3,
        value: f32::NAN,
    };
    let effects = app.update(Msg::Worker(FromWorker::Training(TrainEvent::Stopped {
        epoch: 1,
        message: reason.message(),
        reason,
    })));
    let [HostEvent::EarlyStop {
        reason, message, ..
    }] = &posts(&effects)[..]
    else {
        panic!("{effects:?}");
    };
    assert_eq!(reason, "not_finite");
    assert_eq!(
        message,
        "Training stopped: the loss became NaN by batch 3; try a lower learning rate"
    );
    app.update(Msg::Worker(tested()));
    assert_eq!(app.phase, Phase::Idle);
    assert_eq!(app.train_status, "Stopped before the first epoch ended.");
    let record = app.runs.last().expect("the run is recorded");
    assert_eq!((record.epochs_run, record.epochs_planned), (0, 5));
    assert!(
        record
            .stop_reason
            .contains("the loss became NaN by batch 3"),
        "{}",
        record.stop_reason
    );
    assert!(app.enabled(Control::Train), "the student can try again");
}
