//! What the student sets up and the page keeps: the training settings (model.compile /
//! model.fit and the callbacks) and the saved state (the model being edited, the settings and
//! the dataset folder), which survive a reload. Plain data; storage is in [`super::storage`].

use crate::protocol::BackendChoice;
use convlab_core::data::validation_len;
use convlab_core::train::{allowed, DEFAULT_LOSS_THRESHOLD};
use convlab_core::units::human_bytes;
use convlab_core::{
    EarlyStoppingConfig, MemoryEstimate, ModelSpec, Monitor, SpecError, TrainConfig, MEMORY_BUDGET,
};
use serde::{Deserialize, Serialize};

/// Where the lab's own state is kept; a URL that sets up an experiment keeps its edits under
/// this key plus the experiment, so opening a course's exercise never overwrites the lab.
pub const STORAGE_KEY: &str = "convlab.state.v1";

/// What the settings form holds, checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub seed: u64,
    pub validation_split: f32,
    /// Train on the first this-many training images.
    pub train_limit: usize,
    /// Settings saved before the choice was automatic held the "Use WebGPU" checkbox.
    #[serde(alias = "prefer_webgpu")]
    pub backend: BackendChoice,
    /// Workers that share each batch on the CPU; `None`: automatic (one per core, each with
    /// at least 16 images of a batch).
    pub cpu_workers: Option<usize>,
    pub stop_at_loss_on: bool,
    pub stop_at_loss: f32,
    pub early_stopping_on: bool,
    pub monitor: Monitor,
    pub patience: usize,
    pub min_delta: f32,
    pub restore_best_weights: bool,
}

impl Default for Settings {
    fn default() -> Self {
        let config = TrainConfig::default();
        Settings {
            epochs: config.epochs,
            batch_size: config.batch_size,
            learning_rate: config.learning_rate,
            seed: config.seed,
            validation_split: config.validation_split,
            train_limit: 60_000,
            backend: BackendChoice::Auto,
            cpu_workers: None,
            stop_at_loss_on: false,
            stop_at_loss: DEFAULT_LOSS_THRESHOLD,
            early_stopping_on: false,
            monitor: Monitor::ValLoss,
            patience: 2,
            min_delta: 0.0,
            restore_best_weights: false,
        }
    }
}

impl Settings {
    /// The checks the trainer would make, so the form (and a URL) can name a bad value first.
    pub fn check(&self) -> Result<(), String> {
        if self.train_limit == 0 {
            return Err("Training images: use at least 1".to_string());
        }
        if let Some(workers) = self.cpu_workers {
            let most = crate::gpu::MAX_CPU_WORKERS;
            if !(1..=most).contains(&workers) {
                return Err(format!("CPU workers: use 1 to {most}, or automatic"));
            }
        }
        self.train_config()
            .validate(self.train_limit)
            .map_err(|e| e.to_string())
    }

    /// Whether `spec` can be trained with these settings: the stack builds and what training
    /// needs at the batch it will use (the batch size, or every training image when fewer) is
    /// within the memory budget. The estimate, or why not; nothing is allocated.
    pub fn check_model(&self, spec: &ModelSpec) -> Result<MemoryEstimate, SpecError> {
        spec.check_memory(self.train_config().effective_batch(self.train_limit))
    }

    /// The model panel's line about memory under the summary: `Ok` the estimate when
    /// training fits the budget, `Err` why not when it does not; `None` when the stack cannot
    /// be built (the panel says why already).
    pub fn memory_note(&self, spec: &ModelSpec) -> Option<Result<String, String>> {
        match self.check_model(spec) {
            Ok(estimate) => Some(Ok(format!(
                "Memory to train: {estimate}, of a {} budget",
                human_bytes(MEMORY_BUDGET)
            ))),
            Err(e @ SpecError::TooLarge { .. }) => Some(Err(format!(
                "This model cannot be trained with these settings: {e}"
            ))),
            Err(_) => None,
        }
    }

    /// The trainer's configuration; batch events come about a hundred times per epoch.
    pub fn train_config(&self) -> TrainConfig {
        // Saturating: an out-of-range split is refused by validate(), not by an underflow.
        let train = self
            .train_limit
            .saturating_sub(validation_len(self.train_limit, self.validation_split));
        let batches = train.div_ceil(self.batch_size.max(1));
        TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            seed: self.seed,
            validation_split: self.validation_split,
            stop_at_loss: self.stop_at_loss_on.then_some(self.stop_at_loss),
            early_stopping: self.early_stopping_on.then_some(EarlyStoppingConfig {
                monitor: self.monitor,
                min_delta: self.min_delta,
                patience: self.patience,
                restore_best_weights: self.restore_best_weights,
            }),
            report_every: (batches / 100).clamp(1, 20),
        }
    }
}

/// A number typed for `setting` (its `TrainConfig` / URL name) in the field `label`: text,
/// a negative count or a fraction where a whole number goes is refused with what the setting
/// allows (`Epochs: '-5' is not a whole number from 1 to 1000`).
pub fn parse_setting<T: std::str::FromStr>(
    label: &str,
    setting: &str,
    text: &str,
) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{label}: '{text}' is not {}", allowed(setting)))
}

/// The lab cell (preset name) `spec` is, or "custom".
pub fn preset_of(spec: &ModelSpec) -> String {
    convlab_core::PRESET_NAMES
        .iter()
        .find(|name| ModelSpec::preset(name).as_ref() == Some(spec))
        .map_or("custom", |name| *name)
        .to_string()
}

/// Everything the student set up, saved in local storage on every change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SavedState {
    pub preset: String,
    pub spec: ModelSpec,
    pub settings: Settings,
    /// The dataset folder, relative to the page or absolute.
    pub data_url: String,
}

impl Default for SavedState {
    fn default() -> Self {
        SavedState {
            preset: "cnn".to_string(),
            spec: ModelSpec::preset("cnn").expect("cnn is a preset"),
            settings: Settings::default(),
            data_url: "data/".to_string(),
        }
    }
}

/// One model saved in the browser, as the list shows it (its bytes stay in IndexedDB until
/// it is loaded).
#[derive(Debug, Clone, PartialEq)]
pub struct SavedModel {
    pub id: f64,
    pub name: String,
    pub saved: String,
    pub architecture: String,
    pub params: usize,
    pub test_accuracy: Option<f64>,
    pub size: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_labs_fit_call() {
        let config = Settings::default().train_config();
        assert_eq!((config.epochs, config.batch_size), (5, 32));
        assert_eq!(config.learning_rate, 1e-3);
        assert_eq!(config.stop_at_loss, None);
        assert_eq!(config.report_every, 18); // 1875 batches / 100
    }

    #[test]
    fn callbacks_switch_on() {
        let settings = Settings {
            stop_at_loss_on: true,
            stop_at_loss: 0.4,
            early_stopping_on: true,
            validation_split: 0.2,
            train_limit: 1000,
            ..Settings::default()
        };
        let config = settings.train_config();
        assert_eq!(config.stop_at_loss, Some(0.4));
        assert_eq!(
            config.early_stopping.as_ref().unwrap().monitor,
            Monitor::ValLoss
        );
        assert_eq!(config.report_every, 1); // 800 / 32 = 25 batches
        assert!(config.validate(1000).is_ok());
    }

    #[test]
    fn typed_text_that_is_not_a_number_names_the_field_and_its_range() {
        let cases = [
            (
                "Epochs",
                "epochs",
                "-5",
                "Epochs: '-5' is not a whole number from 1 to 1000",
            ),
            (
                "Epochs",
                "epochs",
                "1e3",
                "Epochs: '1e3' is not a whole number from 1 to 1000",
            ),
            (
                "Batch size",
                "batch_size",
                "",
                "Batch size: '' is not a whole number from 1 to 8192",
            ),
            (
                "Training images",
                "train_images",
                "-1",
                "Training images: '-1' is not a whole number of at least 1",
            ),
            (
                "EarlyStopping patience",
                "patience",
                "two",
                "EarlyStopping patience: 'two' is not a whole number from 0 to 1000",
            ),
        ];
        for (label, setting, text, message) in cases {
            assert_eq!(
                parse_setting::<usize>(label, setting, text).unwrap_err(),
                message
            );
        }
        assert_eq!(
            parse_setting::<f64>("Learning rate", "learning_rate", "fast").unwrap_err(),
            "Learning rate: 'fast' is not a number greater than 0"
        );
        assert_eq!(
            parse_setting::<f32>("Validation split", "validation_split", "20%").unwrap_err(),
            "Validation split: '20%' is not a number from 0 up to, not including, 1"
        );
        assert_eq!(
            parse_setting::<u64>("Seed", "seed", "-1").unwrap_err(),
            "Seed: '-1' is not a whole number from 0 to 18446744073709551615"
        );
        assert_eq!(parse_setting::<usize>("Epochs", "epochs", " 12 "), Ok(12));
        // NaN and inf are numbers to Rust's parser: the settings check refuses them.
        let nan: f64 = parse_setting("Learning rate", "learning_rate", "NaN").unwrap();
        let settings = Settings {
            learning_rate: nan,
            ..Settings::default()
        };
        assert_eq!(
            settings.check().unwrap_err(),
            "invalid setting learning_rate: must be a finite number greater than 0, got NaN"
        );
    }

    #[test]
    fn settings_that_parse_but_cannot_train_are_named_with_their_range() {
        let d = Settings::default;
        let on = |patience, min_delta| Settings {
            early_stopping_on: true,
            monitor: Monitor::Loss,
            patience,
            min_delta,
            ..d()
        };
        let cases = [
            (Settings { epochs: 0, ..d() }, "invalid setting epochs: must be between 1 and 1000, got 0"),
            (Settings { epochs: 100_000, ..d() }, "invalid setting epochs: must be between 1 and 1000, got 100000"),
            (Settings { batch_size: 0, ..d() }, "invalid setting batch_size: must be between 1 and 8192, got 0"),
            (Settings { batch_size: 1 << 20, ..d() }, "invalid setting batch_size: must be between 1 and 8192, got 1048576"),
            (Settings { learning_rate: 0.0, ..d() }, "invalid setting learning_rate: must be a finite number greater than 0, got 0"),
            (Settings { learning_rate: -1.0, ..d() }, "invalid setting learning_rate: must be a finite number greater than 0, got -1"),
            (Settings { learning_rate: f64::INFINITY, ..d() }, "invalid setting learning_rate: must be a finite number greater than 0, got inf"),
            (Settings { validation_split: 1.0, ..d() }, "invalid setting validation_split: must be in [0, 1), got 1"),
            (Settings { validation_split: -0.2, ..d() }, "invalid setting validation_split: must be in [0, 1), got -0.2"),
            (Settings { validation_split: f32::NAN, ..d() }, "invalid setting validation_split: must be in [0, 1), got NaN"),
            (Settings { train_limit: 0, ..d() }, "Training images: use at least 1"),
            (Settings { stop_at_loss_on: true, stop_at_loss: 0.0, ..d() }, "invalid setting stop_at_loss: must be a finite number greater than 0, got 0"),
            (Settings { stop_at_loss_on: true, stop_at_loss: f32::NAN, ..d() }, "invalid setting stop_at_loss: must be a finite number greater than 0, got NaN"),
            (on(5000, 0.0), "invalid setting early_stopping.patience: must be between 0 and 1000, got 5000"),
            (on(2, -0.1), "invalid setting early_stopping.min_delta: must be a finite number of 0 or more, got -0.1"),
        ];
        for (settings, message) in cases {
            assert_eq!(settings.check().unwrap_err(), message, "{settings:?}");
        }
        // A threshold or patience that is off is not checked; a batch larger than the
        // training images is allowed (Keras trains one batch of them).
        for settings in [
            Settings {
                stop_at_loss: -1.0,
                patience: 5000,
                ..d()
            },
            Settings {
                batch_size: 8192,
                train_limit: 100,
                ..d()
            },
            Settings {
                learning_rate: 1e30,
                ..d()
            },
        ] {
            assert_eq!(settings.check(), Ok(()), "{settings:?}");
        }
    }

    #[test]
    fn the_memory_note_gives_the_estimate_or_why_training_would_not_fit() {
        let cnn = ModelSpec::preset("cnn").unwrap();
        let note = Settings::default().memory_note(&cnn).unwrap().unwrap();
        assert_eq!(
            note,
            "Memory to train: about 57.56 MB (weights 442.91 KB, gradients 442.91 KB, Adam state 885.83 KB, \
             activations 7.97 MB at batch 32, evaluation pass 51.57 MB, convolution patches 4.25 MB), of a 2.00 GB budget"
        );
        let wide = ModelSpec::preset("cnn-64").unwrap();
        let huge = Settings {
            batch_size: 8192,
            ..Settings::default()
        };
        assert!(huge.check().is_ok(), "the settings alone are fine");
        let note = huge.memory_note(&wide).unwrap().unwrap_err();
        assert!(
            note.starts_with("This model cannot be trained with these settings: training at batch 8192 needs about 3.94 GB"),
            "{note}"
        );
        assert!(note.contains("more than the 2.00 GB budget"), "{note}");
        assert!(matches!(
            huge.check_model(&wide),
            Err(SpecError::TooLarge { .. })
        ));
        // On 100 training images the batch is 100 (one batch per epoch), which fits.
        let few = Settings {
            train_limit: 100,
            ..huge
        };
        assert_eq!(few.check_model(&wide).unwrap().batch_size, 100);
        // A stack that cannot be built has no note: the panel names the layer instead.
        let broken = ModelSpec::parse_text("dense:10").unwrap();
        assert_eq!(Settings::default().memory_note(&broken), None);
        assert!(matches!(
            Settings::default().check_model(&broken),
            Err(SpecError::Layer { index: 0, .. })
        ));
    }
}
