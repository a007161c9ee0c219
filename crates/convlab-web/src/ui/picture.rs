//! "Your own image": a student's drawing or photo, made into the model's input in the page
//! (convlab-picture, so each step shows at once, even while the worker trains) and classified
//! by the worker. The state and its handlers, with no web-sys; `panels/picture.rs` draws it.

use super::app::{App, Effect, Phase};
use crate::protocol::ToWorker;
use convlab_core::FeatureMaps;

/// The largest picture file read: bigger ones are refused before the browser decodes them.
pub const MAX_FILE_BYTES: f64 = 32.0 * 1024.0 * 1024.0;

/// What happens on the panel.
#[derive(Debug, Clone)]
pub enum PictureInput {
    /// The drawing square after a stroke (at most once per animation frame), as RGBA bytes.
    Drawn {
        width: u32,
        height: u32,
        rgba: Vec<u8>,
    },
    /// A picture file the browser decoded, as RGBA bytes.
    Opened {
        name: String,
        width: u32,
        height: u32,
        rgba: Vec<u8>,
    },
    /// A file that could not be read or decoded, or is too large to try.
    Unreadable { name: String, problem: String },
    /// The drawing square was cleared.
    Cleared,
}

/// Where the picture on show came from.
#[derive(Debug, Clone, PartialEq)]
pub enum PictureSource {
    Drawing,
    File(String),
}

impl PictureSource {
    fn describe(&self) -> String {
        match self {
            PictureSource::Drawing => "The drawing".to_string(),
            PictureSource::File(name) => name.clone(),
        }
    }
}

/// One step from the student's picture to the model's input, as the panel draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: &'static str,
    pub width: u32,
    pub height: u32,
    /// 0 black to 1 white, row by row.
    pub pixels: Vec<f32>,
}

/// The model's answer for the picture on show.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub probabilities: Vec<f32>,
    pub maps: Vec<FeatureMaps>,
    /// From the trained model, not a freshly initialised one.
    pub trained: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Picture {
    pub source: Option<PictureSource>,
    pub steps: Vec<Step>,
    /// The model's input (28x28) for the picture on show.
    pub input: Option<Vec<f32>>,
    pub answer: Option<Answer>,
    /// What is happening, or what is wrong with the picture, in the student's words.
    pub status: String,
    /// A Classify request is with the worker. Live drawing sends at most one at a time: a
    /// newer picture waits for the answer, then goes.
    pub asked: bool,
    /// The picture changed while a request was with the worker.
    pub stale: bool,
}

impl App {
    pub(super) fn on_picture_input(&mut self, input: PictureInput) -> Vec<Effect> {
        match input {
            PictureInput::Drawn {
                width,
                height,
                rgba,
            } => self.on_picture(PictureSource::Drawing, width, height, rgba),
            PictureInput::Opened {
                name,
                width,
                height,
                rgba,
            } => self.on_picture(PictureSource::File(name), width, height, rgba),
            PictureInput::Unreadable { name, problem } => self.on_picture_unreadable(name, problem),
            PictureInput::Cleared => self.on_picture_cleared(),
        }
    }

    /// A drawing or a decoded file as RGBA bytes: made ready and, when the worker is free,
    /// sent to it.
    fn on_picture(
        &mut self,
        source: PictureSource,
        width: u32,
        height: u32,
        rgba: Vec<u8>,
    ) -> Vec<Effect> {
        self.versions.picture += 1;
        let prepared = convlab_picture::prepare_rgba(width, height, rgba);
        let name = source.describe();
        self.picture.source = Some(source);
        match prepared {
            Ok(prepared) => {
                self.picture.steps = prepared
                    .steps()
                    .into_iter()
                    .map(|(name, grey)| Step {
                        name,
                        width: grey.width(),
                        height: grey.height(),
                        pixels: grey.as_raw().clone(),
                    })
                    .collect();
                self.picture.input = Some(prepared.pixels().to_vec());
                self.ask_about_picture()
            }
            Err(problem) => {
                self.clear_picture();
                self.picture.status = format!("{name}: {problem}");
                Vec::new()
            }
        }
    }

    /// A file the browser could not read or decode, or one too large to try.
    fn on_picture_unreadable(&mut self, name: String, problem: String) -> Vec<Effect> {
        self.versions.picture += 1;
        self.clear_picture();
        self.picture.source = Some(PictureSource::File(name.clone()));
        self.picture.status = format!("{name}: {problem}");
        Vec::new()
    }

    fn on_picture_cleared(&mut self) -> Vec<Effect> {
        self.versions.picture += 1;
        self.clear_picture();
        self.picture.source = None;
        self.picture.status = String::new();
        Vec::new()
    }

    fn clear_picture(&mut self) {
        self.picture.steps.clear();
        self.picture.input = None;
        self.picture.answer = None;
    }

    /// Sends the picture on show to the worker, unless a request is already with it (the
    /// answer then sends it) or the worker cannot take one now (the end of training does).
    pub(super) fn ask_about_picture(&mut self) -> Vec<Effect> {
        let Some(input) = &self.picture.input else {
            return Vec::new();
        };
        match &self.phase {
            Phase::Booting | Phase::LoadingData | Phase::LoadingModel => {
                self.picture.status = "Classified once the worker is ready.".to_string();
                return Vec::new();
            }
            Phase::Training { .. } => {
                self.picture.status =
                    "Classified by the trained model when training ends.".to_string();
                return Vec::new();
            }
            Phase::WorkerLost { .. } => {
                self.picture.status = "The training worker is gone: reload the page.".to_string();
                return Vec::new();
            }
            Phase::Idle => {}
        }
        if self.model_problem().is_some() {
            self.picture.status = "Fix the model first: it cannot be built.".to_string();
            return Vec::new();
        }
        if self.picture.asked {
            self.picture.stale = true;
            return Vec::new();
        }
        self.picture.asked = true;
        self.picture.stale = false;
        self.picture.status = "Classifying…".to_string();
        vec![Effect::Send(ToWorker::Classify {
            spec: self.state.spec.clone(),
            pixels: input.clone(),
            seed: self.state.settings.seed,
        })]
    }

    pub(super) fn on_classified(
        &mut self,
        probabilities: Vec<f32>,
        maps: Vec<FeatureMaps>,
        trained: bool,
    ) -> Vec<Effect> {
        self.picture.asked = false;
        self.picture.status = String::new();
        self.picture.answer = Some(Answer {
            probabilities,
            maps,
            trained,
        });
        self.versions.picture += 1;
        if self.picture.stale {
            return self.ask_about_picture();
        }
        Vec::new()
    }

    pub(super) fn on_classify_failed(&mut self, message: String) {
        self.picture.asked = false;
        self.picture.stale = false;
        self.picture.status = message;
    }

    /// A fresh worker knows nothing of the request the old one had.
    pub(super) fn forget_picture_request(&mut self) {
        self.picture.asked = false;
        self.picture.stale = self.picture.input.is_some();
    }
}
