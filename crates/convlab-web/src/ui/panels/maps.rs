//! Visualizing the convolutions and pooling (section 4): the lab's grid (test images × conv and pool
//! layers, one filter), every filter of one layer, and the first test images with labels.

use crate::ui::app::{App, Msg, ShownMaps};
use crate::ui::dom::{bind, on, set_disabled, set_text};
use crate::ui::draw;
use crate::ui::{Control, Dispatcher, Panel};
use crate::WebError;
use std::cell::{Cell, RefCell};
use web_sys::{Element, HtmlInputElement, HtmlSelectElement};

const PANEL: &str = "feature maps";

pub struct MapsPanel {
    images: HtmlInputElement,
    filter: HtmlInputElement,
    show: Element,
    status: Element,
    grid: Element,
    layer: HtmlSelectElement,
    image: HtmlSelectElement,
    all: Element,
    sample_labels: Element,
    samples: Element,
    /// What was last drawn: (maps version, filter) for the grid, (maps version, layer, row)
    /// for every filter, and the samples' version.
    grid_drawn: Cell<(u64, usize)>,
    all_drawn: RefCell<(u64, String, usize)>,
    samples_drawn: Cell<u64>,
    form_version: Cell<u64>,
}

impl MapsPanel {
    pub fn bind(dispatcher: &Dispatcher) -> Result<Self, WebError> {
        let panel = MapsPanel {
            images: bind(PANEL, Control::MapsImages.id())?,
            filter: bind(PANEL, Control::MapsFilter.id())?,
            show: bind(PANEL, Control::MapsShow.id())?,
            status: bind(PANEL, "fm-status")?,
            grid: bind(PANEL, "fm-grid")?,
            layer: bind(PANEL, "fm-layer")?,
            image: bind(PANEL, "fm-image")?,
            all: bind(PANEL, "fm-all")?,
            sample_labels: bind(PANEL, "sample-labels")?,
            samples: bind(PANEL, "samples")?,
            grid_drawn: Cell::new((0, usize::MAX)),
            all_drawn: RefCell::new((0, String::new(), usize::MAX)),
            samples_drawn: Cell::new(0),
            form_version: Cell::new(0),
        };
        let (d, images) = (dispatcher.clone(), panel.images.clone());
        on(&panel.images, "input", move |_| {
            d.dispatch(Msg::MapsImages(images.value()))
        });
        let (d, filter) = (dispatcher.clone(), panel.filter.clone());
        on(&panel.filter, "input", move |_| {
            d.dispatch(Msg::MapsFilter(filter.value()))
        });
        let d = dispatcher.clone();
        on(&panel.show, "click", move |_| d.dispatch(Msg::ShowMaps));
        let (d, layer) = (dispatcher.clone(), panel.layer.clone());
        on(&panel.layer, "change", move |_| {
            d.dispatch(Msg::MapsLayer(layer.value()))
        });
        let (d, image) = (dispatcher.clone(), panel.image.clone());
        on(&panel.image, "change", move |_| {
            d.dispatch(Msg::MapsImage(image.value().parse().unwrap_or(0)))
        });
        Ok(panel)
    }

    fn render_samples(&self, app: &App) {
        if self.samples_drawn.replace(app.versions.samples) == app.versions.samples {
            return;
        }
        if let Some(data) = &app.data {
            let labels: Vec<String> = data.sample_labels.iter().map(u8::to_string).collect();
            set_text(&self.sample_labels, &format!("[{}]", labels.join(" ")));
            draw::draw_samples(&self.samples, &data.samples, &data.sample_labels);
        }
    }
}

impl Panel for MapsPanel {
    fn render(&self, app: &App) {
        set_disabled(&self.show, !app.enabled(Control::MapsShow));
        set_disabled(&self.images, !app.enabled(Control::MapsImages));
        set_disabled(&self.filter, !app.enabled(Control::MapsFilter));
        if self.form_version.replace(app.versions.form) != app.versions.form {
            self.images.set_value(&app.maps.images_text);
            self.filter.set_value(&app.maps.filter.to_string());
        }
        self.render_samples(app);
        let maps = &app.maps;
        let Some(ShownMaps {
            maps: shown,
            images,
            labels,
            trained,
        }) = &maps.shown
        else {
            set_text(&self.status, &maps.status);
            return;
        };
        if shown.is_empty() {
            let status = match maps.status.as_str() {
                "" => {
                    "This model has no conv or pool layers: add a Conv2D to see its feature maps."
                }
                status => status,
            };
            set_text(&self.status, status);
            self.grid.set_inner_html("");
            self.all.set_inner_html("");
            self.grid_drawn.set((app.versions.maps, maps.filter));
            return;
        }
        let status = match (maps.status.as_str(), trained) {
            ("", true) => "Activations of the trained model.",
            ("", false) => "Activations of the untrained model (random weights); train it to see what the filters learn.",
            (status, _) => status,
        };
        set_text(&self.status, status);
        let version = app.versions.maps;
        if self.grid_drawn.replace((version, maps.filter)) != (version, maps.filter) {
            let rows: Vec<String> = images
                .iter()
                .enumerate()
                .map(|(row, &image)| draw::test_image_heading(image, labels.get(row).copied()))
                .collect();
            draw::draw_grid(&self.grid, shown, "test image", &rows, maps.filter);
            let layers = shown.iter().map(|m| (m.name.clone(), m.name.clone()));
            self.layer
                .set_inner_html(&draw::options(layers, &maps.layer).into_string());
            let rows = images
                .iter()
                .enumerate()
                .map(|(row, i)| (row.to_string(), format!("test image {i}")));
            self.image
                .set_inner_html(&draw::options(rows, &maps.row.to_string()).into_string());
        }
        let wanted = (version, maps.layer.clone(), maps.row);
        if *self.all_drawn.borrow() != wanted {
            let map = shown
                .iter()
                .find(|m| m.name == maps.layer)
                .or(shown.first());
            if let Some(map) = map {
                draw::draw_all_filters(&self.all, map, maps.row);
            }
            *self.all_drawn.borrow_mut() = wanted;
        }
    }
}
