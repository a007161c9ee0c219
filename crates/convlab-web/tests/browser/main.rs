//! Training in headless Chromium. Run twice by `.ci/run`: built with the `webgpu` feature and
//! run with `--enable-unsafe-webgpu` (WebGPU through SwiftShader), and built without it (the
//! page's CPU-only module) and run without the flag (no adapter: the CPU fallback).
//! `CONVLAB_EXPECT_BACKEND` (wgpu or cpu, read at build time) says which run this is, so a
//! WebGPU run that silently fell back to the CPU fails.
//!
//! One test binary (one wasm module, one browser session) in three files: `backends.rs` (the
//! backend, training steps, messages), `session.rs` (the worker's logic: a run, its feature
//! maps, refusals) and `warm_up.rs` (the warm-up, the automatic choice, CPU workers).
#![cfg(target_family = "wasm")]

mod backends;
mod session;
mod warm_up;

use convlab_core::Dataset;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

pub(crate) const TRAIN_IMAGES: &[u8] =
    include_bytes!("../../../../tests/fixtures/fashion-mnist/train-images-idx3-ubyte.gz");
pub(crate) const TRAIN_LABELS: &[u8] =
    include_bytes!("../../../../tests/fixtures/fashion-mnist/train-labels-idx1-ubyte.gz");
pub(crate) const TEST_IMAGES: &[u8] =
    include_bytes!("../../../../tests/fixtures/fashion-mnist/t10k-images-idx3-ubyte.gz");
pub(crate) const TEST_LABELS: &[u8] =
    include_bytes!("../../../../tests/fixtures/fashion-mnist/t10k-labels-idx1-ubyte.gz");

pub(crate) fn expected_backend() -> &'static str {
    option_env!("CONVLAB_EXPECT_BACKEND").unwrap_or("any")
}

pub(crate) fn fixture() -> Dataset {
    Dataset::from_idx("train images", TRAIN_IMAGES, "train labels", TRAIN_LABELS).unwrap()
}

pub(crate) fn web_sys_log(message: &str) {
    web_sys_console_log(message);
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn web_sys_console_log(s: &str);
}
