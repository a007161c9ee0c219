//! The training settings form (model.compile / model.fit and the callbacks) and the page's
//! saved state: the model being edited, the settings and the dataset folder survive a reload.

use super::dom::input;
use convlab_core::{EarlyStoppingConfig, ModelSpec, Monitor, TrainConfig};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;

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

fn number<T: std::str::FromStr>(id: &str, label: &str) -> Result<T, String> {
    let text = input(id).value();
    text.trim()
        .parse::<T>()
        .map_err(|_| format!("{label}: '{text}' is not a valid number"))
}

impl Settings {
    /// Reads the form; the error names the field.
    pub fn read() -> Result<Settings, String> {
        let settings = Settings {
            epochs: number("epochs", "Epochs")?,
            batch_size: number("batch-size", "Batch size")?,
            learning_rate: number("learning-rate", "Learning rate")?,
            seed: number("seed", "Seed")?,
            validation_split: number("validation-split", "Validation split")?,
            train_limit: number("train-limit", "Training images")?,
            prefer_webgpu: input("prefer-webgpu").checked(),
            stop_at_loss_on: input("stop-at-loss-on").checked(),
            stop_at_loss: number("stop-at-loss", "Loss threshold")?,
            early_stopping_on: input("es-on").checked(),
            monitor: Monitor::from_name(&super::dom::select("es-monitor").value())
                .unwrap_or(Monitor::ValLoss),
            patience: number("es-patience", "EarlyStopping patience")?,
            min_delta: number("es-min-delta", "EarlyStopping min_delta")?,
            restore_best_weights: input("es-restore").checked(),
        };
        settings.check()?;
        Ok(settings)
    }

    /// The checks the trainer would make, so the form (and a URL) can name a bad value first.
    pub fn check(&self) -> Result<(), String> {
        if self.train_limit == 0 {
            return Err("Training images: use at least 1".to_string());
        }
        self.train_config()
            .validate(self.train_limit)
            .map_err(|e| e.to_string())
    }

    /// Puts these settings into the form.
    pub fn show(&self) {
        let set = |id: &str, value: String| input(id).set_value(&value);
        set("epochs", self.epochs.to_string());
        set("batch-size", self.batch_size.to_string());
        set("learning-rate", self.learning_rate.to_string());
        set("seed", self.seed.to_string());
        set("validation-split", self.validation_split.to_string());
        set("train-limit", self.train_limit.to_string());
        input("prefer-webgpu").set_checked(self.prefer_webgpu);
        input("stop-at-loss-on").set_checked(self.stop_at_loss_on);
        set("stop-at-loss", self.stop_at_loss.to_string());
        input("es-on").set_checked(self.early_stopping_on);
        super::dom::select("es-monitor").set_value(self.monitor.name());
        set("es-patience", self.patience.to_string());
        set("es-min-delta", self.min_delta.to_string());
        input("es-restore").set_checked(self.restore_best_weights);
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

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The page URL's query as (name, value) pairs, decoded.
pub fn query_pairs() -> Vec<(String, String)> {
    let Some(search) = web_sys::window().and_then(|w| w.location().search().ok()) else {
        return Vec::new();
    };
    let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) else {
        return Vec::new();
    };
    let Ok(Some(entries)) = js_sys::try_iter(&params) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pair: js_sys::Array = entry.dyn_into().ok()?;
            Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
        })
        .collect()
}

impl SavedState {
    /// The state saved under `key` (or the defaults), and whether there was one. A copy that
    /// cannot be read is kept aside, not overwritten, and named in the message.
    pub fn load(key: &str) -> (SavedState, bool, Option<String>) {
        let stored = storage().and_then(|s| s.get_item(key).ok().flatten());
        match stored.map(|text| (serde_json::from_str::<SavedState>(&text), text)) {
            None => (SavedState::default(), false, None),
            Some((Ok(state), _)) => (state, true, None),
            Some((Err(e), text)) => {
                let aside = format!("{key}.unreadable");
                if let Some(s) = storage() {
                    let _ = s.set_item(&aside, &text);
                }
                (
                    SavedState::default(),
                    false,
                    Some(format!("the saved model and settings could not be read ({e}); starting from the lab's CNN (the old copy is kept in local storage as '{aside}')")),
                )
            }
        }
    }

    pub fn save(&self, key: &str) -> Result<(), String> {
        let text = serde_json::to_string(self).map_err(|e| e.to_string())?;
        storage()
            .ok_or(
                "this browser gives the page no local storage; settings will not survive a reload",
            )?
            .set_item(key, &text)
            .map_err(|_| "local storage refused the settings (full?)".to_string())
    }
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
