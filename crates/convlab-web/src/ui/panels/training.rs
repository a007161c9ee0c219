//! Training (section 3), the run: Train and Stop, progress, the worker's memory, the callback's banner,
//! the loss and accuracy charts and Keras's epoch log.

use crate::ui::app::{App, Msg, Run};
use crate::ui::charts::{self, Metric};
use crate::ui::dom::{bind, on, set_disabled, set_progress, set_text};
use crate::ui::{Control, Dispatcher, Panel};
use crate::WebError;
use maud::html;
use std::cell::Cell;
use web_sys::{Element, HtmlCanvasElement, HtmlElement, HtmlProgressElement};

const PANEL: &str = "training";

pub struct TrainingPanel {
    train: Element,
    stop: Element,
    progress: HtmlProgressElement,
    status: Element,
    /// Whether the next run's first step is ready (the worker's warm-up).
    warm: Element,
    memory: Element,
    banner: HtmlElement,
    loss_chart: HtmlCanvasElement,
    accuracy_chart: HtmlCanvasElement,
    log: Element,
    charts_version: Cell<u64>,
    /// (log length, epochs, memory readings, stopped) of the run last drawn.
    run_drawn: Cell<Option<(usize, usize, usize, bool)>>,
}

impl TrainingPanel {
    pub fn bind(dispatcher: &Dispatcher) -> Result<Self, WebError> {
        let panel = TrainingPanel {
            train: bind(PANEL, Control::Train.id())?,
            stop: bind(PANEL, Control::Stop.id())?,
            progress: bind(PANEL, "train-progress")?,
            status: bind(PANEL, "train-status")?,
            warm: bind(PANEL, "warm-status")?,
            memory: bind(PANEL, "worker-memory")?,
            banner: bind(PANEL, "callback-message")?,
            loss_chart: bind(PANEL, "loss-chart")?,
            accuracy_chart: bind(PANEL, "accuracy-chart")?,
            log: bind(PANEL, "epoch-log")?,
            charts_version: Cell::new(0),
            run_drawn: Cell::new(None),
        };
        let d = dispatcher.clone();
        on(&panel.train, "click", move |_| d.dispatch(Msg::Train));
        let d = dispatcher.clone();
        on(&panel.stop, "click", move |_| d.dispatch(Msg::Stop));
        Ok(panel)
    }

    fn render_run(&self, run: Option<&Run>) {
        set_text(&self.log, run.map_or("", |r| r.log.as_str()));
        // Each epoch's exact seconds, for benchmarks: the log shows Keras's 0.1 s.
        let seconds: Vec<String> = run
            .map(|r| r.history.iter().map(|m| m.seconds.to_string()).collect())
            .unwrap_or_default();
        if seconds.is_empty() {
            let _ = self.log.remove_attribute("data-seconds");
        } else {
            let _ = self.log.set_attribute("data-seconds", &seconds.join(","));
        }
        set_text(&self.memory, &memory_text(run.map_or(&[], |r| &r.memory)));
        let bytes: Vec<String> = run
            .map(|r| r.memory.iter().map(u64::to_string).collect())
            .unwrap_or_default();
        let _ = self.memory.set_attribute("data-bytes", &bytes.join(","));
        match run.and_then(|r| r.stop.as_ref().map(|s| (s, r.epochs))) {
            Some(((epoch, message), epochs)) => {
                let markup = html! {
                    (message) br; small { "Training ended in epoch " (epoch) " of " (epochs) "." }
                };
                self.banner.set_inner_html(&markup.into_string());
                self.banner.set_hidden(false);
            }
            None => self.banner.set_hidden(true),
        }
    }
}

/// "Worker memory (wasm): 84.2 MB after epoch 20 (epoch 2: 84.2 MB, +0.0%)": a leak would
/// show as growth from one epoch to the next.
fn memory_text(memory: &[u64]) -> String {
    let mb = |b: u64| b as f64 / 1e6;
    let Some(&last) = memory.last() else {
        return String::new();
    };
    let since = match memory.get(1) {
        Some(&second) if memory.len() > 2 => format!(
            " (epoch 2: {:.1} MB, {:+.1}%)",
            mb(second),
            (last as f64 / second as f64 - 1.0) * 100.0
        ),
        _ => String::new(),
    };
    format!(
        "Worker memory (wasm): {:.1} MB after epoch {}{since}",
        mb(last),
        memory.len()
    )
}

impl Panel for TrainingPanel {
    fn render(&self, app: &App) {
        set_disabled(&self.train, !app.enabled(Control::Train));
        set_disabled(&self.stop, !app.enabled(Control::Stop));
        set_progress(&self.progress, app.train_progress);
        set_text(&self.status, &app.train_status);
        set_text(&self.warm, &app.warm_status());
        let run = app.run.as_ref();
        let drawn = run.map_or((0, 0, 0, false), |r| {
            (
                r.log.len(),
                r.history.len(),
                r.memory.len(),
                r.stop.is_some(),
            )
        });
        if self.run_drawn.replace(Some(drawn)) != Some(drawn) {
            self.render_run(run);
        }
        if self.charts_version.replace(app.versions.charts) != app.versions.charts {
            let (history, epochs) = match &app.run {
                Some(run) => (&run.history[..], run.epochs),
                None => (&[][..], 5),
            };
            charts::draw(self.loss_chart.clone(), Metric::Loss, history, epochs);
            charts::draw(
                self.accuracy_chart.clone(),
                Metric::Accuracy,
                history,
                epochs,
            );
        }
    }
}
