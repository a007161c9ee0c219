//! Watching the filters learn: the snapshots of the run (its kernels and the watched test
//! images' feature maps before the first epoch and after each one) and which one is on show.
//! The state and its handlers, with no web-sys; `panels/filters.rs` draws it.

use super::app::{App, Effect};
use convlab_core::{FeatureMaps, Kernels};

/// What happens on the panel.
#[derive(Debug, Clone, PartialEq)]
pub enum FiltersInput {
    /// The slider moved to this epoch (0: the untrained model).
    Epoch(usize),
    /// The conv layer whose kernels are drawn (its place among the conv layers).
    Layer(usize),
    /// The input channel drawn for a deeper layer's kernels.
    Channel(usize),
}

/// The model after `epoch` epochs.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub epoch: usize,
    pub kernels: Vec<Kernels>,
    pub maps: Vec<FeatureMaps>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filters {
    /// In epoch order, one per epoch.
    pub taken: Vec<Snapshot>,
    /// The epoch on show; `None` follows the newest, as training goes on.
    pub chosen: Option<usize>,
    pub layer: usize,
    pub channel: usize,
    /// The watched test images (the feature-map cell's when the run started).
    pub images: Vec<usize>,
}

impl Filters {
    /// The snapshot on show: the chosen epoch's, or the newest.
    pub fn shown(&self) -> Option<&Snapshot> {
        match self.chosen {
            Some(epoch) => self.taken.iter().find(|s| s.epoch == epoch),
            None => self.taken.last(),
        }
    }

    /// The kernels on show and the input channel drawn (clamped to the layer's).
    pub fn shown_kernels(&self) -> Option<(&Kernels, usize)> {
        let kernels = self.shown()?.kernels.get(self.layer)?;
        Some((
            kernels,
            self.channel.min(kernels.channels.saturating_sub(1)),
        ))
    }
}

impl App {
    pub(super) fn on_filters_input(&mut self, input: FiltersInput) -> Vec<Effect> {
        match input {
            FiltersInput::Epoch(epoch) => {
                let newest = self.filters.taken.last().map(|s| s.epoch);
                // The newest epoch follows training as it goes on.
                self.filters.chosen = match newest {
                    Some(newest) if epoch < newest => Some(epoch),
                    _ => None,
                };
            }
            FiltersInput::Layer(layer) => {
                self.filters.layer = layer;
                self.filters.channel = 0;
            }
            FiltersInput::Channel(channel) => self.filters.channel = channel,
        }
        self.versions.filters += 1;
        Vec::new()
    }

    /// A new run: its snapshots replace the last run's.
    pub(super) fn start_watching(&mut self, images: Vec<usize>) {
        self.filters = Filters {
            images,
            ..Default::default()
        };
        self.versions.filters += 1;
    }

    pub(super) fn on_snapshot(
        &mut self,
        epoch: usize,
        kernels: Vec<Kernels>,
        maps: Vec<FeatureMaps>,
    ) -> Vec<Effect> {
        // A resumed run trains an epoch again: its new snapshot replaces the old one.
        self.filters.taken.retain(|s| s.epoch < epoch);
        self.filters.taken.push(Snapshot {
            epoch,
            kernels,
            maps,
        });
        if self.filters.chosen.is_some_and(|chosen| chosen >= epoch) {
            self.filters.chosen = None;
        }
        self.versions.filters += 1;
        Vec::new()
    }
}
