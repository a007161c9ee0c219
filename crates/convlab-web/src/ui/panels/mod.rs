//! One file per section of the page. Each binds its elements once (its ids are listed at its
//! top), renders from the state and turns its DOM events into messages.

pub mod code;
pub mod data;
pub mod embed;
pub mod filters;
pub mod history;
pub mod maps;
pub mod mistakes;
pub mod model;
pub mod models;
pub mod picture;
pub mod result;
pub mod settings;
pub mod training;

use super::{Dispatcher, Panel};
use crate::WebError;

/// Every panel, bound to index.html; the first missing element is named.
pub fn bind_all(dispatcher: &Dispatcher) -> Result<Vec<Box<dyn Panel>>, WebError> {
    Ok(vec![
        Box::new(embed::EmbedPanel::bind(dispatcher)?),
        Box::new(data::DataPanel::bind(dispatcher)?),
        Box::new(model::ModelPanel::bind(dispatcher)?),
        Box::new(code::CodePanel::bind(dispatcher)?),
        Box::new(settings::SettingsPanel::bind(dispatcher)?),
        Box::new(training::TrainingPanel::bind(dispatcher)?),
        Box::new(result::ResultPanel::bind(dispatcher)?),
        Box::new(mistakes::MistakesPanel::bind(dispatcher)?),
        Box::new(maps::MapsPanel::bind(dispatcher)?),
        Box::new(filters::FiltersPanel::bind(dispatcher)?),
        Box::new(picture::PicturePanel::bind(dispatcher)?),
        Box::new(history::HistoryPanel::bind(dispatcher)?),
        Box::new(models::ModelsPanel::bind(dispatcher)?),
    ])
}
