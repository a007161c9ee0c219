//! Training in headless Chromium. Run twice by `.ci/run`: with `--enable-unsafe-webgpu`
//! (WebGPU through SwiftShader) and without it (no adapter: the CPU fallback).
//! `CONVLAB_EXPECT_BACKEND` (wgpu or cpu, read at build time) says which run this is, so a
//! WebGPU run that silently fell back to the CPU fails.
#![cfg(target_family = "wasm")]

use convlab_core::{evaluate, Dataset, ModelSpec, TrainConfig, TrainEvent, Trainer};
use convlab_web::{choose_backend, create_trainer, webgpu_adapter_available, WebTrainer};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const TRAIN_IMAGES: &[u8] =
    include_bytes!("../../../tests/fixtures/fashion-mnist/train-images-idx3-ubyte.gz");
const TRAIN_LABELS: &[u8] =
    include_bytes!("../../../tests/fixtures/fashion-mnist/train-labels-idx1-ubyte.gz");

fn expected_backend() -> &'static str {
    option_env!("CONVLAB_EXPECT_BACKEND").unwrap_or("any")
}

fn fixture() -> Dataset {
    Dataset::from_idx("train images", TRAIN_IMAGES, "train labels", TRAIN_LABELS).unwrap()
}

#[wasm_bindgen_test]
async fn backend_matches_the_browser() {
    let available = webgpu_adapter_available().await;
    let backend = choose_backend(true).await;
    web_sys_log(&format!(
        "WebGPU adapter: {available}; backend: {}",
        backend.description
    ));
    match expected_backend() {
        "wgpu" => {
            assert!(
                available,
                "this run has --enable-unsafe-webgpu: an adapter was expected"
            );
            assert_eq!(
                backend.kind,
                convlab_core::BackendKind::Wgpu,
                "{}",
                backend.description
            );
        }
        "cpu" => {
            assert!(
                !available,
                "this run has no WebGPU flag: no adapter was expected"
            );
            assert_eq!(backend.kind, convlab_core::BackendKind::Cpu);
            assert!(
                backend.description.contains("no WebGPU adapter"),
                "{}",
                backend.description
            );
        }
        _ => {}
    }
}

/// A few steps of the lab CNN on real images lower the loss on those images.
#[wasm_bindgen_test]
async fn cnn_training_steps_lower_the_loss() {
    let backend = choose_backend(true).await;
    let data = fixture().take(96);
    let config = TrainConfig {
        epochs: 1,
        batch_size: 16,
        report_every: 2,
        ..TrainConfig::default()
    };
    let spec = ModelSpec::preset("cnn").unwrap();
    let mut trainer = Trainer::new(&spec, config, data.clone(), backend.device.clone()).unwrap();
    let before = evaluate(trainer.model(), &data, trainer.device())
        .await
        .unwrap();
    let mut events = Vec::new();
    let started = js_sys::Date::now();
    while trainer.step(&mut |e| events.push(e)).await.unwrap() {}
    let ms_per_step = (js_sys::Date::now() - started) / 6.0;
    let after = evaluate(trainer.model(), &data, trainer.device())
        .await
        .unwrap();
    web_sys_log(&format!(
        "{}: loss {:.4} -> {:.4} after 6 steps of batch 16, {ms_per_step:.0} ms per step (the first steps include kernel compilation)",
        backend.description, before.loss, after.loss
    ));
    assert!(
        before.loss > 2.0 && before.loss < 2.6,
        "untrained loss {}",
        before.loss
    );
    assert!(
        after.loss < before.loss - 0.1,
        "{} -> {}",
        before.loss,
        after.loss
    );
    let batches = events
        .iter()
        .filter(|e| matches!(e, TrainEvent::Batch { .. }))
        .count();
    assert_eq!(batches, 3);
    assert!(matches!(events.last(), Some(TrainEvent::Epoch(m)) if m.samples == 96));
}

/// The JavaScript API: events arrive as plain objects, Stop ends training before a batch.
#[wasm_bindgen_test]
async fn js_api_emits_events_and_stops() {
    let events = js_sys::Array::new();
    let sink = events.clone();
    let on_event = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        sink.push(&e);
    });
    let subset = fixture().take(64);
    let (images, labels) = (subset.images_idx(), subset.labels_idx());
    let trainer = create_trainer(
        r#"{"layers":[{"type":"Flatten"},{"type":"Dense","units":32,"activation":"relu"},{"type":"Dense","units":10,"activation":"softmax"}]}"#.into(),
        r#"{"epochs":3,"batch_size":16,"report_every":1}"#.into(),
        images.clone(),
        labels.clone(),
        true,
        on_event.as_ref().unchecked_ref::<js_sys::Function>().clone(),
    )
    .await
    .unwrap();
    assert!(step(&trainer).await);
    assert!(step(&trainer).await);
    trainer.stop();
    assert!(!step(&trainer).await);
    let kinds: Vec<String> = events
        .iter()
        .map(|e| {
            js_sys::Reflect::get(&e, &"event".into())
                .unwrap()
                .as_string()
                .unwrap()
        })
        .collect();
    assert_eq!(kinds, ["started", "batch", "batch", "stopped"]);
    let batch = events.get(2);
    let seen = js_sys::Reflect::get(&batch, &"samples_seen".into()).unwrap();
    assert_eq!(seen.as_f64(), Some(32.0));
    let loss = js_sys::Reflect::get(&batch, &"loss".into())
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(loss.is_finite() && loss > 0.0);

    let evaluation = JsFuture::from(trainer.evaluate(images.clone(), labels.clone()))
        .await
        .unwrap();
    let accuracy = js_sys::Reflect::get(&evaluation, &"accuracy".into()).unwrap();
    assert!((0.0..=1.0).contains(&accuracy.as_f64().unwrap()));

    // Bad input is an exception with a message, not a panic.
    let err = create_trainer(
        r#"{"layers":[{"type":"Dense","units":10}]}"#.into(),
        "{}".into(),
        images,
        labels,
        false,
        js_sys::Function::new_no_args(""),
    )
    .await
    .err()
    .expect("a Dense layer straight on the image is refused");
    let message = js_sys::Reflect::get(&err, &"message".into())
        .unwrap()
        .as_string()
        .unwrap();
    assert!(message.contains("layer 0 (Dense)"), "{message}");
}

async fn step(trainer: &WebTrainer) -> bool {
    JsFuture::from(trainer.step())
        .await
        .unwrap()
        .as_bool()
        .unwrap()
}

fn web_sys_log(message: &str) {
    web_sys_console_log(message);
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn web_sys_console_log(s: &str);
}
