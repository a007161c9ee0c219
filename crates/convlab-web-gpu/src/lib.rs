//! The WebGPU build of convlab's wasm module. It adds nothing to `convlab-web` but its
//! `webgpu` feature: a second crate is how Trunk builds the same code twice, once without
//! burn-wgpu (the page's module, under a fifth of the size) and once with it (this one, which only the
//! training worker loads, and only in browsers with a WebGPU adapter). The entry point is
//! convlab-web's `#[wasm_bindgen(start)]` function, linked in through this re-export.

pub use convlab_web::start;
