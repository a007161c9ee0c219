//! How the page's state follows the host page's commands and the saved-model store.

use super::app::{App, DownloadOf, Effect, ModelsMsg, Phase, TestView};
use super::host::{HostCommand, HostEvent};
use super::Control;
use crate::protocol::{Destination, TestResult, ToWorker};
use crate::WebError;
use convlab_core::{model_file, ModelHeader, ModelSpec};

impl App {
    pub(super) fn on_command(&mut self, command: HostCommand) -> Vec<Effect> {
        let fail = |command: &str, message: String| {
            vec![Effect::Post(HostEvent::CommandFailed {
                command: command.to_string(),
                message,
            })]
        };
        let training = matches!(self.phase, Phase::Training { .. });
        match command {
            HostCommand::LoadPreset { preset } => match ModelSpec::preset(&preset) {
                Some(_) if training => fail("load_preset", "training is running".into()),
                Some(spec) => {
                    self.set_spec(spec);
                    self.state.preset = preset;
                    vec![Effect::SaveState]
                }
                None => fail(
                    "load_preset",
                    format!(
                        "unknown preset '{}' (use {})",
                        super::host::shorten(&preset),
                        convlab_core::PRESET_NAMES.join(", ")
                    ),
                ),
            },
            HostCommand::SetLayers { layers } => match ModelSpec::parse_text(&layers) {
                Ok(_) if training => fail("set_layers", "training is running".into()),
                Ok(spec) => {
                    self.set_spec(spec);
                    self.mark_custom();
                    vec![Effect::SaveState]
                }
                Err(e) => fail("set_layers", e.to_string()),
            },
            HostCommand::Start => {
                let problem = if training {
                    Some("training is already running".to_string())
                } else if self.data.is_none() {
                    Some("the dataset is not loaded yet".to_string())
                } else if self.field_error.is_some() || self.state.spec.infer().is_err() {
                    Some("the model cannot be built".to_string())
                } else if let Err(e) = self.state.settings.check_model(&self.state.spec) {
                    Some(e.to_string())
                } else if self.phase == Phase::LoadingModel {
                    Some("a saved model is being loaded".to_string())
                } else if let Some(problem) = &self.settings_error {
                    Some(problem.clone())
                } else if self.phase != Phase::Idle {
                    Some("the lab is not ready".to_string())
                } else {
                    None
                };
                match problem {
                    Some(problem) => fail("start", problem),
                    None => self.train(true),
                }
            }
            HostCommand::Stop => self.stop(),
        }
    }

    /// Saving, listing, loading and deleting models.
    pub(super) fn on_models(&mut self, msg: ModelsMsg) -> Vec<Effect> {
        match msg {
            ModelsMsg::Save { to_browser, name } => self.save_model(to_browser, name),
            ModelsMsg::Open { origin, file } => self.load_model(origin, file),
            ModelsMsg::LoadSaved { id, name } => vec![Effect::ReadSavedModel { id, name }],
            ModelsMsg::DeleteSaved(id) => vec![Effect::DeleteSavedModel(id)],
            ModelsMsg::Listed(Ok(models)) => {
                self.saved_models = models;
                self.versions.models += 1;
                Vec::new()
            }
            ModelsMsg::Stored(Ok(name)) => {
                self.models_status = format!("Saved '{name}' in this browser.");
                vec![Effect::ListModels]
            }
            ModelsMsg::Deleted(Ok(())) => vec![Effect::ListModels],
            ModelsMsg::Deleted(Err(problem)) => {
                self.models_error = Some(problem.to_string());
                vec![Effect::ListModels]
            }
            ModelsMsg::Listed(Err(problem))
            | ModelsMsg::Stored(Err(problem))
            | ModelsMsg::Unreadable(problem) => {
                self.models_error = Some(problem.to_string());
                Vec::new()
            }
        }
    }

    /// A model file offered as a download, or why it could not be.
    pub(super) fn on_model_downloaded(
        &mut self,
        result: Result<(String, usize), WebError>,
    ) -> Vec<Effect> {
        match result {
            Ok((file_name, bytes)) => {
                self.models_status =
                    format!("Downloaded {file_name} ({:.0} kB).", bytes as f64 / 1000.0);
            }
            Err(problem) => self.models_error = Some(problem.to_string()),
        }
        Vec::new()
    }

    fn load_model(&mut self, origin: String, file: Vec<u8>) -> Vec<Effect> {
        if self.embedding.locked.contains(&Control::ModelFile) {
            self.models_error =
                Some("The model is fixed on this page: loading another one is turned off.".into());
            return Vec::new();
        }
        if self.data.is_none() {
            self.models_error = Some(
                "Load the dataset first: a loaded model is evaluated on the test images.".into(),
            );
            return Vec::new();
        }
        if self.phase != Phase::Idle {
            return Vec::new();
        }
        self.models_error = None;
        self.models_status = format!("Loading {origin}…");
        self.phase = Phase::LoadingModel;
        vec![Effect::Send(ToWorker::LoadModel { origin, file })]
    }

    pub(super) fn on_exported(
        &mut self,
        destination: Destination,
        header: ModelHeader,
        file: Vec<u8>,
    ) -> Vec<Effect> {
        self.models_error = None;
        let architecture = super::editor::short_name(&header.spec);
        match destination {
            Destination::File => {
                let stem: String = self
                    .export_name
                    .chars()
                    .map(|c| {
                        if c.is_alphanumeric() || c == '-' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                let stem = if stem.is_empty() { architecture } else { stem };
                vec![Effect::Download {
                    file_name: format!("{stem}.{}", model_file::EXTENSION),
                    file,
                    of: DownloadOf::Model,
                }]
            }
            Destination::Browser { name } => vec![Effect::StoreModel {
                name,
                architecture,
                params: header.spec.param_count().unwrap_or(0),
                test_accuracy: header.trained.as_ref().and_then(|t| t.test_accuracy),
                file,
            }],
        }
    }

    pub(super) fn on_model_loaded(
        &mut self,
        origin: String,
        header: ModelHeader,
        test: TestResult,
    ) -> Vec<Effect> {
        self.phase = Phase::Idle;
        self.has_model = true;
        self.set_spec(header.spec.clone());
        self.mark_custom();
        let when_saved = header
            .trained
            .as_ref()
            .and_then(|t| t.test_accuracy)
            .map(|a| format!(" (when saved: {a:.4})"))
            .unwrap_or_default();
        self.models_status = format!(
            "Loaded {origin}: {}, test accuracy {:.4}{when_saved}.",
            super::editor::short_name(&header.spec),
            test.accuracy
        );
        self.set_test(TestView::Shown {
            lead: format!("Loaded model ({origin}): test loss"),
            result: test,
        });
        let mut effects = vec![Effect::SaveState];
        effects.extend(self.request_maps());
        effects.extend(self.ask_about_picture());
        effects
    }
}
