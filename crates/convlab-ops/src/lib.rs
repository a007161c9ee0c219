//! Faster CPU training for the lab's layers, through burn's backend-extension API.
//!
//! burn 0.22's CPU backend (`flex`) spends most of a lab-CNN training step in two places that
//! are not arithmetic (see BENCHMARKS.md, "Where a CPU training step goes"):
//!
//! - max pooling's forward pass with indices: a generic kernel whose data-dependent branches
//!   are mispredicted about half the time on real activations;
//! - a convolution's gradients: burn's generic formulas (a convolution of the input with the
//!   output gradient as a 26×26 "kernel" for the weights, a transposed convolution for the
//!   input), which flex cannot map onto good matrix products.
//!
//! This crate replaces just those pieces when a tensor lives on flex: [`max_pool2d`] computes
//! 2×2 windows branch-free (burn's own max-pool backward still scatters the gradient), and
//! [`conv2d`] computes the forward pass and the weight and input gradients as burn matrix
//! products over the input's patches (im2col / col2im, two plain copy loops here), the form
//! TensorFlow and PyTorch use. [`conv2d_relu`] and [`conv2d_relu_max_pool2x2`] apply ReLU,
//! and the 2×2 pooling after it, in the loop that writes the convolution's output (oneDNN's
//! "post-ops"): at batch 128 the separate passes over the lab's 11 MB first activation were a
//! sixth of a step. On any other backend (WebGPU) these functions are burn's own ops, and so is
//! everything else in the model.
//!
//! All are checked against burn's reference ops (values and gradients) in the tests below.

mod conv;
mod parallel;
mod pool;

use burn::backend::autodiff::Autodiff;
use burn::backend::Flex;
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{activation, module};
use burn::tensor::{DType, Tensor};
use conv::Epilogue;

/// The autodiff backend the trainer uses on the CPU.
type FlexAutodiff = Autodiff<Flex>;

/// Max pooling over non-overlapping `size`×`size` windows (stride `size`, no padding, a
/// partial last row or column dropped), as Keras's `MaxPooling2D(size)`. The lab's 2×2 pooling
/// on flex takes the fast kernel; other sizes are burn's op.
pub fn max_pool2d(x: Tensor<4>, size: usize) -> Tensor<4> {
    let [_, _, height, width] = x.dims();
    if size == 2 && x.dtype() == DType::F32 && height >= 2 && width >= 2 {
        if let Ok(tracked) = x.clone().try_into_primitive::<FlexAutodiff>() {
            return Tensor::from_primitive::<FlexAutodiff>(pool::max_pool2x2_autodiff(tracked));
        }
        if let Ok(plain) = x.clone().try_into_primitive::<Flex>() {
            return Tensor::from_primitive::<Flex>(pool::max_pool2x2(&plain).0);
        }
    }
    module::max_pool2d(x, MaxPoolOptions::new([size, size]))
}

/// A stride-1 convolution without padding (Keras's `Conv2D` with `padding="valid"`).
/// `weight` is `[filters, channels, kernel, kernel]`.
pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>) -> Tensor<4> {
    convolve(&x, &weight, &bias, Epilogue::None).unwrap_or_else(|| burn_conv2d(x, weight, bias))
}

/// `relu(conv2d(x, weight, bias))`: Keras's `Conv2D(activation="relu")`, ReLU applied as the
/// convolution writes its output on flex.
pub fn conv2d_relu(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>) -> Tensor<4> {
    convolve(&x, &weight, &bias, Epilogue::Relu)
        .unwrap_or_else(|| activation::relu(burn_conv2d(x, weight, bias)))
}

/// `max_pool2d(relu(conv2d(x, weight, bias)), 2)`: Keras's `Conv2D(activation="relu")`
/// followed by `MaxPooling2D(2)`, as one op on flex that never stores the full-size
/// activation (the same values and gradients; see the `conv` module).
pub fn conv2d_relu_max_pool2x2(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
) -> Tensor<4> {
    let [_, _, height, width] = x.dims();
    let [_, _, kernel_h, kernel_w] = weight.dims();
    // The convolution's output has a 2×2 window to pool.
    if height > kernel_h && width > kernel_w {
        if let Some(pooled) = convolve(&x, &weight, &bias, Epilogue::ReluMaxPool2x2) {
            return pooled;
        }
    }
    max_pool2d(conv2d_relu(x, weight, bias), 2)
}

/// The flex kernels' convolution with `epilogue`, or `None` where they do not cover it (another
/// backend, another dtype, shapes burn's op should check).
fn convolve(
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: &Option<Tensor<1>>,
    epilogue: Epilogue,
) -> Option<Tensor<4>> {
    let bias = bias.clone().filter(|b| kernels_cover(x, weight, b))?;
    let tracked = (
        x.clone().try_into_primitive::<FlexAutodiff>(),
        weight.clone().try_into_primitive::<FlexAutodiff>(),
        bias.clone().try_into_primitive::<FlexAutodiff>(),
    );
    if let (Ok(x), Ok(weight), Ok(bias)) = tracked {
        let output = conv::conv2d_autodiff(x, weight, bias, epilogue);
        return Some(Tensor::from_primitive::<FlexAutodiff>(output));
    }
    let plain = (
        x.clone().try_into_primitive::<Flex>(),
        weight.clone().try_into_primitive::<Flex>(),
        bias.try_into_primitive::<Flex>(),
    );
    if let (Ok(x), Ok(weight), Ok(bias)) = plain {
        let output = conv::conv2d_forward(&x, &weight, &bias, epilogue);
        return Some(Tensor::from_primitive::<Flex>(output));
    }
    None
}

fn burn_conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>) -> Tensor<4> {
    let options = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
    module::conv2d(x, weight, bias, options)
}

/// Whether the flex kernels cover this convolution: f32 throughout, matching channels and bias,
/// a kernel that fits the input. Anything else goes to burn's op, which has its own checks.
fn kernels_cover(x: &Tensor<4>, weight: &Tensor<4>, bias: &Tensor<1>) -> bool {
    let [_, channels, height, width] = x.dims();
    let [filters, kernel_channels, kernel_h, kernel_w] = weight.dims();
    let all_f32 = [x.dtype(), weight.dtype(), bias.dtype()]
        .iter()
        .all(|&dtype| dtype == DType::F32);
    all_f32
        && channels == kernel_channels
        && bias.dims() == [filters]
        && (1..=height).contains(&kernel_h)
        && (1..=width).contains(&kernel_w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution, Tolerance};

    fn random(shape: [usize; 4], device: &Device) -> Tensor<4> {
        Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), device)
    }

    fn assert_close<const D: usize>(actual: Tensor<D>, expected: Tensor<D>) {
        assert_eq!(actual.dims(), expected.dims());
        // f32 sums in a different order: the largest case adds ~44,000 products per weight
        // gradient. An indexing error would be off by whole values.
        actual
            .into_data()
            .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::rel_abs(5e-4, 1e-3));
    }

    fn reference_pool(x: Tensor<4>, size: usize) -> Tensor<4> {
        module::max_pool2d(x, MaxPoolOptions::new([size, size]))
    }

    #[test]
    fn pooling_matches_burn_forward_and_backward() {
        let device = Device::flex().autodiff();
        device.seed(7);
        // 26×26 (even) and 11×11 (odd: the last row and column are dropped), ReLU outputs
        // (ties between zeros: the first one wins), and size 3 (burn's op).
        for (shape, size) in [([3, 4, 26, 26], 2), ([2, 5, 11, 11], 2), ([2, 3, 9, 10], 3)] {
            let input = burn::tensor::activation::relu(random(shape, &device));
            // A weighted sum, so that every output element gets a different gradient.
            let out_shape = reference_pool(input.clone().inner(), size).dims();
            let weights = random(out_shape, &device);

            let x = input.clone().require_grad();
            let fast = max_pool2d(x.clone(), size);
            let fast_grad = x.grad(&(fast.clone() * weights.clone()).sum().backward());

            let y = input.clone().require_grad();
            let slow = reference_pool(y.clone(), size);
            let slow_grad = y.grad(&(slow.clone() * weights).sum().backward());

            assert_close(fast, slow);
            assert_close(fast_grad.unwrap(), slow_grad.unwrap());
            // Without autodiff (evaluation, feature maps).
            assert_close(
                max_pool2d(input.clone().inner(), size),
                reference_pool(input.inner(), size),
            );
        }
    }

    #[test]
    fn the_trainers_cpu_tensors_take_the_fast_path() {
        // The routing condition of both functions: training tensors (flex under autodiff) and
        // evaluation tensors (plain flex) convert to the primitives the kernels take.
        let training = Tensor::<4>::zeros([1, 1, 2, 2], &Device::flex().autodiff());
        assert!(training.try_into_primitive::<FlexAutodiff>().is_ok());
        let evaluation = Tensor::<4>::zeros([1, 1, 2, 2], &Device::flex());
        assert!(evaluation.try_into_primitive::<Flex>().is_ok());
    }

    #[test]
    fn pooling_propagates_nan() {
        let device = Device::flex();
        for at in 0..4 {
            let mut values = [1.0, 4.0, 3.0, 2.0];
            values[at] = f32::NAN;
            let x = Tensor::<1>::from_floats(values, &device).reshape([1, 1, 2, 2]);
            let out: Vec<f32> = max_pool2d(x, 2).into_data().try_to_vec().unwrap();
            assert!(out[0].is_nan(), "a NaN at {at} must not vanish: {out:?}");
        }
    }

    #[test]
    fn convolution_matches_burn_forward_and_gradients() {
        let device = Device::flex().autodiff();
        device.seed(11);
        // The lab's two convolutions (1 and 32 input channels; 37 images: uneven blocks on
        // every thread count), a 5×5 kernel, and an input whose patches (19 M values) are too
        // many to keep, so the backward copies them again.
        for (x_shape, w_shape) in [
            ([37, 1, 28, 28], [32, 1, 3, 3]),
            ([56, 48, 30, 30], [8, 48, 3, 3]),
            ([4, 32, 13, 13], [16, 32, 3, 3]),
            ([2, 3, 12, 11], [4, 3, 5, 5]),
        ] {
            let input = random(x_shape, &device);
            let kernel = random(w_shape, &device);
            let offsets = Tensor::<1>::random([w_shape[0]], Distribution::Default, &device);
            let run = |fast: bool| {
                let x = input.clone().require_grad();
                let w = kernel.clone().require_grad();
                let b = offsets.clone().require_grad();
                let out = if fast {
                    conv2d(x.clone(), w.clone(), Some(b.clone()))
                } else {
                    let options = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
                    module::conv2d(x.clone(), w.clone(), Some(b.clone()), options)
                };
                let weights = Tensor::<4>::ones(out.dims(), &device).cumsum(3) / 10.0;
                let grads = (out.clone() * weights).sum().backward();
                (
                    out,
                    x.grad(&grads).unwrap(),
                    w.grad(&grads).unwrap(),
                    b.grad(&grads).unwrap(),
                )
            };
            // Without autodiff (evaluation, feature maps).
            let options = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
            let (x, w, b) = (
                input.clone().inner(),
                kernel.clone().inner(),
                offsets.clone().inner(),
            );
            assert_close(
                conv2d(x.clone(), w.clone(), Some(b.clone())),
                module::conv2d(x, w, Some(b), options),
            );
            let (ref_out, ref_x_grad, ref_w_grad, ref_b_grad) = run(false);
            on_thread_counts(|| {
                let (out, x_grad, w_grad, b_grad) = run(true);
                assert_close(out, ref_out.clone());
                assert_close(x_grad, ref_x_grad.clone());
                assert_close(w_grad, ref_w_grad.clone());
                assert_close(b_grad, ref_b_grad.clone());
            });
        }
    }

    /// Runs `f` on rayon pools of 1 thread (as in wasm: blocks of up to 32 images), 3 threads
    /// (uneven blocks) and the default pool, so that every way of splitting a batch is checked
    /// whatever the machine's core count.
    fn on_thread_counts(f: impl Fn() + Sync + Send) {
        for threads in [1, 3] {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(&f);
        }
        f();
    }

    #[test]
    fn fused_relu_and_pooling_match_burn_forward_and_gradients() {
        let device = Device::flex().autodiff();
        device.seed(13);
        // The lab's two layers (26×26 and 11×11 outputs: the odd one drops a row and a
        // column; 37 images: a partial block on every thread count) and a 5×5 kernel on an
        // odd-width input. About half of the outputs are negative, so ReLU zeroes them and
        // whole windows tie at zero.
        for (x_shape, w_shape) in [
            ([37, 1, 28, 28], [32, 1, 3, 3]),
            ([4, 32, 13, 13], [16, 32, 3, 3]),
            ([2, 3, 12, 11], [4, 3, 5, 5]),
        ] {
            let input = random(x_shape, &device);
            let kernel = random(w_shape, &device);
            let offsets = Tensor::<1>::random([w_shape[0]], Distribution::Default, &device);
            let (out_h, out_w) = (x_shape[2] - w_shape[2] + 1, x_shape[3] - w_shape[3] + 1);
            // The first layer's input (the images) has no gradient; later layers' inputs do.
            for (pool, input_tracked) in [(false, true), (true, true), (true, false)] {
                let out_dims = if pool {
                    [x_shape[0], w_shape[0], out_h / 2, out_w / 2]
                } else {
                    [x_shape[0], w_shape[0], out_h, out_w]
                };
                // A different gradient for every output element.
                let weights = random(out_dims, &device);
                let run = |fast: bool| {
                    let x = if input_tracked {
                        input.clone().require_grad()
                    } else {
                        input.clone()
                    };
                    let w = kernel.clone().require_grad();
                    let b = offsets.clone().require_grad();
                    let out = match (fast, pool) {
                        (true, true) => {
                            conv2d_relu_max_pool2x2(x.clone(), w.clone(), Some(b.clone()))
                        }
                        (true, false) => conv2d_relu(x.clone(), w.clone(), Some(b.clone())),
                        (false, _) => {
                            let y = activation::relu(burn_conv2d(
                                x.clone(),
                                w.clone(),
                                Some(b.clone()),
                            ));
                            if pool {
                                reference_pool(y, 2)
                            } else {
                                y
                            }
                        }
                    };
                    let grads = (out.clone() * weights.clone()).sum().backward();
                    let x_grad = x.grad(&grads);
                    assert_eq!(x_grad.is_some(), input_tracked);
                    (
                        out,
                        x_grad,
                        w.grad(&grads).unwrap(),
                        b.grad(&grads).unwrap(),
                    )
                };
                let (ref_out, ref_x_grad, ref_w_grad, ref_b_grad) = run(false);
                on_thread_counts(|| {
                    let (out, x_grad, w_grad, b_grad) = run(true);
                    assert_eq!(out.dims(), out_dims);
                    assert_close(out, ref_out.clone());
                    if let (Some(x_grad), Some(ref_x_grad)) = (x_grad, ref_x_grad.clone()) {
                        assert_close(x_grad, ref_x_grad);
                    }
                    assert_close(w_grad, ref_w_grad.clone());
                    assert_close(b_grad, ref_b_grad.clone());
                });
            }
            // Without autodiff (evaluation).
            let (x, w, b) = (input.inner(), kernel.inner(), offsets.inner());
            let reference = activation::relu(burn_conv2d(x.clone(), w.clone(), Some(b.clone())));
            assert_close(
                conv2d_relu(x.clone(), w.clone(), Some(b.clone())),
                reference.clone(),
            );
            assert_close(
                conv2d_relu_max_pool2x2(x, w, Some(b)),
                reference_pool(reference, 2),
            );
        }
    }

    #[test]
    fn pooling_sends_the_gradient_where_burn_does_on_ties_and_nan() {
        // One 2×2 window per case. Ties: the first maximum wins. NaN: the last NaN wins, and
        // its gradient passes ReLU (burn-flex keeps NaN through ReLU).
        let device = Device::flex().autodiff();
        let nan = f32::NAN;
        let windows = [
            ([2.0, 2.0, 1.0, 2.0], 0),
            ([1.0, 3.0, 3.0, 3.0], 1),
            ([0.5, 1.0, 4.0, 4.0], 2),
            ([1.0, nan, 3.0, 0.0], 1),
            ([nan, 1.0, 3.0, nan], 3),
            ([nan, nan, 3.0, 0.0], 1),
            ([5.0, 1.0, nan, 2.0], 2),
        ];
        for (values, winner) in windows {
            let input = Tensor::<1>::from_floats(values, &device).reshape([1, 1, 2, 2]);
            // A 1×1 kernel of weight 1 and bias 0: the convolution's output is the input.
            let (w, b) = (
                Tensor::<4>::ones([1, 1, 1, 1], &device),
                Tensor::<1>::zeros([1], &device),
            );
            let fused = input.clone().require_grad();
            let out = conv2d_relu_max_pool2x2(fused.clone(), w.clone(), Some(b.clone()));
            let fused_grad: Vec<f32> = fused
                .grad(&out.sum().backward())
                .unwrap()
                .into_data()
                .try_to_vec()
                .unwrap();
            let alone = input.clone().require_grad();
            let out = max_pool2d(alone.clone(), 2);
            let alone_grad: Vec<f32> = alone
                .grad(&out.sum().backward())
                .unwrap()
                .into_data()
                .try_to_vec()
                .unwrap();
            let reference = input.clone().require_grad();
            let out = reference_pool(activation::relu(reference.clone()), 2);
            let reference_grad: Vec<f32> = reference
                .grad(&out.sum().backward())
                .unwrap()
                .into_data()
                .try_to_vec()
                .unwrap();
            let mut expected = vec![0.0; 4];
            expected[winner] = 1.0;
            assert_eq!(
                reference_grad, expected,
                "burn's own rule, window {values:?}"
            );
            assert_eq!(fused_grad, expected, "fused, window {values:?}");
            assert_eq!(alone_grad, expected, "max_pool2d, window {values:?}");
        }
    }

    #[test]
    fn fused_pooling_propagates_nan_and_zeroes_negatives() {
        // A 1×1 kernel of weight 1 and bias 0: the output is the input, relu'd and pooled.
        let device = Device::flex();
        let x =
            Tensor::<1>::from_floats([-1.0, -2.0, 5.0, 1.0, -3.0, -4.0, 2.0, f32::NAN], &device)
                .reshape([1, 1, 2, 4]);
        let (w, b) = (
            Tensor::<4>::ones([1, 1, 1, 1], &device),
            Tensor::<1>::zeros([1], &device),
        );
        let out: Vec<f32> = conv2d_relu_max_pool2x2(x, w, Some(b))
            .into_data()
            .try_to_vec()
            .unwrap();
        assert_eq!(out[0], 0.0, "a window of negatives pools to ReLU's 0");
        assert!(out[1].is_nan(), "a NaN must not vanish: {out:?}");
    }

    #[test]
    fn fused_pooling_of_an_output_too_small_to_pool_goes_to_burn() {
        // A 3×3 input and 3×3 kernel: a 1×1 output has no 2×2 window; burn's op gives 0×0.
        let device = Device::flex();
        let out = conv2d_relu_max_pool2x2(
            Tensor::<4>::ones([1, 1, 3, 3], &device),
            Tensor::<4>::ones([2, 1, 3, 3], &device),
            Some(Tensor::<1>::zeros([2], &device)),
        );
        assert_eq!(out.dims(), [1, 2, 0, 0]);
    }

    #[test]
    fn convolution_with_frozen_kernels_grads_only_the_input() {
        let device = Device::flex().autodiff();
        device.seed(5);
        let input = random([3, 2, 9, 9], &device);
        let kernel = random([4, 2, 3, 3], &device);
        let offsets = Tensor::<1>::zeros([4], &device);
        let x = input.clone().require_grad();
        let grads = conv2d(x.clone(), kernel.clone(), Some(offsets.clone()))
            .sum()
            .backward();
        let y = input.require_grad();
        let options = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
        let reference = module::conv2d(y.clone(), kernel.clone(), Some(offsets), options)
            .sum()
            .backward();
        assert!(kernel.grad(&grads).is_none());
        assert_close(x.grad(&grads).unwrap(), y.grad(&reference).unwrap());
    }

    #[test]
    fn shapes_the_kernels_do_not_cover_go_to_burn() {
        let device = Device::flex();
        // A 1-pixel-wide input: no 2×2 window at all.
        assert_eq!(
            max_pool2d(Tensor::<4>::ones([1, 1, 1, 5], &device), 2).dims(),
            [1, 1, 0, 2]
        );
        // Without a bias.
        let x = Tensor::<4>::ones([1, 1, 4, 4], &device);
        let out = conv2d(x, Tensor::<4>::ones([2, 1, 3, 3], &device), None);
        let values: Vec<f32> = out.into_data().try_to_vec().unwrap();
        assert_eq!(values, vec![9.0; 8]);
    }

    #[test]
    fn convolution_of_an_untracked_input_only_grads_the_weights() {
        // The first layer's input (the images) needs no gradient: only weight and bias get one.
        let device = Device::flex().autodiff();
        let x = Tensor::<4>::ones([2, 1, 5, 5], &device);
        let w = Tensor::<4>::ones([3, 1, 3, 3], &device).require_grad();
        let b = Tensor::<1>::zeros([3], &device).require_grad();
        let grads = conv2d(x.clone(), w.clone(), Some(b.clone()))
            .sum()
            .backward();
        assert!(x.grad(&grads).is_none());
        // Every weight sees 2 images × 3×3 output positions of ones.
        let w_grad: Vec<f32> = w.grad(&grads).unwrap().into_data().try_to_vec().unwrap();
        assert!(w_grad.iter().all(|&g| g == 18.0), "{w_grad:?}");
        let b_grad: Vec<f32> = b.grad(&grads).unwrap().into_data().try_to_vec().unwrap();
        assert_eq!(b_grad, vec![18.0; 3]);
    }
}
