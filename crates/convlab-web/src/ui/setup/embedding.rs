//! How an embedded lab looks and whom it listens to, from its URL: the panels shown
//! (`panels=`), the controls locked (`lock=`) or hidden (`hide=`), the origins whose commands
//! are obeyed (`allow=`) and the author's name for the lab (`id=`).

use super::{quoted, repeated};
use crate::ui::controls::Control;

/// Page sections an author can choose with `panels=` (name, element id).
pub const PANELS: [(&str, &str); 7] = [
    ("data", "data-panel"),
    ("model", "model-panel"),
    ("code", "code-panel"),
    ("train", "train-panel"),
    ("maps", "maps-panel"),
    ("history", "history-panel"),
    ("models", "models-panel"),
];

/// Controls an author can lock with `lock=` (name, controls kept disabled).
pub const LOCKABLE: [(&str, &[Control]); 4] = [
    (
        "model",
        &[Control::Preset, Control::Editor, Control::ModelFile],
    ),
    ("settings", &[Control::Settings]),
    ("data", &[Control::DataUrl, Control::DataLoad]),
    ("maps", &[Control::MapsImages, Control::MapsFilter]),
];

/// Controls an author can hide with `hide=` (name, element ids hidden).
pub const HIDEABLE: [(&str, &[&str]); 6] = [
    ("share", &["share-bar"]),
    ("preset", &["preset-label"]),
    ("editor", &["editor"]),
    ("settings", &["settings"]),
    ("data-url", &["data-source"]),
    ("stop", &["stop"]),
];

/// How an embedded lab looks and whom it listens to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Embedding {
    /// Element ids of the panels to show; `None` shows all.
    pub panels: Option<Vec<&'static str>>,
    /// Controls to keep disabled.
    pub locked: Vec<Control>,
    /// Element ids to hide.
    pub hidden: Vec<&'static str>,
    /// Origins whose `postMessage` commands are obeyed, and to which events are posted.
    pub allow: Vec<String>,
    /// The author's name for this lab, echoed in every event (`id=`).
    pub id: Option<String>,
}

/// Reads `panels=`, `lock=`, `hide=`, `allow=` and `id=`; unknown names are reported.
pub fn embedding(pairs: &[(String, String)]) -> (Embedding, Vec<String>) {
    let mut embedding = Embedding::default();
    let mut problems = Vec::new();
    let names = |value: &str| -> Vec<String> {
        value
            .split(',')
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect()
    };
    for (name, value) in pairs {
        match name.as_str() {
            "panels" => {
                // Given twice, the panels of both lists are shown.
                let shown = embedding.panels.get_or_insert_with(Vec::new);
                for panel in names(value) {
                    match PANELS.iter().find(|(n, _)| *n == panel) {
                        Some((_, id)) => shown.push(*id),
                        None => problems.push(unknown("panels", &panel, PANELS.map(|p| p.0))),
                    }
                }
            }
            "lock" => {
                for control in names(value) {
                    match LOCKABLE.iter().find(|(n, _)| *n == control) {
                        Some((_, ids)) => embedding.locked.extend_from_slice(ids),
                        None => problems.push(unknown("lock", &control, LOCKABLE.map(|p| p.0))),
                    }
                }
            }
            "hide" => {
                for control in names(value) {
                    match HIDEABLE.iter().find(|(n, _)| *n == control) {
                        Some((_, ids)) => embedding.hidden.extend_from_slice(ids),
                        None => problems.push(unknown("hide", &control, HIDEABLE.map(|p| p.0))),
                    }
                }
            }
            "allow" => {
                for origin in names(value) {
                    match normal_origin(&origin) {
                        Some(origin) => embedding.allow.push(origin),
                        None => problems.push(format!(
                            "URL parameter allow: '{}' is not an origin (write scheme://host[:port], e.g. https://course.example.org)",
                            quoted(&origin)
                        )),
                    }
                }
            }
            "id" => embedding.id = Some(value.clone()),
            _ => {}
        }
    }
    if embedding.panels.as_ref().is_some_and(Vec::is_empty) {
        // A list with no panel the lab knows would hide the whole lab: ignored, and said.
        embedding.panels = None;
        problems
            .push("URL parameter panels: no known panel is named, so every panel is shown".into());
    }
    let lists = ["panels", "lock", "hide", "allow"];
    problems.extend(repeated(pairs, &lists, "all of them apply"));
    problems.extend(repeated(pairs, &["data", "id"], "only the last is used"));
    (embedding, problems)
}

fn unknown<const N: usize>(param: &str, name: &str, known: [&str; N]) -> String {
    format!(
        "URL parameter {param}: unknown name '{}' (use {})",
        quoted(name),
        known.join(", ")
    )
}

/// `https://Example.org:443/` → `https://example.org`: the URL standard's serialisation of
/// the origin, which is what browsers put in `event.origin`. Anything that is not an http(s)
/// origin (a path, a wildcard) is refused, so `allow=*` cannot open the lab to every page.
fn normal_origin(text: &str) -> Option<String> {
    let url = url::Url::parse(text.trim()).ok()?;
    let bare = url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    (matches!(url.scheme(), "http" | "https") && bare).then(|| url.origin().ascii_serialization())
}
