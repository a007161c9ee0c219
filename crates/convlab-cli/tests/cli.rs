//! The `convlab` binary end to end, on the committed Fashion-MNIST subset.
#![cfg(not(target_family = "wasm"))]

use std::process::{Command, Output};

fn convlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convlab"))
        .args(args)
        .output()
        .expect("convlab runs")
}

// The crate's folder as `cargo test` gives it at run time: the build folder is shared by
// checkouts at different paths (CI's fresh clones), and a test binary built in one of them is
// reused by the others, so the path compiled in may no longer exist.
fn crate_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into())
}

fn fixture() -> String {
    format!("{}/../../tests/fixtures/fashion-mnist", crate_dir())
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn summary_prints_the_keras_table() {
    let out = convlab(&["summary", "--preset", "cnn-64"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("conv2d_1 (Conv2D)"), "{text}");
    assert!(text.contains("(None, 5, 5, 64)"), "{text}");
    assert!(text.contains("Total params: 243,786"), "{text}");
}

#[test]
fn train_logs_epochs_and_evaluates() {
    let data = fixture();
    let out = convlab(&[
        "train",
        "--preset",
        "dnn",
        "--epochs",
        "2",
        "--limit",
        "1000",
        "--data",
        &data,
        "--stop-at-loss",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Backend: CPU (burn-flex)"), "{text}");
    assert!(text.contains("Training on 1000 images"), "{text}");
    assert!(
        text.contains("Memory to train: about ") && text.contains("of a 2.00 GB budget"),
        "{text}"
    );
    assert!(text.contains("Epoch 2/2"), "{text}");
    assert!(text.contains(" - loss: "), "{text}");
    // The lab's callback is on (0.01) but not reached in 2 epochs.
    assert!(!text.contains("Reached the desired loss"), "{text}");
    let test_line = text.lines().find(|l| l.starts_with("Test: ")).expect(&text);
    let accuracy: f32 = test_line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(accuracy > 0.6, "{test_line}");
    // Then the pairs it mixes up most, each way adding up to the pair's count.
    let confused = text
        .lines()
        .find(|l| l.starts_with("Most confused: "))
        .expect(&text);
    let first = confused["Most confused: ".len()..]
        .split("; ")
        .next()
        .unwrap();
    let numbers: Vec<usize> = first
        .split([' ', '('])
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 3, "{confused}");
    assert_eq!(numbers[0], numbers[1] + numbers[2], "{confused}");
}

#[test]
fn json_events_and_the_threshold_message() {
    let data = fixture();
    let out = convlab(&[
        "train",
        "--preset",
        "dnn",
        "--epochs",
        "3",
        "--limit",
        "500",
        "--test-limit",
        "200",
        "--data",
        &data,
        "--json",
        "--stop-at-loss",
        "3.0",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"started"));
    assert_eq!(events[0]["backend"], "CPU (burn-flex)");
    assert_eq!(&kinds[kinds.len() - 3..], ["epoch", "stopped", "finished"]);
    let stopped = &events[kinds.len() - 2];
    assert_eq!(
        stopped["message"],
        "Reached the desired loss, so cancelling training!"
    );
    assert_eq!(
        events.last().unwrap()["predictions"]
            .as_array()
            .unwrap()
            .len(),
        200
    );
}

#[test]
fn bad_input_gets_a_clear_error() {
    let out = convlab(&["summary", "--preset", "resnet"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unknown preset 'resnet': choose one of dnn, cnn, cnn-16"),
        "{}",
        stderr(&out)
    );
    let out = convlab(&["train", "--data", "/nonexistent"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("/nonexistent/train-images-idx3-ubyte.gz: cannot read"),
        "{}",
        stderr(&out)
    );
    let out = convlab(&["train", "--data", &fixture(), "--batch-size", "0"]);
    assert!(
        stderr(&out).contains("invalid setting batch_size"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_saved_model_evaluates_to_the_same_accuracy() {
    let data = fixture();
    let dir = std::env::temp_dir().join(format!("convlab-cli-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cnn16.convlab");
    let file = file.to_str().unwrap();
    let out = convlab(&[
        "train",
        "--layers",
        "conv:16:3:relu,pool:2,flatten,dense:10:softmax",
        "--epochs",
        "1",
        "--limit",
        "500",
        "--data",
        &data,
        "--save",
        file,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let trained = stdout(&out);
    assert!(trained.contains("Saved the model to"), "{trained}");
    let out = convlab(&["evaluate", file, "--data", &data]);
    assert!(out.status.success(), "{}", stderr(&out));
    let evaluated = stdout(&out);
    assert!(evaluated.contains("conv2d (Conv2D)"), "{evaluated}");
    assert!(
        evaluated.contains("Trained for 1 epoch(s) on 500 images"),
        "{evaluated}"
    );
    let test_line = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("Test: "))
            .unwrap()
            .split(" (")
            .next()
            .unwrap()
            .to_string()
    };
    // Same weights, same test images: the same loss and accuracy to four places.
    assert_eq!(test_line(&trained), test_line(&evaluated));

    // Not a model file: refused, naming the file and what is wrong.
    let bogus = dir.join("notes.convlab");
    std::fs::write(&bogus, "these are my notes, not a model").unwrap();
    let out = convlab(&["evaluate", bogus.to_str().unwrap(), "--data", &data]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("notes.convlab: not a convlab model file: bytes 0-7 are \"these ar\""),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn own_pictures_are_made_ready_and_classified() {
    let data = fixture();
    let dir = std::env::temp_dir().join(format!("convlab-cli-classify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("cnn.convlab");
    let model = model.to_str().unwrap();
    let out = convlab(&[
        "train", "--epochs", "2", "--limit", "3000", "--data", &data, "--save", model,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Test image 0 (an ankle boot) photographed brown on a beige table, and a file that is
    // not a picture: the photo is classified, the other named, and the command fails.
    let photo = format!(
        "{}/../../tests/fixtures/pictures/ankle-boot-photo.png",
        crate_dir()
    );
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "not a picture").unwrap();
    let out = convlab(&["classify", model, &photo, notes.to_str().unwrap()]);
    assert!(!out.status.success());
    let text = stdout(&out);
    let mut lines = text.lines();
    let verdict = lines.next().unwrap();
    assert!(
        verdict.starts_with(&format!("{photo}: Ankle boot (")),
        "{text}"
    );
    assert!(
        verdict.contains("negated (a dark item on a light background)"),
        "{text}"
    );
    let percents: Vec<f32> = lines
        .map(|l| {
            let number = l
                .split('%')
                .next()
                .unwrap()
                .split_whitespace()
                .last()
                .unwrap();
            number.parse().unwrap()
        })
        .collect();
    assert_eq!(percents.len(), 10, "{text}");
    let sum: f32 = percents.iter().sum();
    assert!(
        (sum - 100.0).abs() < 0.6,
        "the probabilities add up to {sum}%"
    );
    let err = stderr(&out);
    assert!(
        err.contains("notes.txt is not a picture the lab reads (PNG, JPEG or WebP)"),
        "{err}"
    );
    assert!(
        err.contains("1 of 2 pictures could not be classified"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn keras_prints_the_notebook_code() {
    let out = convlab(&["keras", "--preset", "cnn-16", "--epochs", "20"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "tf.keras.layers.Conv2D(16, (3, 3), activation='relu', input_shape=(28, 28, 1)),"
        ),
        "{text}"
    );
    assert!(text.contains("epochs=20, batch_size=32)"), "{text}");
    let out = convlab(&["summary", "--layers", "conv:8,dense:10"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Dense needs a flat input"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn stacks_that_cannot_fit_or_are_absurd_are_refused_naming_the_layer() {
    let data = fixture();
    let dir = std::env::temp_dir().join(format!("convlab-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let many = dir.join("many.json");
    let layer = r#"{"type": "Flatten"}"#;
    std::fs::write(
        &many,
        format!(r#"{{"layers": [{}]}}"#, vec![layer; 500].join(",")),
    )
    .unwrap();
    let negative = dir.join("negative.json");
    std::fs::write(
        &negative,
        r#"{"layers": [{"type": "Flatten"}, {"type": "Dense", "units": -5}]}"#,
    )
    .unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--layers", "conv:32:30,flatten,dense:10:softmax"],
            "layer 0 (Conv2D): kernel 30x30 does not fit the 28x28 input (input (None, 28, 28, 1))",
        ),
        (
            vec!["--layers", "conv:1000000000,flatten,dense:10:softmax"],
            "layer 0 (Conv2D): filters must be between 1 and 1024, got 1000000000",
        ),
        (
            vec!["--layers", "flatten,dense:1000000000,dense:10"],
            "layer 1 (Dense): units must be between 1 and 8192, got 1000000000",
        ),
        (
            vec!["--layers", "flatten,dense:-5"],
            "--layers: layer 1 'dense:-5': units '-5' is not a whole number from 1 to 8192",
        ),
        (
            vec!["--layers", "conv2d:1e9"],
            "--layers: layer 0 'conv2d:1e9': filters '1e9' is not a whole number from 1 to 1024",
        ),
        (
            vec!["--layers", "dense -5"],
            "--layers: layer 0 'dense -5': unknown layer 'dense -5'",
        ),
        (
            vec!["--model", many.to_str().unwrap()],
            "many.json: the model has 500 layers; at most 64 are allowed",
        ),
        (
            vec!["--model", negative.to_str().unwrap()],
            "negative.json: model spec is not valid JSON: layer 1: invalid value: integer `-5`",
        ),
    ];
    for (args, message) in cases {
        for command in ["summary", "train"] {
            let mut all = vec![command];
            all.extend(&args);
            if command == "train" {
                all.extend(["--data", &data]);
            }
            let out = convlab(&all);
            assert!(!out.status.success(), "{all:?}");
            assert!(stderr(&out).contains(message), "{all:?}: {}", stderr(&out));
            assert!(!stdout(&out).contains("Backend:"), "nothing was trained");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_model_too_large_to_train_is_refused_with_its_memory_estimate() {
    let data = fixture();
    // Fine at batch 1 for training, but an evaluation pass over 500 images of two
    // 28x28x1024 maps is 3 GB: refused before any tensor, with the estimate in parts.
    let out = convlab(&[
        "train",
        "--layers",
        "conv:1024:1,conv:1024:1,pool:2,flatten,dense:10:softmax",
        "--batch-size",
        "1",
        "--data",
        &data,
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("error: invalid model: training at batch 1 needs about 3.13 GB (weights"),
        "{err}"
    );
    for part in [
        "Adam state",
        "evaluation pass 2.99 GB",
        "more than the 2.00 GB budget",
        "use a smaller batch size",
    ] {
        assert!(err.contains(part), "{part}: {err}");
    }
    assert_eq!(err.matches("needs about").count(), 1, "said once: {err}");
    assert!(!stdout(&out).contains("Backend:"), "nothing was trained");
    // The lab's widest CNN at the largest batch, as the Keras code of a full run.
    let out = convlab(&["keras", "--preset", "cnn-64", "--batch-size", "8192"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("training at batch 8192 needs about 3.94 GB"),
        "{}",
        stderr(&out)
    );
    // On the 3,000 fixture images a batch of 8192 is one batch of 3,000 (as in Keras).
    let out = convlab(&[
        "train",
        "--preset",
        "dnn",
        "--batch-size",
        "8192",
        "--epochs",
        "1",
        "--data",
        &data,
        "--test-limit",
        "100",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("activations 21.10 MB at batch 3000"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn settings_out_of_range_name_the_option_and_its_range() {
    let data = fixture();
    let cases: &[(&[&str], &str)] = &[
        (&["--epochs", "-5"], "invalid value '-5' for '--epochs <EPOCHS>': '-5' is not a whole number from 1 to 1000"),
        (&["--epochs", "1e3"], "'1e3' is not a whole number from 1 to 1000"),
        (&["--epochs", "0"], "invalid setting epochs: must be between 1 and 1000, got 0"),
        (&["--epochs", "1000000000"], "invalid setting epochs: must be between 1 and 1000, got 1000000000"),
        (&["--batch-size", "lots"], "invalid value 'lots' for '--batch-size <BATCH_SIZE>': 'lots' is not a whole number from 1 to 8192"),
        (&["--batch-size", "100000"], "invalid setting batch_size: must be between 1 and 8192, got 100000"),
        (&["--learning-rate", "abc"], "'abc' is not a number greater than 0"),
        (&["--learning-rate", "-1"], "invalid setting learning_rate: must be a finite number greater than 0, got -1"),
        (&["--learning-rate", "0"], "invalid setting learning_rate: must be a finite number greater than 0, got 0"),
        (&["--learning-rate", "NaN"], "invalid setting learning_rate: must be a finite number greater than 0, got NaN"),
        (&["--learning-rate", "inf"], "invalid setting learning_rate: must be a finite number greater than 0, got inf"),
        (&["--validation-split", "1.5"], "invalid setting validation_split: must be in [0, 1), got 1.5"),
        (&["--validation-split", "-0.1"], "invalid setting validation_split: must be in [0, 1), got -0.1"),
        (&["--validation-split", "NaN"], "invalid setting validation_split: must be in [0, 1), got NaN"),
        (&["--stop-at-loss", "-1"], "invalid setting stop_at_loss: must be a finite number greater than 0, got -1"),
        (&["--stop-at-loss", "x"], "'x' is not a number greater than 0"),
        (&["--limit", "0"], "invalid value '0' for '--limit <LIMIT>': '0' is not a whole number of at least 1"),
        (&["--test-limit", "-3"], "'-3' is not a whole number of at least 1"),
        (&["--seed", "-1"], "'-1' is not a whole number from 0 to 18446744073709551615"),
        (&["--early-stopping", "loss", "--patience", "-1"], "'-1' is not a whole number from 0 to 1000"),
        (&["--early-stopping", "loss", "--patience", "5000"], "invalid setting early_stopping.patience: must be between 0 and 1000, got 5000"),
        (&["--early-stopping", "loss", "--min-delta", "-0.5"], "invalid setting early_stopping.min_delta: must be a finite number of 0 or more, got -0.5"),
        (&["--early-stopping", "val_loss"], "invalid setting early_stopping.monitor: val_loss needs a validation split greater than 0"),
    ];
    for (args, message) in cases {
        let mut all = vec!["train", "--preset", "dnn", "--data", &data];
        all.extend(args.iter());
        let out = convlab(&all);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        assert!(
            !stdout(&out).contains("Backend:"),
            "{args:?}: nothing was trained"
        );
    }
}
