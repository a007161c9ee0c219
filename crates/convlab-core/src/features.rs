//! The lab's feature-map cell: every conv and pool layer's output for a few test images, read
//! back (asynchronously, once) for drawing.

use crate::data::Dataset;
use crate::model::Sequential;
use crate::train::{batch_tensors, TrainError};
use burn::module::Module;
use burn::tensor::{Device, Transaction};
use serde::{Deserialize, Serialize};

/// One layer's activations for the requested images, `values[image][channel][y][x]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureMaps {
    /// Index of the layer in the model spec.
    pub layer: usize,
    /// Keras's name for it (`conv2d`, `max_pooling2d_1`, ...).
    pub name: String,
    pub images: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub values: Vec<f32>,
}

impl FeatureMaps {
    /// One channel of one image, row-major `height * width` values.
    pub fn channel(&self, image: usize, channel: usize) -> &[f32] {
        let plane = self.height * self.width;
        let start = (image * self.channels + channel) * plane;
        &self.values[start..start + plane]
    }
}

/// The outputs of every conv and pool layer of `model` for `data`'s examples at `indices`.
pub async fn feature_maps(
    model: &Sequential,
    data: &Dataset,
    indices: &[usize],
    device: &Device,
) -> Result<Vec<FeatureMaps>, TrainError> {
    if indices.is_empty() {
        return Err(TrainError::Config {
            setting: "images",
            problem: "choose at least one image".to_string(),
        });
    }
    if let Some(&bad) = indices.iter().find(|&&i| i >= data.len()) {
        return Err(TrainError::Config {
            setting: "images",
            problem: format!(
                "image {bad} is out of range: there are {} images",
                data.len()
            ),
        });
    }
    let names = model.spec().infer()?;
    let model = model.valid();
    let (images, _) = batch_tensors(data, indices, device);
    let outputs = model.image_activations(images);
    let read = outputs
        .iter()
        .fold(Transaction::default(), |t, o| t.register(o.output.clone()))
        .execute_async()
        .await?;
    outputs
        .iter()
        .zip(read)
        .map(|(output, data)| {
            let [images, channels, height, width] = output.output.dims();
            Ok(FeatureMaps {
                layer: output.index,
                name: names[output.index].name.clone(),
                images,
                channels,
                height,
                width,
                values: data.try_to_vec::<f32>()?,
            })
        })
        .collect()
}
