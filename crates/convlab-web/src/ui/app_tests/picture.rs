//! "Your own image": a drawing made ready in the page, at most one Classify request with the
//! worker at a time, the newest picture sent after the answer, and bad pictures named.

use super::*;
use crate::protocol::{FromWorker, RequestKind, ToWorker};
use crate::ui::app::{Msg, Phase};
use crate::ui::picture::PictureInput;

/// A white bar on a black canvas, as the drawing square gives it: from column `x`, `x / 5`
/// pixels wide (so each `x` makes a different input).
fn stroke(width: u32, height: u32, x: u32) -> Msg {
    let mut rgba = vec![0u8; (width * height * 4) as usize];
    for y in 10..height - 10 {
        for dx in 0..x / 5 {
            let at = ((y * width + x + dx) * 4) as usize;
            rgba[at..at + 4].copy_from_slice(&[255, 255, 255, 255]);
        }
    }
    for alpha in rgba.chunks_exact_mut(4) {
        alpha[3] = 255;
    }
    Msg::Picture(PictureInput::Drawn {
        width,
        height,
        rgba,
    })
}

fn classified() -> FromWorker {
    let mut probabilities = vec![0.0; 10];
    probabilities[1] = 1.0;
    FromWorker::Classified {
        probabilities,
        maps: Vec::new(),
        trained: false,
    }
}

#[test]
fn a_drawing_shows_its_steps_and_is_classified_one_request_at_a_time() {
    let mut app = idle("");
    let effects = app.update(stroke(60, 60, 20));
    // The four steps, the last the 28x28 input; one request with that input.
    let names: Vec<&str> = app.picture.steps.iter().map(|s| s.name).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert_eq!(
        (app.picture.steps[3].width, app.picture.steps[3].height),
        (28, 28)
    );
    let input = app.picture.input.clone().unwrap();
    match sends(&effects)[..] {
        [ToWorker::Classify { pixels, .. }] => assert_eq!(pixels, &input),
        ref other => panic!("{other:?}"),
    }
    // Two more strokes while the worker works: nothing sent until it answers, then only the
    // newest picture.
    assert!(sends(&app.update(stroke(60, 60, 30))).is_empty());
    assert!(sends(&app.update(stroke(60, 60, 40))).is_empty());
    let newest = app.picture.input.clone().unwrap();
    assert_ne!(newest, input);
    let effects = app.update(Msg::Worker(classified()));
    assert_eq!(app.picture.answer.as_ref().unwrap().probabilities[1], 1.0);
    match sends(&effects)[..] {
        [ToWorker::Classify { pixels, .. }] => assert_eq!(pixels, &newest),
        ref other => panic!("{other:?}"),
    }
    // Answered and nothing newer: nothing more to send.
    assert!(sends(&app.update(Msg::Worker(classified()))).is_empty());
    assert!(!app.picture.asked);
}

#[test]
fn bad_pictures_are_named_and_nothing_is_sent() {
    let mut app = idle("");
    let blank = Msg::Picture(PictureInput::Drawn {
        width: 40,
        height: 40,
        rgba: [0, 0, 0, 255].repeat(1600),
    });
    assert!(sends(&app.update(blank)).is_empty());
    assert!(
        app.picture
            .status
            .starts_with("The drawing: nothing in the picture stands out"),
        "{}",
        app.picture.status
    );
    assert!(app.picture.steps.is_empty() && app.picture.input.is_none());

    let effects = app.update(Msg::Picture(PictureInput::Unreadable {
        name: "holiday.heic".into(),
        problem: "the browser cannot decode this file".into(),
    }));
    assert!(sends(&effects).is_empty());
    assert_eq!(
        app.picture.status,
        "holiday.heic: the browser cannot decode this file"
    );

    // A short buffer (a page bug, or a hostile message) is refused, not a panic.
    let short = Msg::Picture(PictureInput::Opened {
        name: "x.png".into(),
        width: 10,
        height: 10,
        rgba: vec![0; 12],
    });
    assert!(sends(&app.update(short)).is_empty());
    assert!(
        app.picture.status.starts_with("x.png: 12 bytes"),
        "{}",
        app.picture.status
    );
}

#[test]
fn while_training_the_picture_waits_for_the_trained_model() {
    let mut app = idle("");
    app.update(Msg::Train);
    assert!(matches!(app.phase, Phase::Training { .. }));
    assert!(sends(&app.update(stroke(60, 60, 20))).is_empty());
    assert!(app.picture.status.contains("when training ends"));
    let effects = app.update(Msg::Worker(tested()));
    assert!(
        sends(&effects)
            .iter()
            .any(|r| matches!(r, ToWorker::Classify { .. })),
        "{effects:?}"
    );
}

#[test]
fn a_failed_or_lost_request_does_not_block_the_next() {
    let mut app = idle("");
    app.update(stroke(60, 60, 20));
    app.update(Msg::Worker(FromWorker::Failed {
        request: RequestKind::Classify,
        message: "the backend returned no value".into(),
    }));
    assert_eq!(app.picture.status, "the backend returned no value");
    assert_eq!(sends(&app.update(stroke(60, 60, 30))).len(), 1);
    // The worker dies with the request: the fresh one is asked again once it has the data.
    app.update(Msg::WorkerFailed("RuntimeError: unreachable".into()));
    assert!(!app.picture.asked);
    app.update(Msg::Worker(FromWorker::Ready));
    let effects = app.update(Msg::Worker(data_ready()));
    assert!(
        sends(&effects)
            .iter()
            .any(|r| matches!(r, ToWorker::Classify { .. })),
        "{effects:?}"
    );
}
