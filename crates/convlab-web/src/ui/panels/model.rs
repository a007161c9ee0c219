//! The model (section 2): the lab-cell preset, the layer editor and Keras's `model.summary()`, or the reason
//! the stack cannot be built with its row highlighted.

use crate::ui::app::{App, Msg};
use crate::ui::dom::{
    bind, event_target, on, set_disabled, set_text, show_error, target_attribute,
};
use crate::ui::editor::{self, Addition};
use crate::ui::{Control, Dispatcher, Panel};
use crate::WebError;
use convlab_core::{ModelSpec, Summary};
use std::cell::{Cell, RefCell};
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, HtmlSelectElement};

const PANEL: &str = "model";

type Shown = (ModelSpec, Option<String>, Option<Result<String, String>>);

pub struct ModelPanel {
    preset: HtmlSelectElement,
    editor: Element,
    layers: Element,
    error: HtmlElement,
    summary: Element,
    layers_version: Cell<u64>,
    /// The model, field error and memory note last shown: the summary is rebuilt only when
    /// they change (the panel renders after every message, a hundred times an epoch while
    /// training).
    shown: RefCell<Option<Shown>>,
}

impl ModelPanel {
    pub fn bind(dispatcher: &Dispatcher) -> Result<Self, WebError> {
        let panel = ModelPanel {
            preset: bind(PANEL, Control::Preset.id())?,
            editor: bind(PANEL, Control::Editor.id())?,
            layers: bind(PANEL, "layers")?,
            error: bind(PANEL, "model-error")?,
            summary: bind(PANEL, "summary")?,
            layers_version: Cell::new(0),
            shown: RefCell::new(None),
        };
        let (d, preset) = (dispatcher.clone(), panel.preset.clone());
        on(&panel.preset, "change", move |_| {
            d.dispatch(Msg::ChoosePreset(preset.value()))
        });
        // Field edits update the summary at once, without redrawing the rows (keeps focus).
        let d = dispatcher.clone();
        on(&panel.layers, "input", move |event| {
            let (Some(index), Some(field)) = (
                target_attribute::<usize>(event, "data-index"),
                target_attribute::<String>(event, "data-field"),
            ) else {
                return;
            };
            let value = event_target(event)
                .and_then(|t| js_sys::Reflect::get(&t, &"value".into()).ok())
                .and_then(|v| v.as_string())
                .unwrap_or_default();
            d.dispatch(Msg::EditField {
                index,
                field,
                value,
            });
        });
        let d = dispatcher.clone();
        on(&panel.layers, "click", move |event| {
            let (Some(action), Some(index)) = (
                target_attribute::<String>(event, "data-action"),
                target_attribute::<usize>(event, "data-index"),
            ) else {
                return;
            };
            match action.as_str() {
                "up" => d.dispatch(Msg::MoveLayer { index, up: true }),
                "down" => d.dispatch(Msg::MoveLayer { index, up: false }),
                "remove" => d.dispatch(Msg::RemoveLayer(index)),
                _ => {}
            }
        });
        let d = dispatcher.clone();
        on(&panel.editor, "click", move |event| {
            if let Some(addition) = target_attribute::<String>(event, "data-add")
                .and_then(|name| Addition::parse(&name))
            {
                d.dispatch(Msg::Add(addition));
            }
        });
        Ok(panel)
    }
}

impl Panel for ModelPanel {
    fn render(&self, app: &App) {
        set_disabled(&self.preset, !app.enabled(Control::Preset));
        set_disabled(&self.editor, !app.enabled(Control::Editor));
        // The memory it needs depends on the settings too (batch size, training images).
        let memory = app.state.settings.memory_note(&app.state.spec);
        let now = (
            app.state.spec.clone(),
            app.field_error.clone(),
            memory.clone(),
        );
        let layers_changed = self.layers_version.get() != app.versions.layers;
        if !layers_changed && self.shown.borrow().as_ref() == Some(&now) {
            return;
        }
        *self.shown.borrow_mut() = Some(now);
        let problem = app.model_problem();
        let bad = problem.as_ref().and_then(|p| p.1);
        if self.layers_version.replace(app.versions.layers) != app.versions.layers {
            self.layers
                .set_inner_html(&editor::rows(&app.state.spec, bad).into_string());
        } else if let Ok(rows) = self.layers.query_selector_all("tr[data-row]") {
            for i in 0..rows.length() {
                if let Some(row) = rows.item(i).and_then(|r| r.dyn_into::<Element>().ok()) {
                    let _ = row
                        .class_list()
                        .toggle_with_force("bad", bad == Some(i as usize));
                }
            }
        }
        if self.preset.value() != app.state.preset {
            self.preset.set_value(&app.state.preset);
        }
        match &problem {
            Some((message, _)) => {
                show_error(
                    &self.error,
                    Some(&format!("This model cannot be built: {message}")),
                );
                set_text(&self.summary, "");
            }
            None => {
                show_error(
                    &self.error,
                    memory
                        .as_ref()
                        .and_then(|m| m.as_ref().err())
                        .map(String::as_str),
                );
                if let Ok(summary) = Summary::of(&app.state.spec) {
                    let mut text = summary.to_table("sequential");
                    if let Some(Ok(line)) = &memory {
                        text += &format!("\n{line}\n");
                    }
                    set_text(&self.summary, &text);
                }
            }
        }
    }
}
