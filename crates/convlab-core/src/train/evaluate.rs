//! Keras's `model.evaluate`: loss, accuracy and every prediction on a dataset.

use crate::batch::{batch_tensors, DeviceSums};
use crate::data::Dataset;
use crate::error::TrainError;
use crate::model::Sequential;
use crate::spec::EVALUATION_BATCH;
use crate::train::metrics::Evaluation;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor};

/// Loss and accuracy of `model` on `data`, reading back once at the end.
pub async fn evaluate(
    model: &Sequential,
    data: &Dataset,
    device: &Device,
) -> Result<Evaluation, TrainError> {
    if data.is_empty() {
        return Err(TrainError::Config {
            setting: "data",
            problem: "there are no examples to evaluate".to_string(),
        });
    }
    let model = model.valid();
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let mut sums = DeviceSums::zeros(device);
    let mut predictions = Vec::new();
    let mut confidences = Vec::new();
    let indices: Vec<usize> = (0..data.len()).collect();
    for chunk in indices.chunks(EVALUATION_BATCH) {
        let (images, labels) = batch_tensors(data, chunk, device);
        let logits = model.forward(images);
        let loss = loss_fn.forward(logits.clone(), labels.clone());
        let predicted: Tensor<2, Int> = logits.clone().argmax(1);
        confidences.push(softmax(logits, 1).max_dim(1).reshape([chunk.len()]));
        sums.add(predicted.clone(), labels, loss);
        predictions.push(predicted.reshape([chunk.len()]));
    }
    let (loss_sum, correct) = sums.read().await?;
    let predicted = Tensor::cat(predictions, 0).into_data_async().await?;
    let predictions = predicted
        .convert::<i64>()
        .try_to_vec::<i64>()?
        .into_iter()
        .map(|p| p as u8)
        .collect();
    let confidences = Tensor::cat(confidences, 0)
        .into_data_async()
        .await?
        .convert::<f32>()
        .try_to_vec::<f32>()?;
    let n = data.len() as f32;
    Ok(Evaluation {
        loss: loss_sum / n,
        accuracy: correct / n,
        predictions,
        confidences,
    })
}
