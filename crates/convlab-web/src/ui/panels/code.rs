//! The Keras code of the current model and settings, and its copy button.

use crate::ui::app::{App, Msg};
use crate::ui::dom::{bind, on, set_text};
use crate::ui::{Dispatcher, Panel};
use crate::WebError;
use web_sys::Element;

const PANEL: &str = "Keras code";

pub struct CodePanel {
    code: Element,
    status: Element,
}

impl CodePanel {
    pub fn bind(dispatcher: &Dispatcher) -> Result<Self, WebError> {
        let copy: Element = bind(PANEL, "code-copy")?;
        let d = dispatcher.clone();
        on(&copy, "click", move |_| d.dispatch(Msg::CopyCode));
        Ok(CodePanel {
            code: bind(PANEL, "keras-code")?,
            status: bind(PANEL, "code-status")?,
        })
    }
}

impl Panel for CodePanel {
    fn render(&self, app: &App) {
        set_text(&self.code, &app.keras_code());
        set_text(&self.status, &app.code_status);
    }
}
