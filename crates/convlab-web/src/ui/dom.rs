//! Binding a panel to index.html's elements, once, with a clear error where one is missing.

use crate::WebError;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, HtmlElement};

pub fn document() -> Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect("the page has a document")
}

/// The element `id` of `panel`'s, as the type the panel uses.
pub fn bind<T: JsCast>(panel: &'static str, id: &'static str) -> Result<T, WebError> {
    document()
        .get_element_by_id(id)
        .and_then(|e| e.dyn_into::<T>().ok())
        .ok_or(WebError::MissingElement { id, panel })
}

/// Sets a text only when it changed (a status line is rendered after every message).
pub fn set_text(element: &Element, text: &str) {
    if element.text_content().as_deref() != Some(text) {
        element.set_text_content(Some(text));
    }
}

/// Shows `message` in the error element, or hides it for `None`.
pub fn show_error(element: &HtmlElement, message: Option<&str>) {
    set_text(element, message.unwrap_or(""));
    if element.hidden() != message.is_none() {
        element.set_hidden(message.is_none());
    }
}

/// Fills a progress bar to `fraction` (0 to 1), touching the page only when it moved.
pub fn set_progress(progress: &web_sys::HtmlProgressElement, fraction: f64) {
    let fraction = fraction.clamp(0.0, 1.0);
    if progress.value() != fraction {
        progress.set_value(fraction);
    }
}

pub fn set_disabled(element: &Element, disabled: bool) {
    if element.has_attribute("disabled") != disabled {
        let _ = element.toggle_attribute_with_force("disabled", disabled);
    }
}

/// Calls `handler` for every `event` on `target` (or inside it, for delegation), as long as
/// the page lives.
///
/// Not gloo-events: its listeners take the event by reference, for which wasm-bindgen emits
/// `table.fill`, an instruction the newest wasm-opt on crates.io (binaryen 116) cannot parse.
pub fn on(
    target: &web_sys::EventTarget,
    event: &'static str,
    mut handler: impl FnMut(&web_sys::Event) + 'static,
) {
    let closure = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| handler(&e));
    let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    closure.forget(); // the page's controls live as long as the page
}

/// The element an event started at, if it is an element.
pub fn event_target(event: &web_sys::Event) -> Option<Element> {
    event.target().and_then(|t| t.dyn_into::<Element>().ok())
}

/// An attribute of the element an event started at, or of the nearest element around it that
/// has it (a click on a button's picture counts for the button), parsed.
pub fn closest_attribute<T: std::str::FromStr>(event: &web_sys::Event, name: &str) -> Option<T> {
    event_target(event)?
        .closest(&format!("[{name}]"))
        .ok()??
        .get_attribute(name)?
        .parse()
        .ok()
}

/// An attribute of the element an event started at, parsed.
pub fn target_attribute<T: std::str::FromStr>(event: &web_sys::Event, name: &str) -> Option<T> {
    event_target(event)?.get_attribute(name)?.parse().ok()
}
