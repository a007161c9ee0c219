//! Fashion-MNIST (section 1): where the dataset comes from, its download progress and errors.

use crate::ui::app::{App, Msg};
use crate::ui::dom::{bind, on, set_disabled, set_progress, set_text, show_error};
use crate::ui::{Control, Dispatcher, Panel};
use crate::WebError;
use std::cell::Cell;
use web_sys::{Element, HtmlElement, HtmlInputElement, HtmlProgressElement};

const PANEL: &str = "data";

pub struct DataPanel {
    status: Element,
    progress: HtmlProgressElement,
    error: HtmlElement,
    url: HtmlInputElement,
    load: HtmlElement,
    form_version: Cell<u64>,
}

impl DataPanel {
    pub fn bind(dispatcher: &Dispatcher) -> Result<Self, WebError> {
        let panel = DataPanel {
            status: bind(PANEL, "data-status")?,
            progress: bind(PANEL, "data-progress")?,
            error: bind(PANEL, "data-error")?,
            url: bind(PANEL, Control::DataUrl.id())?,
            load: bind(PANEL, Control::DataLoad.id())?,
            form_version: Cell::new(0),
        };
        let (d, url) = (dispatcher.clone(), panel.url.clone());
        on(&panel.load, "click", move |_| {
            d.dispatch(Msg::LoadData {
                folder: url.value(),
            })
        });
        Ok(panel)
    }
}

impl Panel for DataPanel {
    fn render(&self, app: &App) {
        if self.form_version.replace(app.versions.form) != app.versions.form {
            self.url.set_value(&app.state.data_url);
        }
        set_text(&self.status, &app.data_status);
        set_progress(&self.progress, app.data_progress);
        show_error(&self.error, app.data_error.as_deref());
        set_disabled(&self.url, !app.enabled(Control::DataUrl));
        set_disabled(&self.load, !app.enabled(Control::DataLoad));
    }
}
