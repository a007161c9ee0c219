//! What a run may ask for: the memory a model needs against the budget, every training
//! setting's range, and a loss that turns NaN, all refused or stopped with a message that
//! names the setting, the layer or the reason.

mod common;

use common::layers;

use convlab_core::spec::EVALUATION_BATCH;
use convlab_core::train::{allowed, MAX_PATIENCE};
use convlab_core::{
    EarlyStoppingConfig, MemoryEstimate, ModelSpec, Monitor, SpecError, TrainConfig, MEMORY_BUDGET,
};

#[test]
fn the_memory_estimate_of_the_lab_cnn_adds_up() {
    let cnn = ModelSpec::preset("cnn").unwrap();
    let e = cnn.memory_estimate(32).unwrap();
    let params = 113_386u64;
    // The input and every output but Flatten's: 784 + 21,632 + 5,408 + 3,872 + 800 + 128 + 10.
    let kept = 32_634u64;
    // Widest evaluation step: the first pooling, 21,632 in and 5,408 out.
    let widest = 27_040u64;
    // Widest patches: the second convolution, 3x3x32 per position, 11x11 positions.
    let patches = 9 * 32 * 11 * 11;
    assert_eq!(
        e,
        MemoryEstimate {
            batch_size: 32,
            params,
            weights: params * 4,
            gradients: params * 4,
            adam_state: params * 8,
            activations: 2 * 32 * kept * 4,
            evaluation: EVALUATION_BATCH as u64 * widest * 4,
            workspace: 32 * patches * 4,
            total: params * 16 + 32 * patches * 4 + EVALUATION_BATCH as u64 * widest * 4,
        }
    );
    assert_eq!(
        e.to_string(),
        "about 57.56 MB (weights 442.91 KB, gradients 442.91 KB, Adam state 885.83 KB, \
         activations 7.97 MB at batch 32, evaluation pass 51.57 MB, convolution patches 4.25 MB)"
    );
    assert_eq!(cnn.check_memory(32), Ok(e));
    // Activations grow with the batch; the rest does not.
    let big = cnn.memory_estimate(4096).unwrap();
    assert_eq!(big.activations, e.activations * 128);
    assert_eq!(big.weights, e.weights);
    assert_eq!(big.total, params * 16 + 32 * patches * 4 + big.activations);
    // Every preset fits at every batch the page offers up to 1024.
    for name in convlab_core::PRESET_NAMES {
        let spec = ModelSpec::preset(name).unwrap();
        assert!(spec.check_memory(1024).is_ok(), "{name}");
    }
}

#[test]
fn a_model_too_large_to_train_is_refused_with_its_estimate_and_the_budget() {
    assert_eq!(MEMORY_BUDGET, 2 << 30);
    // The lab's widest CNN at the largest batch: its activations alone are over 2 GiB.
    let spec = ModelSpec::preset("cnn-64").unwrap();
    let err = spec.check_memory(8192).unwrap_err();
    let SpecError::TooLarge { estimate, budget } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((estimate.batch_size, *budget), (8192, MEMORY_BUDGET));
    assert!(estimate.total > MEMORY_BUDGET);
    let msg = err.to_string();
    assert!(
        msg.starts_with("training at batch 8192 needs about 3.94 GB (weights 952.29 KB, gradients 952.29 KB, Adam state 1.86 MB"),
        "{msg}"
    );
    for part in [
        "activations 3.93 GB at batch 8192",
        "evaluation pass",
        "convolution patches",
        "more than the 2.00 GB budget",
        "use a smaller batch size, or fewer filters, units or layers",
    ] {
        assert!(msg.contains(part), "{part}: {msg}");
    }
    assert!(spec.check_memory(512).is_ok());

    // Wide 1x1 convolutions: fine at batch 1 for training, but an evaluation pass of 500
    // images through two 28x28x1024 maps is 3 GB.
    let spec = layers("conv:1024:1,conv:1024:1,pool:2,flatten,dense:10");
    let msg = spec.check_memory(1).unwrap_err().to_string();
    assert!(msg.contains("evaluation pass 2.99 GB"), "{msg}");
    // One convolution whose input patches for a block of 32 images are 5.38 GB.
    let spec = layers("conv:1024:1,conv:2:14,flatten,dense:10");
    let msg = spec.check_memory(1).unwrap_err().to_string();
    assert!(msg.contains("convolution patches 5.38 GB"), "{msg}");
    // A batch of usize::MAX saturates instead of overflowing.
    let e = ModelSpec::preset("dnn")
        .unwrap()
        .memory_estimate(usize::MAX);
    assert_eq!(e.unwrap().total, u64::MAX);
    let err = ModelSpec::preset("dnn").unwrap().check_memory(usize::MAX);
    assert!(matches!(err, Err(SpecError::TooLarge { .. })));
}

#[test]
fn check_training_uses_the_batch_training_will_use() {
    let spec = ModelSpec::preset("cnn-64").unwrap();
    // Larger than the training set: as in Keras, one batch of every training image.
    let config = TrainConfig {
        batch_size: 8192,
        validation_split: 0.2,
        ..TrainConfig::default()
    };
    assert_eq!(config.effective_batch(100), 80);
    assert_eq!(config.check_training(&spec, 100).unwrap().batch_size, 80);
    // On the full training set the same settings are over the budget, before any tensor.
    let msg = config
        .check_training(&spec, 60_000)
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("invalid model: training at batch 8192 needs about"),
        "{msg}"
    );
    // Bad settings are named before the model is looked at.
    let msg = TrainConfig {
        epochs: 0,
        ..TrainConfig::default()
    }
    .check_training(&ModelSpec { layers: vec![] }, 100)
    .unwrap_err()
    .to_string();
    assert_eq!(
        msg,
        "invalid setting epochs: must be between 1 and 1000, got 0"
    );
    let msg = TrainConfig::default()
        .check_training(&layers("flatten,dense:7"), 100)
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("invalid model: the last layer must give 10"),
        "{msg}"
    );
}

#[test]
fn every_setting_out_of_range_is_named_with_its_range() {
    let es = |monitor, patience, min_delta| {
        Some(EarlyStoppingConfig {
            monitor,
            patience,
            min_delta,
            restore_best_weights: false,
        })
    };
    let d = TrainConfig::default;
    let cases: Vec<(TrainConfig, usize, &str)> = vec![
        (TrainConfig { epochs: 0, ..d() }, 100, "invalid setting epochs: must be between 1 and 1000, got 0"),
        (TrainConfig { epochs: 1_000_000_000, ..d() }, 100, "invalid setting epochs: must be between 1 and 1000, got 1000000000"),
        (TrainConfig { batch_size: 0, ..d() }, 100, "invalid setting batch_size: must be between 1 and 8192, got 0"),
        (TrainConfig { batch_size: 100_000, ..d() }, 100, "invalid setting batch_size: must be between 1 and 8192, got 100000"),
        (TrainConfig { learning_rate: 0.0, ..d() }, 100, "invalid setting learning_rate: must be a finite number greater than 0, got 0"),
        (TrainConfig { learning_rate: -0.1, ..d() }, 100, "invalid setting learning_rate: must be a finite number greater than 0, got -0.1"),
        (TrainConfig { learning_rate: f64::NAN, ..d() }, 100, "invalid setting learning_rate: must be a finite number greater than 0, got NaN"),
        (TrainConfig { learning_rate: f64::INFINITY, ..d() }, 100, "invalid setting learning_rate: must be a finite number greater than 0, got inf"),
        (TrainConfig { validation_split: -0.1, ..d() }, 100, "invalid setting validation_split: must be in [0, 1), got -0.1"),
        (TrainConfig { validation_split: 1.0, ..d() }, 100, "invalid setting validation_split: must be in [0, 1), got 1"),
        (TrainConfig { validation_split: f32::NAN, ..d() }, 100, "invalid setting validation_split: must be in [0, 1), got NaN"),
        (TrainConfig { stop_at_loss: Some(0.0), ..d() }, 100, "invalid setting stop_at_loss: must be a finite number greater than 0, got 0"),
        (TrainConfig { stop_at_loss: Some(-1.0), ..d() }, 100, "invalid setting stop_at_loss: must be a finite number greater than 0, got -1"),
        (TrainConfig { stop_at_loss: Some(f32::NAN), ..d() }, 100, "invalid setting stop_at_loss: must be a finite number greater than 0, got NaN"),
        (TrainConfig { report_every: 0, ..d() }, 100, "invalid setting report_every: must be at least 1"),
        (TrainConfig::default(), 0, "invalid setting data: there are no training examples"),
        (TrainConfig { early_stopping: es(Monitor::Loss, 0, -0.5), ..d() }, 100, "invalid setting early_stopping.min_delta: must be a finite number of 0 or more, got -0.5"),
        (TrainConfig { early_stopping: es(Monitor::Loss, 0, f32::INFINITY), ..d() }, 100, "invalid setting early_stopping.min_delta: must be a finite number of 0 or more, got inf"),
        (TrainConfig { early_stopping: es(Monitor::Loss, MAX_PATIENCE + 1, 0.0), ..d() }, 100, "invalid setting early_stopping.patience: must be between 0 and 1000, got 1001"),
        (TrainConfig { early_stopping: es(Monitor::ValLoss, 2, 0.0), ..d() }, 100, "invalid setting early_stopping.monitor: val_loss needs a validation split greater than 0"),
    ];
    for (config, train_len, message) in cases {
        assert_eq!(
            config.validate(train_len).unwrap_err().to_string(),
            message,
            "{config:?}"
        );
    }
    // Allowed: a batch larger than the training set, a huge learning rate (which a NaN
    // loss then stops), patience 0, a huge threshold.
    for config in [
        TrainConfig {
            batch_size: 8192,
            ..d()
        },
        TrainConfig {
            learning_rate: 1e30,
            ..d()
        },
        TrainConfig {
            stop_at_loss: Some(1e30),
            early_stopping: es(Monitor::Loss, 0, 0.0),
            ..d()
        },
    ] {
        assert!(config.validate(100).is_ok(), "{config:?}");
    }
    // What the parsers say a setting allows.
    assert_eq!(allowed("epochs"), "a whole number from 1 to 1000");
    assert_eq!(allowed("batch_size"), "a whole number from 1 to 8192");
    assert_eq!(allowed("patience"), "a whole number from 0 to 1000");
    assert_eq!(allowed("learning_rate"), "a number greater than 0");
    assert_eq!(
        allowed("validation_split"),
        "a number from 0 up to, not including, 1"
    );
}

/// Keras's TerminateOnNaN: a learning rate that makes the loss NaN or infinite stops the run
/// with the reason, and the run's record (history, stop reason, test result, model header)
/// is kept.
#[test]
fn a_loss_that_turns_nan_stops_the_run_and_keeps_its_record() {
    let data = common::fixture_train().take(640);
    let spec = ModelSpec::preset("dnn").unwrap();
    let config = TrainConfig {
        epochs: 3,
        learning_rate: 1e30,
        report_every: 1,
        ..TrainConfig::default()
    };
    let mut trainer =
        convlab_core::Trainer::new(&spec, config, data, convlab_core::Backend::cpu().device)
            .unwrap();
    let mut stopped = None;
    let test = common::fixture_test().take(100);
    let summary = convlab_core::block_on(convlab_core::run(&mut trainer, Some(&test), &mut |e| {
        if let convlab_core::TrainEvent::Stopped { message, .. } = e {
            stopped = Some(message);
        }
    }))
    .expect("a NaN loss ends the run, it is not an error");
    let Some(convlab_core::StopReason::NonFinite { batch, value }) = summary.stop_reason else {
        panic!("{:?}", summary.stop_reason)
    };
    assert!(!value.is_finite() && batch >= 1);
    let message = stopped.expect("a Stopped event");
    assert!(
        message.starts_with("Training stopped: the loss became")
            && message.ends_with("try a lower learning rate"),
        "{message}"
    );
    let trained = summary
        .header
        .trained
        .expect("the record says how it was trained");
    assert_eq!(trained.epochs_run, summary.history.len());
    assert!(summary.history.len() < 3);
    assert_eq!(trained.config.learning_rate, 1e30);
    assert!(summary.test.is_some(), "the test set is still evaluated");
}
