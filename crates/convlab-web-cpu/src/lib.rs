//! The page's wasm module: `convlab-web` without its `webgpu` feature. It is a crate of its own,
//! like `convlab-web-gpu`, so that `convlab-web` is a library only: a library that is also a
//! cdylib has one build slot whatever its features, so each of the two module builds rebuilt
//! it (and linked a WebGPU cdylib nobody loads). The entry point is convlab-web's
//! `#[wasm_bindgen(start)]` function, linked in through this re-export.

pub use convlab_web::start;
