//! Watching the filters learn: at every epoch's end (and before the first) the conv layers'
//! kernels and the feature maps of a few chosen images, read back in one transaction, so the
//! page can move through the epochs with a slider.

use crate::batch::batch_tensors;
use crate::data::Dataset;
use crate::error::TrainError;
use crate::features::{maps_of, FeatureMaps};
use crate::model::Sequential;
use crate::spec::LayerSpec;
use burn::module::Module;
use burn::tensor::{Device, Transaction};
use serde::{Deserialize, Serialize};

/// One conv layer's kernels, `values[filter][channel][y][x]` (burn's and Keras's kernels
/// transposed to filter-major).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kernels {
    /// Index of the layer in the model spec.
    pub layer: usize,
    /// Keras's name for it (`conv2d`, `conv2d_1`, ...).
    pub name: String,
    pub filters: usize,
    /// Input channels: 1 for the first conv layer (grey images).
    pub channels: usize,
    /// The kernel's side.
    pub size: usize,
    pub values: Vec<f32>,
}

impl Kernels {
    /// Filter `filter`'s weights on input channel `channel`, row-major `size * size` values.
    pub fn kernel(&self, filter: usize, channel: usize) -> &[f32] {
        let plane = self.size * self.size;
        let start = (filter * self.channels + channel) * plane;
        &self.values[start..start + plane]
    }
}

/// The model as it was after `epoch` epochs (0: as initialised).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub epoch: usize,
    pub kernels: Vec<Kernels>,
    /// Every conv and pool layer's output for the watched images.
    pub maps: Vec<FeatureMaps>,
    /// How long taking it took (the forward pass and the read-back), for the benchmarks.
    pub seconds: f64,
}

/// `model`'s kernels and the feature maps of every image in `watched`, after `epoch` epochs.
pub async fn snapshot(
    model: &Sequential,
    watched: &Dataset,
    epoch: usize,
    device: &Device,
) -> Result<Snapshot, TrainError> {
    let started = web_time::Instant::now();
    let names = model.spec().infer()?;
    let model = model.valid();
    let kernels = model.conv_kernels();
    let outputs = if watched.is_empty() {
        Vec::new()
    } else {
        let indices: Vec<usize> = (0..watched.len()).collect();
        let (images, _) = batch_tensors(watched, &indices, device);
        model.image_activations(images)
    };
    // A dense model has nothing to read back.
    if kernels.is_empty() && outputs.is_empty() {
        return Ok(Snapshot {
            epoch,
            kernels: Vec::new(),
            maps: Vec::new(),
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let mut read = kernels
        .iter()
        .cloned()
        .chain(outputs.iter().map(|o| o.output.clone()))
        .fold(Transaction::default(), |t, tensor| t.register(tensor))
        .execute_async()
        .await?;
    if read.len() != kernels.len() + outputs.len() {
        return Err(TrainError::EmptyReadBack {
            what: "the kernels and feature maps",
        });
    }
    let maps_read = read.split_off(kernels.len());
    let conv_layers = model
        .spec()
        .layers
        .iter()
        .enumerate()
        .filter(|(_, layer)| matches!(layer, LayerSpec::Conv2D { .. }))
        .map(|(index, _)| index);
    let kernels = kernels
        .iter()
        .zip(read)
        .zip(conv_layers)
        .map(|((tensor, data), layer)| {
            let [filters, channels, size, _] = tensor.dims();
            Ok(Kernels {
                layer,
                name: names[layer].name.clone(),
                filters,
                channels,
                size,
                values: data.try_to_vec::<f32>()?,
            })
        })
        .collect::<Result<Vec<_>, TrainError>>()?;
    Ok(Snapshot {
        epoch,
        kernels,
        maps: maps_of(&outputs, maps_read, &names)?,
        seconds: started.elapsed().as_secs_f64(),
    })
}
