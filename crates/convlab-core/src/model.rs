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

    /// The `index`-th convolution with its activation, and with the 2×2 pooling after it when
    /// `pool_after` (ReLU convolutions run as one op on the CPU backend: see `convlab-ops`).
    fn convolve_activate(
        &self,
        index: usize,
        x: Tensor<4>,
        activation: Activation,
        pool_after: bool,
    ) -> Tensor<4> {
        let conv = &self.convs[index];
        let (weight, bias) = (conv.weight.val(), conv.bias.as_ref().map(|b| b.val()));
        match (activation, pool_after) {
            (Activation::Relu, true) => convlab_ops::conv2d_relu_max_pool2x2(x, weight, bias),
            (Activation::Relu, false) => convlab_ops::conv2d_relu(x, weight, bias),
            (_, pool_after) => {
                let x = apply(activation, self.convolve(index, x), 1);
                if pool_after {
                    convlab_ops::max_pool2d(x, 2)
                } else {
                    x
                }
            }
        }
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
        let mut layers = self.spec.layers.iter().enumerate().peekable();
        while let Some((index, layer)) = layers.next() {
            match *layer {
                LayerSpec::Conv2D { activation, .. } => {
                    // A 2×2 pooling right after the convolution is fused into it.
                    let pool_after = layers
                        .next_if(|(_, next)| matches!(next, LayerSpec::MaxPool2D { pool: 2 }))
                        .is_some();
                    let x = image.take().expect("validated spec");
                    image = Some(self.convolve_activate(conv, x, activation, pool_after));
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
    /// Every conv layer's kernel, `[filters, channels, size, size]`, in the stack's order.
    pub fn conv_kernels(&self) -> Vec<Tensor<4>> {
        self.convs.iter().map(|conv| conv.weight.val()).collect()
    }

    pub fn image_activations(&self, images: Tensor<4>) -> Vec<LayerOutput> {
        let mut outputs = Vec::new();
        let mut x = images;
        let mut conv = 0;
        for (index, layer) in self.spec.layers.iter().enumerate() {
            match *layer {
                LayerSpec::Conv2D { activation, .. } => {
                    // Unfused: the canvases draw the convolution's output before pooling.
                    x = self.convolve_activate(conv, x, activation, false);
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
    use burn::tensor::{Distribution, Tolerance};

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
    fn fused_training_forward_matches_the_layer_by_layer_outputs() {
        // `forward` fuses each ReLU convolution with the 2×2 pooling after it;
        // `image_activations` runs every layer on its own. Both must give the same logits, for
        // trained stacks (autodiff) and plain ones, with and without a pooling to fuse.
        let texts = [
            ModelSpec::preset("cnn").unwrap().to_text(),
            ModelSpec::preset("cnn-3conv").unwrap().to_text(),
            "conv:8:3:relu,conv:8:3:linear,pool:2,conv:4:3:relu,pool:3,flatten,dense:10:softmax"
                .to_string(),
        ];
        let devices = [Device::flex().autodiff(), Device::flex()];
        for (text, device) in texts
            .iter()
            .flat_map(|t| devices.iter().map(move |d| (t, d)))
        {
            device.seed(17);
            let model = Sequential::new(&ModelSpec::parse_text(text).unwrap(), device).unwrap();
            let images = Tensor::<4>::random([3, 1, 28, 28], Distribution::Default, device);
            let layered = model
                .image_activations(images.clone())
                .pop()
                .unwrap()
                .output;
            let mut flat: Tensor<2> = layered.flatten(1, 3);
            for (i, dense) in model.denses.iter().enumerate() {
                flat = dense.forward(flat);
                if i + 1 < model.denses.len() {
                    flat = activation::relu(flat);
                }
            }
            let fused = model.forward(images);
            fused
                .into_data()
                .assert_approx_eq::<f32>(&flat.into_data(), Tolerance::rel_abs(1e-5, 1e-5));
        }
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
