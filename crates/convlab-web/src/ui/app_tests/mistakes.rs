//! What the model gets wrong: a confusion-matrix cell opens its images a page at a time (the
//! worker sends only the pixels not yet sent), an image is inspected, and a new run or test
//! result closes the cell.

use super::*;
use crate::protocol::{FromWorker, RequestKind, ToWorker};
use crate::ui::app::{Msg, Phase, TestView};
use crate::ui::mistakes::{MistakesInput, PER_PAGE};

/// An idle page with `tested()`'s result on show.
fn trained() -> App {
    let mut app = idle("");
    app.update(Msg::Train);
    app.update(Msg::Worker(tested()));
    assert!(matches!(app.test, TestView::Shown { .. }));
    assert_eq!(app.phase, Phase::Idle);
    app
}

fn open(truth: u8, predicted: u8) -> Msg {
    Msg::Mistakes(MistakesInput::Open { truth, predicted })
}

fn asked_images(effects: &[Effect]) -> Vec<usize> {
    match sends(effects)[..] {
        [ToWorker::TestImages { indices }] => indices.clone(),
        ref other => panic!("{other:?}"),
    }
}

fn images(indices: &[usize]) -> FromWorker {
    FromWorker::TestImages {
        indices: indices.to_vec(),
        pixels: indices.iter().flat_map(|&i| [i as u8; 784]).collect(),
    }
}

#[test]
fn a_cell_lists_its_images_most_confident_first_and_asks_for_their_pixels() {
    let mut app = trained();
    // Shirt (6) predicted as T-shirt/top (0): test images 600..610, confidences rising.
    let effects = app.update(open(6, 0));
    let listed: Vec<usize> = app.mistakes.list.iter().map(|p| p.index).collect();
    assert_eq!(listed, (600..610).rev().collect::<Vec<_>>());
    assert!(app
        .mistakes
        .list
        .iter()
        .all(|p| p.truth == 6 && p.predicted == 0));
    assert_eq!(asked_images(&effects), listed);
    app.update(Msg::Worker(images(&listed)));
    assert_eq!(app.mistakes.images.len(), 10);
    assert_eq!(app.mistakes.images[&605], vec![(605 % 256) as u8; 784]);
    // Opened again, nothing is asked: the pixels are here.
    assert!(sends(&app.update(open(6, 0))).is_empty());
}

#[test]
fn a_long_list_is_paged() {
    let mut app = trained();
    // A cell as large as a whole class, by hand: 100 images.
    let TestView::Shown { result, .. } = &mut app.test else {
        unreachable!()
    };
    result.predictions = result.labels.clone();
    result.predictions.iter_mut().for_each(|p| *p = 9);
    app.update(open(9, 9));
    assert_eq!(app.mistakes.list.len(), 100);
    assert_eq!(app.mistakes.page_items().len(), PER_PAGE);
    assert_eq!(app.mistakes.page_count(), 100usize.div_ceil(PER_PAGE));
    let effects = app.update(Msg::Mistakes(MistakesInput::Page(2)));
    assert_eq!(app.mistakes.page, 2);
    let asked = asked_images(&effects);
    assert_eq!(asked.len(), 100 - 2 * PER_PAGE);
    // A page past the end shows the last one.
    app.update(Msg::Mistakes(MistakesInput::Page(99)));
    assert_eq!(app.mistakes.page, app.mistakes.page_count() - 1);
}

#[test]
fn an_image_is_inspected_and_a_new_run_closes_the_cell() {
    let mut app = trained();
    app.update(open(6, 0));
    // Only an image of the open cell can be inspected.
    assert!(sends(&app.update(Msg::Mistakes(MistakesInput::Inspect(5)))).is_empty());
    let effects = app.update(Msg::Mistakes(MistakesInput::Inspect(603)));
    assert!(matches!(
        sends(&effects)[..],
        [ToWorker::Inspect { index: 603 }]
    ));
    let mut probabilities = vec![0.0; 10];
    probabilities[0] = 0.9;
    probabilities[6] = 0.1;
    app.update(Msg::Worker(FromWorker::Inspected {
        index: 603,
        probabilities: probabilities.clone(),
        maps: Vec::new(),
    }));
    let inspected = app.mistakes.inspected.clone().unwrap();
    assert_eq!(inspected.prediction.index, 603);
    assert_eq!(inspected.probabilities, probabilities);
    // A failure is named.
    app.update(Msg::Mistakes(MistakesInput::Inspect(604)));
    app.update(Msg::Worker(FromWorker::Failed {
        request: RequestKind::Inspect,
        message: "there is no trained model yet".into(),
    }));
    assert_eq!(app.mistakes.status, "there is no trained model yet");
    // Training again closes the cell; the pixels stay (the same test set).
    app.update(Msg::Worker(images(&[600])));
    app.update(Msg::Train);
    assert_eq!(app.mistakes.cell, None);
    assert!(app.mistakes.list.is_empty());
    assert!(app.mistakes.images.contains_key(&600));
    // While it trains, nothing can be opened.
    assert!(sends(&app.update(open(6, 0))).is_empty());
    assert_eq!(app.mistakes.cell, None);
}
