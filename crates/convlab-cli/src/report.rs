//! `convlab train`'s run and its report: a progress bar and Keras's epoch log, or one JSON
//! event per line; then the test result, the most confused classes and the saved model.

use crate::cli::write;
use anyhow::{anyhow, Result};
use convlab_core::units::human_bytes;
use convlab_core::{
    model_file, Backend, BackendKind, Dataset, ModelSpec, Summary, TrainConfig, TrainEvent,
    Trainer, CLASS_NAMES, MEMORY_BUDGET,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;

pub(crate) fn train_and_report(
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
