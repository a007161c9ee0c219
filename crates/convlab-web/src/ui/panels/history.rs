//! Run history (section 6): one row per run, newest first, each with a box to compare it; the
//! compared runs' loss and accuracy curves on one chart each, every run's test accuracy against
//! its seconds per epoch, and the CSV export.
//!
//! Ids: history, history-clear, history-export, history-status, compare-loss,
//! compare-accuracy, runs-scatter.

use crate::ui::app::{App, Msg};
use crate::ui::charts::{self, ComparedRun, Metric, RunPoint};
use crate::ui::dom::{bind, event_target, on, set_text, target_attribute};
use crate::ui::format::percent;
use crate::ui::history::{self, HistoryInput};
use crate::ui::{Dispatcher, Panel};
use crate::WebError;
use std::cell::Cell;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlCanvasElement, HtmlInputElement};

const PANEL: &str = "history";

pub struct HistoryPanel {
    table: Element,
    status: Element,
    loss: HtmlCanvasElement,
    accuracy: HtmlCanvasElement,
    scatter: HtmlCanvasElement,
    /// The history and comparison versions last drawn.
    drawn: Cell<(u64, u64)>,
}

impl HistoryPanel {
    pub fn bind(dispatcher: &Dispatcher) -> Result<Self, WebError> {
        let clear: Element = bind(PANEL, "history-clear")?;
        let d = dispatcher.clone();
        on(&clear, "click", move |_| d.dispatch(Msg::ClearHistory));
        let export: Element = bind(PANEL, "history-export")?;
        let d = dispatcher.clone();
        on(&export, "click", move |_| {
            d.dispatch(Msg::History(HistoryInput::Export))
        });
        let panel = HistoryPanel {
            table: bind(PANEL, "history")?,
            status: bind(PANEL, "history-status")?,
            loss: bind(PANEL, "compare-loss")?,
            accuracy: bind(PANEL, "compare-accuracy")?,
            scatter: bind(PANEL, "runs-scatter")?,
            drawn: Cell::new((0, 0)),
        };
        let d = dispatcher.clone();
        on(&panel.table, "change", move |event| {
            let ticked = event_target(event)
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                .map(|input| input.checked());
            if let (Some(index), Some(on)) = (target_attribute::<usize>(event, "data-run"), ticked)
            {
                d.dispatch(Msg::History(HistoryInput::Compare { index, on }));
            }
        });
        Ok(panel)
    }

    /// The comparison charts, with their figures in words for screen readers.
    fn draw_charts(&self, app: &App) {
        let compared: Vec<ComparedRun> = app
            .compared
            .iter()
            .filter_map(|&i| {
                let run = app.runs.get(i)?;
                Some(ComparedRun {
                    label: run.label(i),
                    history: &run.history,
                })
            })
            .collect();
        charts::draw_compared(self.loss.clone(), Metric::Loss, &compared);
        charts::draw_compared(self.accuracy.clone(), Metric::Accuracy, &compared);
        let curves = |metric: &str, value: fn(&convlab_core::EpochMetrics) -> f32| {
            let runs: Vec<String> = compared
                .iter()
                .map(|run| {
                    let values: Vec<String> = run
                        .history
                        .iter()
                        .map(|m| format!("{:.4}", value(m)))
                        .collect();
                    format!("{}: {}", run.label, values.join(", "))
                })
                .collect();
            if runs.is_empty() {
                format!("{metric} per epoch: tick runs in the table to compare them")
            } else {
                format!("{metric} per epoch. {}", runs.join("; "))
            }
        };
        let _ = self
            .loss
            .set_attribute("aria-label", &curves("Loss", |m| m.loss));
        let _ = self
            .accuracy
            .set_attribute("aria-label", &curves("Accuracy", |m| m.accuracy));

        let points: Vec<RunPoint> = app
            .runs
            .iter()
            .enumerate()
            .filter_map(|(i, run)| {
                Some(RunPoint {
                    label: run.label(i),
                    seconds_per_epoch: run.seconds_per_epoch,
                    test_accuracy: run.test_accuracy?,
                    colour: app.compared.iter().position(|&c| c == i),
                })
            })
            .collect();
        charts::draw_scatter(self.scatter.clone(), &points);
        let words: Vec<String> = points
            .iter()
            .map(|p| {
                format!(
                    "{}: {} at {:.1} s per epoch",
                    p.label,
                    percent(p.test_accuracy),
                    p.seconds_per_epoch
                )
            })
            .collect();
        let _ = self.scatter.set_attribute(
            "aria-label",
            &format!(
                "Test accuracy against seconds per epoch. {}",
                words.join("; ")
            ),
        );
    }
}

impl Panel for HistoryPanel {
    fn render(&self, app: &App) {
        set_text(&self.status, &app.history_status);
        let wanted = (app.versions.history, app.versions.compared);
        let drawn = self.drawn.replace(wanted);
        if drawn.0 != wanted.0 {
            self.table
                .set_inner_html(&history::table(&app.runs, &app.compared).into_string());
        }
        if drawn != wanted {
            self.draw_charts(app);
        }
    }
}
