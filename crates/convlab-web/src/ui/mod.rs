//! The page: the layer editor, training controls, progress, charts, feature maps and run
//! history. It holds no dataset and trains nothing itself; it sends [`ToWorker`] requests to
//! the training worker and draws the [`FromWorker`] replies, so it stays responsive.

pub mod charts;
pub mod dom;
pub mod editor;
pub mod embed;
pub mod history;
pub mod maps;
pub mod models;
pub mod settings;
pub mod setup;

use crate::protocol::{Destination, FromWorker, TestResult, ToWorker};
use convlab_core::summary::thousands;
use convlab_core::{
    keras_code, EpochMetrics, FeatureMaps, ModelHeader, ModelSpec, StopReason, Summary, TrainEvent,
    CLASS_NAMES,
};
use dom::{
    by_id, escape, input, percent, select, set_disabled, set_hidden, set_html, set_text, show_error,
};
use embed::{HostCommand, HostEvent};
use history::RunRecord;
use settings::{SavedState, Settings};
use std::cell::RefCell;
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

/// The run being trained (or the last one), for progress, charts and the history row.
struct Run {
    spec: ModelSpec,
    settings: Settings,
    params: usize,
    epochs: usize,
    train_samples: usize,
    history: Vec<EpochMetrics>,
    stop_message: Option<String>,
    backend: String,
    /// The worker's wasm memory after each epoch, in bytes.
    memory: Vec<u64>,
}

struct DataInfo {
    test: usize,
}

/// The feature maps on show and what they were computed for.
struct ShownMaps {
    maps: Vec<FeatureMaps>,
    images: Vec<usize>,
    labels: Vec<u8>,
    trained: bool,
}

struct App {
    worker: Worker,
    worker_ready: bool,
    state: SavedState,
    /// A field the editor could not read (named in the message); blocks training.
    field_error: Option<String>,
    data: Option<DataInfo>,
    data_loading: bool,
    /// Bytes loaded and expected per dataset file.
    progress: BTreeMap<String, (u64, Option<u64>)>,
    run: Option<Run>,
    training: bool,
    backend: String,
    runs: Vec<RunRecord>,
    maps: Option<ShownMaps>,
    /// Where `state` is saved (the lab's key, or one per URL experiment).
    storage_key: String,
    /// The URL's query, for "Reset to the exercise".
    url_pairs: Vec<(String, String)>,
    embedding: setup::Embedding,
    /// The worker holds a trained or loaded model that can be saved.
    has_model: bool,
    /// A model file is being loaded and evaluated (training waits for it).
    model_loading: bool,
    /// The running training was started by the host page's command.
    host_started: bool,
    /// The host page has been told the lab is ready.
    ready_sent: bool,
}

thread_local! {
    static APP: RefCell<Option<App>> = const { RefCell::new(None) };
}

/// Runs `f` on the page's state (set up by [`start`]).
fn with_app(f: impl FnOnce(&mut App)) {
    APP.with(|app| {
        if let Some(app) = app.borrow_mut().as_mut() {
            f(app)
        }
    });
}

/// Starts the page: the worker, the controls and the saved state.
pub fn start() {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    let worker = match Worker::new_with_options("worker.js", &options) {
        Ok(worker) => worker,
        Err(e) => {
            show_error(
                "data-error",
                Some(&format!(
                    "convlab could not start its training worker: {e:?}"
                )),
            );
            return;
        }
    };
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        match FromWorker::from_js(event.data()) {
            Ok(reply) => with_app(|app| app.on_reply(reply)),
            Err(e) => show_error("data-error", Some(&e)),
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(|_| {
        show_error(
            "data-error",
            Some("the training worker failed to start (see the browser console); reload to retry"),
        );
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();

    let url_pairs = settings::query_pairs();
    let storage_key = if setup::has_experiment(&url_pairs) {
        format!(
            "{}?{}",
            settings::STORAGE_KEY,
            setup::experiment_key(&url_pairs)
        )
    } else {
        settings::STORAGE_KEY.to_string()
    };
    let (mut state, stored, state_problem) = SavedState::load(&storage_key);
    // The URL sets the exercise up once; the student's edits of it are then kept (and "Reset
    // to the exercise" puts the URL's setup back).
    let mut setup_problems = if stored {
        Vec::new()
    } else {
        setup::apply_experiment(&url_pairs, &mut state)
    };
    if let Some((_, data)) = url_pairs.iter().rev().find(|(k, _)| k == "data") {
        state.data_url = data.clone();
    }
    let (embedding, embed_problems) = setup::embedding(&url_pairs);
    setup_problems.extend(embed_problems);
    let (runs, history_problem) = history::load();
    let app = App {
        worker,
        worker_ready: false,
        state,
        field_error: None,
        data: None,
        data_loading: false,
        progress: BTreeMap::new(),
        run: None,
        training: false,
        backend: String::new(),
        runs,
        maps: None,
        storage_key,
        url_pairs,
        embedding,
        has_model: false,
        model_loading: false,
        host_started: false,
        ready_sent: false,
    };
    app.state.settings.show();
    start_worker(&app.worker, app.state.settings.prefer_webgpu);
    input("data-url").set_value(&app.state.data_url);
    select("preset").set_value(&app.state.preset);
    APP.with(|cell| *cell.borrow_mut() = Some(app));
    with_app(|app| {
        app.render_editor();
        app.render_history();
        let problems: Vec<String> = [state_problem, history_problem]
            .into_iter()
            .flatten()
            .collect();
        if !problems.is_empty() {
            show_error("settings-error", Some(&problems.join("; ")));
        }
        if !setup_problems.is_empty() {
            show_error(
                "setup-error",
                Some(&format!(
                    "This page's URL has settings convlab could not use: {}",
                    setup_problems.join("; ")
                )),
            );
        }
        set_hidden("setup-reset", !setup::has_experiment(&app.url_pairs));
        app.apply_embedding();
        app.render_models();
        set_text("data-status", "Starting the training worker…");
    });
    wire_controls();
    let allow = APP.with(|a| {
        a.borrow()
            .as_ref()
            .map(|a| a.embedding.allow.clone())
            .unwrap_or_default()
    });
    embed::listen(allow, |command| with_app(|app| app.on_command(command)));
    register_service_worker();
    wasm_bindgen_futures::spawn_local(async {
        let adapter = crate::gpu::webgpu_adapter().await;
        with_app(|app| {
            if app.backend.is_empty() {
                set_text(
                    "backend",
                    &match adapter {
                        Some(name) => format!(
                            "Backend: WebGPU available ({name}); chosen when training starts"
                        ),
                        None => "Backend: CPU (burn-flex): this browser gives no WebGPU adapter"
                            .to_string(),
                    },
                );
            }
        });
    });
}

/// The worker's first message: the CPU-only module this page already compiled, and whether
/// the student wants WebGPU. `worker.js` then runs the WebGPU build (`convlab-web-gpu`,
/// fetched only then) where the browser gives an adapter, else this module; see `worker.js`.
fn start_worker(worker: &Worker, prefer_webgpu: bool) {
    let message = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&message, &"module".into(), &wasm_bindgen::module());
    let _ = js_sys::Reflect::set(&message, &"webgpu".into(), &prefer_webgpu.into());
    let _ = worker.post_message(&message);
}

fn wire_controls() {
    dom::on("data-load", "click", |_| with_app(|app| app.load_data()));
    dom::on("preset", "change", |_| {
        with_app(|app| {
            let name = select("preset").value();
            if let Some(spec) = ModelSpec::preset(&name) {
                app.state.spec = spec;
                app.state.preset = name;
                app.field_error = None;
                app.render_editor();
            }
        })
    });
    // Field edits update the summary at once, without redrawing the rows (keeps focus).
    dom::on("layers", "input", |event| {
        let Some(target) = dom::event_target(&event) else {
            return;
        };
        let (Some(index), Some(field)) = (
            target
                .get_attribute("data-index")
                .and_then(|i| i.parse::<usize>().ok()),
            target.get_attribute("data-field"),
        ) else {
            return;
        };
        let value = js_sys::Reflect::get(&target, &"value".into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default();
        with_app(|app| {
            app.field_error = editor::set_field(&mut app.state.spec, index, &field, &value).err();
            app.mark_custom();
            app.render_summary();
        });
    });
    dom::on("layers", "click", |event| {
        let Some(target) = dom::event_target(&event) else {
            return;
        };
        let (Some(action), Some(index)) = (
            target.get_attribute("data-action"),
            target
                .get_attribute("data-index")
                .and_then(|i| i.parse::<usize>().ok()),
        ) else {
            return;
        };
        with_app(|app| {
            match action.as_str() {
                "up" => editor::move_layer(&mut app.state.spec, index, true),
                "down" => editor::move_layer(&mut app.state.spec, index, false),
                "remove" => editor::remove(&mut app.state.spec, index),
                _ => return,
            }
            app.mark_custom();
            app.render_editor();
        });
    });
    dom::on("editor", "click", |event| {
        let Some(addition) = dom::event_target(&event)
            .and_then(|t| t.get_attribute("data-add"))
            .and_then(|name| editor::Addition::parse(&name))
        else {
            return;
        };
        with_app(|app| {
            editor::add(&mut app.state.spec, addition);
            app.mark_custom();
            app.render_editor();
        });
    });
    dom::on("settings", "input", |_| {
        with_app(|app| app.settings_changed())
    });
    dom::on("settings", "change", |_| {
        with_app(|app| app.settings_changed())
    });
    dom::on("train", "click", |_| with_app(|app| app.train()));
    dom::on("stop", "click", |_| {
        with_app(|app| {
            app.send(&ToWorker::Stop);
            set_text("train-status", "Stopping before the next batch…");
        })
    });
    dom::on("fm-show", "click", |_| with_app(|app| app.request_maps()));
    dom::on("fm-filter", "input", |_| with_app(|app| app.render_maps()));
    dom::on("fm-layer", "change", |_| {
        with_app(|app| app.render_all_filters())
    });
    dom::on("fm-image", "change", |_| {
        with_app(|app| app.render_all_filters())
    });
    dom::on("share", "click", |_| with_app(|app| app.share()));
    dom::on("setup-reset", "click", |_| {
        with_app(|app| app.reset_to_exercise())
    });
    dom::on("code-copy", "click", |_| {
        copy_text(
            &by_id("keras-code").text_content().unwrap_or_default(),
            "code-status",
        )
    });
    dom::on("model-save-file", "click", |_| {
        with_app(|app| {
            app.send(&ToWorker::ExportModel {
                destination: Destination::File,
            })
        })
    });
    dom::on("model-save-browser", "click", |_| {
        with_app(|app| {
            let name = input("model-name").value().trim().to_string();
            if name.is_empty() {
                return show_error(
                    "models-error",
                    Some("Give the model a name to save it under."),
                );
            }
            app.send(&ToWorker::ExportModel {
                destination: Destination::Browser { name },
            })
        })
    });
    dom::on("model-file", "change", |_| {
        wasm_bindgen_futures::spawn_local(async {
            match models::picked_file("model-file").await {
                Ok(Some((name, file))) => with_app(|app| app.load_model(name, file)),
                Ok(None) => {}
                Err(e) => show_error("models-error", Some(&e)),
            }
            input("model-file").set_value("");
        })
    });
    dom::on("models-list", "click", |event| {
        let Some(target) = dom::event_target(&event) else {
            return;
        };
        if let Some(id) = target
            .get_attribute("data-load-model")
            .and_then(|i| i.parse::<f64>().ok())
        {
            let name = target
                .closest("tr")
                .ok()
                .flatten()
                .and_then(|row| row.first_element_child())
                .and_then(|cell| cell.text_content())
                .unwrap_or_default();
            wasm_bindgen_futures::spawn_local(async move {
                match models::file(id).await {
                    Ok(file) => {
                        with_app(|app| app.load_model(format!("saved model '{name}'"), file))
                    }
                    Err(e) => show_error("models-error", Some(&e)),
                }
            });
        } else if let Some(id) = target
            .get_attribute("data-delete-model")
            .and_then(|i| i.parse::<f64>().ok())
        {
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = models::delete(id).await {
                    show_error("models-error", Some(&e));
                }
                with_app(|app| app.render_models());
            });
        }
    });
    dom::on("history-clear", "click", |_| {
        with_app(|app| {
            app.runs.clear();
            app.save_history();
            app.render_history();
        })
    });
}

/// Keeps the page and its data usable offline once loaded (see www/sw.js). Only where the
/// browser offers service workers (a secure context: https or localhost).
fn register_service_worker() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let navigator = window.navigator();
    if !js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
        return;
    }
    let registration = navigator.service_worker().register("sw.js");
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = wasm_bindgen_futures::JsFuture::from(registration).await {
            embed::warn(&format!(
                "convlab: offline use is off, the service worker did not register: {e:?}"
            ));
        }
    });
}

/// Copies `text` to the clipboard; says how it went in the element `status`.
fn copy_text(text: &str, status: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let promise = window.navigator().clipboard().write_text(text);
    let status = status.to_string();
    wasm_bindgen_futures::spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(_) => set_text(&status, "Copied."),
            Err(_) => set_text(
                &status,
                "The browser did not allow copying: select the text and copy it.",
            ),
        }
    });
}

fn now_local() -> String {
    let date = js_sys::Date::new_0();
    format!(
        "{}-{:02}-{:02} {:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}

impl App {
    /// Tells the host page (when embedded) what happened.
    fn post(&self, event: &HostEvent) {
        embed::post(event, &self.embedding.allow, self.embedding.id.as_deref());
    }

    /// Shows only the author's panels, hides their hidden controls (locks: refresh_buttons).
    fn apply_embedding(&self) {
        if let Some(shown) = &self.embedding.panels {
            for (_, id) in setup::PANELS {
                set_hidden(id, !shown.contains(&id));
            }
        }
        for id in &self.embedding.hidden {
            set_hidden(id, true);
        }
    }

    fn on_command(&mut self, command: HostCommand) {
        let fail = |app: &App, command: &str, message: String| {
            app.post(&HostEvent::CommandFailed {
                command: command.to_string(),
                message,
            })
        };
        match command {
            HostCommand::LoadPreset { preset } => match ModelSpec::preset(&preset) {
                Some(spec) if !self.training => {
                    self.state.spec = spec;
                    self.state.preset = preset;
                    self.field_error = None;
                    select("preset").set_value(&self.state.preset);
                    self.render_editor();
                }
                Some(_) => fail(self, "load_preset", "training is running".into()),
                None => fail(self, "load_preset", format!("unknown preset '{preset}'")),
            },
            HostCommand::SetLayers { layers } => match ModelSpec::parse_text(&layers) {
                Ok(_) if self.training => fail(self, "set_layers", "training is running".into()),
                Ok(spec) => {
                    self.state.spec = spec;
                    self.field_error = None;
                    self.mark_custom();
                    self.render_editor();
                }
                Err(e) => fail(self, "set_layers", e),
            },
            HostCommand::Start => {
                if self.training {
                    fail(self, "start", "training is already running".into());
                } else if self.data.is_none() {
                    fail(self, "start", "the dataset is not loaded yet".into());
                } else if !self.model_ok() {
                    fail(self, "start", "the model cannot be built".into());
                } else if self.model_loading {
                    fail(self, "start", "a saved model is being loaded".into());
                } else if let Err(e) = Settings::read() {
                    fail(self, "start", e);
                } else {
                    self.train();
                    self.host_started = self.training;
                }
            }
            HostCommand::Stop => {
                if self.training {
                    self.send(&ToWorker::Stop);
                    set_text("train-status", "Stopping before the next batch…");
                }
            }
        }
    }

    /// Puts a link that restores this experiment in the share box and on the clipboard.
    fn share(&self) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let location = window.location();
        let base = format!(
            "{}{}",
            location.origin().unwrap_or_default(),
            location.pathname().unwrap_or_default()
        );
        let data = (self.state.data_url != SavedState::default().data_url)
            .then_some(self.state.data_url.as_str());
        let link = format!("{base}?{}", setup::share_query(&self.state, data));
        let field = input("share-link");
        field.set_value(&link);
        set_hidden("share-link", false);
        field.select();
        copy_text(&link, "share-status");
    }

    /// Puts back the model and settings the page's URL sets up, dropping the student's edits.
    fn reset_to_exercise(&mut self) {
        if self.training {
            return;
        }
        let mut state = SavedState {
            data_url: self.state.data_url.clone(),
            ..SavedState::default()
        };
        let problems = setup::apply_experiment(&self.url_pairs, &mut state);
        self.state = state;
        self.field_error = None;
        self.state.settings.show();
        select("preset").set_value(&self.state.preset);
        self.render_editor();
        self.settings_changed();
        if !problems.is_empty() {
            show_error("setup-error", Some(&problems.join("; ")));
        }
    }

    fn render_code(&self) {
        let limit = self.state.settings.train_limit;
        set_text(
            "keras-code",
            &keras_code(
                &self.state.spec,
                &self.state.settings.train_config(),
                Some(limit),
            ),
        );
    }

    fn render_models(&self) {
        wasm_bindgen_futures::spawn_local(async {
            match models::list().await {
                Ok(list) => set_html(
                    "models-list",
                    &format!(
                        "<thead><tr><th>Name</th><th>Architecture</th><th>Params</th><th>Test acc</th><th>Saved</th><th>Size</th><th></th></tr></thead><tbody>{}</tbody>",
                        models::rows_html(&list)
                    ),
                ),
                Err(e) => show_error("models-error", Some(&e)),
            }
        });
    }

    fn load_model(&mut self, origin: String, file: Vec<u8>) {
        if self.training || self.model_loading {
            return;
        }
        if self.embedding.locked.contains(&"editor") {
            return show_error(
                "models-error",
                Some("The model is fixed on this page: loading another one is turned off."),
            );
        }
        if self.data.is_none() {
            return show_error(
                "models-error",
                Some("Load the dataset first: a loaded model is evaluated on the test images."),
            );
        }
        show_error("models-error", None);
        set_text("models-status", &format!("Loading {origin}…"));
        self.model_loading = true;
        self.refresh_buttons();
        self.send(&ToWorker::LoadModel { origin, file });
    }

    fn on_exported(&mut self, destination: Destination, header: ModelHeader, file: Vec<u8>) {
        show_error("models-error", None);
        let architecture = editor::short_name(&header.spec);
        let accuracy = header.trained.as_ref().and_then(|t| t.test_accuracy);
        match destination {
            Destination::File => {
                let name = input("model-name").value();
                let stem: String = name
                    .trim()
                    .chars()
                    .map(|c| {
                        if c.is_alphanumeric() || c == '-' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                let stem = if stem.is_empty() {
                    architecture.clone()
                } else {
                    stem
                };
                let file_name = format!("{stem}.{}", convlab_core::model_file::EXTENSION);
                match models::download(&file_name, &file) {
                    Ok(()) => set_text(
                        "models-status",
                        &format!(
                            "Downloaded {file_name} ({:.0} kB).",
                            file.len() as f64 / 1000.0
                        ),
                    ),
                    Err(e) => show_error("models-error", Some(&e)),
                }
            }
            Destination::Browser { name } => {
                let params = header.spec.param_count().unwrap_or(0);
                wasm_bindgen_futures::spawn_local(async move {
                    let saved = now_local();
                    match models::save(&name, &architecture, params, accuracy, &saved, &file).await
                    {
                        Ok(()) => {
                            set_text("models-status", &format!("Saved '{name}' in this browser."));
                            with_app(|app| app.render_models());
                        }
                        Err(e) => show_error("models-error", Some(&e)),
                    }
                });
            }
        }
    }

    fn on_model_loaded(&mut self, origin: String, header: ModelHeader, test: TestResult) {
        self.model_loading = false;
        self.has_model = true;
        self.state.spec = header.spec.clone();
        self.field_error = None;
        self.mark_custom();
        self.render_editor();
        let when_saved = header
            .trained
            .as_ref()
            .and_then(|t| t.test_accuracy)
            .map(|a| format!(" (when saved: {a:.4})"))
            .unwrap_or_default();
        set_text(
            "models-status",
            &format!(
                "Loaded {origin}: {}, test accuracy {:.4}{when_saved}.",
                editor::short_name(&header.spec),
                test.accuracy
            ),
        );
        self.show_test_result(&format!("Loaded model ({origin}): test loss"), &test);
        self.refresh_buttons();
        self.request_maps();
    }

    fn send(&self, request: &ToWorker) {
        match request.to_js() {
            Ok(value) => {
                if let Err(e) = self.worker.post_message(&value) {
                    show_error(
                        "settings-error",
                        Some(&format!("the worker refused a message: {e:?}")),
                    );
                }
            }
            Err(e) => show_error("settings-error", Some(&e)),
        }
    }

    fn on_reply(&mut self, reply: FromWorker) {
        match reply {
            FromWorker::Ready => {
                self.worker_ready = true;
                self.load_data();
            }
            FromWorker::DataProgress(p) => {
                self.progress.insert(p.file.clone(), (p.loaded, p.total));
                let (loaded, total): (u64, u64) = self
                    .progress
                    .values()
                    .map(|&(l, t)| (l, t.unwrap_or(l).max(l)))
                    .fold((0, 0), |(a, b), (l, t)| (a + l, b + t));
                let fraction = self
                    .progress
                    .values()
                    .map(|&(l, t)| t.map_or(0.0, |t| l as f64 / t.max(1) as f64).min(1.0))
                    .sum::<f64>()
                    / 4.0;
                dom::set_progress("data-progress", fraction);
                let source = if p.cached {
                    "from the browser's cache"
                } else {
                    "downloading"
                };
                set_text(
                    "data-status",
                    &format!(
                        "{source} {}: {:.1} MB of {:.1} MB so far ({:.0}%)",
                        p.file,
                        loaded as f64 / 1e6,
                        total as f64 / 1e6,
                        fraction * 100.0
                    ),
                );
            }
            FromWorker::DataReady {
                train,
                test,
                samples,
                sample_labels,
            } => {
                self.data_loading = false;
                dom::set_progress("data-progress", 1.0);
                set_text(
                    "data-status",
                    &format!(
                        "Fashion-MNIST ready: {} training and {} test images (28 × 28 grey, pixels / 255).",
                        thousands(train),
                        thousands(test)
                    ),
                );
                show_error("data-error", None);
                set_disabled("data-load", false);
                input("train-limit").set_max(&train.to_string());
                let labels: Vec<String> = sample_labels.iter().map(|l| l.to_string()).collect();
                set_text("sample-labels", &format!("[{}]", labels.join(" ")));
                maps::draw_samples("samples", &samples, &sample_labels);
                self.data = Some(DataInfo { test });
                self.refresh_buttons();
                self.request_maps();
                if !self.ready_sent {
                    self.ready_sent = true;
                    self.post(&HostEvent::Ready {
                        preset: self.state.preset.clone(),
                        layers: self.state.spec.to_text(),
                        params: self.state.spec.param_count().unwrap_or(0),
                    });
                }
            }
            FromWorker::DataFailed { message } => {
                self.post(&HostEvent::Error {
                    message: format!("the dataset could not be loaded: {message}"),
                });
                self.data_loading = false;
                set_text("data-status", "The dataset could not be loaded.");
                show_error(
                    "data-error",
                    Some(&format!(
                        "{message}. Check the dataset folder and press Load data to retry."
                    )),
                );
                set_disabled("data-load", false);
                self.refresh_buttons();
            }
            FromWorker::Backend { description, .. } => {
                self.backend = description.clone();
                set_text("backend", &format!("Backend: {description}"));
                if let Some(run) = &mut self.run {
                    run.backend = description;
                }
            }
            FromWorker::Training(event) => self.on_training(event),
            FromWorker::WorkerMemory { epoch, wasm_bytes } => {
                if let Some(run) = &mut self.run {
                    run.memory.push(wasm_bytes);
                    show_memory(epoch, &run.memory);
                }
            }
            FromWorker::Tested(result) => self.on_tested(result),
            FromWorker::FeatureMaps {
                maps,
                images,
                labels,
                trained,
            } => {
                self.maps = Some(ShownMaps {
                    maps,
                    images,
                    labels,
                    trained,
                });
                self.render_maps();
            }
            FromWorker::ModelExported {
                destination,
                header,
                file,
            } => self.on_exported(destination, header, file),
            FromWorker::ModelLoaded {
                origin,
                header,
                test,
            } => self.on_model_loaded(origin, header, test),
            FromWorker::Failed { request, message } => {
                if request == "feature_maps" {
                    set_text("fm-status", &message);
                } else if request == "load_model" || request == "export_model" {
                    self.model_loading = false;
                    self.refresh_buttons();
                    set_text("models-status", "");
                    show_error("models-error", Some(&message));
                } else {
                    show_error(
                        "settings-error",
                        Some(&format!("{request} failed: {message}")),
                    );
                }
                if request == "train" {
                    self.training = false;
                    set_text("train-status", "Training did not run.");
                    self.refresh_buttons();
                    if std::mem::take(&mut self.host_started) {
                        self.post(&HostEvent::CommandFailed {
                            command: "start".into(),
                            message,
                        });
                    }
                }
            }
        }
    }

    fn load_data(&mut self) {
        if !self.worker_ready || self.data_loading || self.training {
            return;
        }
        let folder = input("data-url").value();
        let folder = if folder.trim().is_empty() {
            "data/".to_string()
        } else {
            folder.trim().to_string()
        };
        self.state.data_url = folder.clone();
        self.save_state();
        // Absolute, so the worker (whose base URL is its script's) fetches what the page means.
        let base = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.base_uri().ok().flatten())
            .unwrap_or_default();
        let url = web_sys::Url::new_with_base(&folder, &base)
            .map(|u| u.href())
            .unwrap_or(folder);
        self.data_loading = true;
        self.progress.clear();
        show_error("data-error", None);
        set_disabled("data-load", true);
        set_text("data-status", &format!("Loading Fashion-MNIST from {url}…"));
        self.send(&ToWorker::LoadData { base_url: url });
    }

    /// Shows which lab cell the edited model now is, or "custom".
    fn mark_custom(&mut self) {
        self.state.preset = convlab_core::PRESET_NAMES
            .iter()
            .find(|name| ModelSpec::preset(name).as_ref() == Some(&self.state.spec))
            .map_or("custom", |name| *name)
            .to_string();
        select("preset").set_value(&self.state.preset);
    }

    fn render_editor(&mut self) {
        let bad = self
            .state
            .spec
            .infer()
            .err()
            .as_ref()
            .and_then(editor::error_layer);
        by_id("layers").set_inner_html(&format!(
            "<tbody>{}</tbody>",
            editor::rows_html(&self.state.spec, bad)
        ));
        self.render_summary();
    }

    /// The Keras summary, or the reason the stack cannot be built (its row highlighted).
    fn render_summary(&mut self) {
        let problem = match (&self.field_error, Summary::of(&self.state.spec)) {
            (Some(field), _) => Some((field.clone(), None)),
            (None, Ok(summary)) => {
                set_text("summary", &summary.to_table("sequential"));
                None
            }
            (None, Err(e)) => Some((e.to_string(), editor::error_layer(&e))),
        };
        let rows = by_id("layers").query_selector_all("tr[data-row]");
        if let Ok(rows) = rows {
            for i in 0..rows.length() {
                if let Some(row) = rows
                    .item(i)
                    .and_then(|r| r.dyn_into::<web_sys::Element>().ok())
                {
                    let bad = problem.as_ref().and_then(|p| p.1) == Some(i as usize);
                    let _ = row.class_list().toggle_with_force("bad", bad);
                }
            }
        }
        self.render_code();
        match &problem {
            Some((message, _)) => {
                show_error(
                    "model-error",
                    Some(&format!("This model cannot be built: {message}")),
                );
                set_text("summary", "");
            }
            None => show_error("model-error", None),
        }
        self.save_state();
        self.refresh_buttons();
    }

    fn model_ok(&self) -> bool {
        self.field_error.is_none() && self.state.spec.infer().is_ok()
    }

    fn settings_changed(&mut self) {
        match Settings::read() {
            Ok(settings) => {
                self.state.settings = settings;
                show_error("settings-error", None);
                self.save_state();
            }
            Err(e) => show_error("settings-error", Some(&e)),
        }
        self.render_code();
        self.refresh_buttons();
    }

    fn refresh_buttons(&self) {
        let can_train = !self.training
            && !self.model_loading
            && self.data.is_some()
            && self.model_ok()
            && Settings::read().is_ok();
        set_disabled("train", !can_train);
        set_disabled("stop", !self.training);
        set_disabled("editor", self.training);
        set_disabled("settings", self.training);
        set_disabled("preset", self.training);
        set_disabled("data-load", self.training || self.data_loading);
        set_disabled("fm-show", self.training || self.data.is_none());
        set_disabled("model-save-file", self.training || !self.has_model);
        set_disabled("model-save-browser", self.training || !self.has_model);
        set_disabled(
            "model-file",
            self.training || self.model_loading || self.data.is_none(),
        );
        // The author's locks hold whatever the page's state.
        for id in &self.embedding.locked {
            set_disabled(id, true);
        }
    }

    fn save_state(&self) {
        if let Err(e) = self.state.save(&self.storage_key) {
            show_error("settings-error", Some(&e));
        }
    }

    fn train(&mut self) {
        let settings = match Settings::read() {
            Ok(s) => s,
            Err(e) => return show_error("settings-error", Some(&e)),
        };
        if !self.model_ok() || self.data.is_none() || self.training || self.model_loading {
            return;
        }
        self.host_started = false;
        let spec = self.state.spec.clone();
        self.training = true;
        self.run = Some(Run {
            params: spec.param_count().unwrap_or(0),
            spec: spec.clone(),
            settings: settings.clone(),
            epochs: settings.epochs,
            train_samples: 0,
            history: Vec::new(),
            stop_message: None,
            backend: self.backend.clone(),
            memory: Vec::new(),
        });
        set_text("worker-memory", "");
        set_text("epoch-log", "");
        let _ = by_id("epoch-log").remove_attribute("data-seconds");
        set_hidden("callback-message", true);
        show_error("settings-error", None);
        set_text("test-result", "Training…");
        set_html("confusion", "");
        dom::set_progress("train-progress", 0.0);
        set_text("train-status", "Starting…");
        self.draw_charts();
        self.refresh_buttons();
        self.post(&HostEvent::TrainingStarted {
            layers: spec.to_text(),
            params: spec.param_count().unwrap_or(0),
            epochs: settings.epochs,
            batch_size: settings.batch_size,
            train_images: settings.train_limit,
        });
        self.send(&ToWorker::Train {
            spec,
            config: settings.train_config(),
            train_limit: Some(settings.train_limit),
            prefer_webgpu: settings.prefer_webgpu,
        });
    }

    fn on_training(&mut self, event: TrainEvent) {
        let Some(run) = &mut self.run else { return };
        match event {
            TrainEvent::Started {
                train_samples,
                val_samples,
                batches_per_epoch,
                epochs,
                params,
            } => {
                run.train_samples = train_samples;
                run.epochs = epochs;
                run.params = params;
                let validation = if val_samples > 0 {
                    format!(", validate on {}", thousands(val_samples))
                } else {
                    String::new()
                };
                append_log(&format!(
                    "Train on {} samples{validation}; {batches_per_epoch} batches per epoch; {} parameters\n",
                    thousands(train_samples),
                    thousands(params)
                ));
            }
            TrainEvent::Batch {
                epoch,
                batch,
                batches,
                samples_seen,
                loss,
                accuracy,
                samples_per_second,
            } => {
                let total = (run.train_samples * run.epochs).max(1);
                dom::set_progress("train-progress", samples_seen as f64 / total as f64);
                let eta =
                    (total.saturating_sub(samples_seen)) as f64 / samples_per_second.max(1e-9);
                set_text(
                    "train-status",
                    &format!(
                        "Epoch {epoch}/{} · batch {batch}/{batches} · loss {loss:.4} · accuracy {accuracy:.4} · {} samples/s · ETA {}",
                        run.epochs,
                        thousands(samples_per_second.round() as usize),
                        dom::duration(eta)
                    ),
                );
            }
            TrainEvent::Epoch(metrics) => {
                let batches = run.train_samples.div_ceil(run.settings.batch_size);
                append_log(&format!(
                    "Epoch {}/{}\n{batches}/{batches} - {}\n",
                    metrics.epoch,
                    run.epochs,
                    metrics.log_line()
                ));
                record_epoch_seconds(metrics.seconds);
                dom::set_progress(
                    "train-progress",
                    metrics.epoch as f64 / run.epochs.max(1) as f64,
                );
                let event = HostEvent::EpochEnd {
                    epochs: run.epochs,
                    metrics: metrics.clone(),
                };
                run.history.push(metrics);
                self.draw_charts();
                self.post(&event);
            }
            TrainEvent::Stopped {
                epoch,
                message,
                reason,
            } => {
                let reason = match reason {
                    StopReason::LossThreshold { .. } => "loss_threshold",
                    StopReason::EarlyStopping { .. } => "early_stopping",
                    StopReason::NonFinite { .. } => "not_finite",
                    StopReason::Requested => "stopped",
                };
                self.post(&HostEvent::EarlyStop {
                    epoch,
                    reason: reason.to_string(),
                    message: message.clone(),
                });
                let Some(run) = &mut self.run else { return };
                append_log(&format!("{message}\n"));
                set_html(
                    "callback-message",
                    &format!(
                        "{}<br><small>Training ended in epoch {epoch} of {}.</small>",
                        escape(&message),
                        run.epochs
                    ),
                );
                set_hidden("callback-message", false);
                run.stop_message = Some(format!("epoch {epoch}: {message}"));
            }
            TrainEvent::Finished(_) => {}
        }
    }

    fn on_tested(&mut self, result: TestResult) {
        self.training = false;
        self.has_model = true;
        self.show_test_result("Test loss", &result);
        if let Some(run) = &self.run {
            let seconds: f64 = run.history.iter().map(|m| m.seconds).sum();
            let samples: usize = run.history.iter().map(|m| m.samples).sum();
            let last = run.history.last();
            set_text(
                "train-status",
                &match last {
                    Some(m) => format!(
                        "Done: {} epoch(s), final loss {:.4}, accuracy {:.4}.",
                        m.epoch, m.loss, m.accuracy
                    ),
                    None => "Stopped before the first epoch ended.".to_string(),
                },
            );
            self.runs.push(RunRecord {
                when: now_local(),
                architecture: editor::short_name(&run.spec),
                params: run.params,
                epochs_run: run.history.len(),
                epochs_planned: run.epochs,
                train_images: run.train_samples,
                seconds_per_epoch: if run.history.is_empty() {
                    0.0
                } else {
                    seconds / run.history.len() as f64
                },
                samples_per_second: if seconds > 0.0 {
                    samples as f64 / seconds
                } else {
                    0.0
                },
                train_accuracy: last.map(|m| m.accuracy),
                val_accuracy: last.and_then(|m| m.val_accuracy),
                test_accuracy: Some(result.accuracy),
                backend: run.backend.clone(),
                stop_reason: run.stop_message.clone().unwrap_or_default(),
            });
            self.save_history();
            self.render_history();
            self.post(&HostEvent::Finished {
                test_loss: result.loss,
                test_accuracy: result.accuracy,
                epochs_run: run.history.len(),
                layers: run.spec.to_text(),
                params: run.params,
                summary: Summary::of(&run.spec)
                    .map(|s| s.to_table("sequential"))
                    .unwrap_or_default(),
            });
        }
        self.refresh_buttons();
        self.request_maps();
    }

    /// model.evaluate's line ("{lead} 0.3312 · test accuracy 0.8812 (...)") and the matrix.
    fn show_test_result(&self, lead: &str, result: &TestResult) {
        set_text(
            "test-result",
            &format!(
                "{lead} {:.4} · test accuracy {:.4} ({} on {} test images)",
                result.loss,
                result.accuracy,
                percent(result.accuracy),
                thousands(self.data.as_ref().map_or(0, |d| d.test))
            ),
        );
        set_html("confusion", &confusion_html(result));
    }

    fn draw_charts(&self) {
        let (history, epochs) = match &self.run {
            Some(run) => (&run.history[..], run.epochs),
            None => (&[][..], 5),
        };
        for (id, metric) in [
            ("loss-chart", charts::Metric::Loss),
            ("accuracy-chart", charts::Metric::Accuracy),
        ] {
            charts::draw(by_id(id).unchecked_into(), metric, history, epochs);
        }
    }

    fn save_history(&self) {
        if let Err(e) = history::save(&self.runs) {
            show_error("settings-error", Some(&e));
        }
    }

    fn render_history(&self) {
        set_html("history", &format!(
            "<thead><tr><th>When</th><th>Architecture</th><th>Params</th><th>Epochs</th><th>s/epoch</th><th>samples/s</th><th>Train acc</th><th>Val acc</th><th>Test acc</th><th>Backend</th><th>Stop reason</th></tr></thead><tbody>{}</tbody>",
            history::rows_html(&self.runs)
        ));
    }

    /// The test images typed in the feature-map panel, checked against the test set.
    fn maps_images(&self) -> Result<Vec<usize>, String> {
        let text = input("fm-images").value();
        let count = self.data.as_ref().map_or(0, |d| d.test);
        let images = text
            .split([',', ' '])
            .filter(|t| !t.trim().is_empty())
            .map(|t| {
                t.trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|&i| i < count)
                    .ok_or_else(|| {
                        format!(
                            "test image '{}' is not a number from 0 to {}",
                            t.trim(),
                            count.saturating_sub(1)
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        match images.len() {
            0 => Err("name at least one test image, e.g. 0, 23, 28".to_string()),
            n if n > 16 => Err(format!("at most 16 test images at once, got {n}")),
            _ => Ok(images),
        }
    }

    fn request_maps(&mut self) {
        if self.data.is_none() || self.training {
            return;
        }
        if !self.model_ok() {
            set_text("fm-status", "Fix the model first: it cannot be built.");
            return;
        }
        match self.maps_images() {
            Ok(images) => {
                set_text("fm-status", "Computing activations…");
                self.send(&ToWorker::FeatureMaps {
                    spec: self.state.spec.clone(),
                    images,
                    seed: self.state.settings.seed,
                });
            }
            Err(e) => set_text("fm-status", &e),
        }
    }

    fn render_maps(&self) {
        let Some(shown) = &self.maps else { return };
        if shown.maps.is_empty() {
            set_text(
                "fm-status",
                "This model has no conv or pool layers: add a Conv2D to see its feature maps.",
            );
            set_html("fm-grid", "");
            set_html("fm-all", "");
            return;
        }
        let filter = input("fm-filter")
            .value()
            .trim()
            .parse::<usize>()
            .unwrap_or(0);
        set_text(
            "fm-status",
            if shown.trained {
                "Activations of the trained model."
            } else {
                "Activations of the untrained model (random weights); train it to see what the filters learn."
            },
        );
        maps::draw_grid("fm-grid", &shown.maps, &shown.images, &shown.labels, filter);
        let layer = select("fm-layer").value();
        let image = select("fm-image").value();
        set_html(
            "fm-layer",
            &maps::options_html(
                shown.maps.iter().map(|m| (m.name.clone(), m.name.clone())),
                &layer,
            ),
        );
        set_html(
            "fm-image",
            &maps::options_html(
                shown
                    .images
                    .iter()
                    .enumerate()
                    .map(|(row, i)| (row.to_string(), format!("test image {i}"))),
                &image,
            ),
        );
        self.render_all_filters();
    }

    fn render_all_filters(&self) {
        let Some(shown) = &self.maps else { return };
        let layer = select("fm-layer").value();
        let row = select("fm-image").value().parse::<usize>().unwrap_or(0);
        if let Some(map) = shown
            .maps
            .iter()
            .find(|m| m.name == layer)
            .or(shown.maps.first())
        {
            maps::draw_all_filters("fm-all", map, row);
        }
    }
}

/// "Worker memory: 84.2 MB after epoch 20 (epoch 2: 84.2 MB, +0.0%)", and the per-epoch
/// figures in `data-bytes` for benchmarks.
fn show_memory(epoch: usize, memory: &[u64]) {
    let mb = |b: u64| b as f64 / 1e6;
    let Some(&last) = memory.last() else { return };
    let since = match memory.get(1) {
        Some(&second) if memory.len() > 2 => format!(
            " (epoch 2: {:.1} MB, {:+.1}%)",
            mb(second),
            (last as f64 / second as f64 - 1.0) * 100.0
        ),
        _ => String::new(),
    };
    set_text(
        "worker-memory",
        &format!(
            "Worker memory (wasm): {:.1} MB after epoch {epoch}{since}",
            mb(last)
        ),
    );
    let list: Vec<String> = memory.iter().map(|b| b.to_string()).collect();
    let _ = by_id("worker-memory").set_attribute("data-bytes", &list.join(","));
}

/// Each epoch's exact seconds in the epoch log's `data-seconds`, for benchmarks: the log shows
/// Keras's 0.1 s, a fifth of a 0.5 s epoch.
fn record_epoch_seconds(seconds: f64) {
    let log = by_id("epoch-log");
    let value = match log.get_attribute("data-seconds") {
        Some(previous) => format!("{previous},{seconds}"),
        None => seconds.to_string(),
    };
    let _ = log.set_attribute("data-seconds", &value);
}

fn append_log(line: &str) {
    let log = by_id("epoch-log");
    let text = log.text_content().unwrap_or_default();
    log.set_text_content(Some(&(text + line)));
}

/// The confusion matrix with class names and each class's accuracy.
fn confusion_html(result: &TestResult) -> String {
    let head: String = CLASS_NAMES
        .iter()
        .map(|name| format!("<th>{}</th>", escape(name)))
        .collect();
    let per_class = result.per_class_accuracy();
    let rows: String = result
        .confusion
        .iter()
        .enumerate()
        .map(|(t, row)| {
            let cells: String = row
                .iter()
                .enumerate()
                .map(|(p, n)| {
                    let class = if p == t {
                        " class=\"diag\""
                    } else if *n > 0 {
                        " class=\"off\""
                    } else {
                        ""
                    };
                    format!("<td{class}>{n}</td>")
                })
                .collect();
            let accuracy = per_class[t].map_or("–".to_string(), percent);
            format!(
                "<tr><th>{}</th>{cells}<td class=\"acc\">{accuracy}</td></tr>",
                escape(CLASS_NAMES[t])
            )
        })
        .collect();
    format!(
        "<table class=\"confusion\"><caption>Confusion matrix on the test set (rows: true class, columns: predicted)</caption><thead><tr><th></th>{head}<th>class accuracy</th></tr></thead><tbody>{rows}</tbody></table>"
    )
}
