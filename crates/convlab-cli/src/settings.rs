//! The training settings as command-line options (the core's `TrainConfig`, converted once)
//! and the parsers that name a value's allowed range when it does not parse.

use anyhow::{anyhow, Result};
use convlab_core::train::allowed;
use convlab_core::{EarlyStoppingConfig, Monitor, TrainConfig};

/// The training settings, the core's [`TrainConfig`] as options: `train` and `keras` share
/// them, their defaults are the core's, and [`TrainSettings::config`] is the one conversion.
#[derive(clap::Args)]
pub(crate) struct TrainSettings {
    #[arg(long, default_value_t = TrainConfig::default().epochs, value_parser = number::<usize>("epochs"), allow_negative_numbers = true)]
    epochs: usize,
    #[arg(long, default_value_t = TrainConfig::default().batch_size, value_parser = number::<usize>("batch_size"), allow_negative_numbers = true)]
    batch_size: usize,
    #[arg(long, default_value_t = TrainConfig::default().learning_rate, value_parser = number::<f64>("learning_rate"), allow_negative_numbers = true)]
    learning_rate: f64,
    #[arg(long, default_value_t = TrainConfig::default().seed, value_parser = number::<u64>("seed"), allow_negative_numbers = true)]
    seed: u64,
    /// Hold out this fraction of the training images for validation.
    #[arg(long, default_value_t = TrainConfig::default().validation_split, value_parser = number::<f32>("validation_split"), allow_negative_numbers = true)]
    validation_split: f32,
    /// The lab's callback: stop at an epoch end once the loss is below X.
    #[arg(long, value_name = "X", num_args = 0..=1, default_missing_value = "0.01", value_parser = number::<f32>("stop_at_loss"), allow_negative_numbers = true)]
    stop_at_loss: Option<f32>,
    /// EarlyStopping: loss, val_loss, accuracy or val_accuracy.
    #[arg(long)]
    early_stopping: Option<String>,
    #[arg(long, default_value_t = 0, value_parser = number::<usize>("patience"), allow_negative_numbers = true)]
    patience: usize,
    #[arg(long, default_value_t = 0.0, value_parser = number::<f32>("min_delta"), allow_negative_numbers = true)]
    min_delta: f32,
    #[arg(long)]
    restore_best_weights: bool,
}

impl TrainSettings {
    pub(crate) fn config(&self) -> Result<TrainConfig> {
        let early_stopping = self
            .early_stopping
            .as_deref()
            .map(|m| -> Result<_> {
                Ok(EarlyStoppingConfig {
                    monitor: parse_monitor(m)?,
                    min_delta: self.min_delta,
                    patience: self.patience,
                    restore_best_weights: self.restore_best_weights,
                })
            })
            .transpose()?;
        Ok(TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            seed: self.seed,
            validation_split: self.validation_split,
            stop_at_loss: self.stop_at_loss,
            early_stopping,
            ..TrainConfig::default()
        })
    }
}

/// A numeric option's parser: a value that is not a number of its type (text, a negative
/// count, `1e3` for a whole number) is refused with what `setting` allows; one that parses
/// but is out of range is refused by `TrainConfig::validate`, naming the setting.
fn number<T: std::str::FromStr>(
    setting: &'static str,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |text| {
        text.trim()
            .parse()
            .map_err(|_| format!("'{text}' is not {}", allowed(setting)))
    }
}

/// A count of images: a whole number of at least 1.
pub(crate) fn at_least_one(
    setting: &'static str,
) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    move |text| match text.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("'{text}' is not {}", allowed(setting))),
    }
}

fn parse_monitor(name: &str) -> Result<Monitor> {
    Monitor::from_name(name).ok_or_else(|| {
        anyhow!("unknown monitor '{name}': use loss, val_loss, accuracy or val_accuracy")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use convlab_core::train::DEFAULT_LOSS_THRESHOLD;

    #[derive(clap::Parser)]
    struct Options {
        #[command(flatten)]
        settings: TrainSettings,
    }

    fn settings(args: &[&str]) -> TrainConfig {
        let options = Options::try_parse_from([&["convlab"], args].concat()).unwrap();
        options.settings.config().unwrap()
    }

    /// The options' defaults are the core's, and a bare `--stop-at-loss` is the lab's threshold.
    #[test]
    fn the_options_convert_to_the_cores_settings() {
        assert_eq!(settings(&[]), TrainConfig::default());
        assert_eq!(
            settings(&["--stop-at-loss"]).stop_at_loss,
            Some(DEFAULT_LOSS_THRESHOLD)
        );
        let config = settings(&[
            "--epochs=3",
            "--validation-split=0.25",
            "--early-stopping=val_loss",
            "--patience=2",
        ]);
        assert_eq!((config.epochs, config.validation_split), (3, 0.25));
        assert_eq!(config.early_stopping.unwrap().monitor, Monitor::ValLoss);
    }
}
