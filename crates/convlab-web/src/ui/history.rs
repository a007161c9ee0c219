//! The run history: one record per training run, kept in the browser's local storage so that
//! it survives a reload and answers the lab's "what impact on accuracy and training time?":
//! the table, the runs chosen for the comparison charts, and the CSV export.

use super::app::{App, DownloadOf, Effect};
use super::format::percent;
use convlab_core::units::thousands;
use convlab_core::EpochMetrics;
use maud::{html, Markup};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What happens on the history panel (besides clearing it).
#[derive(Debug, Clone, PartialEq)]
pub enum HistoryInput {
    /// Run `index` (its place in the history, oldest first) taken into or out of the
    /// comparison.
    Compare { index: usize, on: bool },
    /// Download the history as CSV.
    Export,
}

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
    /// Every epoch's metrics, for the comparison charts (empty for runs kept before them).
    #[serde(default)]
    pub history: Vec<EpochMetrics>,
}

impl RunRecord {
    /// The run's name on the comparison charts: its place in the history and architecture.
    pub fn label(&self, index: usize) -> String {
        format!("#{} {}", index + 1, self.architecture)
    }
}

impl App {
    pub(super) fn clear_history(&mut self) -> Vec<Effect> {
        self.runs.clear();
        self.compared.clear();
        self.versions.history += 1;
        vec![Effect::SaveHistory]
    }

    pub(super) fn on_history_downloaded(
        &mut self,
        result: Result<(String, usize), crate::WebError>,
    ) -> Vec<Effect> {
        self.history_status = match result {
            Ok((file_name, bytes)) => format!("Downloaded {file_name} ({bytes} bytes)."),
            Err(problem) => problem.to_string(),
        };
        Vec::new()
    }

    pub(super) fn on_history(&mut self, input: HistoryInput) -> Vec<Effect> {
        match input {
            HistoryInput::Compare { index, on } if index < self.runs.len() => {
                if on {
                    self.compared.insert(index);
                } else {
                    self.compared.remove(&index);
                }
                // Not `history`: the table is not drawn again, so the box keeps the focus.
                self.versions.compared += 1;
                Vec::new()
            }
            HistoryInput::Compare { .. } => Vec::new(),
            HistoryInput::Export => vec![Effect::Download {
                file_name: "convlab-runs.csv".to_string(),
                file: csv(&self.runs).into_bytes(),
                of: DownloadOf::History,
            }],
        }
    }
}

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, its
/// quotes doubled. Written here rather than with the `csv` crate, which turns on a feature of
/// serde_core and so rebuilds burn for both wasm modules, for one small function.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The history as CSV, oldest run first, one row per run, fractions as in Keras (0.9034).
pub fn csv(runs: &[RunRecord]) -> String {
    let fraction = |v: Option<f32>| v.map_or(String::new(), |v| format!("{v:.4}"));
    let mut out = String::from(
        "run,when,architecture,params,epochs_run,epochs_planned,train_images,seconds_per_epoch,\
         samples_per_second,train_accuracy,val_accuracy,test_accuracy,backend,stop_reason,notes\r\n",
    );
    for (index, r) in runs.iter().enumerate() {
        let row = [
            (index + 1).to_string(),
            r.when.clone(),
            r.architecture.clone(),
            r.params.to_string(),
            r.epochs_run.to_string(),
            r.epochs_planned.to_string(),
            r.train_images.to_string(),
            format!("{:.3}", r.seconds_per_epoch),
            format!("{:.1}", r.samples_per_second),
            fraction(r.train_accuracy),
            fraction(r.val_accuracy),
            fraction(r.test_accuracy),
            r.backend.clone(),
            r.stop_reason.clone(),
            r.notes.clone(),
        ];
        let fields: Vec<String> = row.iter().map(|f| field(f)).collect();
        out += &fields.join(",");
        out += "\r\n";
    }
    out
}

fn maybe_percent(value: Option<f32>) -> String {
    value.map_or("–".to_string(), percent)
}

/// The history table, newest run first, each with a box to compare it. Each cell's class names
/// its column, for the style sheet and the tests.
pub fn table(runs: &[RunRecord], compared: &BTreeSet<usize>) -> Markup {
    html! {
        thead { tr {
            th { "Compare" } th { "When" } th { "Architecture" } th { "Params" } th { "Epochs" } th { "s/epoch" }
            th { "samples/s" } th { "Train acc" } th { "Val acc" } th { "Test acc" }
            th { "Backend" } th { "Stop reason" }
        } }
        tbody {
            @for (index, r) in runs.iter().enumerate().rev() {
                tr {
                    td.compare {
                        input type="checkbox" data-run=(index) checked[compared.contains(&index)]
                            aria-label=(format!("Compare run {}", r.label(index)));
                    }
                    td.when { (r.when) }
                    td.architecture { code { (r.architecture) } br; small { (thousands(r.train_images)) " images" } }
                    td.params { (thousands(r.params)) }
                    td.epochs {
                        @if r.epochs_run == r.epochs_planned { (r.epochs_run) }
                        @else { (r.epochs_run) " of " (r.epochs_planned) }
                    }
                    td.seconds-per-epoch { (format!("{:.1}", r.seconds_per_epoch)) }
                    td.samples-per-second { (thousands(r.samples_per_second.round() as usize)) }
                    td.train-accuracy { (maybe_percent(r.train_accuracy)) }
                    td.val-accuracy { (maybe_percent(r.val_accuracy)) }
                    td.test-accuracy { (maybe_percent(r.test_accuracy)) }
                    td.backend {
                        // An automatic choice names both backends' figures: one line here,
                        // the whole text on hover and for screen readers.
                        span.backend-text title=(r.backend) { (r.backend) }
                        @if !r.notes.is_empty() { br; small.run-notes { (r.notes) } }
                    }
                    td.stop-reason { (r.stop_reason) }
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
            history: Vec::new(),
        };
        let html = table(&[run("first", 5), run("second", 3)], &BTreeSet::from([1])).into_string();
        // Run 2 (index 1) is ticked for comparison, run 1 is not.
        assert!(
            html.contains(r#"data-run="1" checked"#) && !html.contains(r#"data-run="0" checked"#)
        );
        assert!(html.find("second").unwrap() < html.find("first").unwrap());
        assert!(html.contains(r#"<td class="epochs">3 of 5</td>"#));
        assert!(html.contains(
            r#"<span class="backend-text" title="CPU (burn-flex)">CPU (burn-flex)</span>"#
        ));
        assert!(html.contains("113,386") && html.contains("90.45%") && html.contains("3,077"));
        let json = serde_json::to_string(&[run("x", 5)]).unwrap();
        let back: Vec<RunRecord> = serde_json::from_str(&json).unwrap();
        assert_eq!(back[0], run("x", 5));
        let hostile = table(&[run("<script>", 5)], &BTreeSet::new()).into_string();
        assert!(hostile.contains("&lt;script&gt;") && !hostile.contains("<script>"));
        // A record kept before the curves were: no history, still read.
        let mut old: serde_json::Value = serde_json::to_value(run("x", 5)).unwrap();
        old.as_object_mut().unwrap().remove("history");
        let read: RunRecord = serde_json::from_value(old).unwrap();
        assert!(read.history.is_empty());
    }

    #[test]
    fn the_csv_has_a_header_a_row_per_run_and_quotes_what_needs_it() {
        let run = RunRecord {
            when: "2026-12-01 19:00".into(),
            architecture: "C32-P2-F-D128-D10".into(),
            params: 113_386,
            epochs_run: 2,
            epochs_planned: 5,
            train_images: 3000,
            seconds_per_epoch: 4.75,
            samples_per_second: 631.58,
            train_accuracy: Some(0.8),
            val_accuracy: None,
            test_accuracy: Some(0.75),
            backend: "WebGPU (google, swiftshader)".into(),
            stop_reason: "epoch 2: Reached the desired loss, so cancelling training!".into(),
            notes: "the GPU was reset (\"destroyed\")".into(),
            history: Vec::new(),
        };
        let csv = csv(&[run.clone(), run]);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines.len(), 4, "a header, two rows and the last line's end");
        assert!(lines[0].starts_with("run,when,architecture,params,"));
        assert_eq!(lines[0].split(',').count(), 15);
        assert_eq!(
            lines[2],
            "2,2026-12-01 19:00,C32-P2-F-D128-D10,113386,2,5,3000,4.750,631.6,0.8000,,0.7500,\
             \"WebGPU (google, swiftshader)\",\"epoch 2: Reached the desired loss, so cancelling \
             training!\",\"the GPU was reset (\"\"destroyed\"\")\""
        );
    }
}
