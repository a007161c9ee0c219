//! The `convlab` command line: its subcommands and options (clap), and the training report
//! (a progress bar, Keras's epoch log, or one JSON event per line).

use anyhow::{anyhow, Context, Result};
use clap::{Parser, Subcommand};
use convlab_core::data::{gzip, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};
use convlab_core::train::allowed;
use convlab_core::units::human_bytes;
use convlab_core::MEMORY_BUDGET;
use convlab_core::{
    evaluate, keras_code, model_file, Backend, BackendKind, Dataset, EarlyStoppingConfig,
    ModelSpec, Monitor, Summary, TrainConfig, TrainEvent, Trainer, CLASS_NAMES, PRESET_NAMES,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Training images in Fashion-MNIST.
const FULL_TRAIN_SET: usize = 60_000;

/// Where Debian's `dataset-fashion-mnist` package puts the files.
const DEFAULT_DATA_DIR: &str = "/usr/share/datasets/fashion-mnist";

#[derive(Parser)]
#[command(
    name = "convlab",
    version,
    about = "Fashion-MNIST convolution lab on burn"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ModelArgs {
    /// A lab preset: dnn, cnn, cnn-16, cnn-64, cnn-1conv, cnn-3conv.
    #[arg(long, default_value = "cnn", conflicts_with_all = ["model", "layers"])]
    preset: String,
    /// A model spec in JSON (a file), instead of a preset.
    #[arg(long, conflicts_with = "layers")]
    model: Option<PathBuf>,
    /// The layers in the page's URL form, e.g. conv:32:3:relu,pool:2,flatten,dense:10:softmax
    #[arg(long)]
    layers: Option<String>,
}

impl ModelArgs {
    fn spec(&self) -> Result<ModelSpec> {
        if let Some(text) = &self.layers {
            return ModelSpec::parse_text(text).map_err(|e| anyhow!("--layers: {e}"));
        }
        match &self.model {
            Some(path) => {
                let json = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                ModelSpec::from_json(&json).map_err(|e| anyhow!("{}: {e}", path.display()))
            }
            None => ModelSpec::preset(&self.preset).ok_or_else(|| {
                anyhow!(
                    "unknown preset '{}': choose one of {}",
                    self.preset,
                    PRESET_NAMES.join(", ")
                )
            }),
        }
    }
}

/// The training settings, the core's [`TrainConfig`] as options: `train` and `keras` share
/// them, their defaults are the core's, and [`TrainSettings::config`] is the one conversion.
#[derive(clap::Args)]
struct TrainSettings {
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
    fn config(&self) -> Result<TrainConfig> {
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

#[derive(Subcommand)]
enum Command {
    /// Print the model's Keras-style summary.
    Summary {
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Train on Fashion-MNIST, then evaluate on the 10,000 test images.
    Train {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        settings: TrainSettings,
        /// Train on the first N training images only.
        #[arg(long, value_parser = at_least_one("limit"), allow_negative_numbers = true)]
        limit: Option<usize>,
        /// Evaluate on the first N test images only.
        #[arg(long, value_parser = at_least_one("test_limit"), allow_negative_numbers = true)]
        test_limit: Option<usize>,
        /// Folder with the four Fashion-MNIST IDX files (.gz).
        #[arg(long, default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
        #[arg(long, default_value = "cpu")]
        backend: BackendKind,
        /// Print one JSON event per line instead of the progress bar and log.
        #[arg(long)]
        json: bool,
        /// Save the trained model (architecture and weights) to this .convlab file, the
        /// format the page saves and loads.
        #[arg(long, value_name = "FILE")]
        save: Option<PathBuf>,
    },
    /// Load a .convlab model file (saved by the page or by `train --save`) and evaluate it on
    /// the test images.
    Evaluate {
        /// The .convlab file.
        file: PathBuf,
        #[arg(long, default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
        /// Evaluate on the first N test images only.
        #[arg(long)]
        test_limit: Option<usize>,
        #[arg(long, default_value = "cpu")]
        backend: BackendKind,
    },
    /// Classify your own pictures (PNG, JPEG or WebP) with a .convlab model. Each is made into
    /// a Fashion-MNIST-style 28x28 image first: greyscale, negated on a light background,
    /// cropped to the item, its longest side scaled to 28 pixels and centred.
    Classify {
        /// The .convlab file.
        model: PathBuf,
        /// The pictures.
        #[arg(required = true)]
        pictures: Vec<PathBuf>,
        #[arg(long, default_value = "cpu")]
        backend: BackendKind,
    },
    /// Print the Keras (Python) code for a model and its training settings.
    Keras {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        settings: TrainSettings,
    },
    /// Write the first N training and test examples as IDX .gz files (test fixtures).
    Subset {
        #[arg(long, default_value = DEFAULT_DATA_DIR)]
        data: PathBuf,
        #[arg(long)]
        train: usize,
        #[arg(long)]
        test: usize,
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
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
fn at_least_one(
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

fn run(args: Args) -> Result<()> {
    match args.command {
        Command::Summary { model } => {
            let summary = Summary::of(&model.spec()?)?;
            print!("{}", summary.to_table("sequential"));
            Ok(())
        }
        Command::Keras { model, settings } => {
            let config = settings.config()?;
            let spec = model.spec()?;
            // The settings and the memory as for a run on the whole training set.
            config
                .check_training(&spec, FULL_TRAIN_SET)
                .map_err(|e| anyhow!("{e}"))?;
            print!("{}", keras_code(&spec, &config, None));
            Ok(())
        }
        Command::Evaluate {
            file,
            data,
            test_limit,
            backend,
        } => {
            let bytes = {
                check_model_file_size(&file)?;
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?
            };
            let backend = convlab_core::block_on(Backend::choose(backend));
            let (model, header) = model_file::load(&bytes, &backend.device)
                .map_err(|e| anyhow!("{}: {e}", file.display()))?;
            let mut test = Dataset::load(&data, TEST_IMAGES, TEST_LABELS)?;
            if let Some(n) = test_limit {
                test = test.take(n);
            }
            print!("{}", Summary::of(&header.spec)?.to_table("sequential"));
            if let Some(info) = &header.trained {
                println!(
                    "Trained for {} epoch(s) on {} images{}",
                    info.epochs_run,
                    info.train_images,
                    info.test_accuracy
                        .map(|a| format!("; test accuracy when saved: {a:.4}"))
                        .unwrap_or_default()
                );
            }
            println!("Backend: {}", backend.description);
            let result = convlab_core::block_on(evaluate(&model, &test, &backend.device))?;
            println!(
                "Test: loss: {:.4} - accuracy: {:.4} ({} images)",
                result.loss,
                result.accuracy,
                test.len()
            );
            Ok(())
        }
        Command::Classify {
            model,
            pictures,
            backend,
        } => crate::classify::run(&model, &pictures, backend),
        Command::Subset {
            data,
            train,
            test,
            out,
        } => {
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            for (images, labels, n) in [
                (TRAIN_IMAGES, TRAIN_LABELS, train),
                (TEST_IMAGES, TEST_LABELS, test),
            ] {
                let subset = Dataset::load(&data, images, labels)?.take(n);
                write(&out.join(images), &gzip(&subset.images_idx()))?;
                write(&out.join(labels), &gzip(&subset.labels_idx()))?;
            }
            Ok(())
        }
        Command::Train {
            model,
            settings,
            limit,
            test_limit,
            data,
            backend,
            json,
            save,
        } => {
            let spec = model.spec()?;
            let config = settings.config()?;
            let mut train = Dataset::load(&data, TRAIN_IMAGES, TRAIN_LABELS)?;
            if let Some(n) = limit {
                train = train.take(n);
            }
            let mut test = Dataset::load(&data, TEST_IMAGES, TEST_LABELS)?;
            if let Some(n) = test_limit {
                test = test.take(n);
            }
            train_and_report(&spec, config, train, &test, backend, json, save.as_deref())
        }
    }
}

/// Refuses a model file larger than any model's before reading it.
pub(crate) fn check_model_file_size(path: &Path) -> Result<()> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    model_file::check_size(len).map_err(|e| anyhow!("{}: {e}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn train_and_report(
    spec: &ModelSpec,
    config: TrainConfig,
    train: Dataset,
    test: &Dataset,
    backend: BackendKind,
    json: bool,
    save: Option<&Path>,
) -> Result<()> {
    // Settings, stack and memory, before any tensor exists. Its message already holds the
    // cause, which `{:#}` would repeat.
    let estimate = config
        .check_training(spec, train.len())
        .map_err(|e| anyhow!("{e}"))?;
    if !json {
        print!("{}", Summary::of(spec)?.to_table("sequential"));
        println!(
            "Memory to train: {estimate}, of a {} budget",
            human_bytes(MEMORY_BUDGET)
        );
    }
    let backend = convlab_core::block_on(Backend::choose(backend));
    let mut trainer = Trainer::new(spec, config, train, backend.device.clone())?;
    let style =
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed} < {eta})")
            .expect("valid template")
            .progress_chars("=> ");
    let mut bar: Option<ProgressBar> = None;
    let mut total_epochs = 0;
    let mut emit = |event: TrainEvent| {
        if json {
            let mut line = serde_json::to_value(&event).expect("events serialise");
            if matches!(event, TrainEvent::Started { .. }) {
                // Which device trains: a wgpu request falls back to the CPU without an adapter.
                line["backend"] = backend.description.clone().into();
            }
            println!("{line}");
            return;
        }
        match &event {
            TrainEvent::Started {
                train_samples,
                val_samples,
                epochs,
                params,
                ..
            } => {
                total_epochs = *epochs;
                println!("Backend: {}", backend.description);
                println!(
                    "Training on {train_samples} images ({val_samples} for validation), {params} parameters, {epochs} epoch(s)"
                );
            }
            TrainEvent::Batch {
                epoch,
                batch,
                batches,
                loss,
                accuracy,
                samples_per_second,
                ..
            } => {
                let pb = bar.get_or_insert_with(|| {
                    let pb = ProgressBar::new(*batches as u64).with_style(style.clone());
                    pb.set_prefix(format!("Epoch {epoch}"));
                    pb
                });
                pb.set_position(*batch as u64);
                pb.set_message(format!(
                    "loss: {loss:.4} - accuracy: {accuracy:.4} - {samples_per_second:.0} samples/s"
                ));
            }
            TrainEvent::Epoch(m) => {
                if let Some(pb) = bar.take() {
                    pb.finish_and_clear();
                }
                println!("Epoch {}/{}", m.epoch, total_epochs);
                println!(
                    "{} - {:.0} samples/s",
                    m.log_line(),
                    m.samples as f64 / m.seconds.max(1e-9)
                );
            }
            TrainEvent::Stopped { message, .. } => {
                if let Some(pb) = bar.take() {
                    pb.finish_and_clear();
                }
                println!("{message}");
            }
            TrainEvent::Finished(e) => {
                println!("Test: loss: {:.4} - accuracy: {:.4}", e.loss, e.accuracy);
            }
            // The CLI neither asks for checkpoints or snapshots nor resumes, and shares no
            // batches (burn's CPU kernels use every core natively).
            TrainEvent::Checkpoint(_)
            | TrainEvent::Snapshot(_)
            | TrainEvent::Resumed { .. }
            | TrainEvent::HelpersStopped { .. }
            | TrainEvent::Shared(_) => {}
        }
    };
    let summary = convlab_core::block_on(convlab_core::run(&mut trainer, Some(test), &mut emit))?;
    if let (Some(evaluation), false) = (&summary.test, json) {
        if let Some(line) = most_confused(evaluation, &test.labels) {
            println!("{line}");
        }
    }
    if let Some(path) = save {
        let bytes = convlab_core::block_on(model_file::save(trainer.model(), &summary.header))?;
        write(path, &bytes)?;
        if !json {
            println!("Saved the model to {}", path.display());
        }
    }
    Ok(())
}

/// The three pairs of classes the model mixed up most on the test set, each way:
/// "Most confused: Shirt <-> T-shirt/top 112 (80 Shirt as T-shirt/top, 32 the other way); ...".
fn most_confused(evaluation: &convlab_core::Evaluation, labels: &[u8]) -> Option<String> {
    let pairs = evaluation.confused_pairs(labels);
    if pairs.is_empty() {
        return None;
    }
    let named: Vec<String> = pairs
        .iter()
        .take(3)
        .map(|pair| {
            let (a, b) = (
                CLASS_NAMES[pair.first as usize],
                CLASS_NAMES[pair.second as usize],
            );
            format!(
                "{a} <-> {b} {} ({} {a} as {b}, {} the other way)",
                pair.total(),
                pair.first_as_second,
                pair.second_as_first
            )
        })
        .collect();
    Some(format!("Most confused: {}", named.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use convlab_core::train::DEFAULT_LOSS_THRESHOLD;

    fn settings(args: &[&str]) -> TrainConfig {
        let args = Args::try_parse_from([&["convlab", "keras"], args].concat()).unwrap();
        match args.command {
            Command::Keras { settings, .. } => settings.config().unwrap(),
            _ => unreachable!("parsed the keras command"),
        }
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
