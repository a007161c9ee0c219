//! `convlab`: the lab on the command line. `summary` prints Keras's `model.summary()` table,
//! `train` runs `model.fit` + `model.evaluate` on the real Fashion-MNIST files, and `subset`
//! writes the first N examples as IDX gz files (how the test fixture was made).

#[cfg(not(target_family = "wasm"))]
mod cli;

#[cfg(not(target_family = "wasm"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(target_family = "wasm")]
fn main() {}
