//! The page's local storage: the saved state (per lab or per URL experiment) and the run
//! history, as JSON. Text that no longer reads is kept aside, never overwritten, and named in
//! the message. Where the browser gives no local storage (private mode, storage turned off)
//! or a write throws (the quota is full), the page says so and works on without it.
//!
//! Straight through web-sys: gloo-storage's error conversion panics when a storage call throws
//! something that is not an `Error`, and a panic would take the page down with it.

use super::history::RunRecord;
use super::saved::SavedState;
use crate::WebError;
use convlab_core::BackendTimings;
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;

const RUNS_KEY: &str = "convlab.runs.v1";
/// Oldest runs are dropped past this, so local storage never fills up.
const MAX_RUNS: usize = 200;

/// The page's local storage, or why the browser gives none (reading `localStorage` throws a
/// `SecurityError` where storage is turned off).
fn local_storage() -> Result<web_sys::Storage, String> {
    let window = web_sys::window().ok_or("there is no window")?;
    match window.local_storage() {
        Ok(Some(storage)) => Ok(storage),
        Ok(None) => Err("this browser gives the page no local storage".to_string()),
        Err(e) => Err(format!(
            "this browser gives the page no local storage (private mode, or storage turned off?): {}",
            exception(&e)
        )),
    }
}

/// A thrown value as "Name: message" (`QuotaExceededError: ...`), whatever was thrown.
fn exception(value: &JsValue) -> String {
    let field = |name: &str| {
        js_sys::Reflect::get(value, &name.into())
            .ok()
            .and_then(|v| v.as_string())
            .filter(|v| !v.is_empty())
    };
    match (field("name"), field("message")) {
        (Some(name), Some(message)) => format!("{name}: {message}"),
        (name, message) => name
            .or(message)
            .or_else(|| value.as_string())
            .unwrap_or_else(|| "the browser gave no reason".to_string()),
    }
}

/// What a key holds: nothing, a value, or text that does not read (kept aside as `key.unreadable`).
enum Stored<T> {
    Missing,
    Found(T),
    Unreadable { problem: String, aside: String },
}

fn read<T: DeserializeOwned>(key: &str) -> Stored<T> {
    // Without storage there is nothing to read; the first write says why.
    let Ok(storage) = local_storage() else {
        return Stored::Missing;
    };
    let Ok(Some(text)) = storage.get_item(key) else {
        return Stored::Missing;
    };
    match serde_json::from_str(&text) {
        Ok(value) => Stored::Found(value),
        Err(error) => {
            let aside = format!("{key}.unreadable");
            let _ = storage.set_item(&aside, &text);
            Stored::Unreadable {
                problem: error.to_string(),
                aside,
            }
        }
    }
}

fn write<T: Serialize + ?Sized>(key: &str, value: &T, what: &'static str) -> Result<(), WebError> {
    let refused = |reason: String| WebError::Storage { what, reason };
    let storage = local_storage().map_err(refused)?;
    let text = serde_json::to_string(value).map_err(|e| refused(e.to_string()))?;
    storage.set_item(key, &text).map_err(|e| {
        let reason = exception(&e);
        refused(if reason.starts_with("QuotaExceededError") {
            format!("it is full: {reason}")
        } else {
            reason
        })
    })
}

/// The state saved under `key` (or the defaults), whether there was one, and a problem.
pub fn load_state(key: &str) -> (SavedState, bool, Option<String>) {
    match read::<SavedState>(key) {
        Stored::Missing => (SavedState::default(), false, None),
        Stored::Found(state) => (state, true, None),
        Stored::Unreadable { problem, aside } => (
            SavedState::default(),
            false,
            Some(format!("the saved model and settings could not be read ({problem}); starting from the lab's CNN (the old copy is kept in local storage as '{aside}')")),
        ),
    }
}

pub fn save_state(key: &str, state: &SavedState) -> Result<(), WebError> {
    write(key, state, "the settings")
}

/// The stored runs, oldest first, and a problem if they could not be read.
pub fn load_runs() -> (Vec<RunRecord>, Option<String>) {
    match read::<Vec<RunRecord>>(RUNS_KEY) {
        Stored::Missing => (Vec::new(), None),
        Stored::Found(runs) => (runs, None),
        Stored::Unreadable { problem, aside } => (
            Vec::new(),
            Some(format!(
                "the stored run history could not be read ({problem}); a copy is kept in local storage under {aside}"
            )),
        ),
    }
}

pub fn save_runs(runs: &[RunRecord]) -> Result<(), WebError> {
    let start = runs.len().saturating_sub(MAX_RUNS);
    write(RUNS_KEY, &runs[start..], "the run history")
}

const TIMINGS_KEY: &str = "convlab.backend-timings.v1";

/// The backends' timings remembered for the automatic choice. Timings that do not read are
/// only measured again, so the problem is not worth a message.
pub fn load_timings() -> Vec<BackendTimings> {
    match read::<Vec<BackendTimings>>(TIMINGS_KEY) {
        Stored::Found(timings) => timings,
        Stored::Missing | Stored::Unreadable { .. } => Vec::new(),
    }
}

pub fn save_timings(timings: &[BackendTimings]) -> Result<(), WebError> {
    write(TIMINGS_KEY, timings, "the backends' timings")
}
