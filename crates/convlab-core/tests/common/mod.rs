//! The committed fixture: the first 3,000 training and 1,000 test images of the real
//! Fashion-MNIST, written by `convlab subset` (see tests/fixtures/README.md).
#![allow(dead_code)]

use convlab_core::data::{TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};
use convlab_core::{Dataset, ModelSpec, TrainEvent};
use std::path::PathBuf;

// The crate's folder as `cargo test` gives it at run time: the build folder is shared by
// checkouts at different paths (CI's fresh clones), and a test binary built in one of them is
// reused by the others, so the path compiled in may no longer exist.
pub fn crate_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

pub fn fixture_dir() -> PathBuf {
    crate_dir().join("../../tests/fixtures/fashion-mnist")
}

pub fn fixture_train() -> Dataset {
    Dataset::load(&fixture_dir(), TRAIN_IMAGES, TRAIN_LABELS).expect("fixture train set")
}

pub fn fixture_test() -> Dataset {
    Dataset::load(&fixture_dir(), TEST_IMAGES, TEST_LABELS).expect("fixture test set")
}

/// The loss of each epoch, in order, from a run's events.
pub fn epoch_losses(events: &[TrainEvent]) -> Vec<f32> {
    events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Epoch(m) => Some(m.loss),
            _ => None,
        })
        .collect()
}

/// A stack from its text form (`conv:32:3:relu,pool:2,...`), which must parse.
pub fn layers(text: &str) -> ModelSpec {
    ModelSpec::parse_text(text).unwrap()
}
