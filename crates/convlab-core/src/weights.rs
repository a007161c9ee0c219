//! A model's weights as one flat list in the module's visiting order: read back from the
//! device in one go, put into a model, and carried as little-endian bytes (checkpoints, model
//! files and helpers' shares all move weights this way).

use crate::error::{CheckpointError, TrainError};
use crate::model::Sequential;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor, TensorData};

/// Every parameter of `model`, flattened in visiting order.
pub(crate) fn parameters(model: &Sequential) -> Vec<Tensor<1>> {
    struct Collect(Vec<Tensor<1>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            // Without autodiff: a read-back mixes them with Adam's moments, which have none.
            let value = param.val().inner();
            let len = value.shape().num_elements();
            self.0.push(value.reshape([len]));
        }
    }
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    collect.0
}
/// All of `model`'s weights in visiting order, in one asynchronous read-back.
pub(crate) async fn read_weights(model: &Sequential) -> Result<Vec<f32>, TrainError> {
    let data = Tensor::cat(parameters(model), 0).into_data_async().await?;
    Ok(data.convert::<f32>().try_into_vec::<f32>()?)
}
/// `model` with its weights replaced by `values` (visiting order), on `device`.
pub(crate) fn with_weights(
    model: Sequential,
    values: &[f32],
    device: &Device,
) -> Result<Sequential, CheckpointError> {
    let expected = model.num_params();
    if values.len() != expected {
        return Err(CheckpointError::Weights {
            expected,
            found: values.len(),
        });
    }
    struct Fill<'a> {
        values: &'a [f32],
        at: usize,
        device: Device,
    }
    impl ModuleMapper for Fill<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let shape = param.lazy_shape();
            let len = shape.num_elements();
            let values = self.values[self.at..self.at + len].to_vec();
            self.at += len;
            let device = self.device.clone();
            param.map(|old| {
                Tensor::<1>::from_data(TensorData::new(values, [len]), &device)
                    .reshape(shape)
                    .set_require_grad(old.is_require_grad())
            })
        }
    }
    let mut fill = Fill {
        values,
        at: 0,
        device: device.clone(),
    };
    Ok(model.map(&mut fill))
}
/// f32s as their little-endian bytes (how weights cross `postMessage` and files).
pub fn to_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The f32s of little-endian bytes (a trailing partial value is dropped).
pub fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}
