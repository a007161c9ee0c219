//! The web crate's errors. Each says, in the words the student reads, what failed and where
//! (the file, the element, the browser API).

use wasm_bindgen::{JsCast, JsValue};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WebError {
    /// A browser API threw or a promise rejected; the text is the exception's message.
    #[error("{0}")]
    Js(String),
    /// What was being done when a browser API failed.
    #[error("{context}: {source}")]
    During {
        context: String,
        source: Box<WebError>,
    },
    /// The request got no response: no server there, the network is down, or the server is on
    /// another origin and sends no CORS header allowing this page to read it.
    #[error("could not fetch {url}: {source}: no answer (the server is down or unreachable, or it is on another site and sends no CORS header letting this page read it)")]
    Fetch { url: String, source: Box<WebError> },
    #[error("could not fetch {url}: HTTP {status} {status_text}")]
    Http {
        url: String,
        status: u16,
        status_text: String,
    },
    #[error("{url}: the download broke off after {received} bytes: {source}")]
    BrokenOff {
        url: String,
        received: u64,
        source: Box<WebError>,
    },
    #[error("{url}: {problem}")]
    Body { url: String, problem: &'static str },
    /// A download larger than any file the lab reads: refused as announced, or stopped once
    /// that much had arrived.
    #[error("{url}: {}, more than the {} MB any dataset file may have (Fashion-MNIST's largest is 47 MB unpacked): not downloaded", if *.announced { format!("the server announces {bytes} bytes") } else { format!("over {bytes} bytes arrived") }, crate::fetch::MAX_DOWNLOAD >> 20)]
    TooLarge {
        url: String,
        bytes: u64,
        announced: bool,
    },
    /// A picked model file refused before it is read.
    #[error("{name}: {source}")]
    PickedFile {
        name: String,
        source: convlab_core::ModelFileError,
    },
    /// A message between the page and the worker that does not decode.
    #[error("not a convlab {expected}: {problem}")]
    Message {
        expected: &'static str,
        problem: String,
    },
    /// index.html lacks an element a panel needs.
    #[error("the page has no element #{id} ({panel} panel): index.html and the code disagree")]
    MissingElement {
        id: &'static str,
        panel: &'static str,
    },
    #[error("{0}")]
    Unavailable(&'static str),
    /// Local storage is missing (private mode, turned off) or threw on a write (full).
    #[error("{what} could not be saved in local storage ({reason}): kept only until the page is reloaded")]
    Storage { what: &'static str, reason: String },
    /// IndexedDB cannot be opened: private mode, blocked by the browser's settings, or held
    /// at an older version by another tab.
    #[error("saved models are not available in this browser ({reason}); download the model as a file instead")]
    ModelStore { reason: String },
}

impl From<JsValue> for WebError {
    fn from(value: JsValue) -> Self {
        let text = value
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| value.as_string())
            .or_else(|| {
                js_sys::Reflect::get(&value, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
            })
            .unwrap_or_else(|| "the browser gave no reason".to_string());
        WebError::Js(text)
    }
}

impl WebError {
    /// The same error, saying what was being done.
    pub fn during(self, context: impl Into<String>) -> WebError {
        WebError::During {
            context: context.into(),
            source: Box::new(self),
        }
    }
}

/// `result.during("saving the model")` for browser calls that return `JsValue` errors.
pub trait During<T> {
    fn during(self, context: &str) -> Result<T, WebError>;
}

impl<T, E: Into<WebError>> During<T> for Result<T, E> {
    fn during(self, context: &str) -> Result<T, WebError> {
        self.map_err(|e| e.into().during(context))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_reads_outside_in() {
        let error = WebError::Js("QuotaExceededError".into()).during("saving the model");
        assert_eq!(error.to_string(), "saving the model: QuotaExceededError");
        let missing = WebError::MissingElement {
            id: "train",
            panel: "training",
        };
        assert!(missing.to_string().contains("#train (training panel)"));
    }
}
