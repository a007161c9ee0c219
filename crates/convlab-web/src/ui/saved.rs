//! What the student sets up and the page keeps: the training settings (model.compile /
//! model.fit and the callbacks) and the saved state (the model being edited, the settings and
//! the dataset folder), which survive a reload. Plain data; storage is in [`super::storage`].

use convlab_core::{EarlyStoppingConfig, ModelSpec, Monitor, TrainConfig};
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
    pub prefer_webgpu: bool,
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
            validation_split: 0.0,
            train_limit: 60_000,
            prefer_webgpu: true,
            stop_at_loss_on: false,
            stop_at_loss: convlab_core::train::DEFAULT_LOSS_THRESHOLD,
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
        self.train_config()
            .validate(self.train_limit)
            .map_err(|e| e.to_string())
    }

    /// The trainer's configuration; batch events come about a hundred times per epoch.
    pub fn train_config(&self) -> TrainConfig {
        // Saturating: an out-of-range split is refused by validate(), not by an underflow.
        let train = self.train_limit.saturating_sub(
            (self.train_limit as f64 * self.validation_split as f64).floor() as usize,
        );
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
}
