//! The one typed message enum pair between the page and its training worker. Both sides are
//! this crate, so a message is built and matched as a Rust value and crosses `postMessage`
//! through serde-wasm-bindgen (structured clone), never as hand-written JSON.
//!
//! `requests`: what the page asks ([`ToWorker`]); `replies`: what the worker answers
//! ([`FromWorker`]) and which request a reply belongs to; `helpers`: between the training
//! worker and its helper workers on further cores; `pacing`: how often batch reports go to
//! the page; `wire`: the byte encodings that keep bulk data (activations, kernels) one typed
//! array on the way.

mod helpers;
mod pacing;
mod replies;
mod requests;
mod wire;

pub use helpers::{FromHelper, ShareRequest};
pub use pacing::BatchReports;
pub use replies::{FileProgress, FromWorker, RequestKind, TestResult};
pub use requests::{BackendChoice, Destination, Fault, ToWorker, TrainRequest, WarmUp};

use crate::error::WebError;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

/// How many test images the page shows as thumbnails (the lab prints the first 100 labels).
pub const SAMPLE_COUNT: usize = 100;

/// JSON-like values (objects, `null` for `None`), except that bytes become one Uint8Array:
/// `json_compatible()` would make them arrays of numbers, which are slow to read back.
fn to_js<T: Serialize>(value: &T, what: &'static str) -> Result<JsValue, WebError> {
    let serializer = serde_wasm_bindgen::Serializer::new()
        .serialize_missing_as_null(true)
        .serialize_maps_as_objects(true);
    value.serialize(&serializer).map_err(|e| WebError::Message {
        expected: what,
        problem: e.to_string(),
    })
}

fn from_js<T: for<'de> Deserialize<'de>>(
    value: JsValue,
    what: &'static str,
) -> Result<T, WebError> {
    serde_wasm_bindgen::from_value(value).map_err(|e| WebError::Message {
        expected: what,
        problem: e.to_string(),
    })
}

#[cfg(test)]
mod tests;
