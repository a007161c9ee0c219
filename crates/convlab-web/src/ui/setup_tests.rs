//! The URL setup's rules: shared links, the settings it sets, the embedding (the refusals of
//! bad values are in `setup_refusal_tests.rs`).
use super::*;

pub(super) fn pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.replace("%3A", ":"))
        })
        .collect()
}

#[test]
fn a_shared_experiment_restores_exactly() {
    let settings = Settings {
        epochs: 12,
        batch_size: 64,
        learning_rate: 0.0005,
        seed: 7,
        validation_split: 0.1,
        train_limit: 6000,
        backend: BackendChoice::Cpu,
        cpu_workers: Some(3),
        stop_at_loss_on: true,
        stop_at_loss: 0.25,
        early_stopping_on: true,
        monitor: Monitor::ValAccuracy,
        patience: 3,
        min_delta: 0.001,
        restore_best_weights: true,
    };
    let state = SavedState {
        spec: ModelSpec::parse_text("conv:16:5:relu,pool:2,flatten,dense:64:relu,dense:10:softmax")
            .unwrap(),
        preset: "custom".into(),
        settings,
        ..SavedState::default()
    };
    let query = share_query(&state, None);
    assert!(
        query.starts_with(
            "layers=conv:16:5:relu,pool:2,flatten,dense:64:relu,dense:10:softmax&epochs=12"
        ),
        "{query}"
    );
    let mut restored = SavedState::default();
    assert_eq!(
        apply_experiment(&pairs(&query), &mut restored),
        Vec::<String>::new()
    );
    assert_eq!(restored, state);
    assert!(has_experiment(&pairs(&query)));
}

#[test]
fn a_preset_link_names_the_preset() {
    let state = SavedState::default();
    let query = share_query(&state, Some("https://host/data/"));
    assert!(query.starts_with("preset=cnn&"), "{query}");
    assert!(query.ends_with("&data=https://host/data/"), "{query}");
    let mut restored = SavedState {
        preset: "dnn".into(),
        spec: ModelSpec::preset("dnn").unwrap(),
        ..SavedState::default()
    };
    apply_experiment(&pairs(&query), &mut restored);
    assert_eq!(restored.spec, state.spec);
    assert_eq!(restored.preset, "cnn");
}

#[test]
fn bad_values_are_named_and_the_rest_applies() {
    let mut state = SavedState::default();
    let problems = apply_experiment(
        &pairs("preset=cnn-64&epochs=lots&batch_size=128&stop_at_loss=0.4&layers=conv:x&early_stopping=val_loss&webgpu=maybe&colour=red"),
        &mut state,
    );
    assert_eq!(state.spec, ModelSpec::preset("cnn-64").unwrap());
    assert_eq!(state.settings.batch_size, 128);
    assert!(state.settings.stop_at_loss_on && state.settings.stop_at_loss == 0.4);
    assert_eq!(state.settings.epochs, 5);
    assert_eq!(problems.len(), 5, "{problems:?}");
    assert!(problems[0].contains("layers: layer 0 'conv:x': filters 'x' is not a whole number"));
    assert_eq!(encode("a b&c:d,e/é"), "a%20b%26c:d,e/%C3%A9");
    assert!(problems
        .iter()
        .any(|p| p == "URL parameter epochs='lots' is not a whole number from 1 to 1000"));
    assert!(problems
        .iter()
        .any(|p| p.starts_with("URL parameter early_stopping='val_loss': wrong number of parts")));
    assert!(problems.iter().any(|p| p.contains("webgpu='maybe'")));
    assert!(problems
        .iter()
        .any(|p| p.starts_with("unknown URL parameter 'colour'")));
}

#[test]
fn the_backend_is_chosen_by_name_and_old_links_still_force_one() {
    let backend = |query: &str| {
        let mut state = SavedState::default();
        let problems = apply_experiment(&pairs(query), &mut state);
        (state.settings.backend, problems)
    };
    assert_eq!(SavedState::default().settings.backend, BackendChoice::Auto);
    assert_eq!(backend("backend=cpu"), (BackendChoice::Cpu, vec![]));
    assert_eq!(backend("backend=webgpu"), (BackendChoice::Webgpu, vec![]));
    assert_eq!(backend("webgpu=1"), (BackendChoice::Webgpu, vec![]));
    assert_eq!(backend("webgpu=0"), (BackendChoice::Cpu, vec![]));
    let (choice, problems) = backend("backend=gpu");
    assert_eq!(choice, BackendChoice::Auto);
    assert_eq!(
        problems,
        ["URL parameter backend='gpu' is not auto, webgpu or cpu"]
    );
    let state = SavedState {
        settings: Settings {
            backend: BackendChoice::Cpu,
            ..Settings::default()
        },
        ..SavedState::default()
    };
    assert!(share_query(&state, None).contains("&backend=cpu&"));
}

#[test]
fn settings_saved_with_the_old_webgpu_checkbox_keep_their_meaning() {
    let read = |json: &str| serde_json::from_str::<Settings>(json).unwrap().backend;
    assert_eq!(read(r#"{"prefer_webgpu": true}"#), BackendChoice::Auto);
    assert_eq!(read(r#"{"prefer_webgpu": false}"#), BackendChoice::Cpu);
    assert_eq!(read(r#"{"backend": "webgpu"}"#), BackendChoice::Webgpu);
    assert_eq!(read("{}"), BackendChoice::Auto);
    let saved = serde_json::to_string(&Settings::default()).unwrap();
    assert!(saved.contains(r#""backend":"auto""#), "{saved}");
    assert!(serde_json::from_str::<Settings>(r#"{"backend": "tpu"}"#).is_err());
}

#[test]
fn values_that_parse_but_cannot_train_are_refused() {
    let mut state = SavedState::default();
    let problems = apply_experiment(
        &pairs("epochs=0&validation_split=1.5&train_images=0&stop_at_loss=-1&batch_size=64&learning_rate=0"),
        &mut state,
    );
    assert_eq!(problems.len(), 5, "{problems:?}");
    assert!(
        problems[0].starts_with("URL parameter epochs='0' cannot be used: invalid setting epochs"),
        "{}",
        problems[0]
    );
    assert!(problems[1].contains("validation_split='1.5'"));
    assert_eq!(
        state.settings,
        Settings {
            batch_size: 64,
            ..Settings::default()
        }
    );
}

#[test]
fn embedding_reads_panels_locks_and_origins() {
    let (shape, problems) = embedding(&pairs(
        "panels=model,train&lock=model,settings&hide=share,stop&allow=https://Course.example.org:443/,http://127.0.0.1:8000&id=lab-a",
    ));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(shape.panels, Some(vec!["model-panel", "train-panel"]));
    let locked: Vec<&str> = shape.locked.iter().map(|c| c.id()).collect();
    assert_eq!(locked, vec!["preset", "editor", "model-file", "settings"]);
    assert_eq!(shape.hidden, vec!["share-bar", "stop"]);
    assert_eq!(
        shape.allow,
        vec!["https://course.example.org", "http://127.0.0.1:8000"]
    );
    assert_eq!(shape.id.as_deref(), Some("lab-a"));

    let (shape, problems) = embedding(&pairs("panels=model,graphs&allow=*&lock=everything"));
    assert_eq!(shape.panels, Some(vec!["model-panel"]));
    assert!(shape.allow.is_empty());
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].contains("unknown name 'graphs'"));
    assert!(problems[1].contains("'*' is not an origin"));
}

#[test]
fn the_storage_key_ignores_order_and_embedding() {
    let a = experiment_key(&pairs("epochs=3&preset=cnn&panels=train"));
    let b = experiment_key(&pairs("preset=cnn&allow=http://x.org&epochs=3"));
    assert_eq!(a, b);
    assert_eq!(a, "epochs=3&preset=cnn");
    assert!(!has_experiment(&pairs("data=fixtures/&panels=train")));
}

#[test]
fn cpu_workers_are_set_by_number_or_automatic_and_checked() {
    let mut state = SavedState::default();
    assert!(apply_experiment(&pairs("workers=3"), &mut state).is_empty());
    assert_eq!(state.settings.cpu_workers, Some(3));
    assert!(share_query(&state, None).contains("&workers=3"));
    assert!(apply_experiment(&pairs("workers=auto"), &mut state).is_empty());
    assert_eq!(state.settings.cpu_workers, None);
    assert!(share_query(&state, None).ends_with("&workers=auto"));
    let problems = apply_experiment(&pairs("workers=0&workers=two&workers=9"), &mut state);
    assert_eq!(
        &problems[..3],
        [
            "URL parameter workers='0' cannot be used: CPU workers: use 1 to 8, or automatic",
            "URL parameter workers='two' is not auto or a number of CPU workers",
            "URL parameter workers='9' cannot be used: CPU workers: use 1 to 8, or automatic",
        ]
    );
    assert_eq!(state.settings.cpu_workers, None, "nothing bad was applied");
}
