//! What the model gets wrong: the images behind a cell of the confusion matrix (most confident
//! first, a page at a time), the pairs of classes it mixes up most, and one image's
//! probabilities and feature maps. The state and its handlers, with no web-sys;
//! `panels/mistakes.rs` draws it.

use super::app::{App, Effect, Phase, TestView};
use crate::protocol::{TestResult, ToWorker};
use convlab_core::{FeatureMaps, Prediction};
use std::collections::BTreeMap;

/// Thumbnails on one page: a page never lays out the whole test set.
pub const PER_PAGE: usize = 40;

/// What happens on the panel.
#[derive(Debug, Clone, PartialEq)]
pub enum MistakesInput {
    /// A cell of the confusion matrix (or one direction of a confused pair) was opened.
    Open { truth: u8, predicted: u8 },
    /// Page `n` (from 0) of the open cell.
    Page(usize),
    /// A thumbnail was chosen: the test image's place in the test set.
    Inspect(usize),
}

/// One test image through the model, as the panel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspected {
    pub prediction: Prediction,
    pub probabilities: Vec<f32>,
    pub maps: Vec<FeatureMaps>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mistakes {
    /// The open cell: (true class, predicted class).
    pub cell: Option<(u8, u8)>,
    /// Its images, the most confident first.
    pub list: Vec<Prediction>,
    /// The page on show, from 0.
    pub page: usize,
    /// Pixels of the test images the worker has sent (784 bytes each).
    pub images: BTreeMap<usize, Vec<u8>>,
    /// The image being inspected, and its answer once the worker sends it.
    pub chosen: Option<usize>,
    pub inspected: Option<Inspected>,
    /// What is happening, or what went wrong, in the student's words.
    pub status: String,
}

impl Mistakes {
    /// The open cell's images on the page on show.
    pub fn page_items(&self) -> &[Prediction] {
        convlab_core::mistakes::page(&self.list, self.page, PER_PAGE).items
    }

    /// How many pages the open cell has (at least 1).
    pub fn page_count(&self) -> usize {
        convlab_core::mistakes::page(&self.list, self.page, PER_PAGE).count
    }
}

impl App {
    /// The test result the mistakes view reads, when one is on show.
    fn shown_result(&self) -> Option<&TestResult> {
        match &self.test {
            TestView::Shown { result, .. } if !result.predictions.is_empty() => Some(result),
            _ => None,
        }
    }

    pub(super) fn on_mistakes_input(&mut self, input: MistakesInput) -> Vec<Effect> {
        match input {
            MistakesInput::Open { truth, predicted } => self.open_cell(truth, predicted),
            MistakesInput::Page(page) => {
                if self.mistakes.cell.is_none() {
                    return Vec::new();
                }
                self.mistakes.page = page.min(self.mistakes.page_count() - 1);
                self.versions.mistakes += 1;
                self.ask_for_page_images()
            }
            MistakesInput::Inspect(index) => self.inspect(index),
        }
    }

    fn open_cell(&mut self, truth: u8, predicted: u8) -> Vec<Effect> {
        let Some(result) = self.shown_result() else {
            return Vec::new();
        };
        let list = result.cell(truth, predicted);
        self.versions.mistakes += 1;
        self.mistakes.cell = Some((truth, predicted));
        self.mistakes.list = list;
        self.mistakes.page = 0;
        self.mistakes.chosen = None;
        self.mistakes.inspected = None;
        self.mistakes.status = String::new();
        self.ask_for_page_images()
    }

    /// Asks the worker for the page's images it has not sent yet.
    pub(super) fn ask_for_page_images(&mut self) -> Vec<Effect> {
        let missing: Vec<usize> = self
            .mistakes
            .page_items()
            .iter()
            .map(|p| p.index)
            .filter(|i| !self.mistakes.images.contains_key(i))
            .collect();
        if missing.is_empty() || !self.worker_free() {
            return Vec::new();
        }
        vec![Effect::Send(ToWorker::TestImages { indices: missing })]
    }

    fn inspect(&mut self, index: usize) -> Vec<Effect> {
        if !self.mistakes.list.iter().any(|p| p.index == index) {
            return Vec::new();
        }
        self.versions.mistakes += 1;
        self.mistakes.chosen = Some(index);
        self.mistakes.inspected = None;
        if !self.worker_free() {
            self.mistakes.status = "The worker is busy: try again when it is done.".to_string();
            return Vec::new();
        }
        self.mistakes.status = format!("Test image #{index} through the model…");
        vec![Effect::Send(ToWorker::Inspect { index })]
    }

    /// The worker takes the mistakes view's requests only while nothing else holds it.
    fn worker_free(&self) -> bool {
        self.phase == Phase::Idle
    }

    pub(super) fn on_test_images(&mut self, indices: Vec<usize>, pixels: Vec<u8>) -> Vec<Effect> {
        let size = convlab_core::data::IMAGE_PIXELS;
        for (index, image) in indices.into_iter().zip(pixels.chunks_exact(size)) {
            self.mistakes.images.insert(index, image.to_vec());
        }
        self.versions.mistakes += 1;
        Vec::new()
    }

    pub(super) fn on_inspected(
        &mut self,
        index: usize,
        probabilities: Vec<f32>,
        maps: Vec<FeatureMaps>,
    ) -> Vec<Effect> {
        let Some(prediction) = self
            .mistakes
            .list
            .iter()
            .find(|p| p.index == index)
            .copied()
        else {
            return Vec::new();
        };
        if self.mistakes.chosen != Some(index) {
            return Vec::new();
        }
        self.mistakes.status = String::new();
        self.mistakes.inspected = Some(Inspected {
            prediction,
            probabilities,
            maps,
        });
        self.versions.mistakes += 1;
        Vec::new()
    }

    pub(super) fn on_mistakes_failed(&mut self, message: String) {
        self.mistakes.status = message;
        self.versions.mistakes += 1;
    }

    /// Shows `view` as the test result; the mistakes view starts again from it.
    pub(super) fn set_test(&mut self, view: TestView) {
        self.test = view;
        self.reset_mistakes();
    }

    /// A new test result (or none): the open cell belongs to the old one. Test images stay:
    /// the test set is the same.
    fn reset_mistakes(&mut self) {
        let images = std::mem::take(&mut self.mistakes.images);
        self.mistakes = Mistakes {
            images,
            ..Mistakes::default()
        };
        self.versions.mistakes += 1;
    }
}
