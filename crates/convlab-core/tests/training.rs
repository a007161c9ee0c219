//! Real training on the committed Fashion-MNIST subset, on the CPU backend.

mod common;

use convlab_core::{
    run, Backend, EarlyStoppingConfig, ModelSpec, Monitor, StopReason, TrainConfig, TrainError,
    TrainEvent, Trainer, LOSS_THRESHOLD_MESSAGE,
};

fn train(preset: &str, config: TrainConfig, n: usize) -> (Vec<TrainEvent>, Trainer) {
    let data = common::fixture_train().take(n);
    let spec = ModelSpec::preset(preset).unwrap();
    let mut trainer = Trainer::new(&spec, config, data, Backend::cpu().device).unwrap();
    let mut events = Vec::new();
    let test = common::fixture_test();
    convlab_core::block_on(run(&mut trainer, Some(&test), &mut |e| events.push(e))).unwrap();
    (events, trainer)
}

fn batch_losses(events: &[TrainEvent]) -> Vec<f32> {
    events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Batch { loss, .. } => Some(*loss),
            _ => None,
        })
        .collect()
}

fn test_accuracy(events: &[TrainEvent]) -> f32 {
    match events.last() {
        Some(TrainEvent::Finished(e)) => e.accuracy,
        other => panic!("training did not end with a test evaluation: {other:?}"),
    }
}

fn stopped(events: &[TrainEvent]) -> Option<(usize, StopReason, String)> {
    events.iter().find_map(|e| match e {
        TrainEvent::Stopped {
            epoch,
            reason,
            message,
        } => Some((*epoch, reason.clone(), message.clone())),
        _ => None,
    })
}

#[test]
fn cnn_learns_from_real_images() {
    let config = TrainConfig {
        epochs: 2,
        report_every: 5,
        ..TrainConfig::default()
    };
    let (events, trainer) = train("cnn", config, 2000);
    let losses = batch_losses(&events);
    // 63 batches an epoch: reports at 5, 10, ..., 60 and the epoch's end.
    assert_eq!(losses.len(), 2 * 13, "{losses:?}");
    assert!(
        losses[0] > 1.5,
        "first running loss {} should be near ln(10)",
        losses[0]
    );
    let epochs = common::epoch_losses(&events);
    assert!(epochs[1] < epochs[0] * 0.8, "loss did not fall: {epochs:?}");
    let accuracy = test_accuracy(&events);
    assert!(
        accuracy > 0.65,
        "test accuracy {accuracy} after 2 epochs on 2000 images"
    );
    assert_eq!(trainer.history().len(), 2);
    assert!(trainer.stop_reason().is_none());
    match &events[0] {
        TrainEvent::Started {
            train_samples,
            batches_per_epoch,
            params,
            ..
        } => assert_eq!(
            (*train_samples, *batches_per_epoch, *params),
            (2000, 63, 113_386)
        ),
        other => panic!("first event {other:?}"),
    }
    let seen: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Batch { samples_seen, .. } => Some(*samples_seen),
            _ => None,
        })
        .collect();
    assert_eq!(seen[0], 160);
    assert_eq!(*seen.last().unwrap(), 4000);

    // Each prediction's probability, for the mistakes view: the largest of ten probabilities,
    // so at least a tenth; the most confident mistakes come first.
    let Some(TrainEvent::Finished(evaluation)) = events.last() else {
        unreachable!("checked by test_accuracy")
    };
    assert_eq!(evaluation.confidences.len(), 1000);
    assert!(evaluation
        .confidences
        .iter()
        .all(|&c| (0.1..=1.0).contains(&c)));
    let labels = common::fixture_test().labels;
    let mistakes = evaluation.mistakes(&labels);
    assert_eq!(mistakes.len(), (1000.0 * (1.0 - accuracy)).round() as usize);
    assert!(mistakes
        .windows(2)
        .all(|w| w[0].confidence >= w[1].confidence));
}

#[test]
fn dnn_learns_and_reports_validation() {
    let config = TrainConfig {
        epochs: 3,
        validation_split: 0.2,
        ..TrainConfig::default()
    };
    let (events, _) = train("dnn", config, 3000);
    let epochs: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Epoch(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(epochs.len(), 3);
    for m in &epochs {
        assert_eq!(m.samples, 2400);
        let val = m.val_accuracy.expect("validation accuracy");
        assert!(val > 0.5 && val <= 1.0, "{m:?}");
        assert!(m.val_loss.unwrap().is_finite());
    }
    assert!(epochs[2].loss < epochs[0].loss);
    assert!(test_accuracy(&events) > 0.7);
}

#[test]
fn same_seed_gives_same_losses_and_another_seed_does_not() {
    let config = |seed| TrainConfig {
        epochs: 1,
        seed,
        report_every: 10,
        ..TrainConfig::default()
    };
    let (a, _) = train("cnn", config(7), 640);
    let (b, _) = train("cnn", config(7), 640);
    let (c, _) = train("cnn", config(8), 640);
    assert_eq!(batch_losses(&a), batch_losses(&b));
    assert_ne!(batch_losses(&a), batch_losses(&c));
    assert_eq!(test_accuracy(&a), test_accuracy(&b));
}

#[test]
fn loss_threshold_callback_stops_with_the_lab_message() {
    let config = TrainConfig {
        epochs: 5,
        stop_at_loss: Some(5.0),
        ..TrainConfig::default()
    };
    let (events, trainer) = train("dnn", config, 1000);
    let (epoch, reason, message) = stopped(&events).expect("the callback should stop training");
    assert_eq!(epoch, 1);
    assert_eq!(message, "Reached the desired loss, so cancelling training!");
    assert_eq!(message, LOSS_THRESHOLD_MESSAGE);
    assert!(matches!(reason, StopReason::LossThreshold { threshold, .. } if threshold == 5.0));
    assert_eq!(trainer.history().len(), 1);
    // Evaluation still runs after the early stop, as in the lab.
    assert!(test_accuracy(&events) > 0.3);

    // A threshold the loss never reaches lets every epoch run.
    let config = TrainConfig {
        epochs: 2,
        stop_at_loss: Some(0.01),
        ..TrainConfig::default()
    };
    let (events, _) = train("dnn", config, 500);
    assert!(stopped(&events).is_none());
    assert_eq!(common::epoch_losses(&events).len(), 2);
}

#[test]
fn early_stopping_patience_and_restore_best_weights() {
    // No epoch can beat the first by 10.0, so patience 2 stops after epoch 3.
    let config = TrainConfig {
        epochs: 10,
        validation_split: 0.25,
        early_stopping: Some(EarlyStoppingConfig {
            monitor: Monitor::ValLoss,
            min_delta: 10.0,
            patience: 2,
            restore_best_weights: true,
        }),
        ..TrainConfig::default()
    };
    let (events, trainer) = train("dnn", config, 1200);
    let (epoch, reason, message) = stopped(&events).expect("early stopping should fire");
    assert_eq!(epoch, 3);
    match reason {
        StopReason::EarlyStopping {
            monitor,
            best_epoch,
            patience,
            restored_best_weights,
            ..
        } => {
            assert_eq!((monitor, best_epoch, patience), (Monitor::ValLoss, 1, 2));
            assert!(restored_best_weights);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        message.contains("val_loss did not improve for 2 epoch(s)"),
        "{message}"
    );
    assert!(message.contains("at epoch 1"), "{message}");
    // The restored model is epoch 1's: its validation loss is epoch 1's again.
    let first = trainer.history()[0].val_loss.unwrap();
    let data = common::fixture_train().take(1200);
    let (_, val) = data.split_validation(0.25);
    let now = convlab_core::block_on(convlab_core::evaluate(
        trainer.model(),
        &val,
        trainer.device(),
    ))
    .unwrap();
    assert!((now.loss - first).abs() < 1e-5, "{} vs {first}", now.loss);
}

#[test]
fn exploding_loss_stops_with_a_clear_reason() {
    let config = TrainConfig {
        epochs: 2,
        learning_rate: 1e30,
        report_every: 1,
        ..TrainConfig::default()
    };
    let (events, _) = train("dnn", config, 640);
    let (_, reason, message) = stopped(&events).expect("a non-finite loss must stop training");
    assert!(matches!(reason, StopReason::NonFinite { .. }), "{reason:?}");
    assert!(message.contains("try a lower learning rate"), "{message}");
}

#[test]
fn stop_request_is_honoured_before_the_next_batch() {
    let data = common::fixture_train().take(640);
    let spec = ModelSpec::preset("dnn").unwrap();
    let config = TrainConfig {
        report_every: 1,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(&spec, config, data, Backend::cpu().device).unwrap();
    let stop = trainer.stop_handle();
    let mut events = Vec::new();
    for _ in 0..3 {
        assert!(convlab_core::block_on(trainer.step(&mut |e| events.push(e))).unwrap());
    }
    stop.request_stop();
    assert!(!convlab_core::block_on(trainer.step(&mut |e| events.push(e))).unwrap());
    let batches = batch_losses(&events).len();
    assert_eq!(batches, 3);
    assert_eq!(trainer.stop_reason(), Some(&StopReason::Requested));
}

#[test]
fn bad_settings_are_refused_by_name() {
    let data = common::fixture_train().take(100);
    let spec = ModelSpec::preset("dnn").unwrap();
    let refuse = |config: TrainConfig| match Trainer::new(
        &spec,
        config,
        data.clone(),
        Backend::cpu().device,
    ) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("accepted a bad setting"),
    };
    let msg = refuse(TrainConfig {
        batch_size: 0,
        ..TrainConfig::default()
    });
    assert_eq!(
        msg,
        "invalid setting batch_size: must be between 1 and 8192, got 0"
    );
    let msg = refuse(TrainConfig {
        early_stopping: Some(EarlyStoppingConfig {
            monitor: Monitor::ValAccuracy,
            min_delta: 0.0,
            patience: 1,
            restore_best_weights: false,
        }),
        ..TrainConfig::default()
    });
    assert_eq!(
        msg,
        "invalid setting early_stopping.monitor: val_accuracy needs a validation split greater than 0"
    );
    let msg = refuse(TrainConfig {
        learning_rate: f64::NAN,
        ..TrainConfig::default()
    });
    assert!(msg.starts_with("invalid setting learning_rate"), "{msg}");
    let bad_spec = ModelSpec {
        layers: vec![convlab_core::LayerSpec::Flatten],
    };
    let err = Trainer::new(
        &bad_spec,
        TrainConfig::default(),
        data,
        Backend::cpu().device,
    );
    assert!(matches!(err, Err(TrainError::Spec(_))));
}

/// One vocabulary: the CLI's `--json` events and the page's host events name a stop reason
/// the same way (the README's "Stop reasons" table).
#[test]
fn stop_reasons_have_one_name_everywhere() {
    let reasons = [
        StopReason::LossThreshold {
            loss: 0.3,
            threshold: 0.4,
        },
        StopReason::EarlyStopping {
            monitor: Monitor::ValLoss,
            best_epoch: 2,
            best_value: 0.3,
            patience: 1,
            restored_best_weights: false,
        },
        StopReason::NonFinite {
            batch: 3,
            value: f32::NAN,
        },
        StopReason::Requested,
    ];
    let names: Vec<&str> = reasons.iter().map(StopReason::code).collect();
    assert_eq!(names, StopReason::CODES);
    for reason in &reasons {
        let json = serde_json::to_value(reason).unwrap();
        assert_eq!(json["kind"], reason.code(), "{json}");
    }
    let readme = include_str!("../../../README.md");
    for name in StopReason::CODES {
        assert!(
            readme.contains(&format!("| `{name}` |")),
            "README documents {name}"
        );
    }
}
