//! Which controls are enabled: a pure function of the page's state (its phase, the data, the
//! model and the author's locks), so the rules are tested natively.

use super::app::{App, Phase};

/// The page's controls that can be disabled. Each is one element (a fieldset disables all
/// the inputs inside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Train,
    Stop,
    Preset,
    Editor,
    Settings,
    DataUrl,
    DataLoad,
    MapsShow,
    MapsImages,
    MapsFilter,
    ModelSaveFile,
    ModelSaveBrowser,
    ModelFile,
}

impl Control {
    pub const ALL: [Control; 13] = [
        Control::Train,
        Control::Stop,
        Control::Preset,
        Control::Editor,
        Control::Settings,
        Control::DataUrl,
        Control::DataLoad,
        Control::MapsShow,
        Control::MapsImages,
        Control::MapsFilter,
        Control::ModelSaveFile,
        Control::ModelSaveBrowser,
        Control::ModelFile,
    ];

    /// The element's id in index.html.
    pub fn id(self) -> &'static str {
        match self {
            Control::Train => "train",
            Control::Stop => "stop",
            Control::Preset => "preset",
            Control::Editor => "editor",
            Control::Settings => "settings",
            Control::DataUrl => "data-url",
            Control::DataLoad => "data-load",
            Control::MapsShow => "fm-show",
            Control::MapsImages => "fm-images",
            Control::MapsFilter => "fm-filter",
            Control::ModelSaveFile => "model-save-file",
            Control::ModelSaveBrowser => "model-save-browser",
            Control::ModelFile => "model-file",
        }
    }
}

impl App {
    /// Whether the student can use `control` now. The author's locks hold in every phase.
    pub fn enabled(&self, control: Control) -> bool {
        if self.embedding.locked.contains(&control) {
            return false;
        }
        let training = matches!(self.phase, Phase::Training { .. });
        let worker = !matches!(self.phase, Phase::Booting | Phase::WorkerLost { .. });
        let data = self.data.is_some();
        match control {
            Control::Train => self.phase == Phase::Idle && data && self.can_build(),
            Control::Stop => training,
            Control::Preset | Control::Editor | Control::Settings => !training,
            Control::DataUrl | Control::MapsImages | Control::MapsFilter => true,
            Control::DataLoad => worker && !training && self.phase != Phase::LoadingData,
            Control::MapsShow => worker && !training && data,
            Control::ModelSaveFile | Control::ModelSaveBrowser => {
                worker && !training && self.has_model
            }
            Control::ModelFile => self.phase == Phase::Idle && data,
        }
    }

    /// The model builds, the settings are valid and training them fits the memory budget:
    /// what training needs besides the data.
    pub fn can_build(&self) -> bool {
        self.field_error.is_none()
            && self.settings_error.is_none()
            && self.state.settings.check_model(&self.state.spec).is_ok()
    }
}
