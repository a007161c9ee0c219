//! The page's header and its embedding: the backend badge, the share bar ("Copy link to this
//! experiment", "Reset to the exercise"), problems with the URL's setup, the sections and
//! controls a course author shows or hides, and the messages to and from the host page.

use crate::ui::app::{App, Msg};
use crate::ui::dom::{bind, on, set_text, show_error};
use crate::ui::host::{HostCommand, HostEvent};
use crate::ui::setup::{self, Embedding};
use crate::ui::{console_warn, Dispatcher, Panel};
use crate::WebError;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, HtmlInputElement};

const PANEL: &str = "header";

pub struct EmbedPanel {
    backend: Element,
    link: HtmlInputElement,
    status: Element,
    setup_error: HtmlElement,
}

impl EmbedPanel {
    pub fn bind(dispatcher: &Dispatcher) -> Result<Self, WebError> {
        let share: Element = bind(PANEL, "share")?;
        let reset: HtmlElement = bind(PANEL, "setup-reset")?;
        let panel = EmbedPanel {
            backend: bind(PANEL, "backend")?,
            link: bind(PANEL, "share-link")?,
            status: bind(PANEL, "share-status")?,
            setup_error: bind(PANEL, "setup-error")?,
        };
        let d = dispatcher.clone();
        on(&share, "click", move |_| {
            let Some(location) = web_sys::window().map(|w| w.location()) else {
                return;
            };
            let base = format!(
                "{}{}",
                location.origin().unwrap_or_default(),
                location.pathname().unwrap_or_default()
            );
            d.dispatch(Msg::Share { base });
        });
        let d = dispatcher.clone();
        on(&reset, "click", move |_| d.dispatch(Msg::ResetToExercise));
        dispatcher.with_app(|app| {
            reset.set_hidden(!setup::has_experiment(&app.url_pairs));
            apply(&app.embedding)
        })?;
        Ok(panel)
    }
}

/// Shows only the author's panels and hides their hidden controls (locks are enabling rules).
fn apply(embedding: &Embedding) -> Result<(), WebError> {
    if let Some(shown) = &embedding.panels {
        for (_, id) in setup::PANELS {
            bind::<HtmlElement>(PANEL, id)?.set_hidden(!shown.contains(&id));
        }
    }
    for id in &embedding.hidden {
        bind::<HtmlElement>(PANEL, id)?.set_hidden(true);
    }
    Ok(())
}

impl Panel for EmbedPanel {
    fn render(&self, app: &App) {
        set_text(&self.backend, &app.backend);
        show_error(&self.setup_error, app.setup_error.as_deref());
        set_text(&self.status, &app.share_status);
        if let Some(link) = &app.share_link {
            if self.link.value() != *link {
                self.link.set_value(link);
                self.link.set_hidden(false);
                self.link.select();
            }
        }
    }
}

/// The parent window when this page is inside a frame.
fn parent() -> Option<web_sys::Window> {
    let window = web_sys::window()?;
    let parent = window.parent().ok().flatten()?;
    (!js_sys::Object::is(&parent, &window)).then_some(parent)
}

/// Posts `event` to the parent window: to each allowed origin, or to any when the author
/// allowed none (the events carry only what the page shows).
pub fn post(event: &HostEvent, embedding: &Embedding) {
    let Some(parent) = parent() else { return };
    let Ok(json) = event.to_json(embedding.id.as_deref()) else {
        return;
    };
    let Ok(message) = js_sys::JSON::parse(&json) else {
        return;
    };
    if embedding.allow.is_empty() {
        let _ = parent.post_message(&message, "*");
    }
    for origin in &embedding.allow {
        let _ = parent.post_message(&message, origin);
    }
}

/// Dispatches each command posted by an allowed origin; others are ignored with a console
/// warning naming the origin.
pub fn listen(dispatcher: &Dispatcher, allow: Vec<String>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let d = dispatcher.clone();
    on(&window, "message", move |event| {
        let event = event.unchecked_ref::<web_sys::MessageEvent>();
        let json = js_sys::JSON::stringify(&event.data())
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default();
        let Some(command) = HostCommand::from_json(&json) else {
            return;
        };
        let origin = event.origin();
        if !allow.contains(&origin) {
            let allowed = if allow.is_empty() {
                "none given".to_string()
            } else {
                allow.join(", ")
            };
            return console_warn(&format!(
                "convlab: ignored a command from {origin}: only the origins in the page's allow= parameter may send commands ({allowed})"
            ));
        }
        match command {
            Ok(command) => d.dispatch(Msg::Host(command)),
            // The host is told, as for a command that cannot be carried out now.
            Err(e) => {
                console_warn(&format!("convlab: ignored a command from {origin}: {e}"));
                let failed = HostEvent::CommandFailed {
                    command: e.command.clone(),
                    message: e.to_string(),
                };
                d.with_app(|app| post(&failed, &app.embedding));
            }
        }
    });
}
