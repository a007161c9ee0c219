//! The `convlab` command line: its subcommands and options (clap), and the training report
//! (a progress bar, Keras's epoch log, or one JSON event per line).

use crate::report::train_and_report;
use crate::settings::{at_least_one, TrainSettings};
use anyhow::{anyhow, Context, Result};
use clap::{Parser, Subcommand};
use convlab_core::data::{gzip, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};
use convlab_core::{
    evaluate, keras_code, model_file, Backend, BackendKind, Dataset, ModelSpec, Summary,
    PRESET_NAMES,
};
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

pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
