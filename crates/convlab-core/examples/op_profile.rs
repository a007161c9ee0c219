//! Where a training step of the lab CNN spends its time on the CPU backend, op by op.
//!
//!     cargo run --release -p convlab-core --example op_profile [BATCH] [ITERATIONS]
//!
//! The convolutions and poolings run through `convlab-ops` as in the model (each ReLU
//! convolution fused with the pooling after it); with `burn-ops` among the arguments they are
//! burn's own ops, one row each (the "before" column of the per-op table). With
//! `--features ndarray` and `ndarray` among the arguments it profiles burn's NdArray backend
//! instead (the CPU backend before flex; deprecated in burn 0.22).
//!
//! Each op runs on tensors of the lab CNN's shapes; "forward" is the op alone, "backward" is
//! (forward + backward of a sum over its output) minus forward. The last rows time a whole
//! training step (forward, loss, backward, Adam) through the real Trainer. Prints Markdown.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::MaxPool2dConfig;
use burn::nn::LinearConfig;
use burn::tensor::{Device, Distribution, Tensor};
use convlab_core::{Backend, Dataset, ModelSpec, TrainConfig, Trainer};
use std::time::Instant;

// As in the convlab binary: glibc's allocator returns large freed blocks to the system and
// page-faults them back in on the next step (~40% of a step here).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn time_ms(iterations: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm-up: allocations, kernel selection
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed().as_secs_f64() * 1e3 / iterations as f64
}

/// Forces the lazily evaluated result to exist.
fn finish<const D: usize>(t: Tensor<D>) {
    let _ = t.sum().into_data();
}

fn profile<const D: usize, M: Module>(
    name: &str,
    iterations: usize,
    input: &Tensor<D>,
    module: &M,
    forward: impl Fn(&M, Tensor<D>) -> Tensor<4>,
    rows: &mut Vec<(String, f64, f64)>,
) {
    let plain = module.valid();
    let fwd = time_ms(iterations, || {
        finish(forward(&plain, input.clone().inner()))
    });
    let both = time_ms(iterations, || {
        let x = input.clone().require_grad();
        let grads = forward(module, x.clone()).sum().backward();
        let _ = x.grad(&grads).map(finish);
    });
    rows.push((name.to_string(), fwd, (both - fwd).max(0.0)));
}

/// burn-flex, or NdArray when asked for (and built with the `ndarray` feature).
fn cpu_backend() -> (&'static str, Device) {
    if std::env::args().any(|a| a == "ndarray") {
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)] // NdArray is measured as the "before"
        return ("burn-ndarray", Device::ndarray());
        #[cfg(not(feature = "ndarray"))]
        panic!("build the example with --features ndarray to profile NdArray");
    }
    ("burn-flex", Backend::cpu().device)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let batch = args.first().copied().unwrap_or(32);
    let iterations = args.get(1).copied().unwrap_or(20);
    let (backend_name, plain_device) = cpu_backend();
    let device: Device = plain_device.clone().autodiff();
    device.seed(1);
    let random = |shape: [usize; 4]| Tensor::<4>::random(shape, Distribution::Default, &device);
    let mut rows = Vec::new();

    let conv1 = Conv2dConfig::new([1, 32], [3, 3]).init(&device);
    let conv2 = Conv2dConfig::new([32, 32], [3, 3]).init(&device);
    let pool = MaxPool2dConfig::new([2, 2]).init();
    let dense1 = LinearConfig::new(800, 128).init(&device);
    let dense2 = LinearConfig::new(128, 10).init(&device);
    let as4 = |t: Tensor<2>| t.unsqueeze::<4>();
    let burn_ops = std::env::args().any(|a| a == "burn-ops" || a == "ndarray");
    let conv = |m: &Conv2d, x: Tensor<4>| m.forward(x);
    let pool = |x: Tensor<4>| pool.forward(x);

    if burn_ops {
        profile(
            "conv2d 1->32, 28x28",
            iterations,
            &random([batch, 1, 28, 28]),
            &conv1,
            conv,
            &mut rows,
        );
        profile(
            "relu 32x26x26",
            iterations,
            &random([batch, 32, 26, 26]),
            &conv1,
            |_, x| burn::tensor::activation::relu(x),
            &mut rows,
        );
        profile(
            "max_pool2d 32x26x26",
            iterations,
            &random([batch, 32, 26, 26]),
            &conv1,
            |_, x| pool(x),
            &mut rows,
        );
        profile(
            "conv2d 32->32, 13x13",
            iterations,
            &random([batch, 32, 13, 13]),
            &conv2,
            conv,
            &mut rows,
        );
        profile(
            "max_pool2d 32x11x11",
            iterations,
            &random([batch, 32, 11, 11]),
            &conv2,
            |_, x| pool(x),
            &mut rows,
        );
    } else {
        // As the model runs them: each ReLU convolution and its pooling as one op.
        let fused = |m: &Conv2d, x: Tensor<4>| {
            let bias = m.bias.as_ref().map(|b| b.val());
            convlab_ops::conv2d_relu_max_pool2x2(x, m.weight.val(), bias)
        };
        let layers = [
            ("1->32, 28x28", [batch, 1, 28, 28], &conv1),
            ("32->32, 13x13", [batch, 32, 13, 13], &conv2),
        ];
        for (name, shape, conv) in layers {
            let name = format!("conv2d+relu+max_pool2d {name} (fused)");
            profile(&name, iterations, &random(shape), conv, fused, &mut rows);
        }
    }
    let flat = Tensor::<2>::random([batch, 800], Distribution::Default, &device);
    profile(
        "dense 800->128",
        iterations,
        &flat,
        &dense1,
        |m, x| as4(m.forward(x)),
        &mut rows,
    );
    let hidden = Tensor::<2>::random([batch, 128], Distribution::Default, &device);
    profile(
        "dense 128->10",
        iterations,
        &hidden,
        &dense2,
        |m, x| as4(m.forward(x)),
        &mut rows,
    );

    println!(
        "Lab CNN ops on {backend_name} ({}), batch {batch}, mean of {iterations} runs after one warm-up:\n",
        if burn_ops { "burn's conv2d and max_pool2d" } else { "convlab-ops" }
    );
    println!("| op | forward ms | backward ms |");
    println!("|---|---|---|");
    let (mut fwd_sum, mut bwd_sum) = (0.0, 0.0);
    for (name, fwd, bwd) in &rows {
        println!("| {name} | {fwd:.2} | {bwd:.2} |");
        fwd_sum += fwd;
        bwd_sum += bwd;
    }
    let sum_note = if burn_ops {
        " (the second layer's ReLU not included)"
    } else {
        ""
    };
    println!("| sum of the ops above{sum_note} | {fwd_sum:.2} | {bwd_sum:.2} |");

    // A whole step through the real trainer, on synthetic pixels of the right shape.
    let n = batch * (iterations + 1);
    let data = Dataset {
        images: (0..n * 784).map(|i| (i * 7 % 256) as u8).collect(),
        labels: (0..n).map(|i| (i % 10) as u8).collect(),
    };
    let config = TrainConfig {
        epochs: 1,
        batch_size: batch,
        report_every: usize::MAX,
        ..TrainConfig::default()
    };
    let spec = ModelSpec::preset("cnn").unwrap();
    let mut trainer = Trainer::new(&spec, config, data, plain_device).unwrap();
    let mut step = || convlab_core::block_on(trainer.step(&mut |_| {})).unwrap();
    step();
    let start = Instant::now();
    for _ in 0..iterations - 1 {
        step();
    }
    let step_ms = start.elapsed().as_secs_f64() * 1e3 / (iterations - 1) as f64;
    println!("| whole training step (Trainer::step: forward, loss, backward, Adam; always convlab-ops) | {step_ms:.2} total | |");
    println!(
        "\n{:.0} samples/s in whole steps",
        batch as f64 * 1e3 / step_ms
    );
}
