//! The page's setup from its URL: the experiment (model and training settings) that a shared
//! link or a course author's `<iframe src>` carries, and how an embedded lab looks (panels
//! shown, controls locked or hidden, origins allowed to send commands). Every value is checked
//! like the form's own input; a bad one is named, and the rest still applies.
//!
//! Plain functions over `(name, value)` pairs, so the rules are tested natively.

use super::saved::{SavedState, Settings};
use crate::protocol::BackendChoice;
use convlab_core::train::allowed;
use convlab_core::{EarlyStoppingConfig, ModelSpec, Monitor, SpecError, PRESET_NAMES};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

mod embedding;

pub use embedding::{embedding, Embedding, HIDEABLE, LOCKABLE, PANELS};

/// Parameters that describe the experiment; a share link writes all of them.
pub const EXPERIMENT_PARAMS: [&str; 13] = [
    "preset",
    "layers",
    "epochs",
    "batch_size",
    "learning_rate",
    "seed",
    "validation_split",
    "train_images",
    "backend",
    "webgpu",
    "stop_at_loss",
    "early_stopping",
    "workers",
];

/// Parameters that shape an embedded lab rather than the experiment.
pub const EMBED_PARAMS: [&str; 6] = ["data", "panels", "lock", "hide", "allow", "id"];

/// Parameters for the end-to-end tests only (not offered to authors): `test-faults` exposes
/// the fault hook (see the README's "When things go wrong").
pub const TEST_PARAMS: [&str; 1] = ["test-faults"];

/// Whether the URL sets up an experiment (the page then keeps its edits under their own key).
pub fn has_experiment(pairs: &[(String, String)]) -> bool {
    pairs
        .iter()
        .any(|(k, _)| EXPERIMENT_PARAMS.contains(&k.as_str()))
}

/// The experiment parameters of the URL in a fixed order: the key its edits are saved under.
pub fn experiment_key(pairs: &[(String, String)]) -> String {
    let mut parts: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| EXPERIMENT_PARAMS.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    parts.sort();
    parts.join("&")
}

/// A number in the URL; the message names the parameter and what it allows.
fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
    value
        .trim()
        .parse::<T>()
        .map_err(|_| format!("URL parameter {name}='{value}' is not {}", allowed(name)))
}

fn switch(name: &str, value: &str) -> Result<bool, String> {
    match value.trim() {
        "1" | "true" | "on" | "yes" => Ok(true),
        "0" | "false" | "off" | "no" => Ok(false),
        _ => Err(format!(
            "URL parameter {name}='{value}' is not on or off (use 1 or 0)"
        )),
    }
}

/// `workers=auto` (one per core) or a number of CPU workers (checked with the settings).
fn cpu_workers(value: &str) -> Result<Option<usize>, String> {
    match value.trim() {
        "auto" => Ok(None),
        number => number.parse().map(Some).map_err(|_| {
            format!(
                "URL parameter workers='{}' is not auto or a number of CPU workers",
                quoted(value)
            )
        }),
    }
}

/// A URL value as messages quote it: at most 60 characters (a URL can carry kilobytes).
fn quoted(value: &str) -> String {
    match value.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_string(),
    }
}

/// Parameters among `names` given more than once, named with what is done about them
/// (`outcome`).
fn repeated(pairs: &[(String, String)], names: &[&str], outcome: &str) -> Vec<String> {
    names
        .iter()
        .filter_map(|name| {
            let values: Vec<String> = pairs
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| format!("'{}'", quoted(v)))
                .collect();
            (values.len() > 1).then(|| {
                format!(
                    "URL parameter {name} is given {} times ({}); {outcome}",
                    values.len(),
                    values.join(", ")
                )
            })
        })
        .collect()
}

/// `monitor:patience:min_delta[:restore]`, e.g. `val_loss:2:0:restore`, or `off`.
fn early_stopping(value: &str, settings: &mut Settings) -> Result<(), String> {
    let fail = |problem: &str| {
        format!("URL parameter early_stopping='{value}': {problem} (write monitor:patience:min_delta[:restore], e.g. val_loss:2:0:restore, or off)")
    };
    if value == "off" {
        settings.early_stopping_on = false;
        return Ok(());
    }
    let parts: Vec<&str> = value.split(':').collect();
    if parts.len() < 2 || parts.len() > 4 {
        return Err(fail("wrong number of parts"));
    }
    let config = EarlyStoppingConfig {
        monitor: Monitor::from_name(parts[0]).ok_or_else(|| fail("unknown monitor"))?,
        patience: parts[1]
            .parse()
            .map_err(|_| fail(&format!("patience is not {}", allowed("patience"))))?,
        min_delta: match parts.get(2) {
            Some(d) => d
                .parse()
                .map_err(|_| fail(&format!("min_delta is not {}", allowed("min_delta"))))?,
            None => 0.0,
        },
        restore_best_weights: match parts.get(3) {
            None => false,
            Some(&"restore") => true,
            Some(_) => return Err(fail("the fourth part can only be 'restore'")),
        },
    };
    settings.early_stopping_on = true;
    settings.monitor = config.monitor;
    settings.patience = config.patience;
    settings.min_delta = config.min_delta;
    settings.restore_best_weights = config.restore_best_weights;
    Ok(())
}

/// Applies the URL's experiment to `state`; returns one message per value that was refused
/// (those leave the state as it was). `layers` wins over `preset` when both are given.
pub fn apply_experiment(pairs: &[(String, String)], state: &mut SavedState) -> Vec<String> {
    let mut problems = Vec::new();
    let get = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if let Some(name) = get("preset") {
        match ModelSpec::preset(name) {
            Some(spec) => {
                state.spec = spec;
                state.preset = name.to_string();
            }
            None => problems.push(format!(
                "URL parameter preset='{}' is not a lab preset (use {})",
                quoted(name),
                PRESET_NAMES.join(", ")
            )),
        }
    }
    if let Some(text) = get("layers") {
        // A stack that parses but cannot be built is refused too, naming the layer.
        match ModelSpec::parse_text(text).and_then(|spec| spec.infer().map(|_| spec)) {
            Ok(spec) => {
                state.preset = super::saved::preset_of(&spec);
                state.spec = spec;
            }
            Err(e) => problems.push(format!("URL parameter layers: {e}")),
        }
    }
    // Each value is applied to a copy and kept only if the settings still pass the form's
    // checks (epochs=0 or validation_split=1.5 parse, but cannot train).
    for (name, value) in pairs {
        let value = value.as_str();
        let mut s = state.settings.clone();
        let applied = match name.as_str() {
            "epochs" => number(name, value).map(|v| s.epochs = v),
            "batch_size" => number(name, value).map(|v| s.batch_size = v),
            "learning_rate" => number(name, value).map(|v| s.learning_rate = v),
            "seed" => number(name, value).map(|v| s.seed = v),
            "validation_split" => number(name, value).map(|v| s.validation_split = v),
            "train_images" => number(name, value).map(|v| s.train_limit = v),
            "backend" => BackendChoice::from_name(value)
                .map(|v| s.backend = v)
                .ok_or_else(|| {
                    format!(
                        "URL parameter backend='{}' is not auto, webgpu or cpu",
                        quoted(value)
                    )
                }),
            // Links made before the choice was automatic: 1 forces WebGPU, 0 the CPU.
            "webgpu" => switch(name, value).map(|v| {
                s.backend = if v {
                    BackendChoice::Webgpu
                } else {
                    BackendChoice::Cpu
                }
            }),
            "workers" => cpu_workers(value).map(|v| s.cpu_workers = v),
            "stop_at_loss" if value == "off" => {
                s.stop_at_loss_on = false;
                Ok(())
            }
            "stop_at_loss" => number::<f32>(name, value)
                .map_err(|e| e + ", or off")
                .map(|v| {
                    s.stop_at_loss_on = true;
                    s.stop_at_loss = v;
                }),
            "early_stopping" => early_stopping(value, &mut s),
            _ => continue,
        };
        match applied.and_then(|()| {
            s.check()
                .map_err(|e| format!("URL parameter {name}='{value}' cannot be used: {e}"))
        }) {
            Ok(()) => state.settings = s,
            Err(e) => problems.push(e),
        }
    }
    // The model and the settings together: the memory training needs at this batch size.
    let sizes = [
        "preset",
        "layers",
        "batch_size",
        "train_images",
        "validation_split",
    ];
    if pairs.iter().any(|(k, _)| sizes.contains(&k.as_str())) {
        if let Err(e @ SpecError::TooLarge { .. }) = state.settings.check_model(&state.spec) {
            problems.push(format!(
                "this model cannot be trained with these settings: {e}"
            ));
        }
    }
    for (index, (name, _)) in pairs.iter().enumerate() {
        let known = EXPERIMENT_PARAMS.contains(&name.as_str())
            || EMBED_PARAMS.contains(&name.as_str())
            || TEST_PARAMS.contains(&name.as_str());
        if !known && !pairs[..index].iter().any(|(earlier, _)| earlier == name) {
            problems.push(format!(
                "unknown URL parameter '{}' (known: {}, {})",
                quoted(name),
                EXPERIMENT_PARAMS.join(", "),
                EMBED_PARAMS.join(", ")
            ));
        }
    }
    // A setting given twice is applied in order, each value checked: the last one that can be
    // used stays. The model takes the last `preset` and the last `layers`.
    problems.extend(repeated(
        pairs,
        &["preset", "layers"],
        "only the last is used",
    ));
    problems.extend(repeated(
        pairs,
        &EXPERIMENT_PARAMS[2..],
        "each is checked, and the last one that can be used applies",
    ));
    problems
}

/// The query string that restores this experiment exactly (every setting written out, so
/// a later change of defaults does not change what the link means).
pub fn share_query(state: &SavedState, data: Option<&str>) -> String {
    let s = &state.settings;
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if state.preset != "custom" && ModelSpec::preset(&state.preset).as_ref() == Some(&state.spec) {
        pairs.push(("preset", state.preset.clone()));
    } else {
        pairs.push(("layers", state.spec.to_text()));
    }
    pairs.push(("epochs", s.epochs.to_string()));
    pairs.push(("batch_size", s.batch_size.to_string()));
    pairs.push(("learning_rate", s.learning_rate.to_string()));
    pairs.push(("seed", s.seed.to_string()));
    pairs.push(("validation_split", s.validation_split.to_string()));
    pairs.push(("train_images", s.train_limit.to_string()));
    pairs.push(("backend", s.backend.name().to_string()));
    pairs.push((
        "stop_at_loss",
        if s.stop_at_loss_on {
            s.stop_at_loss.to_string()
        } else {
            "off".to_string()
        },
    ));
    pairs.push((
        "early_stopping",
        if s.early_stopping_on {
            format!(
                "{}:{}:{}{}",
                s.monitor.name(),
                s.patience,
                s.min_delta,
                if s.restore_best_weights {
                    ":restore"
                } else {
                    ""
                }
            )
        } else {
            "off".to_string()
        },
    ));
    pairs.push((
        "workers",
        s.cpu_workers
            .map_or_else(|| "auto".to_string(), |n| n.to_string()),
    ));
    if let Some(data) = data {
        pairs.push(("data", data.to_string()));
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// What a query value keeps unescaped besides letters and digits: the characters of the layer
/// text (`:` and `,`) and of a folder URL stay readable; they are allowed in a query.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b':')
    .remove(b',')
    .remove(b'/');

fn encode(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

#[cfg(test)]
#[path = "setup_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "setup_refusal_tests.rs"]
mod refusal_tests;
