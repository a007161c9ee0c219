//! Batches onto the device: a batch's image and label tensors, and the running loss and
//! accuracy sums a training epoch or an evaluation keeps there (read back once per report).

use crate::data::{Dataset, IMAGE_SIDE};
use crate::error::TrainError;
use burn::tensor::{Device, Int, Tensor, TensorData};

/// A `[batch, 1, 28, 28]` image tensor and its `[batch]` labels for the given examples.
pub(crate) fn batch_tensors(
    data: &Dataset,
    indices: &[usize],
    device: &Device,
) -> (Tensor<4>, Tensor<1, Int>) {
    let n = indices.len();
    let pixels = TensorData::new(
        data.pixels_f32(indices.iter().copied()),
        [n, 1, IMAGE_SIDE, IMAGE_SIDE],
    );
    let labels: Vec<i64> = indices.iter().map(|&i| data.labels[i] as i64).collect();
    (
        Tensor::from_data(pixels, device),
        Tensor::from_data(TensorData::new(labels, [n]), device),
    )
}

/// Sum of the per-example loss and the count of correct predictions, kept on the device in one
/// two-element tensor, so that reporting both costs one read-back (on WebGPU, one `mapAsync`).
pub(crate) struct DeviceSums {
    sums: Tensor<1>,
    /// Figures already on the CPU: the shares helpers computed.
    host_loss: f32,
    host_correct: f32,
    /// [1, 0] and [0, 1]: a batch's two figures are put in place by multiplying with these, an
    /// element-wise step that fuses with the addition (a `cat` costs three kernels on WebGPU).
    loss_place: Tensor<1>,
    correct_place: Tensor<1>,
}

impl DeviceSums {
    pub(crate) fn zeros(device: &Device) -> Self {
        DeviceSums {
            sums: Tensor::zeros([2], device),
            host_loss: 0.0,
            host_correct: 0.0,
            loss_place: Tensor::from_floats([1.0, 0.0], device),
            correct_place: Tensor::from_floats([0.0, 1.0], device),
        }
    }

    /// Adds a batch: its predicted classes (`[n, 1]`, as `argmax(1)` gives them: reshaping
    /// that output costs a copy kernel on WebGPU), its true labels and its mean loss.
    pub(crate) fn add(
        &mut self,
        predicted: Tensor<2, Int>,
        labels: Tensor<1, Int>,
        mean_loss: Tensor<1>,
    ) {
        let [n] = labels.dims();
        let correct = predicted.equal(labels.reshape([n, 1])).float().sum();
        self.sums = self.sums.clone()
            + self.loss_place.clone() * mean_loss.mul_scalar(n as f32)
            + self.correct_place.clone() * correct;
    }

    /// Adds a helper's share, whose figures it read back itself.
    pub(crate) fn add_host(&mut self, loss_sum: f32, correct: f32) {
        self.host_loss += loss_sum;
        self.host_correct += correct;
    }

    /// The loss sum and the correct count, in one read-back.
    pub(crate) async fn read(&self) -> Result<(f32, f32), TrainError> {
        let values = self
            .sums
            .clone()
            .into_data_async()
            .await?
            .convert::<f32>()
            .try_to_vec::<f32>()?;
        match values[..] {
            [loss, correct] => Ok((loss + self.host_loss, correct + self.host_correct)),
            _ => Err(TrainError::EmptyReadBack {
                what: "the loss and accuracy sums",
            }),
        }
    }
}
