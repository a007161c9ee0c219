//! The lab inside a course page's `<iframe>`: the events it posts to the parent window and
//! the commands it accepts from the origins the author allowed (`allow=`), as plain data. The
//! message schema is documented in the README ("Embedding"); the embedding panel carries them.

use convlab_core::EpochMetrics;
use serde::{Deserialize, Serialize};

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
        /// [`StopReason::code`](convlab_core::StopReason::code): `loss_threshold`,
        /// `early_stopping`, `not_finite` or `stopped` (by the user or a command).
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

impl HostEvent {
    /// The event as the JSON a host page receives: `{"source": "convlab", "id": ..., "type": ...}`.
    pub fn to_json(&self, id: Option<&str>) -> Result<String, serde_json::Error> {
        serde_json::to_string(&Envelope {
            source: "convlab",
            id,
            event: self,
        })
    }
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

/// A posted message with a `command` that convlab cannot carry out as written: its command
/// (as sent, shortened) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("malformed command '{command}': {problem}")]
pub struct MalformedCommand {
    pub command: String,
    pub problem: String,
}

impl HostCommand {
    /// Reads a posted message; `None` for messages that are not convlab commands (pages and
    /// extensions post many other things).
    pub fn from_json(json: &str) -> Option<Result<HostCommand, MalformedCommand>> {
        let value: serde_json::Value = serde_json::from_str(json).ok()?;
        let command = match value.get("command")? {
            serde_json::Value::String(name) => name.clone(),
            other => other.to_string(),
        };
        Some(serde_json::from_value(value).map_err(|e| MalformedCommand {
            command: shorten(&command),
            problem: e.to_string(),
        }))
    }
}

/// At most 40 characters of what a host page sent, for messages that quote it.
pub fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
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
        let json: serde_json::Value =
            serde_json::from_str(&event.to_json(Some("lab-a")).unwrap()).unwrap();
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
        assert_eq!(HostCommand::from_json(r#"["command"]"#), None);
        assert_eq!(HostCommand::from_json(r#""{\"command\":\"start\"}""#), None);
        assert_eq!(HostCommand::from_json(r#"{"type":"resize"}"#), None);
        assert_eq!(HostCommand::from_json("not json"), None);
    }

    #[test]
    fn malformed_commands_name_the_command_and_what_is_wrong() {
        let error = |json: &str| HostCommand::from_json(json).unwrap().unwrap_err();
        assert_eq!(
            error(r#"{"command":"format_disk"}"#).to_string(),
            "malformed command 'format_disk': unknown variant `format_disk`, expected one of `load_preset`, `set_layers`, `start`, `stop`"
        );
        assert_eq!(
            error(r#"{"command":"set_layers"}"#).to_string(),
            "malformed command 'set_layers': missing field `layers`"
        );
        let wrong_type = error(r#"{"command":"load_preset","preset":42}"#);
        assert_eq!(wrong_type.command, "load_preset");
        assert!(
            wrong_type
                .problem
                .starts_with("invalid type: integer `42`, expected a string"),
            "{wrong_type}"
        );
        assert_eq!(error(r#"{"command":7}"#).command, "7");
        assert_eq!(error(r#"{"command":null}"#).command, "null");
        // Markup is data: it is quoted (and shortened), never interpreted.
        let long = format!(
            r#"{{"command":"<img src=x onerror=alert(1)>{}"}}"#,
            "x".repeat(500)
        );
        let quoted = error(&long).command;
        assert!(quoted.starts_with("<img src=x onerror=alert(1)>") && quoted.ends_with('…'));
        assert_eq!(quoted.chars().count(), 41);
        // Extra fields are ignored, as in any JSON message.
        assert_eq!(
            HostCommand::from_json(r#"{"command":"start","please":true}"#),
            Some(Ok(HostCommand::Start))
        );
    }
}
