//! model.evaluate on the test set: loss and accuracy, per-class accuracy and the confusion
//! matrix, whose numbers open their images in the mistakes view.

use crate::protocol::TestResult;
use crate::ui::app::{App, TestView};
use crate::ui::dom::{bind, set_text};
use crate::ui::format::percent;
use crate::ui::{Dispatcher, Panel};
use crate::WebError;
use convlab_core::units::thousands;
use convlab_core::CLASS_NAMES;
use maud::{html, Markup};
use std::cell::RefCell;
use web_sys::Element;

const PANEL: &str = "test result";

pub struct ResultPanel {
    line: Element,
    confusion: Element,
    shown: RefCell<Option<TestView>>,
}

impl ResultPanel {
    pub fn bind(dispatcher: &Dispatcher) -> Result<Self, WebError> {
        let panel = ResultPanel {
            line: bind(PANEL, "test-result")?,
            confusion: bind(PANEL, "confusion")?,
            shown: RefCell::new(None),
        };
        super::mistakes::open_cells_on_click(dispatcher, &panel.confusion);
        Ok(panel)
    }
}

/// The confusion matrix with class names and each class's accuracy; each number above 0 is a
/// button that opens its images.
pub fn confusion(result: &TestResult) -> Markup {
    let per_class = result.per_class_accuracy();
    html! {
        table class="confusion" {
            caption { "Confusion matrix on the test set (rows: true class, columns: predicted)" }
            thead { tr { th {} @for name in CLASS_NAMES { th { (name) } } th { "class accuracy" } } }
            tbody {
                @for (t, row) in result.confusion.iter().enumerate() {
                    tr {
                        th { (CLASS_NAMES[t]) }
                        @for (p, n) in row.iter().enumerate() {
                            td class=[if p == t { Some("diag") } else if *n > 0 { Some("off") } else { None }] {
                                @if *n > 0 {
                                    button type="button" data-truth=(t) data-predicted=(p)
                                        aria-label=(format!("{n} {} predicted as {}: show them", CLASS_NAMES[t], CLASS_NAMES[p])) { (n) }
                                } @else { (n) }
                            }
                        }
                        td class="acc" { (per_class[t].map_or("–".to_string(), percent)) }
                    }
                }
            }
        }
    }
}

impl Panel for ResultPanel {
    fn render(&self, app: &App) {
        if self.shown.borrow().as_ref() == Some(&app.test) {
            return;
        }
        *self.shown.borrow_mut() = Some(app.test.clone());
        match &app.test {
            TestView::Prompt => {
                set_text(
                    &self.line,
                    "Train a model to see its test loss and accuracy.",
                );
                self.confusion.set_inner_html("");
            }
            TestView::Training => {
                set_text(&self.line, "Training…");
                self.confusion.set_inner_html("");
            }
            TestView::Shown { lead, result } => {
                let images = app.data.as_ref().map_or(0, |d| d.test);
                set_text(
                    &self.line,
                    &format!(
                        "{lead} {:.4} · test accuracy {:.4} ({} on {} test images)",
                        result.loss,
                        result.accuracy,
                        percent(result.accuracy),
                        thousands(images)
                    ),
                );
                self.confusion
                    .set_inner_html(&confusion(result).into_string());
            }
        }
    }
}
