//! The student's stack as a burn module: Keras-default initialisation, forward pass, and the
//! per-layer activations that the feature-map canvases draw.

use crate::data::IMAGE_SIDE;
use crate::spec::{Activation, LayerSpec, ModelSpec, SpecError};
use burn::module::{Initializer, Module};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{activation, Device, Tensor};

/// Keras's `glorot_uniform`: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)).
const GLOROT_UNIFORM: Initializer = Initializer::XavierUniform { gain: 1.0 };

/// A sequential model built from a validated [`ModelSpec`].
///
/// Only the layers with weights are burn modules; pooling, flattening and activations are
/// applied from the spec, which travels with the weights. Convolutions and pooling run through
/// `convlab-ops`, which is burn's own op on WebGPU and a faster kernel on the CPU backend.
#[derive(Module, Debug)]
pub struct Sequential {
    convs: Vec<Conv2d>,
    denses: Vec<Linear>,
    #[module(skip)]
    spec: ModelSpec,
}

/// One layer's output for a batch of images, as the feature-map grid draws it.
#[derive(Debug, Clone)]
pub struct LayerOutput {
    /// Index of the layer in the spec.
    pub index: usize,
    pub output: Tensor<4>,
}

impl Sequential {
    /// Builds the model on `device` with Glorot-uniform kernels and zero biases, as Keras does.
    /// Seed the device first (`device.seed(s)`) for reproducible weights.
    pub fn new(spec: &ModelSpec, device: &Device) -> Result<Sequential, SpecError> {
        spec.infer()?;
        let mut channels = 1;
        let mut flat_len = 0;
        let mut side = IMAGE_SIDE;
        let (mut convs, mut denses) = (Vec::new(), Vec::new());
        for layer in &spec.layers {
            match *layer {
                LayerSpec::Conv2D {
                    filters, kernel, ..
                } => {
                    // Stride 1 and no padding: Keras's default, burn's, and what
                    // `convlab_ops::conv2d` computes.
                    let mut conv = Conv2dConfig::new([channels, filters], [kernel, kernel])
                        .with_initializer(GLOROT_UNIFORM)
                        .init(device);
                    conv.bias = Some(Initializer::Zeros.init([filters], device));
                    convs.push(conv);
                    channels = filters;
                    side = side - kernel + 1;
                }
                LayerSpec::MaxPool2D { pool } => side /= pool,
                LayerSpec::Flatten => flat_len = side * side * channels,
                LayerSpec::Dense { units, .. } => {
                    let mut dense = LinearConfig::new(flat_len, units)
                        .with_initializer(GLOROT_UNIFORM)
                        .init(device);
                    dense.bias = Some(Initializer::Zeros.init([units], device));
                    denses.push(dense);
                    flat_len = units;
                }
            }
        }
        Ok(Sequential {
            convs,
            denses,
            spec: spec.clone(),
        })
    }

    /// The `index`-th convolution (stride 1, no padding) with its bias.
    fn convolve(&self, index: usize, x: Tensor<4>) -> Tensor<4> {
        let conv = &self.convs[index];
        convlab_ops::conv2d(x, conv.weight.val(), conv.bias.as_ref().map(|b| b.val()))
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// Class scores before the final softmax (logits), for a `[batch, 1, 28, 28]` batch.
    ///
    /// The loss is computed from these (log-softmax inside the cross-entropy), which is the
    /// numerically stable form of Keras's softmax + sparse categorical cross-entropy.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let last = self.spec.layers.len() - 1;
        let mut image = Some(images);
        let mut flat: Option<Tensor<2>> = None;
        let (mut conv, mut dense) = (0, 0);
        for (index, layer) in self.spec.layers.iter().enumerate() {
            match *layer {
                LayerSpec::Conv2D { activation, .. } => {
                    let x = self.convolve(conv, image.take().expect("validated spec"));
                    image = Some(apply(activation, x, 1));
                    conv += 1;
                }
                LayerSpec::MaxPool2D { pool } => {
                    let x = image.take().expect("validated spec");
                    image = Some(convlab_ops::max_pool2d(x, pool));
                }
                LayerSpec::Flatten => {
                    flat = Some(image.take().expect("validated spec").flatten(1, 3));
                }
                LayerSpec::Dense { activation, .. } => {
                    let x = self.denses[dense].forward(flat.take().expect("validated spec"));
                    // The final softmax is folded into the loss (see above).
                    let skip_softmax = index == last && activation == Activation::Softmax;
                    flat = Some(if skip_softmax {
                        x
                    } else {
                        apply(activation, x, 1)
                    });
                    dense += 1;
                }
            }
        }
        flat.expect("validated spec ends with Dense(10)")
    }

    /// Class probabilities (softmax of the logits).
    pub fn predict(&self, images: Tensor<4>) -> Tensor<2> {
        activation::softmax(self.forward(images), 1)
    }

    /// The outputs of every convolution and pooling layer for a batch of images, in
    /// channels-first layout `[batch, channels, height, width]`.
    pub fn image_activations(&self, images: Tensor<4>) -> Vec<LayerOutput> {
        let mut outputs = Vec::new();
        let mut x = images;
        let mut conv = 0;
        for (index, layer) in self.spec.layers.iter().enumerate() {
            match *layer {
                LayerSpec::Conv2D { activation, .. } => {
                    x = apply(activation, self.convolve(conv, x), 1);
                    conv += 1;
                }
                LayerSpec::MaxPool2D { pool } => x = convlab_ops::max_pool2d(x, pool),
                LayerSpec::Flatten | LayerSpec::Dense { .. } => break,
            }
            outputs.push(LayerOutput {
                index,
                output: x.clone(),
            });
        }
        outputs
    }
}

fn apply<const D: usize>(activation: Activation, x: Tensor<D>, class_dim: usize) -> Tensor<D> {
    match activation {
        Activation::Relu => activation::relu(x),
        Activation::Softmax => activation::softmax(x, class_dim),
        Activation::None => x,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec().unwrap()
    }

    #[test]
    fn keras_default_initialisation() {
        let device = Device::flex();
        device.seed(3);
        let model = Sequential::new(&ModelSpec::preset("cnn").unwrap(), &device).unwrap();
        // Glorot-uniform limits sqrt(6 / (fan_in + fan_out)) for each kernel.
        let conv_limits = [
            (9.0 + 9.0 * 32.0, &model.convs[0]),
            (9.0 * 32.0 * 2.0, &model.convs[1]),
        ];
        for (fans, conv) in conv_limits {
            let limit = (6.0f32 / fans).sqrt();
            let w = values(conv.weight.val());
            let max = w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(max <= limit && max > 0.9 * limit, "max {max} limit {limit}");
            let bias = values(conv.bias.as_ref().unwrap().val());
            assert!(bias.iter().all(|&b| b == 0.0));
        }
        let limit = (6.0f32 / (800.0 + 128.0)).sqrt();
        let w = values(model.denses[0].weight.val());
        assert_eq!(w.len(), 800 * 128);
        let max = w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(max <= limit && max > 0.9 * limit, "max {max} limit {limit}");
        assert!(values(model.denses[1].bias.as_ref().unwrap().val())
            .iter()
            .all(|&b| b == 0.0));
        assert_eq!(model.num_params(), 113_386);
    }

    #[test]
    fn forward_gives_logits_and_predict_gives_probabilities() {
        let device = Device::flex();
        let model = Sequential::new(&ModelSpec::preset("cnn-16").unwrap(), &device).unwrap();
        let images = Tensor::<4>::ones([2, 1, 28, 28], &device);
        assert_eq!(model.forward(images.clone()).dims(), [2, 10]);
        let probs = values(model.predict(images));
        let row_sum: f32 = probs[..10].iter().sum();
        assert!((row_sum - 1.0).abs() < 1e-5);
    }
}
