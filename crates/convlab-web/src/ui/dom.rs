//! Small helpers over web-sys for a page whose layout lives in `www/index.html`: the Rust side
//! finds elements by id, fills them and listens to them.

use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, HtmlElement, HtmlInputElement, HtmlSelectElement};

pub fn document() -> Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect("the page has a document")
}

/// The element with `id`; the ids are fixed in index.html, so a missing one is a bug there.
pub fn by_id(id: &str) -> Element {
    document()
        .get_element_by_id(id)
        .unwrap_or_else(|| panic!("index.html has no element #{id}"))
}

pub fn html(id: &str) -> HtmlElement {
    by_id(id).unchecked_into()
}

pub fn input(id: &str) -> HtmlInputElement {
    by_id(id).unchecked_into()
}

pub fn select(id: &str) -> HtmlSelectElement {
    by_id(id).unchecked_into()
}

/// Fills the `<progress>` element `id` to `fraction` (0 to 1).
pub fn set_progress(id: &str, fraction: f64) {
    // Through the property, not web-sys's HtmlProgressElement: enabling that feature would
    // rebuild web-sys and burn-wgpu above it (~12 min here) for one setter.
    let value = JsValue::from_f64(fraction.clamp(0.0, 1.0));
    let _ = js_sys::Reflect::set(&by_id(id), &"value".into(), &value);
}

pub fn set_text(id: &str, text: &str) {
    by_id(id).set_text_content(Some(text));
}

pub fn set_html(id: &str, markup: &str) {
    by_id(id).set_inner_html(markup);
}

pub fn set_hidden(id: &str, hidden: bool) {
    html(id).set_hidden(hidden);
}

/// Shows `message` in the error element `id`, or hides it for `None`.
pub fn show_error(id: &str, message: Option<&str>) {
    set_text(id, message.unwrap_or(""));
    set_hidden(id, message.is_none());
}

pub fn set_disabled(id: &str, disabled: bool) {
    let element = by_id(id);
    if disabled {
        let _ = element.set_attribute("disabled", "");
    } else {
        let _ = element.remove_attribute("disabled");
    }
}

/// Text safe to put inside HTML markup.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Calls `handler` for every `event` on the element `id` (or inside it, for delegation).
pub fn on(id: &str, event: &str, handler: impl FnMut(web_sys::Event) + 'static) {
    let closure = Closure::<dyn FnMut(web_sys::Event)>::new(handler);
    by_id(id)
        .add_event_listener_with_callback(event, closure.as_ref().unchecked_ref())
        .expect("adding a listener cannot fail");
    closure.forget(); // the page's controls live as long as the page
}

/// The element an event started at, if it is an element.
pub fn event_target(event: &web_sys::Event) -> Option<Element> {
    event.target().and_then(|t| t.dyn_into::<Element>().ok())
}

/// A fraction as a percentage with two decimals: `90.45%`.
pub fn percent(fraction: f32) -> String {
    format!("{:.2}%", fraction * 100.0)
}

/// Seconds as `1:05` or `12.3 s`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "–".to_string();
    }
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else {
        let s = seconds.round() as u64;
        if s >= 3600 {
            format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
        } else {
            format!("{}:{:02}", s / 60, s % 60)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(duration(12.34), "12.3 s");
        assert_eq!(duration(65.0), "1:05");
        assert_eq!(duration(3725.0), "1:02:05");
        assert_eq!(duration(f64::NAN), "–");
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(escape("<b>&\""), "&lt;b&gt;&amp;&quot;");
    }
}
