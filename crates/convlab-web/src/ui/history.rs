//! The run history: one row per training run, kept in the browser's local storage so that it
//! survives a reload and answers the lab's "what impact on accuracy and training time?".

use super::dom::escape;
use convlab_core::summary::thousands;
use serde::{Deserialize, Serialize};

const STORAGE_KEY: &str = "convlab.runs.v1";
/// Oldest runs are dropped past this, so local storage never fills up.
const MAX_RUNS: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Local date and time the run finished.
    pub when: String,
    pub architecture: String,
    pub params: usize,
    pub epochs_run: usize,
    pub epochs_planned: usize,
    pub train_images: usize,
    pub seconds_per_epoch: f64,
    pub samples_per_second: f64,
    pub train_accuracy: Option<f32>,
    pub val_accuracy: Option<f32>,
    pub test_accuracy: Option<f32>,
    pub backend: String,
    /// Empty when every planned epoch ran.
    pub stop_reason: String,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The stored runs, oldest first. Unreadable storage gives an empty history and a reason.
pub fn load() -> (Vec<RunRecord>, Option<String>) {
    let Some(text) = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten()) else {
        return (Vec::new(), None);
    };
    match serde_json::from_str(&text) {
        Ok(runs) => (runs, None),
        Err(e) => {
            // Keep the unreadable text under another key so the next save does not destroy it.
            if let Some(s) = storage() {
                let _ = s.set_item(&format!("{STORAGE_KEY}.unreadable"), &text);
            }
            (
                Vec::new(),
                Some(format!(
                    "the stored run history could not be read ({e}); a copy is kept in local storage under {STORAGE_KEY}.unreadable"
                )),
            )
        }
    }
}

/// Stores the runs; the error says why they could not be kept (quota, private mode).
pub fn save(runs: &[RunRecord]) -> Result<(), String> {
    let start = runs.len().saturating_sub(MAX_RUNS);
    let text = serde_json::to_string(&runs[start..]).map_err(|e| e.to_string())?;
    storage()
        .ok_or("this browser gives the page no local storage")?
        .set_item(STORAGE_KEY, &text)
        .map_err(|_| "local storage refused the run history (full?)".to_string())
}

fn percent(value: Option<f32>) -> String {
    value.map_or("–".to_string(), super::dom::percent)
}

/// The table body, newest run first.
pub fn rows_html(runs: &[RunRecord]) -> String {
    runs.iter()
        .rev()
        .map(|r| {
            let epochs = if r.epochs_run == r.epochs_planned {
                r.epochs_run.to_string()
            } else {
                format!("{} of {}", r.epochs_run, r.epochs_planned)
            };
            format!(
                "<tr><td>{}</td><td><code>{}</code><br><small>{} images</small></td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&r.when),
                escape(&r.architecture),
                thousands(r.train_images),
                thousands(r.params),
                epochs,
                r.seconds_per_epoch,
                thousands(r.samples_per_second.round() as usize),
                percent(r.train_accuracy),
                percent(r.val_accuracy),
                percent(r.test_accuracy),
                escape(&r.backend),
                escape(&r.stop_reason),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_show_newest_first_and_partial_epochs() {
        let run = |arch: &str, epochs_run| RunRecord {
            when: "2026-11-28 10:00".into(),
            architecture: arch.into(),
            params: 113_386,
            epochs_run,
            epochs_planned: 5,
            train_images: 60_000,
            seconds_per_epoch: 19.5,
            samples_per_second: 3076.9,
            train_accuracy: Some(0.9163),
            val_accuracy: None,
            test_accuracy: Some(0.9045),
            backend: "CPU (burn-flex)".into(),
            stop_reason: String::new(),
        };
        let html = rows_html(&[run("first", 5), run("second", 3)]);
        assert!(html.find("second").unwrap() < html.find("first").unwrap());
        assert!(html.contains("<td>3 of 5</td>"));
        assert!(html.contains("113,386") && html.contains("90.45%") && html.contains("3,077"));
        let json = serde_json::to_string(&[run("x", 5)]).unwrap();
        let back: Vec<RunRecord> = serde_json::from_str(&json).unwrap();
        assert_eq!(back[0], run("x", 5));
    }
}
