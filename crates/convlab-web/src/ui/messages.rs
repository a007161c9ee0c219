//! The page's messages (what can happen) and effects (what the dispatcher does after an update).

use super::editor::Addition;
use super::filters::FiltersInput;
use super::history::HistoryInput;
use super::host::{HostCommand, HostEvent};
use super::mistakes::MistakesInput;
use super::picture::PictureInput;
use super::saved::{SavedModel, Settings};
use crate::protocol::{Fault, FromWorker, ToWorker};
use crate::WebError;

/// Everything that can happen to the page.
#[derive(Debug, Clone)]
pub enum Msg {
    LoadData {
        folder: String,
    },
    ChoosePreset(String),
    EditField {
        index: usize,
        field: String,
        value: String,
    },
    Add(Addition),
    MoveLayer {
        index: usize,
        up: bool,
    },
    RemoveLayer(usize),
    /// The settings form after an edit, or the field it could not read.
    SettingsEdited(Result<Settings, String>),
    Train,
    Stop,
    MapsImages(String),
    MapsFilter(String),
    MapsLayer(String),
    MapsImage(usize),
    ShowMaps,
    /// A drawing or a photo on the "Your own image" panel.
    Picture(PictureInput),
    /// Watching the filters learn: the epoch, layer or channel on show.
    Filters(FiltersInput),
    /// The mistakes view: a confusion-matrix cell, a page, an image.
    Mistakes(MistakesInput),
    /// The page's address without its query, to build the share link on.
    Share {
        base: String,
    },
    ResetToExercise,
    CopyCode,
    ClearHistory,
    /// The saved models: saving, opening, listing, deleting.
    Models(ModelsMsg),
    /// A download offered: its file name and size.
    Downloaded {
        of: DownloadOf,
        result: Result<(String, usize), WebError>,
    },
    /// The run history: runs chosen for comparison, the CSV export.
    History(HistoryInput),
    Copied {
        target: CopyTarget,
        ok: bool,
    },
    AdapterProbed(Option<String>),
    Worker(FromWorker),
    /// The worker's `error` event (a script error, a trap) or a failure to start it.
    WorkerFailed(String),
    Host(HostCommand),
    /// A fault for the end-to-end tests to cause in the worker.
    Fault(Fault),
    /// A problem to show under the settings: a save to local storage failed, a message from
    /// the worker did not decode.
    Notice(String),
}

/// The saved-models panel's messages: the student's requests and the stores' answers.
#[derive(Debug, Clone)]
pub enum ModelsMsg {
    Save {
        to_browser: bool,
        name: String,
    },
    Open {
        origin: String,
        file: Vec<u8>,
    },
    LoadSaved {
        id: f64,
        name: String,
    },
    DeleteSaved(f64),
    Listed(Result<Vec<SavedModel>, WebError>),
    /// The name a model was stored under in IndexedDB.
    Stored(Result<String, WebError>),
    Deleted(Result<(), WebError>),
    /// A model file could not be read from the disk or from IndexedDB.
    Unreadable(WebError),
}

/// What the dispatcher does after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send(ToWorker),
    /// End the worker and start a fresh one (it loads the dataset again from the cache).
    RestartWorker {
        /// Whether it may run the WebGPU module.
        webgpu: bool,
    },
    SaveState,
    /// Keep the backends' timings in local storage.
    SaveTimings,
    SaveHistory,
    Post(HostEvent),
    ListModels,
    StoreModel {
        name: String,
        architecture: String,
        params: usize,
        test_accuracy: Option<f32>,
        file: Vec<u8>,
    },
    ReadSavedModel {
        id: f64,
        name: String,
    },
    DeleteSavedModel(f64),
    Download {
        file_name: String,
        file: Vec<u8>,
        of: DownloadOf,
    },
    Copy {
        text: String,
        target: CopyTarget,
    },
}

/// What a download is: its result is shown next to the button that asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadOf {
    Model,
    History,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyTarget {
    Code,
    Share,
}
