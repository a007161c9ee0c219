//! `convlab`: the lab on the command line. `summary` prints Keras's `model.summary()` table,
//! `train` runs `model.fit` + `model.evaluate` on the real Fashion-MNIST files, and `subset`
//! writes the first N examples as IDX gz files (how the test fixture was made); `classify`
//! runs a student's own pictures through a saved model.

#[cfg(not(target_family = "wasm"))]
mod classify;
#[cfg(not(target_family = "wasm"))]
mod cli;
#[cfg(not(target_family = "wasm"))]
mod report;
#[cfg(not(target_family = "wasm"))]
mod settings;

// glibc's allocator hands the large tensors a training step frees back to the system and
// page-faults them in again on the next step: ~40% of a CPU step on the lab CNN (BENCHMARKS.md).
// mimalloc keeps them for reuse.
#[cfg(not(target_family = "wasm"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`: its place in mimalloc.h's option enum, the same in the v2 and v3
/// headers of the libmimalloc-sys pinned in Cargo.lock (0.1.49, which builds v3).
#[cfg(not(target_family = "wasm"))]
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

#[cfg(not(target_family = "wasm"))]
fn main() -> std::process::ExitCode {
    // mimalloc still returns freed memory to the system a while after it is freed, and a step
    // at batch 128 then faults its buffers in again as zeroed pages (~5% of an epoch,
    // BENCHMARKS.md). -1: never purge; the process's memory stays at its peak, which training
    // reaches on its first step anyway.
    // SAFETY: an option write, before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    cli::main()
}

#[cfg(target_family = "wasm")]
fn main() {}
