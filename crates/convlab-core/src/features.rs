//! The lab's feature-map cell: every conv and pool layer's output for a few test images, read
//! back (asynchronously, once) for drawing; and a student's own picture through the model.

use crate::batch::batch_tensors;
use crate::data::{Dataset, IMAGE_PIXELS, IMAGE_SIDE};
use crate::error::TrainError;
use crate::model::{LayerOutput, Sequential};
use crate::spec::LayerInfo;
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData, Transaction};
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
    maps_of(&outputs, read, &names)
}

/// One picture through the model: what it predicts and what each layer sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classified {
    /// The ten class probabilities, summing to 1.
    pub probabilities: Vec<f32>,
    /// Every conv and pool layer's output, one image each.
    pub maps: Vec<FeatureMaps>,
}

/// `pixels` (28x28, row by row, 0 black to 1 white: a student's own picture made ready by
/// convlab-picture) through `model`, read back once.
pub async fn classify(
    model: &Sequential,
    pixels: &[f32],
    device: &Device,
) -> Result<Classified, TrainError> {
    if pixels.len() != IMAGE_PIXELS {
        return Err(TrainError::Config {
            setting: "picture",
            problem: format!(
                "a picture is {IMAGE_SIDE}x{IMAGE_SIDE} = {IMAGE_PIXELS} pixels, not {}",
                pixels.len()
            ),
        });
    }
    if let Some(at) = pixels.iter().position(|v| !(0.0..=1.0).contains(v)) {
        return Err(TrainError::Config {
            setting: "picture",
            problem: format!(
                "pixel {at} is {}: pixels go from 0 (black) to 1 (white)",
                pixels[at]
            ),
        });
    }
    let names = model.spec().infer()?;
    let model = model.valid();
    let image: Tensor<4> = Tensor::from_data(
        TensorData::new(pixels.to_vec(), [1, 1, IMAGE_SIDE, IMAGE_SIDE]),
        device,
    );
    let outputs = model.image_activations(image.clone());
    let probabilities = model.predict(image);
    let mut read = outputs
        .iter()
        .fold(Transaction::default().register(probabilities), |t, o| {
            t.register(o.output.clone())
        })
        .execute_async()
        .await?;
    if read.is_empty() {
        return Err(TrainError::EmptyReadBack {
            what: "the class probabilities",
        });
    }
    let probabilities = read.remove(0).try_to_vec::<f32>()?;
    Ok(Classified {
        probabilities,
        maps: maps_of(&outputs, read, &names)?,
    })
}

/// Layer outputs and their read-back values as feature maps, named as Keras names the layers.
pub(crate) fn maps_of(
    outputs: &[LayerOutput],
    read: Vec<TensorData>,
    names: &[LayerInfo],
) -> Result<Vec<FeatureMaps>, TrainError> {
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
