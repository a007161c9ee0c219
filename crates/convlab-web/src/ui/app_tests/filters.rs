//! Watching the filters learn: a run watches the feature-map cell's images, its snapshots
//! arrive epoch by epoch, the slider shows any of them (the newest follows training), and a
//! resumed epoch's snapshot replaces the old one.

use super::*;
use crate::protocol::{FromWorker, ToWorker, TrainRequest};
use crate::ui::app::Msg;
use crate::ui::filters::FiltersInput;
use convlab_core::Kernels;

/// A snapshot whose two conv layers' weights all equal `epoch`.
fn snapshot(epoch: usize) -> FromWorker {
    let layer = |layer: usize, name: &str, channels: usize| Kernels {
        layer,
        name: name.into(),
        filters: 4,
        channels,
        size: 3,
        values: vec![epoch as f32; 4 * channels * 9],
    };
    FromWorker::Snapshot {
        epoch,
        kernels: vec![layer(0, "conv2d", 1), layer(2, "conv2d_1", 4)],
        maps: Vec::new(),
    }
}

fn epoch(input: usize) -> Msg {
    Msg::Filters(FiltersInput::Epoch(input))
}

fn shown_epoch(app: &App) -> Option<usize> {
    app.filters.shown().map(|s| s.epoch)
}

#[test]
fn a_run_watches_the_cells_images_and_the_slider_moves_through_its_epochs() {
    let mut app = idle("");
    let effects = app.update(Msg::Train);
    match sends(&effects)[..] {
        [ToWorker::Train(TrainRequest { watch, .. })] => assert_eq!(watch, &[0, 23, 28]),
        ref other => panic!("{other:?}"),
    }
    assert_eq!(app.filters.images, [0, 23, 28]);
    assert_eq!(shown_epoch(&app), None);
    for e in 0..3 {
        app.update(Msg::Worker(snapshot(e)));
    }
    // The newest is on show while training goes on.
    assert_eq!(shown_epoch(&app), Some(2));
    app.update(epoch(0));
    assert_eq!(shown_epoch(&app), Some(0));
    assert_eq!(app.filters.shown_kernels().unwrap().0.values[0], 0.0);
    // A new epoch does not move a chosen one; the newest position follows again.
    app.update(Msg::Worker(snapshot(3)));
    assert_eq!(shown_epoch(&app), Some(0));
    app.update(epoch(3));
    assert_eq!(app.filters.chosen, None);
    app.update(Msg::Worker(snapshot(4)));
    assert_eq!(shown_epoch(&app), Some(4));
    // Past the end shows the newest.
    app.update(epoch(99));
    assert_eq!(shown_epoch(&app), Some(4));
}

#[test]
fn a_resumed_epoch_replaces_its_snapshot_and_a_new_run_starts_afresh() {
    let mut app = idle("");
    app.update(Msg::Train);
    for e in 0..4 {
        app.update(Msg::Worker(snapshot(e)));
    }
    app.update(epoch(3));
    // After a lost GPU the run went back to epoch 2's checkpoint and trained epoch 3 again.
    app.update(Msg::Worker(snapshot(3)));
    let epochs: Vec<usize> = app.filters.taken.iter().map(|s| s.epoch).collect();
    assert_eq!(epochs, [0, 1, 2, 3]);
    app.update(epoch(1));
    app.update(Msg::Worker(snapshot(1)));
    assert_eq!(app.filters.taken.len(), 2);
    assert_eq!(
        shown_epoch(&app),
        Some(1),
        "a chosen epoch trained again shows the newest"
    );

    app.update(Msg::Worker(tested()));
    app.update(Msg::Train);
    assert!(app.filters.taken.is_empty());
    assert_eq!(app.filters.chosen, None);
}

#[test]
fn a_deeper_layer_shows_one_input_channel() {
    let mut app = idle("");
    app.update(Msg::Train);
    app.update(Msg::Worker(snapshot(1)));
    let (kernels, channel) = app.filters.shown_kernels().unwrap();
    assert_eq!((kernels.name.as_str(), channel), ("conv2d", 0));
    app.update(Msg::Filters(FiltersInput::Layer(1)));
    app.update(Msg::Filters(FiltersInput::Channel(9)));
    let (kernels, channel) = app.filters.shown_kernels().unwrap();
    assert_eq!(
        (kernels.name.as_str(), channel),
        ("conv2d_1", 3),
        "clamped to its 4 channels"
    );
    // Back to the first layer: channel 0 again.
    app.update(Msg::Filters(FiltersInput::Layer(0)));
    assert_eq!(app.filters.shown_kernels().unwrap().1, 0);
}
