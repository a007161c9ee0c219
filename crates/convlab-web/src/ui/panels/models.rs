//! Saved models (section 6): save the last trained model in the browser or as a file, list, load and
//! delete them.

use crate::ui::app::{App, ModelsMsg, Msg};
use crate::ui::dom::{
    bind, event_target, on, set_disabled, set_text, show_error, target_attribute,
};
use crate::ui::format::percent;
use crate::ui::saved::SavedModel;
use crate::ui::{model_store, Control, Dispatcher, Panel};
use crate::WebError;
use convlab_core::units::thousands;
use maud::{html, Markup};
use std::cell::Cell;
use web_sys::{Element, HtmlElement, HtmlInputElement};

const PANEL: &str = "saved models";

pub struct ModelsPanel {
    save_browser: Element,
    save_file: Element,
    file: HtmlInputElement,
    status: Element,
    error: HtmlElement,
    list: Element,
    listed: Cell<u64>,
}

/// The saved models as a table with Load and Delete buttons.
fn table(models: &[SavedModel]) -> Markup {
    html! {
        thead { tr {
            th { "Name" } th { "Architecture" } th { "Params" } th { "Test acc" } th { "Saved" }
            th { "Size" } th {}
        } }
        tbody {
            @if models.is_empty() {
                tr { td colspan="7" { "No models saved in this browser yet." } }
            }
            @for m in models {
                tr {
                    td { (m.name) }
                    td { (m.architecture) }
                    td { (thousands(m.params)) }
                    td { (m.test_accuracy.map_or("–".to_string(), |a| percent(a as f32))) }
                    td { (m.saved) }
                    td { (format!("{:.0} kB", m.size as f64 / 1000.0)) }
                    td {
                        button type="button" data-load-model=(m.id) data-name=(m.name) { "Load" }
                        " "
                        button type="button" data-delete-model=(m.id) { "Delete" }
                    }
                }
            }
        }
    }
}

impl ModelsPanel {
    pub fn bind(dispatcher: &Dispatcher) -> Result<Self, WebError> {
        let name: HtmlInputElement = bind(PANEL, "model-name")?;
        let panel = ModelsPanel {
            save_browser: bind(PANEL, Control::ModelSaveBrowser.id())?,
            save_file: bind(PANEL, Control::ModelSaveFile.id())?,
            file: bind(PANEL, Control::ModelFile.id())?,
            status: bind(PANEL, "models-status")?,
            error: bind(PANEL, "models-error")?,
            list: bind(PANEL, "models-list")?,
            listed: Cell::new(0),
        };
        for (button, to_browser) in [(&panel.save_browser, true), (&panel.save_file, false)] {
            let (d, name) = (dispatcher.clone(), name.clone());
            on(button, "click", move |_| {
                d.dispatch(Msg::Models(ModelsMsg::Save {
                    to_browser,
                    name: name.value(),
                }))
            });
        }
        let (d, input) = (dispatcher.clone(), panel.file.clone());
        on(&panel.file, "change", move |_| {
            let (d, input) = (d.clone(), input.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match model_store::picked_file(&input).await {
                    Ok(Some((origin, file))) => {
                        d.dispatch(Msg::Models(ModelsMsg::Open { origin, file }))
                    }
                    Ok(None) => {}
                    Err(e) => d.dispatch(Msg::Models(ModelsMsg::Unreadable(e))),
                }
                input.set_value("");
            })
        });
        let d = dispatcher.clone();
        on(&panel.list, "click", move |event| {
            if let Some(id) = target_attribute::<f64>(event, "data-load-model") {
                let name = event_target(event)
                    .and_then(|t| t.get_attribute("data-name"))
                    .unwrap_or_default();
                d.dispatch(Msg::Models(ModelsMsg::LoadSaved { id, name }));
            } else if let Some(id) = target_attribute::<f64>(event, "data-delete-model") {
                d.dispatch(Msg::Models(ModelsMsg::DeleteSaved(id)));
            }
        });
        Ok(panel)
    }
}

impl Panel for ModelsPanel {
    fn render(&self, app: &App) {
        set_disabled(&self.save_browser, !app.enabled(Control::ModelSaveBrowser));
        set_disabled(&self.save_file, !app.enabled(Control::ModelSaveFile));
        set_disabled(&self.file, !app.enabled(Control::ModelFile));
        set_text(&self.status, &app.models_status);
        show_error(&self.error, app.models_error.as_deref());
        if self.listed.replace(app.versions.models) != app.versions.models {
            self.list
                .set_inner_html(&table(&app.saved_models).into_string());
        }
    }
}
