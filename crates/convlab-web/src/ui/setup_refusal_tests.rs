//! The URL setup's refusals: every bad value named with what it allows, nothing applied.
use super::tests::pairs;
use super::*;

#[test]
fn markup_in_url_values_is_quoted_as_text_and_changes_nothing() {
    let mut state = SavedState::default();
    let problems = apply_experiment(
        &pairs("epochs=<script>alert(1)</script>&layers=<img src=x onerror=alert(2)>&preset=\"><b>x</b>&<i>=1"),
        &mut state,
    );
    assert_eq!(state, SavedState::default(), "nothing was applied");
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(problems.iter().any(
        |p| p.starts_with("URL parameter epochs='<script>alert(1)</script>' is not a whole number")
    ));
    assert!(problems.iter().any(|p| p.starts_with(
        "URL parameter layers: layer 0 '<img src=x onerror=alert(2)>': unknown layer"
    )));
    assert!(problems
        .iter()
        .any(|p| p.starts_with("URL parameter preset='\"><b>x</b>' is not a lab preset")));
    assert!(problems
        .iter()
        .any(|p| p.starts_with("unknown URL parameter '<i>'")));
    // The embedding's names too; `id` is data echoed in events, never shown.
    let (shape, problems) = embedding(&pairs("panels=<svg/onload=alert(3)>&id=<b>lab</b>"));
    assert_eq!(
        shape.panels, None,
        "no known panel: all are shown, not none"
    );
    assert_eq!(shape.id.as_deref(), Some("<b>lab</b>"));
    assert!(problems[0].contains("unknown name '<svg/onload=alert(3)>'"));
    assert_eq!(
        problems[1],
        "URL parameter panels: no known panel is named, so every panel is shown"
    );
    let (shape, _) = embedding(&pairs("panels="));
    assert_eq!(shape.panels, None);
}

#[test]
fn huge_numbers_are_refused_with_the_allowed_range() {
    let mut state = SavedState::default();
    let problems = apply_experiment(
        &pairs("epochs=99999999999999999999999&seed=18446744073709551616&batch_size=1e9&learning_rate=1e999&train_images=184467440737095516160&validation_split=-1e40"),
        &mut state,
    );
    assert_eq!(state.settings, Settings::default(), "none was applied");
    assert_eq!(problems.len(), 6, "{problems:?}");
    assert_eq!(
        problems[0],
        "URL parameter epochs='99999999999999999999999' is not a whole number from 1 to 1000"
    );
    assert!(problems[1].starts_with("URL parameter seed='18446744073709551616' is not a whole number from 0 to 18446744073709551615"));
    assert!(problems[2].starts_with("URL parameter batch_size='1e9' is not a whole number"));
    // 1e999 reads as infinity: refused by the settings' check, which names the setting.
    assert!(
        problems[3].starts_with("URL parameter learning_rate='1e999' cannot be used")
            && problems[3].contains("learning_rate"),
        "{}",
        problems[3]
    );
    assert_eq!(
        problems[4],
        "URL parameter train_images='184467440737095516160' is not a whole number of at least 1"
    );
    assert!(problems[5].starts_with("URL parameter validation_split='-1e40' cannot be used"));
    // A value of kilobytes is quoted shortened.
    let long = "9".repeat(5000);
    let problems = apply_experiment(&pairs(&format!("preset={long}")), &mut state);
    assert!(problems[0].len() < 200, "{}", problems[0]);
    assert!(problems[0].contains(&format!("'{}…'", "9".repeat(60))));
}

#[test]
fn malformed_lists_are_named_item_by_item() {
    let mut state = SavedState::default();
    let problems = apply_experiment(
        &pairs("layers=conv:32,,pool&early_stopping=val_loss:2:0:restore:again"),
        &mut state,
    );
    assert_eq!(state, SavedState::default());
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0], "URL parameter layers: layer 1 '': empty item");
    assert!(problems[1].contains("wrong number of parts"));
    // Empty names in the embedding's lists are skipped; bad ones named.
    let (shape, problems) = embedding(&pairs(
        "panels=,,model,,&lock=model,,&allow=https://a.example,,*,javascript:alert(1),https://b.example/path",
    ));
    assert_eq!(shape.panels, Some(vec!["model-panel"]));
    assert_eq!(shape.allow, vec!["https://a.example"]);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].contains("'*' is not an origin"));
    assert!(problems[1].contains("'javascript:alert(1)' is not an origin"));
    assert!(problems[2].contains("'https://b.example/path' is not an origin"));
}

#[test]
fn duplicated_keys_are_named_and_read_once() {
    let mut state = SavedState::default();
    let problems = apply_experiment(
        &pairs("epochs=2&preset=dnn&epochs=3&preset=cnn-16&seed=7&seed=x"),
        &mut state,
    );
    assert_eq!(state.settings.epochs, 3, "the last value is used");
    assert_eq!(state.preset, "cnn-16");
    // Each value is checked, in order: the last one that can be used stays.
    assert_eq!(state.settings.seed, 7);
    assert!(
        problems.contains(
            &"URL parameter epochs is given 2 times ('2', '3'); each is checked, and the last one that can be used applies".to_string()
        ),
        "{problems:?}"
    );
    assert!(problems.contains(
        &"URL parameter preset is given 2 times ('dnn', 'cnn-16'); only the last is used"
            .to_string()
    ));
    assert!(problems
        .iter()
        .any(|p| p.starts_with("URL parameter seed='x' is not a whole number")));
    assert_eq!(problems.len(), 4, "{problems:?}");
    // An unknown name given twice is named once.
    let problems = apply_experiment(&pairs("colour=red&colour=blue"), &mut state);
    assert_eq!(problems.len(), 1, "{problems:?}");
    // The embedding's lists join; its single values take the last.
    let (shape, problems) = embedding(&pairs(
        "lock=model&lock=settings&panels=model&panels=train&id=a&id=b",
    ));
    let locked: Vec<&str> = shape.locked.iter().map(|c| c.id()).collect();
    assert_eq!(locked, vec!["preset", "editor", "model-file", "settings"]);
    assert_eq!(shape.panels, Some(vec!["model-panel", "train-panel"]));
    assert_eq!(shape.id.as_deref(), Some("b"));
    assert_eq!(
        problems,
        vec![
            "URL parameter panels is given 2 times ('model', 'train'); all of them apply",
            "URL parameter lock is given 2 times ('model', 'settings'); all of them apply",
            "URL parameter id is given 2 times ('a', 'b'); only the last is used",
        ]
    );
}

#[test]
fn url_numbers_name_the_parameter_and_its_range() {
    let mut state = SavedState::default();
    let problems = apply_experiment(
        &pairs("epochs=-5&batch_size=1e3&learning_rate=abc&validation_split=NaN&stop_at_loss=x&seed=-1&train_images=0&early_stopping=loss:-1:0&patience=2"),
        &mut state,
    );
    let expected = [
        "URL parameter epochs='-5' is not a whole number from 1 to 1000",
        "URL parameter batch_size='1e3' is not a whole number from 1 to 8192",
        "URL parameter learning_rate='abc' is not a number greater than 0",
        "URL parameter validation_split='NaN' cannot be used: invalid setting validation_split: must be in [0, 1), got NaN",
        "URL parameter stop_at_loss='x' is not a number greater than 0, or off",
        "URL parameter seed='-1' is not a whole number from 0 to 18446744073709551615",
        "URL parameter train_images='0' cannot be used: Training images: use at least 1",
        "URL parameter early_stopping='loss:-1:0': patience is not a whole number from 0 to 1000 (write monitor:patience:min_delta[:restore], e.g. val_loss:2:0:restore, or off)",
    ];
    assert_eq!(&problems[..expected.len()], expected);
    assert!(problems[expected.len()].starts_with("unknown URL parameter 'patience'"));
    assert_eq!(state, SavedState::default(), "every bad value was refused");
    let problems = apply_experiment(
        &pairs("learning_rate=inf&early_stopping=loss:5000:0&batch_size=0&epochs=1000000000"),
        &mut state,
    );
    assert_eq!(
        problems,
        [
            "URL parameter learning_rate='inf' cannot be used: invalid setting learning_rate: must be a finite number greater than 0, got inf",
            "URL parameter early_stopping='loss:5000:0' cannot be used: invalid setting early_stopping.patience: must be between 0 and 1000, got 5000",
            "URL parameter batch_size='0' cannot be used: invalid setting batch_size: must be between 1 and 8192, got 0",
            "URL parameter epochs='1000000000' cannot be used: invalid setting epochs: must be between 1 and 1000, got 1000000000",
        ]
    );
    assert_eq!(state, SavedState::default());
}

#[test]
fn url_layers_that_cannot_be_built_are_refused_naming_the_layer() {
    let many = vec!["flatten"; 500].join(",");
    let huge_conv = "conv:1000000000,flatten,dense:10:softmax".to_string();
    let cases = [
        (
            "conv:32:30,flatten,dense:10:softmax",
            "URL parameter layers: layer 0 (Conv2D): kernel 30x30 does not fit the 28x28 input (input (None, 28, 28, 1))",
        ),
        (
            huge_conv.as_str(),
            "URL parameter layers: layer 0 (Conv2D): filters must be between 1 and 1024, got 1000000000 (input (None, 28, 28, 1))",
        ),
        (
            "flatten,dense:-5",
            "URL parameter layers: layer 1 'dense:-5': units '-5' is not a whole number from 1 to 8192",
        ),
        (
            "conv2d:1e9",
            "URL parameter layers: layer 0 'conv2d:1e9': filters '1e9' is not a whole number from 1 to 1024",
        ),
        (
            many.as_str(),
            "URL parameter layers: the model has 500 layers; at most 64 are allowed",
        ),
        ("", "URL parameter layers: layer 0 '': empty item"),
        (
            "flatten,dense:128",
            "URL parameter layers: the last layer must give 10 class scores (Dense with 10 units); it gives (None, 128)",
        ),
    ];
    for (layers, message) in cases {
        let mut state = SavedState::default();
        let problems = apply_experiment(&[("layers".to_string(), layers.to_string())], &mut state);
        assert_eq!(problems, [message], "{layers}");
        assert_eq!(state, SavedState::default(), "the model stays as it was");
    }
}

#[test]
fn a_url_model_too_large_for_its_batch_is_named_with_the_estimate() {
    let mut state = SavedState::default();
    let problems = apply_experiment(&pairs("preset=cnn-64&batch_size=8192"), &mut state);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with(
            "this model cannot be trained with these settings: training at batch 8192 needs about 3.94 GB (weights"
        ),
        "{}",
        problems[0]
    );
    assert!(problems[0].contains("more than the 2.00 GB budget"));
    // Both values are valid on their own, so both apply; the page then refuses to train and
    // says why under the summary.
    assert_eq!(state.settings.batch_size, 8192);
    assert!(state.settings.memory_note(&state.spec).unwrap().is_err());
    // The same batch on 500 training images is one batch of 500: it fits.
    let mut state = SavedState::default();
    let problems = apply_experiment(
        &pairs("preset=cnn-64&batch_size=8192&train_images=500"),
        &mut state,
    );
    assert!(problems.is_empty(), "{problems:?}");
}
