//! The page's state machine, natively: every phase transition (`phases`), the enabling rules,
//! host commands while the student trains and a worker failure in each phase (`rules`).

mod bad_input;
mod compare;
mod faults;
mod filters;
mod limits;
mod mistakes;
mod phases;
mod picture;
mod rules;
mod warm_up;

use super::*;
use crate::protocol::{FromWorker, TestResult, ToWorker};
use crate::ui::host::HostEvent;
use crate::ui::Control;

pub(super) fn pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

pub(super) fn fresh(_key: &str) -> (SavedState, bool, Option<String>) {
    (SavedState::default(), false, None)
}

pub(super) fn app_with(query: &str) -> App {
    App::new(boot(query))
}

pub(super) fn boot(query: &str) -> Boot {
    Boot {
        page_base: "http://127.0.0.1:8080/lab/index.html".into(),
        url_pairs: pairs(query),
        load_state: fresh,
        runs: Vec::new(),
        timings: Vec::new(),
        // This machine's; automatic CPU workers are then two from batch 128.
        cores: 2,
        problems: Vec::new(),
    }
}

pub(super) fn data_ready() -> FromWorker {
    FromWorker::DataReady {
        train: 3000,
        test: 1000,
        samples: vec![0; 784],
        sample_labels: vec![9],
    }
}

/// An app with its worker ready and the dataset loaded: Idle.
pub(super) fn idle(query: &str) -> App {
    let mut app = app_with(query);
    app.update(Msg::Worker(FromWorker::Ready));
    app.update(Msg::Worker(data_ready()));
    assert_eq!(app.phase, Phase::Idle);
    app
}

pub(super) fn sends(effects: &[Effect]) -> Vec<&ToWorker> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(request) => Some(request),
            _ => None,
        })
        .collect()
}

pub(super) fn posts(effects: &[Effect]) -> Vec<&HostEvent> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Post(event) => Some(event),
            _ => None,
        })
        .collect()
}

/// A test result over 1,000 images: ten of each true class predicted as each class, the
/// confidences rising through the test set.
pub(super) fn tested() -> FromWorker {
    let cells: Vec<(u8, u8)> = (0..10u8)
        .flat_map(|truth| (0..10u8).flat_map(move |predicted| [(truth, predicted); 10]))
        .collect();
    FromWorker::Tested(TestResult {
        loss: 0.5,
        accuracy: 0.1,
        confusion: vec![vec![10; 10]; 10],
        labels: cells.iter().map(|c| c.0).collect(),
        predictions: cells.iter().map(|c| c.1).collect(),
        confidences: (0..cells.len()).map(|i| 0.2 + i as f32 / 2000.0).collect(),
    })
}

pub(super) fn enabled(app: &App) -> Vec<&'static str> {
    Control::ALL
        .into_iter()
        .filter(|c| app.enabled(*c))
        .map(Control::id)
        .collect()
}
