//! The page's local storage, through gloo-storage: the saved state (per lab or per URL
//! experiment) and the run history. Text that no longer reads is kept aside, never
//! overwritten, and named in the message.

use super::history::RunRecord;
use super::saved::SavedState;
use crate::WebError;
use gloo_storage::{errors::StorageError, LocalStorage, Storage};
use serde::de::DeserializeOwned;
use serde::Serialize;

const RUNS_KEY: &str = "convlab.runs.v1";
/// Oldest runs are dropped past this, so local storage never fills up.
const MAX_RUNS: usize = 200;

/// Whether the browser gives this page local storage (gloo's calls throw where it does not).
fn available() -> bool {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .is_some()
}

/// What a key holds: nothing, a value, or text that does not read (kept aside as `key.unreadable`).
enum Stored<T> {
    Missing,
    Found(T),
    Unreadable { problem: String, aside: String },
}

fn read<T: DeserializeOwned>(key: &str) -> Stored<T> {
    if !available() {
        return Stored::Missing;
    }
    match LocalStorage::get::<T>(key) {
        Ok(value) => Stored::Found(value),
        Err(StorageError::KeyNotFound(_)) => Stored::Missing,
        Err(error) => {
            let aside = format!("{key}.unreadable");
            if let Ok(Some(text)) = LocalStorage::raw().get_item(key) {
                let _ = LocalStorage::raw().set_item(&aside, &text);
            }
            Stored::Unreadable {
                problem: error.to_string(),
                aside,
            }
        }
    }
}

fn write<T: Serialize + ?Sized>(key: &str, value: &T, what: &'static str) -> Result<(), WebError> {
    if !available() {
        return Err(WebError::Unavailable(
            "this browser gives the page no local storage; settings and runs will not survive a reload",
        ));
    }
    LocalStorage::set(key, value).map_err(|_| WebError::Storage { what })
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
