//! What the model gets wrong (under the confusion matrix): the pairs of classes it mixes up
//! most, the images of an opened cell a page at a time (true class, predicted class,
//! confidence), and a chosen image's probabilities and feature maps.
//!
//! Ids: mistakes-pairs, mistakes-status, mistakes-heading, mistakes-grid, mistakes-prev,
//! mistakes-page, mistakes-next, mistakes-detail, mistakes-maps.

use crate::ui::app::{App, Msg, TestView};
use crate::ui::dom::{bind, closest_attribute, document, on, set_disabled, set_text};
use crate::ui::mistakes::{Mistakes, MistakesInput};
use crate::ui::{draw, Dispatcher, Panel};
use crate::WebError;
use convlab_core::data::IMAGE_SIDE;
use convlab_core::units::thousands;
use convlab_core::CLASS_NAMES;
use maud::html;
use std::cell::Cell;
use web_sys::Element;

const PANEL: &str = "what the model gets wrong";
/// The pairs listed: the lab's question is which classes look alike, not a full table.
const PAIRS_SHOWN: usize = 5;
/// A thumbnail's width on the page.
const THUMB_SIZE: usize = 56;

pub struct MistakesPanel {
    pairs: Element,
    status: Element,
    heading: Element,
    grid: Element,
    prev: Element,
    page: Element,
    next: Element,
    detail: Element,
    maps: Element,
    /// The mistakes version and the filter last drawn.
    drawn: Cell<(u64, usize)>,
}

impl MistakesPanel {
    pub fn bind(dispatcher: &Dispatcher) -> Result<Self, WebError> {
        let panel = MistakesPanel {
            pairs: bind(PANEL, "mistakes-pairs")?,
            status: bind(PANEL, "mistakes-status")?,
            heading: bind(PANEL, "mistakes-heading")?,
            grid: bind(PANEL, "mistakes-grid")?,
            prev: bind(PANEL, "mistakes-prev")?,
            page: bind(PANEL, "mistakes-page")?,
            next: bind(PANEL, "mistakes-next")?,
            detail: bind(PANEL, "mistakes-detail")?,
            maps: bind(PANEL, "mistakes-maps")?,
            drawn: Cell::new((0, usize::MAX)),
        };
        open_cells_on_click(dispatcher, &panel.pairs);
        let d = dispatcher.clone();
        on(&panel.grid, "click", move |event| {
            if let Some(index) = closest_attribute::<usize>(event, "data-image") {
                d.dispatch(Msg::Mistakes(MistakesInput::Inspect(index)));
            }
        });
        // Each button carries the page it goes to (set when drawn).
        for button in [&panel.prev, &panel.next] {
            let d = dispatcher.clone();
            let target = button.clone();
            on(button, "click", move |_| {
                if let Some(page) = target
                    .get_attribute("data-page")
                    .and_then(|p| p.parse::<usize>().ok())
                {
                    d.dispatch(Msg::Mistakes(MistakesInput::Page(page)));
                }
            });
        }
        Ok(panel)
    }
}

/// A click on a button with `data-truth` and `data-predicted` inside `container` (the
/// confusion matrix's numbers, the pairs' directions) opens that cell.
pub fn open_cells_on_click(dispatcher: &Dispatcher, container: &Element) {
    let d = dispatcher.clone();
    on(container, "click", move |event| {
        if let (Some(truth), Some(predicted)) = (
            closest_attribute::<u8>(event, "data-truth"),
            closest_attribute::<u8>(event, "data-predicted"),
        ) {
            d.dispatch(Msg::Mistakes(MistakesInput::Open { truth, predicted }));
        }
    });
}

/// "Shirt ↔ T-shirt/top: 112" with a button for each direction.
fn pairs(app: &App) -> String {
    let TestView::Shown { result, .. } = &app.test else {
        return String::new();
    };
    if result.predictions.is_empty() {
        return String::new();
    }
    let pairs = result.confused_pairs();
    html! {
        @if pairs.is_empty() {
            p { "No test image was mistaken for another class." }
        } @else {
            table.pairs {
                caption { "The classes mixed up most (test images each way)" }
                thead { tr { th scope="col" { "pair" } th scope="col" { "in all" } th scope="col" { "each way" } } }
                tbody {
                    @for pair in pairs.iter().take(PAIRS_SHOWN) {
                        @let (a, b) = (CLASS_NAMES[pair.first as usize], CLASS_NAMES[pair.second as usize]);
                        tr {
                            th scope="row" { (a) " ↔ " (b) }
                            td { (pair.total()) }
                            td {
                                button type="button" data-truth=(pair.first) data-predicted=(pair.second)
                                    disabled[pair.first_as_second == 0] {
                                    (pair.first_as_second) " " (a) " as " (b)
                                }
                                " "
                                button type="button" data-truth=(pair.second) data-predicted=(pair.first)
                                    disabled[pair.second_as_first == 0] {
                                    (pair.second_as_first) " " (b) " as " (a)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    .into_string()
}

fn heading(mistakes: &Mistakes) -> String {
    let Some((truth, predicted)) = mistakes.cell else {
        return String::new();
    };
    let (truth, predicted) = (CLASS_NAMES[truth as usize], CLASS_NAMES[predicted as usize]);
    let count = thousands(mistakes.list.len());
    if truth == predicted {
        format!("{count} {truth} test images predicted right, the most confident first")
    } else {
        format!("{count} {truth} test images predicted as {predicted}, the most confident first")
    }
}

/// The page's thumbnails, each a button: the image, its number, true class, prediction and
/// confidence. An image whose pixels have not come yet shows its words only.
fn draw_page(target: &Element, mistakes: &Mistakes) {
    target.set_inner_html("");
    for prediction in mistakes.page_items() {
        let (truth, predicted) = (
            CLASS_NAMES[prediction.truth as usize],
            CLASS_NAMES[prediction.predicted as usize],
        );
        // The visible caption starts the accessible name, so speech commands find the button.
        let caption_text = format!(
            "#{} {:.0}%",
            prediction.index,
            prediction.confidence * 100.0
        );
        let words = format!("{caption_text}: {truth}, predicted {predicted}");
        let button = document()
            .create_element("button")
            .expect("creating an element cannot fail");
        let _ = button.set_attribute("type", "button");
        let _ = button.set_attribute("data-image", &prediction.index.to_string());
        let _ = button.set_attribute("aria-label", &format!("{words}: show its feature maps"));
        let _ = button.set_attribute("title", &words);
        if mistakes.chosen == Some(prediction.index) {
            let _ = button.set_attribute("aria-pressed", "true");
        }
        if let Some(pixels) = mistakes.images.get(&prediction.index) {
            let _ = button.append_child(&draw::canvas(
                IMAGE_SIDE,
                IMAGE_SIDE,
                &draw::grey_rgba(pixels),
                THUMB_SIZE,
            ));
        }
        let caption = document()
            .create_element("span")
            .expect("creating an element cannot fail");
        caption.set_text_content(Some(&caption_text));
        let _ = button.append_child(&caption);
        let _ = target.append_child(&button);
    }
}

impl Panel for MistakesPanel {
    fn render(&self, app: &App) {
        let mistakes = &app.mistakes;
        set_text(&self.status, &mistakes.status);
        let wanted = (app.versions.mistakes, app.maps.filter);
        if self.drawn.replace(wanted) == wanted {
            return;
        }
        self.pairs.set_inner_html(&pairs(app));
        set_text(&self.heading, &heading(mistakes));
        draw_page(&self.grid, mistakes);

        let pages = mistakes.page_count();
        let open = mistakes.cell.is_some() && pages > 1;
        set_text(
            &self.page,
            &if open {
                format!("page {} of {pages}", mistakes.page + 1)
            } else {
                String::new()
            },
        );
        let _ = self
            .prev
            .set_attribute("data-page", &mistakes.page.saturating_sub(1).to_string());
        let _ = self
            .next
            .set_attribute("data-page", &(mistakes.page + 1).to_string());
        set_disabled(&self.prev, !open || mistakes.page == 0);
        set_disabled(&self.next, !open || mistakes.page + 1 >= pages);
        for button in [&self.prev, &self.next] {
            let _ = if open {
                button.remove_attribute("hidden")
            } else {
                button.set_attribute("hidden", "")
            };
        }

        match &mistakes.inspected {
            Some(inspected) => {
                let p = inspected.prediction;
                let title = format!(
                    "Test image #{}: {}, predicted {}",
                    p.index, CLASS_NAMES[p.truth as usize], CLASS_NAMES[p.predicted as usize]
                );
                self.detail.set_inner_html(
                    &html! {
                        h4 { (title) }
                        (maud::PreEscaped(draw::probability_table(&inspected.probabilities, "the trained model")))
                    }
                    .into_string(),
                );
                draw::draw_grid(
                    &self.maps,
                    &inspected.maps,
                    "",
                    &[draw::test_image_heading(p.index, Some(p.truth))],
                    app.maps.filter,
                );
            }
            None => {
                self.detail.set_inner_html("");
                self.maps.set_inner_html("");
            }
        }
    }
}
