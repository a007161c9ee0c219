//! The lab inside a course page's `<iframe>`: events posted to the parent window, and the
//! commands it accepts from the origins the author allowed (`allow=`). The message schema is
//! documented in the README ("Embedding").

use convlab_core::EpochMetrics;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

/// What the lab tells its host page, as `{"source": "convlab", "type": ..., ...}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HostEvent {
    /// The dataset is loaded: the lab can train.
    Ready {
        preset: String,
        layers: String,
        params: usize,
    },
    TrainingStarted {
        layers: String,
        params: usize,
        epochs: usize,
        batch_size: usize,
        train_images: usize,
    },
    EpochEnd {
        /// Planned epochs (the metrics carry the 1-based `epoch`).
        epochs: usize,
        #[serde(flatten)]
        metrics: EpochMetrics,
    },
    /// Training ended before its last epoch: the lab's callback, EarlyStopping, a Stop
    /// (button or command) or a loss that stopped being a number.
    EarlyStop {
        epoch: usize,
        /// `loss_threshold`, `early_stopping`, `stopped` (by the user or a command) or
        /// `not_finite`.
        reason: String,
        message: String,
    },
    Finished {
        test_loss: f32,
        test_accuracy: f32,
        epochs_run: usize,
        layers: String,
        params: usize,
        /// Keras's `model.summary()` table.
        summary: String,
    },
    /// A command from the host could not be carried out.
    CommandFailed { command: String, message: String },
    /// Something the student sees as an error that stops the lab (the dataset failed to load).
    Error { message: String },
}

#[derive(Serialize)]
struct Envelope<'a> {
    source: &'static str,
    /// The author's `id=` for this lab, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(flatten)]
    event: &'a HostEvent,
}

/// What a host page may ask: `{"command": "start"}` and so on.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum HostCommand {
    LoadPreset { preset: String },
    SetLayers { layers: String },
    Start,
    Stop,
}

impl HostCommand {
    /// Reads a posted message; `None` for messages that are not convlab commands (pages and
    /// extensions post many other things).
    pub fn from_json(json: &str) -> Option<Result<HostCommand, String>> {
        let value: serde_json::Value = serde_json::from_str(json).ok()?;
        value.get("command")?;
        Some(serde_json::from_value(value).map_err(|e| e.to_string()))
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
pub fn post(event: &HostEvent, allow: &[String], id: Option<&str>) {
    let Some(parent) = parent() else { return };
    let envelope = Envelope {
        source: "convlab",
        id,
        event,
    };
    let Ok(json) = serde_json::to_string(&envelope) else {
        return;
    };
    let Ok(message) = js_sys::JSON::parse(&json) else {
        return;
    };
    if allow.is_empty() {
        let _ = parent.post_message(&message, "*");
    }
    for origin in allow {
        let _ = parent.post_message(&message, origin);
    }
}

/// Calls `on_command` for each command posted by an allowed origin; others are ignored with
/// a console warning naming the origin.
pub fn listen(allow: Vec<String>, mut on_command: impl FnMut(HostCommand) + 'static) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let handler = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
        move |event: web_sys::MessageEvent| {
            let json = js_sys::JSON::stringify(&event.data())
                .ok()
                .and_then(|s| s.as_string())
                .unwrap_or_default();
            let Some(command) = HostCommand::from_json(&json) else {
                return;
            };
            let origin = event.origin();
            if !allow.contains(&origin) {
                warn(&format!(
                "convlab: ignored a command from {origin}: only the origins in the page's allow= parameter may send commands ({})",
                if allow.is_empty() { "none given".to_string() } else { allow.join(", ") }
            ));
                return;
            }
            match command {
                Ok(command) => on_command(command),
                Err(e) => warn(&format!(
                    "convlab: ignored a malformed command from {origin}: {e}"
                )),
            }
        },
    );
    let _ = window.add_event_listener_with_callback("message", handler.as_ref().unchecked_ref());
    handler.forget(); // listens as long as the page lives
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    pub fn warn(s: &str);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_the_source_and_flat_metrics() {
        let event = HostEvent::EpochEnd {
            epochs: 5,
            metrics: EpochMetrics {
                epoch: 2,
                loss: 0.5,
                accuracy: 0.8,
                val_loss: None,
                val_accuracy: None,
                seconds: 1.5,
                samples: 1000,
            },
        };
        let json = serde_json::to_value(Envelope {
            source: "convlab",
            id: Some("lab-a"),
            event: &event,
        })
        .unwrap();
        assert_eq!(json["source"], "convlab");
        assert_eq!(json["id"], "lab-a");
        assert_eq!(json["type"], "epoch_end");
        assert_eq!(json["epochs"], 5);
        assert_eq!(json["epoch"], 2);
        assert_eq!(json["loss"], 0.5);
        assert_eq!(json["accuracy"].as_f64().unwrap() as f32, 0.8);
    }

    #[test]
    fn commands_are_read_and_other_messages_ignored() {
        assert_eq!(
            HostCommand::from_json(r#"{"command":"load_preset","preset":"cnn-16"}"#),
            Some(Ok(HostCommand::LoadPreset {
                preset: "cnn-16".into()
            }))
        );
        assert_eq!(
            HostCommand::from_json(r#"{"command":"start"}"#),
            Some(Ok(HostCommand::Start))
        );
        assert!(matches!(
            HostCommand::from_json(r#"{"command":"format_disk"}"#),
            Some(Err(_))
        ));
        assert_eq!(HostCommand::from_json(r#"{"type":"resize"}"#), None);
        assert_eq!(HostCommand::from_json("not json"), None);
    }
}
