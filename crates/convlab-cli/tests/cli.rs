//! The `convlab` binary end to end, on the committed Fashion-MNIST subset.
#![cfg(not(target_family = "wasm"))]

use std::process::{Command, Output};

fn convlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convlab"))
        .args(args)
        .output()
        .expect("convlab runs")
}

fn fixture() -> String {
    format!(
        "{}/../../tests/fixtures/fashion-mnist",
        env!("CARGO_MANIFEST_DIR")
    )
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
    assert!(text.contains("Epoch 2/2"), "{text}");
    assert!(text.contains(" - loss: "), "{text}");
    // The lab's callback is on (0.01) but not reached in 2 epochs.
    assert!(!text.contains("Reached the desired loss"), "{text}");
    let test_line = text.lines().find(|l| l.starts_with("Test: ")).expect(&text);
    let accuracy: f32 = test_line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(accuracy > 0.6, "{test_line}");
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
