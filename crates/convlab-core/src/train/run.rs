//! The run driver: train to the end, evaluate on the test set, describe the model (Keras's
//! `fit` then `evaluate`); the one sequence the CLI and the worker share.

use crate::data::Dataset;
use crate::error::TrainError;
use crate::model_file::{ModelHeader, TrainingInfo};
use crate::train::callbacks::StopReason;
use crate::train::evaluate::evaluate;
use crate::train::events::TrainEvent;
use crate::train::metrics::{EpochMetrics, Evaluation};
use crate::train::trainer::Trainer;
use serde::{Deserialize, Serialize};

/// Everything a finished run produced, and the header its model file carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub history: Vec<EpochMetrics>,
    pub stop_reason: Option<StopReason>,
    pub test: Option<Evaluation>,
    /// The model's description as a `.convlab` file writes it (test accuracy included).
    pub header: ModelHeader,
}

/// Drives `trainer` to the end, then evaluates on `test` (Keras's `fit` then `evaluate`).
pub async fn run(
    trainer: &mut Trainer,
    test: Option<&Dataset>,
    emit: &mut dyn FnMut(TrainEvent),
) -> Result<RunSummary, TrainError> {
    run_pausing(trainer, test, emit, || std::future::ready(())).await
}

/// [`run`], awaiting `pause()` after every batch: a browser worker yields to its event loop
/// there, so that a Stop request is seen before the next batch. The one sequence of "train to
/// the end, evaluate on the test set, describe the model" that the CLI and the worker share.
pub async fn run_pausing<F: std::future::Future<Output = ()>>(
    trainer: &mut Trainer,
    test: Option<&Dataset>,
    emit: &mut dyn FnMut(TrainEvent),
    mut pause: impl FnMut() -> F,
) -> Result<RunSummary, TrainError> {
    while trainer.step(emit).await? {
        pause().await;
    }
    let test = match test {
        Some(data) => {
            let evaluation = evaluate(trainer.model(), data, trainer.device()).await?;
            emit(TrainEvent::Finished(evaluation.clone()));
            Some(evaluation)
        }
        None => None,
    };
    let header = ModelHeader::new(
        trainer.model().spec().clone(),
        Some(TrainingInfo {
            config: trainer.config().clone(),
            epochs_run: trainer.history().len(),
            train_images: trainer.train_len(),
            test_accuracy: test.as_ref().map(|t| t.accuracy),
        }),
    );
    Ok(RunSummary {
        history: trainer.history().to_vec(),
        stop_reason: trainer.stop_reason().cloned(),
        test,
        header,
    })
}
