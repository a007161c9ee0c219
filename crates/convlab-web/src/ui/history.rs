//! The run history: one record per training run, kept in the browser's local storage so that
//! it survives a reload and answers the lab's "what impact on accuracy and training time?".

use super::format::percent;
use convlab_core::summary::thousands;
use maud::{html, Markup};
use serde::{Deserialize, Serialize};

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
    /// What happened on the way (a lost GPU, a crashed worker) and where the run resumed.
    #[serde(default)]
    pub notes: String,
}

fn maybe_percent(value: Option<f32>) -> String {
    value.map_or("–".to_string(), percent)
}

/// The history table, newest run first.
pub fn table(runs: &[RunRecord]) -> Markup {
    html! {
        thead { tr {
            th { "When" } th { "Architecture" } th { "Params" } th { "Epochs" } th { "s/epoch" }
            th { "samples/s" } th { "Train acc" } th { "Val acc" } th { "Test acc" }
            th { "Backend" } th { "Stop reason" }
        } }
        tbody {
            @for r in runs.iter().rev() {
                tr {
                    td { (r.when) }
                    td { code { (r.architecture) } br; small { (thousands(r.train_images)) " images" } }
                    td { (thousands(r.params)) }
                    td {
                        @if r.epochs_run == r.epochs_planned { (r.epochs_run) }
                        @else { (r.epochs_run) " of " (r.epochs_planned) }
                    }
                    td { (format!("{:.1}", r.seconds_per_epoch)) }
                    td { (thousands(r.samples_per_second.round() as usize)) }
                    td { (maybe_percent(r.train_accuracy)) }
                    td { (maybe_percent(r.val_accuracy)) }
                    td { (maybe_percent(r.test_accuracy)) }
                    td {
                        (r.backend)
                        @if !r.notes.is_empty() { br; small.run-notes { (r.notes) } }
                    }
                    td { (r.stop_reason) }
                }
            }
        }
    }
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
            notes: String::new(),
        };
        let html = table(&[run("first", 5), run("second", 3)]).into_string();
        assert!(html.find("second").unwrap() < html.find("first").unwrap());
        assert!(html.contains("<td>3 of 5</td>"));
        assert!(html.contains("113,386") && html.contains("90.45%") && html.contains("3,077"));
        let json = serde_json::to_string(&[run("x", 5)]).unwrap();
        let back: Vec<RunRecord> = serde_json::from_str(&json).unwrap();
        assert_eq!(back[0], run("x", 5));
        let hostile = table(&[run("<script>", 5)]).into_string();
        assert!(hostile.contains("&lt;script&gt;") && !hostile.contains("<script>"));
    }
}
