//! Watch the filters learn (in section 4): a slider through the run's epochs (0: the untrained
//! model), one conv layer's kernels at that epoch as small blue-white-red squares (a deeper
//! layer's for one input channel), and the watched test images' feature maps at that epoch.
//!
//! Ids: epoch-slider, epoch-shown, kernel-layer, kernel-channel, filters-status, kernels,
//! epoch-maps.

use crate::ui::app::{App, Msg};
use crate::ui::dom::{bind, on, set_disabled, set_text};
use crate::ui::filters::FiltersInput;
use crate::ui::{draw, Dispatcher, Panel};
use crate::WebError;
use std::cell::Cell;
use web_sys::{Element, HtmlInputElement, HtmlSelectElement};

const PANEL: &str = "watch the filters learn";
/// A kernel's square on the page.
const KERNEL_SIZE: usize = 36;

pub struct FiltersPanel {
    slider: HtmlInputElement,
    shown: Element,
    layer: HtmlSelectElement,
    channel: HtmlInputElement,
    status: Element,
    kernels: Element,
    maps: Element,
    /// The filters version and the feature-map filter last drawn.
    drawn: Cell<(u64, usize)>,
}

impl FiltersPanel {
    pub fn bind(dispatcher: &Dispatcher) -> Result<Self, WebError> {
        let panel = FiltersPanel {
            slider: bind(PANEL, "epoch-slider")?,
            shown: bind(PANEL, "epoch-shown")?,
            layer: bind(PANEL, "kernel-layer")?,
            channel: bind(PANEL, "kernel-channel")?,
            status: bind(PANEL, "filters-status")?,
            kernels: bind(PANEL, "kernels")?,
            maps: bind(PANEL, "epoch-maps")?,
            drawn: Cell::new((0, usize::MAX)),
        };
        let (d, slider) = (dispatcher.clone(), panel.slider.clone());
        on(&panel.slider, "input", move |_| {
            if let Ok(epoch) = slider.value().parse() {
                d.dispatch(Msg::Filters(FiltersInput::Epoch(epoch)));
            }
        });
        let (d, layer) = (dispatcher.clone(), panel.layer.clone());
        on(&panel.layer, "change", move |_| {
            if let Ok(layer) = layer.value().parse() {
                d.dispatch(Msg::Filters(FiltersInput::Layer(layer)));
            }
        });
        let (d, channel) = (dispatcher.clone(), panel.channel.clone());
        on(&panel.channel, "input", move |_| {
            if let Ok(channel) = channel.value().trim().parse() {
                d.dispatch(Msg::Filters(FiltersInput::Channel(channel)));
            }
        });
        Ok(panel)
    }

    /// The kernels on show, each a small square with its filter number; the weights are in
    /// its `aria-label`, so a screen reader reads them.
    fn draw_kernels(&self, app: &App) {
        self.kernels.set_inner_html("");
        let Some((kernels, channel)) = app.filters.shown_kernels() else {
            return;
        };
        let scale = kernels.values.iter().fold(0f32, |m, v| m.max(v.abs()));
        for filter in 0..kernels.filters {
            let weights = kernels.kernel(filter, channel);
            let square = draw::canvas(
                kernels.size,
                kernels.size,
                &draw::diverging_rgba(weights, scale),
                KERNEL_SIZE,
            );
            let words: Vec<String> = weights.iter().map(|w| format!("{w:.2}")).collect();
            let description = format!(
                "{} filter {filter}, input channel {channel}: weights {}",
                kernels.name,
                words.join(", ")
            );
            let figure = draw::labelled_figure(&square, &description, &filter.to_string());
            let _ = self.kernels.append_child(&figure);
        }
    }
}

impl Panel for FiltersPanel {
    fn render(&self, app: &App) {
        let wanted = (app.versions.filters, app.maps.filter);
        if self.drawn.replace(wanted) == wanted {
            return;
        }
        let filters = &app.filters;
        let newest = filters.taken.last().map_or(0, |s| s.epoch);
        let shown = filters.shown();
        self.slider.set_max(&newest.to_string());
        self.slider
            .set_value(&shown.map_or(0, |s| s.epoch).to_string());
        set_disabled(&self.slider, filters.taken.len() < 2);
        set_text(
            &self.shown,
            &match shown {
                None => String::new(),
                Some(s) if s.epoch == 0 => "epoch 0: the untrained model".to_string(),
                Some(s) => format!("after epoch {} of {newest}", s.epoch),
            },
        );
        let layers = shown.map_or(&[][..], |s| &s.kernels[..]);
        self.layer.set_inner_html(
            &draw::options(
                layers
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (i.to_string(), k.name.clone())),
                &filters.layer.to_string(),
            )
            .into_string(),
        );
        set_disabled(&self.layer, layers.len() < 2);
        let channels = filters.shown_kernels().map_or(1, |(k, _)| k.channels);
        self.channel.set_max(&(channels - 1).to_string());
        set_disabled(&self.channel, channels < 2);
        set_text(
            &self.status,
            match shown {
                None if app.run.is_none() => {
                    "Train a model: its kernels are kept before the first epoch and after each one."
                }
                None => "",
                Some(s) if s.kernels.is_empty() => "This model has no conv layers, so no kernels.",
                Some(_) => "Blue weights are negative, red positive, white near 0 (scaled to the layer's largest weight at this epoch).",
            },
        );
        self.draw_kernels(app);
        match shown {
            Some(snapshot) if !snapshot.maps.is_empty() => {
                let samples = app.data.as_ref().map(|d| &d.sample_labels[..]);
                let rows: Vec<String> = filters
                    .images
                    .iter()
                    .map(|&i| draw::test_image_heading(i, samples.and_then(|l| l.get(i).copied())))
                    .collect();
                draw::draw_grid(&self.maps, &snapshot.maps, "", &rows, app.maps.filter);
            }
            _ => self.maps.set_inner_html(""),
        }
    }
}
