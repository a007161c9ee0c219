//! Comparing runs: each record keeps its epochs; runs are ticked for the charts without the
//! table being drawn again; the history downloads as CSV.

use super::*;
use crate::protocol::FromWorker;
use crate::ui::app::{DownloadOf, Msg};
use crate::ui::history::HistoryInput;
use convlab_core::{EpochMetrics, TrainEvent};

/// One run of `epochs` epochs, ending with `tested()`'s result.
fn run(app: &mut App, epochs: usize) {
    app.update(Msg::Train);
    for epoch in 1..=epochs {
        app.update(Msg::Worker(FromWorker::Training(TrainEvent::Epoch(
            EpochMetrics {
                epoch,
                loss: 1.0 / epoch as f32,
                accuracy: 0.5 + 0.1 * epoch as f32,
                val_loss: None,
                val_accuracy: None,
                seconds: 2.0,
                samples: 3000,
            },
        ))));
    }
    app.update(Msg::Worker(tested()));
}

fn compare(index: usize, on: bool) -> Msg {
    Msg::History(HistoryInput::Compare { index, on })
}

#[test]
fn runs_keep_their_curves_and_are_ticked_for_the_charts() {
    let mut app = idle("");
    run(&mut app, 3);
    run(&mut app, 2);
    let lengths: Vec<usize> = app.runs.iter().map(|r| r.history.len()).collect();
    assert_eq!(lengths, [3, 2]);
    assert_eq!(app.runs[0].history[2].loss, 1.0 / 3.0);

    let table = app.versions.history;
    app.update(compare(0, true));
    app.update(compare(1, true));
    app.update(compare(7, true));
    assert_eq!(app.compared.iter().copied().collect::<Vec<_>>(), [0, 1]);
    assert_eq!(
        app.versions.history, table,
        "the table keeps the ticked box's focus"
    );
    app.update(compare(0, false));
    assert_eq!(app.compared.iter().copied().collect::<Vec<_>>(), [1]);
    app.update(Msg::ClearHistory);
    assert!(app.runs.is_empty() && app.compared.is_empty());
}

#[test]
fn the_history_downloads_as_csv_and_says_so() {
    let mut app = idle("");
    run(&mut app, 2);
    let effects = app.update(Msg::History(HistoryInput::Export));
    let [Effect::Download {
        file_name,
        file,
        of: DownloadOf::History,
    }] = &effects[..]
    else {
        panic!("{effects:?}");
    };
    assert_eq!(file_name, "convlab-runs.csv");
    let csv = String::from_utf8(file.clone()).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.lines().nth(1).unwrap().starts_with("1,"));
    app.update(Msg::Downloaded {
        of: DownloadOf::History,
        result: Ok((file_name.clone(), file.len())),
    });
    assert!(app
        .history_status
        .starts_with("Downloaded convlab-runs.csv"));
    // The model's downloads still report under the saved models.
    assert!(app.models_status.is_empty());
}
