//! Run history (section 5): one row per run, newest first.

use crate::ui::app::{App, Msg};
use crate::ui::dom::{bind, on};
use crate::ui::{history, Dispatcher, Panel};
use crate::WebError;
use std::cell::Cell;
use web_sys::Element;

const PANEL: &str = "history";

pub struct HistoryPanel {
    table: Element,
    version: Cell<u64>,
}

impl HistoryPanel {
    pub fn bind(dispatcher: &Dispatcher) -> Result<Self, WebError> {
        let clear: Element = bind(PANEL, "history-clear")?;
        let d = dispatcher.clone();
        on(&clear, "click", move |_| d.dispatch(Msg::ClearHistory));
        Ok(HistoryPanel {
            table: bind(PANEL, "history")?,
            version: Cell::new(0),
        })
    }
}

impl Panel for HistoryPanel {
    fn render(&self, app: &App) {
        if self.version.replace(app.versions.history) != app.versions.history {
            self.table
                .set_inner_html(&history::table(&app.runs).into_string());
        }
    }
}
