//! The page's state as plain Rust, with no web-sys: an explicit [`Phase`], the messages that
//! change it ([`Msg`]: the student's actions, the worker's replies, the host page's commands,
//! async completions) and the effects [`App::update`] asks the dispatcher to carry out
//! ([`Effect`]). The panels render from this state; nothing here touches the page.
//!
//! The worker's replies are handled in [`super::replies`], the host page's commands in
//! [`super::commands`]; what is enabled when, in [`super::controls`].

pub use super::messages::{CopyTarget, DownloadOf, Effect, ModelsMsg, Msg};
pub use super::state::{DataInfo, Maps, Run, ShownMaps, TestView, Versions, Warm};

use super::editor;
use super::filters::Filters;
use super::history::RunRecord;
use super::mistakes::Mistakes;
use super::picture::Picture;
use super::saved::{SavedModel, SavedState};
use super::setup::{self, Embedding};
use super::timings::TimingMemory;
use crate::protocol::{BackendChoice, ToWorker};
use convlab_core::{BackendTimings, Checkpoint, ModelSpec};
use std::collections::{BTreeMap, BTreeSet};

/// What the page is doing; each phase allows its own controls ([`App::enabled`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// The training worker has not said it is ready.
    Booting,
    LoadingData,
    /// Waiting for the student (with or without a dataset: see [`App::data`]).
    Idle,
    /// A run is in progress, started by the student or by the host page's command.
    Training {
        by_host: bool,
    },
    /// A saved model is being loaded and evaluated.
    LoadingModel,
    /// The worker could not start, or died more often than a fresh one is started for:
    /// nothing that needs it can run.
    WorkerLost {
        reason: String,
    },
}

pub struct App {
    pub phase: Phase,
    pub state: SavedState,
    /// Where `state` is saved (the lab's key, or one per URL experiment).
    pub storage_key: String,
    /// The URL's query, for "Reset to the exercise".
    pub url_pairs: Vec<(String, String)>,
    pub embedding: Embedding,
    /// An editor field that does not read (named in the message); blocks training.
    pub field_error: Option<String>,
    /// A settings field that does not read or cannot train; blocks training.
    pub settings_error: Option<String>,
    /// A problem to show under the settings: storage, or a request that failed.
    pub notice: Option<String>,
    pub setup_error: Option<String>,
    pub data: Option<DataInfo>,
    pub data_status: String,
    pub data_error: Option<String>,
    pub data_progress: f64,
    /// Bytes loaded and expected per dataset file.
    pub file_progress: BTreeMap<String, (u64, Option<u64>)>,
    /// The backend badge.
    pub backend: String,
    pub run: Option<Run>,
    pub train_status: String,
    pub train_progress: f64,
    pub test: TestView,
    pub runs: Vec<RunRecord>,
    /// The runs (places in `runs`) chosen for the comparison charts.
    pub compared: BTreeSet<usize>,
    /// The history export's outcome.
    pub history_status: String,
    pub maps: Maps,
    /// "Your own image".
    pub picture: Picture,
    /// What the model gets wrong.
    pub mistakes: Mistakes,
    /// The run's kernels and watched feature maps, epoch by epoch.
    pub filters: Filters,
    /// The worker holds a trained or loaded model that can be saved.
    pub has_model: bool,
    /// The host page has been told the lab is ready.
    pub ready_sent: bool,
    pub saved_models: Vec<SavedModel>,
    /// The name typed when the model was exported (a download's file name).
    pub export_name: String,
    pub models_status: String,
    pub models_error: Option<String>,
    pub share_link: Option<String>,
    pub share_status: String,
    pub code_status: String,
    pub versions: Versions,
    /// Local date and time, set by the dispatcher before each update (for the history).
    pub now: String,
    pub page_base: String,
    /// The last checkpoint of the run in progress (the worker sends one every epoch).
    pub checkpoint: Option<Box<Checkpoint>>,
    /// Why the GPU is gone, once it is: from then on the page trains on the CPU.
    pub gpu_lost: Option<String>,
    /// Fresh workers started after one died.
    pub worker_restarts: usize,
    /// The Train request (and whether the host page started it) to send once a fresh
    /// worker has the dataset again.
    pub resume_after_data: Option<(ToWorker, bool)>,
    /// The URL asks for the fault tests' hook (`test-faults`).
    pub test_faults: bool,
    /// The first training step of the model on screen, made ready while the student edits.
    pub warm: Warm,
    /// This browser's adapter and the backends' timings, for the automatic choice.
    pub timings: TimingMemory,
    /// The cores the browser reports: how many CPU workers "one per core" means.
    pub cores: usize,
}

/// What the page starts from: the stored state and runs, and the URL's query.
pub struct Boot {
    /// The page's base URL, which relative dataset folders are resolved against.
    pub page_base: String,
    pub url_pairs: Vec<(String, String)>,
    pub load_state: fn(&str) -> (SavedState, bool, Option<String>),
    pub runs: Vec<RunRecord>,
    /// The backends' timings remembered from earlier visits.
    pub timings: Vec<BackendTimings>,
    /// The cores the browser reports.
    pub cores: usize,
    pub problems: Vec<String>,
}

impl App {
    /// The page before the worker is ready: the URL's experiment applied the first time (the
    /// student's edits of it are then kept under their own key), problems named.
    pub fn new(boot: Boot) -> App {
        let pairs = boot.url_pairs;
        let storage_key = if setup::has_experiment(&pairs) {
            format!(
                "{}?{}",
                super::saved::STORAGE_KEY,
                setup::experiment_key(&pairs)
            )
        } else {
            super::saved::STORAGE_KEY.to_string()
        };
        let (mut state, stored, state_problem) = (boot.load_state)(&storage_key);
        let mut setup_problems = if stored {
            Vec::new()
        } else {
            setup::apply_experiment(&pairs, &mut state)
        };
        if let Some((_, data)) = pairs.iter().rev().find(|(k, _)| k == "data") {
            state.data_url = data.clone();
        }
        let (embedding, embed_problems) = setup::embedding(&pairs);
        setup_problems.extend(embed_problems);
        let notices: Vec<String> = state_problem.into_iter().chain(boot.problems).collect();
        let test_faults = pairs.iter().any(|(key, _)| key == "test-faults");
        App {
            phase: Phase::Booting,
            state,
            storage_key,
            url_pairs: pairs,
            embedding,
            field_error: None,
            settings_error: None,
            notice: (!notices.is_empty()).then(|| notices.join("; ")),
            setup_error: (!setup_problems.is_empty()).then(|| {
                format!(
                    "This page's URL has settings convlab could not use: {}",
                    setup_problems.join("; ")
                )
            }),
            data: None,
            data_status: "Starting the training worker…".to_string(),
            data_error: None,
            data_progress: 0.0,
            file_progress: BTreeMap::new(),
            backend: "Backend: checking WebGPU…".to_string(),
            run: None,
            train_status: String::new(),
            train_progress: 0.0,
            test: TestView::Prompt,
            runs: boot.runs,
            compared: BTreeSet::new(),
            history_status: String::new(),
            maps: Maps {
                images_text: "0, 23, 28".to_string(),
                filter: 1,
                layer: String::new(),
                row: 0,
                status: String::new(),
                shown: None,
            },
            picture: Picture::default(),
            mistakes: Mistakes::default(),
            filters: Filters::default(),
            has_model: false,
            ready_sent: false,
            saved_models: Vec::new(),
            export_name: String::new(),
            models_status: String::new(),
            models_error: None,
            share_link: None,
            share_status: String::new(),
            code_status: String::new(),
            versions: Versions {
                layers: 1,
                form: 1,
                charts: 1,
                history: 1,
                ..Versions::default()
            },
            now: String::new(),
            page_base: boot.page_base,
            checkpoint: None,
            gpu_lost: None,
            worker_restarts: 0,
            resume_after_data: None,
            test_faults,
            warm: Warm::default(),
            timings: TimingMemory::new(boot.timings),
            cores: boot.cores,
        }
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        let mut effects = self.handle(msg);
        effects.extend(self.warm_up_if_changed());
        effects
    }

    fn handle(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::LoadData { folder } => self.load_data(folder, true),
            Msg::ChoosePreset(name) => match ModelSpec::preset(&name) {
                Some(spec) if self.enabled(super::Control::Preset) => {
                    self.set_spec(spec);
                    self.state.preset = name;
                    vec![Effect::SaveState]
                }
                _ => Vec::new(),
            },
            // The editor and the form are disabled while a run trains; an edit that arrives
            // anyway (a script, an extension) must not change the model or settings under it,
            // and the fields are drawn again from the state, so they do not show it either.
            Msg::EditField { .. } if !self.enabled(super::Control::Editor) => {
                self.versions.layers += 1;
                Vec::new()
            }
            Msg::SettingsEdited(_) if !self.enabled(super::Control::Settings) => {
                self.versions.form += 1;
                Vec::new()
            }
            Msg::EditField {
                index,
                field,
                value,
            } => {
                self.field_error = editor::set_field(&mut self.state.spec, index, &field, &value)
                    .err()
                    .map(|e| e.to_string());
                self.mark_custom();
                vec![Effect::SaveState]
            }
            Msg::Add(addition) => self.edit(|spec| editor::add(spec, addition)),
            Msg::MoveLayer { index, up } => self.edit(|spec| editor::move_layer(spec, index, up)),
            Msg::RemoveLayer(index) => self.edit(|spec| editor::remove(spec, index)),
            Msg::SettingsEdited(Ok(settings)) => {
                self.settings_error = None;
                self.notice = None;
                self.state.settings = settings;
                vec![Effect::SaveState]
            }
            Msg::SettingsEdited(Err(problem)) => {
                self.settings_error = Some(problem);
                Vec::new()
            }
            Msg::Train => self.train(false),
            Msg::Stop => self.stop(),
            Msg::MapsImages(text) => {
                self.maps.images_text = text;
                Vec::new()
            }
            Msg::MapsFilter(text) => {
                self.maps.filter = text.trim().parse().unwrap_or(0);
                Vec::new()
            }
            Msg::MapsLayer(layer) => {
                self.maps.layer = layer;
                Vec::new()
            }
            Msg::MapsImage(row) => {
                self.maps.row = row;
                Vec::new()
            }
            Msg::ShowMaps => self.request_maps(),
            Msg::Picture(input) => self.on_picture_input(input),
            Msg::Mistakes(input) => self.on_mistakes_input(input),
            Msg::Filters(input) => self.on_filters_input(input),
            Msg::Share { base } => {
                let default_data = SavedState::default().data_url;
                let data =
                    (self.state.data_url != default_data).then_some(self.state.data_url.as_str());
                let link = format!("{base}?{}", setup::share_query(&self.state, data));
                self.share_link = Some(link.clone());
                vec![Effect::Copy {
                    text: link,
                    target: CopyTarget::Share,
                }]
            }
            Msg::ResetToExercise => self.reset_to_exercise(),
            Msg::CopyCode => vec![Effect::Copy {
                text: self.keras_code(),
                target: CopyTarget::Code,
            }],
            Msg::Copied { target, ok } => {
                let text = if ok {
                    "Copied."
                } else {
                    "The browser did not allow copying: select the text and copy it."
                };
                match target {
                    CopyTarget::Code => self.code_status = text.to_string(),
                    CopyTarget::Share => self.share_status = text.to_string(),
                }
                Vec::new()
            }
            Msg::ClearHistory => self.clear_history(),
            Msg::History(input) => self.on_history(input),
            Msg::Downloaded {
                of: DownloadOf::History,
                result,
            } => self.on_history_downloaded(result),
            Msg::AdapterProbed(adapter) => {
                self.timings.adapter = Some(adapter.clone());
                if self.run.is_none() && self.backend.starts_with("Backend: checking") {
                    self.backend = match adapter {
                        Some(name) => format!(
                            "Backend: WebGPU available ({name}); {}",
                            match self.state.settings.backend {
                                BackendChoice::Auto =>
                                    "WebGPU or the CPU, whichever trains this model faster",
                                BackendChoice::Webgpu => "training on it",
                                BackendChoice::Cpu => "training on the CPU, as chosen",
                            }
                        ),
                        None => "Backend: CPU (burn-flex): this browser gives no WebGPU adapter"
                            .to_string(),
                    };
                }
                Vec::new()
            }
            Msg::Notice(problem) => {
                self.notice = Some(problem);
                Vec::new()
            }
            Msg::Worker(reply) => self.on_reply(reply),
            Msg::WorkerFailed(reason) => self.on_worker_crashed(reason),
            Msg::Fault(fault) if self.test_faults => vec![Effect::Send(ToWorker::Fault(fault))],
            Msg::Fault(_) => Vec::new(),
            Msg::Host(command) => self.on_command(command),
            Msg::Models(msg) => self.on_models(msg),
            Msg::Downloaded {
                of: DownloadOf::Model,
                result,
            } => self.on_model_downloaded(result),
        }
    }
}

#[cfg(test)]
#[path = "app_tests/mod.rs"]
mod tests;
