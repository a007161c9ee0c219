//! A run resumed from a checkpoint carries on as if it had never stopped: what a browser
//! worker relies on when its GPU is lost mid-run and training continues on the CPU.

mod common;

use convlab_core::{
    run, Backend, Checkpoint, EarlyStoppingConfig, ModelSpec, Monitor, TrainConfig, TrainEvent,
    Trainer,
};

fn config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 32,
        validation_split: 0.0,
        stop_at_loss: None,
        seed: 5,
        report_every: 1,
        ..TrainConfig::default()
    }
}

/// Trains to the end, asking for checkpoints; returns the events.
fn train(trainer: &mut Trainer) -> Vec<TrainEvent> {
    trainer.emit_checkpoints();
    let mut events = Vec::new();
    convlab_core::block_on(run(trainer, None, &mut |e| events.push(e))).unwrap();
    events
}

fn checkpoints(events: &[TrainEvent]) -> Vec<Checkpoint> {
    events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Checkpoint(c) => Some((**c).clone()),
            _ => None,
        })
        .collect()
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "{what}: differ by up to {worst}");
}

#[test]
fn a_resumed_run_matches_the_uninterrupted_one() {
    let spec = ModelSpec::preset("cnn-16").unwrap();
    let data = common::fixture_train().take(192);
    let device = Backend::cpu().device;

    let mut whole = Trainer::new(&spec, config(3), data.clone(), device.clone()).unwrap();
    let events = train(&mut whole);
    let taken = checkpoints(&events);
    assert_eq!(taken.len(), 3, "one checkpoint per epoch");
    let after_one = &taken[0];
    assert_eq!((after_one.epochs_done, after_one.batches_done), (1, 0));
    assert_eq!(after_one.history.len(), 1);
    assert_eq!(after_one.samples_seen, 192);
    let params = spec.param_count().unwrap();
    assert_eq!(after_one.weights.len(), params * 4);
    assert_eq!(
        after_one.adam.len(),
        4 * 2,
        "weight and bias of two convs and two denses"
    );
    assert!(
        after_one.adam.iter().all(|slot| slot.time == 6),
        "six steps of Adam"
    );

    // The checkpoint crosses a process boundary as serialised bytes.
    let json = serde_json::to_vec(after_one).unwrap();
    let after_one: Checkpoint = serde_json::from_slice(&json).unwrap();

    let mut resumed = Trainer::resume(&spec, config(3), data, device, &after_one).unwrap();
    let resumed_events = train(&mut resumed);
    assert!(
        matches!(resumed_events[1], TrainEvent::Resumed { epoch: 1 }),
        "{:?}",
        &resumed_events[..2]
    );
    let whole_losses = common::epoch_losses(&events);
    let resumed_losses = common::epoch_losses(&resumed_events);
    assert_eq!(
        resumed_losses.len(),
        2,
        "only epochs 2 and 3 are trained again"
    );
    assert_close(&whole_losses[1..], &resumed_losses, "epoch losses");
    assert_eq!(resumed.history().len(), 3, "the history carries on");
    let end = checkpoints(&resumed_events).pop().unwrap();
    let whole_end = taken.last().unwrap();
    assert_close(
        &floats(&whole_end.weights),
        &floats(&end.weights),
        "final weights",
    );
    for (a, b) in whole_end.adam.iter().zip(&end.adam) {
        assert_eq!(a.time, b.time);
        assert_close(
            &floats(&a.moment_2),
            &floats(&b.moment_2),
            "Adam's second moments",
        );
    }
}

#[test]
fn a_checkpoint_of_another_model_is_refused_by_what_differs() {
    let data = common::fixture_train().take(64);
    let device = Backend::cpu().device;
    let small = ModelSpec::preset("cnn-16").unwrap();
    let mut trainer = Trainer::new(&small, config(1), data.clone(), device.clone()).unwrap();
    let checkpoint = checkpoints(&train(&mut trainer)).pop().unwrap();

    let other = ModelSpec::preset("cnn").unwrap();
    let message = Trainer::resume(&other, config(1), data.clone(), device.clone(), &checkpoint)
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with("cannot resume from the checkpoint: the checkpoint holds")
            && message.contains(&format!("the model has {}", other.param_count().unwrap())),
        "{message}"
    );
    let mut late = checkpoint.clone();
    late.epochs_done = 7;
    let message = Trainer::resume(&small, config(3), data, device, &late)
        .err()
        .unwrap()
        .to_string();
    assert!(
        message.contains("after epoch 7, beyond this run's 3 epochs"),
        "{message}"
    );
}

#[test]
fn a_stop_leaves_a_checkpoint_mid_epoch_and_early_stopping_state_travels() {
    let spec = ModelSpec::preset("cnn-16").unwrap();
    let data = common::fixture_train().take(128);
    let mut settings = config(4);
    settings.validation_split = 0.25;
    settings.early_stopping = Some(EarlyStoppingConfig {
        monitor: Monitor::ValLoss,
        patience: 3,
        min_delta: 0.0,
        restore_best_weights: true,
    });
    let mut trainer =
        Trainer::new(&spec, settings.clone(), data.clone(), Backend::cpu().device).unwrap();
    trainer.emit_checkpoints();
    let stop = trainer.stop_handle();
    let mut events = Vec::new();
    let mut batches = 0;
    convlab_core::block_on(run(&mut trainer, None, &mut |e| {
        if matches!(e, TrainEvent::Batch { .. }) {
            batches += 1;
            if batches == 4 {
                stop.request_stop();
            }
        }
        events.push(e)
    }))
    .unwrap();
    let last = checkpoints(&events).pop().unwrap();
    // 96 training images at batch 32: 3 batches an epoch; stopped after the 4th batch.
    assert_eq!((last.epochs_done, last.batches_done), (1, 1));
    let early = last.early_stopping.as_ref().unwrap();
    assert_eq!(early.best.map(|(epoch, _)| epoch), Some(1));
    assert_eq!(early.best_weights.len(), last.weights.len());
    assert!(last.finished, "a stopped run is over");
    let resumed = Trainer::resume(&spec, settings, data, Backend::cpu().device, &last).unwrap();
    assert_eq!(resumed.position(), (2, 1));
    assert!(
        resumed.is_finished(),
        "resuming a finished run only evaluates it"
    );
}
