//! What the student's actions do to the page's state (called from [`App::update`]).

use super::app::{App, Phase, Run, TestView};
use super::history::RunRecord;
use super::host::HostEvent;
use super::messages::Effect;
use super::saved::SavedState;
use super::{editor, setup, Control};
use crate::protocol::{Destination, ToWorker, TrainRequest};
use convlab_core::{keras_code, ModelSpec};

impl App {
    /// The Keras code of the current model and settings, as the notebook's cells write it.
    pub fn keras_code(&self) -> String {
        let settings = &self.state.settings;
        keras_code(
            &self.state.spec,
            &settings.train_config(),
            Some(settings.train_limit),
        )
    }

    pub(super) fn edit(&mut self, change: impl FnOnce(&mut ModelSpec)) -> Vec<Effect> {
        if !self.enabled(Control::Editor) {
            return Vec::new();
        }
        change(&mut self.state.spec);
        self.versions.layers += 1;
        self.mark_custom();
        vec![Effect::SaveState]
    }

    /// Replaces the model being edited (a preset, a command, a loaded file).
    pub(super) fn set_spec(&mut self, spec: ModelSpec) {
        self.state.spec = spec;
        self.field_error = None;
        self.versions.layers += 1;
    }

    /// Names the lab cell the edited model now is, or "custom".
    pub(super) fn mark_custom(&mut self) {
        self.state.preset = super::saved::preset_of(&self.state.spec);
    }

    /// Why the model cannot be built, and the layer to highlight.
    pub fn model_problem(&self) -> Option<(String, Option<usize>)> {
        if let Some(field) = &self.field_error {
            return Some((field.clone(), None));
        }
        let error = self.state.spec.infer().err()?;
        Some((error.to_string(), editor::error_layer(&error)))
    }

    /// Loads the dataset from `folder`: the student's Load button (`by_student`, which the
    /// author's `lock=data` refuses) or the page's own first load.
    pub(super) fn load_data(&mut self, folder: String, by_student: bool) -> Vec<Effect> {
        let busy = matches!(
            self.phase,
            Phase::Booting | Phase::LoadingData | Phase::Training { .. } | Phase::WorkerLost { .. }
        );
        let locked = by_student && self.embedding.locked.contains(&Control::DataLoad);
        if busy || locked {
            return Vec::new();
        }
        let folder = match folder.trim() {
            "" => "data/".to_string(),
            folder => folder.to_string(),
        };
        self.state.data_url = folder.clone();
        // Absolute, so the worker (whose base URL is its script's) fetches what the page means.
        let url = url::Url::parse(&self.page_base)
            .and_then(|base| base.join(&folder))
            .map_or(folder, String::from);
        self.phase = Phase::LoadingData;
        self.file_progress.clear();
        self.data_error = None;
        self.data_status = format!("Loading Fashion-MNIST from {url}…");
        vec![
            Effect::SaveState,
            Effect::Send(ToWorker::LoadData { base_url: url }),
        ]
    }

    pub(super) fn train(&mut self, by_host: bool) -> Vec<Effect> {
        if !self.enabled(Control::Train) {
            return Vec::new();
        }
        let spec = self.state.spec.clone();
        let settings = self.state.settings.clone();
        let params = spec.param_count().unwrap_or(0);
        // The feature-map cell's images, when they read; the kernels are watched anyway.
        let watch = self.maps_images().unwrap_or_default();
        self.start_watching(watch.clone());
        self.phase = Phase::Training { by_host };
        self.run = Some(Run {
            spec: spec.clone(),
            settings: settings.clone(),
            params,
            epochs: settings.epochs,
            train_samples: 0,
            history: Vec::new(),
            stop: None,
            // The worker's Backend reply names it before the first batch.
            backend: String::new(),
            memory: Vec::new(),
            log: String::new(),
            at: (1, 0),
            on_gpu: false,
            watch: watch.clone(),
            notes: Vec::new(),
            crashes: 0,
        });
        self.checkpoint = None;
        self.notice = None;
        self.set_test(TestView::Training);
        self.train_progress = 0.0;
        self.train_status = if self.will_time_backends(&settings, &spec) {
            "Timing this model on WebGPU and on the CPU, to train on the faster…".to_string()
        } else {
            "Starting…".to_string()
        };
        let request = self.backend_request(&settings, &spec);
        self.versions.charts += 1;
        vec![
            Effect::Post(HostEvent::TrainingStarted {
                layers: spec.to_text(),
                params,
                epochs: settings.epochs,
                batch_size: settings.batch_size,
                train_images: settings.train_limit,
            }),
            Effect::Send(ToWorker::Train(TrainRequest {
                spec,
                config: settings.train_config(),
                train_limit: Some(settings.train_limit),
                backend: request.backend,
                cpu_workers: request.cpu_workers,
                timings: request.timings,
                resume: None,
                watch,
            })),
        ]
    }

    pub(super) fn stop(&mut self) -> Vec<Effect> {
        if !matches!(self.phase, Phase::Training { .. }) {
            return Vec::new();
        }
        self.train_status = "Stopping before the next batch…".to_string();
        vec![Effect::Send(ToWorker::Stop)]
    }

    /// The test images typed in the feature-map panel, checked against the test set.
    pub fn maps_images(&self) -> Result<Vec<usize>, String> {
        let count = self.data.as_ref().map_or(0, |d| d.test);
        let images = self
            .maps
            .images_text
            .split([',', ' '])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse::<usize>()
                    .ok()
                    .filter(|&i| i < count)
                    .ok_or_else(|| {
                        format!(
                            "test image '{t}' is not a number from 0 to {}",
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

    pub(super) fn request_maps(&mut self) -> Vec<Effect> {
        if !self.enabled(Control::MapsShow) {
            return Vec::new();
        }
        if self.model_problem().is_some() {
            self.maps.status = "Fix the model first: it cannot be built.".to_string();
            return Vec::new();
        }
        match self.maps_images() {
            Ok(images) => {
                self.maps.status = "Computing activations…".to_string();
                vec![Effect::Send(ToWorker::FeatureMaps {
                    spec: self.state.spec.clone(),
                    images,
                    seed: self.state.settings.seed,
                })]
            }
            Err(problem) => {
                self.maps.status = problem;
                Vec::new()
            }
        }
    }

    /// Puts back the model and settings the page's URL sets up, dropping the student's edits.
    pub(super) fn reset_to_exercise(&mut self) -> Vec<Effect> {
        if matches!(self.phase, Phase::Training { .. }) {
            return Vec::new();
        }
        let mut state = SavedState {
            data_url: self.state.data_url.clone(),
            ..SavedState::default()
        };
        let problems = setup::apply_experiment(&self.url_pairs, &mut state);
        self.set_spec(state.spec.clone());
        self.state = state;
        self.settings_error = None;
        self.versions.form += 1;
        if !problems.is_empty() {
            self.setup_error = Some(problems.join("; "));
        }
        vec![Effect::SaveState]
    }

    /// The history row of the run that just ended.
    pub(super) fn record(&self, run: &Run, test_accuracy: Option<f32>) -> RunRecord {
        let seconds: f64 = run.history.iter().map(|m| m.seconds).sum();
        let samples: usize = run.history.iter().map(|m| m.samples).sum();
        let last = run.history.last();
        RunRecord {
            when: self.now.clone(),
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
            history: run.history.clone(),
            train_accuracy: last.map(|m| m.accuracy),
            val_accuracy: last.and_then(|m| m.val_accuracy),
            test_accuracy,
            backend: run.backend.clone(),
            notes: run.notes.join("; "),
            stop_reason: run
                .stop
                .as_ref()
                .map(|(epoch, message)| format!("epoch {epoch}: {message}"))
                .unwrap_or_default(),
        }
    }

    pub(super) fn save_model(&mut self, to_browser: bool, name: String) -> Vec<Effect> {
        let name = name.trim().to_string();
        if to_browser && name.is_empty() {
            self.models_error = Some("Give the model a name to save it under.".to_string());
            return Vec::new();
        }
        if !self.enabled(Control::ModelSaveFile) {
            return Vec::new();
        }
        self.export_name = name.clone();
        let destination = if to_browser {
            Destination::Browser { name }
        } else {
            Destination::File
        };
        vec![Effect::Send(ToWorker::ExportModel { destination })]
    }
}
