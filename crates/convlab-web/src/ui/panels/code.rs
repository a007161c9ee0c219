//! The Keras code of the current model and settings, and its copy button.

use crate::ui::app::{App, Msg};
use crate::ui::dom::{bind, on, set_text};
use crate::ui::saved::SavedState;
use crate::ui::{Dispatcher, Panel};
use crate::WebError;
use std::cell::RefCell;
use web_sys::Element;

const PANEL: &str = "Keras code";

pub struct CodePanel {
    code: Element,
    status: Element,
    /// The model and settings whose code is shown.
    shown: RefCell<Option<SavedState>>,
}

impl CodePanel {
    pub fn bind(dispatcher: &Dispatcher) -> Result<Self, WebError> {
        let copy: Element = bind(PANEL, "code-copy")?;
        let d = dispatcher.clone();
        on(&copy, "click", move |_| d.dispatch(Msg::CopyCode));
        Ok(CodePanel {
            code: bind(PANEL, "keras-code")?,
            status: bind(PANEL, "code-status")?,
            shown: RefCell::new(None),
        })
    }
}

impl Panel for CodePanel {
    fn render(&self, app: &App) {
        if self.shown.borrow().as_ref() != Some(&app.state) {
            *self.shown.borrow_mut() = Some(app.state.clone());
            set_text(&self.code, &app.keras_code());
        }
        set_text(&self.status, &app.code_status);
    }
}
