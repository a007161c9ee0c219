//! `convlab`: the lab on the command line. `summary` prints Keras's `model.summary()` table,
//! `train` runs `model.fit` + `model.evaluate` on the real Fashion-MNIST files, and `subset`
//! writes the first N examples as IDX gz files (how the test fixture was made).

#[cfg(not(target_family = "wasm"))]
mod cli;

// glibc's allocator hands the large tensors a training step frees back to the system and
// page-faults them in again on the next step: ~40% of a CPU step on the lab CNN (BENCHMARKS.md).
// mimalloc keeps them for reuse.
#[cfg(not(target_family = "wasm"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(not(target_family = "wasm"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(target_family = "wasm")]
fn main() {}
