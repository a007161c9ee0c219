//! The backend the browser gives, training steps that lower the loss, and messages that
//! survive a trip through a JS value.

use crate::{expected_backend, fixture, web_sys_log};
use convlab_core::{evaluate, Kernels, ModelSpec, TrainConfig, TrainEvent, Trainer};
use convlab_web::protocol::{BackendChoice, FromWorker, ToWorker, TrainRequest};
use convlab_web::{choose_backend, webgpu_adapter_available};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

#[wasm_bindgen_test]
async fn backend_matches_the_browser() {
    let available = webgpu_adapter_available().await;
    let backend = choose_backend(BackendChoice::Webgpu).await;
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
    let backend = choose_backend(BackendChoice::Webgpu).await;
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

/// Messages cross postMessage as structured clones built by serde-wasm-bindgen: a request
/// and a reply survive the trip through a JS value.
#[wasm_bindgen_test]
fn messages_round_trip_through_js_values() {
    let request = ToWorker::Train(TrainRequest {
        spec: ModelSpec::preset("cnn").unwrap(),
        config: TrainConfig {
            stop_at_loss: Some(0.4),
            ..TrainConfig::default()
        },
        train_limit: Some(500),
        backend: BackendChoice::Webgpu,
        cpu_workers: 1,
        timings: None,
        resume: None,
        watch: Vec::new(),
    });
    let value = request.to_js().unwrap();
    let kind = js_sys::Reflect::get(&value, &"request".into()).unwrap();
    assert_eq!(kind.as_string().as_deref(), Some("train"));
    assert_eq!(ToWorker::from_js(value).unwrap(), request);

    let reply = FromWorker::Training(TrainEvent::Batch {
        epoch: 1,
        batch: 3,
        batches: 10,
        samples_seen: 96,
        loss: 0.5,
        accuracy: 0.75,
        samples_per_second: 1234.5,
    });
    assert_eq!(FromWorker::from_js(reply.to_js().unwrap()).unwrap(), reply);
    let snapshot = FromWorker::Snapshot {
        epoch: 2,
        kernels: vec![Kernels {
            layer: 0,
            name: "conv2d".into(),
            filters: 2,
            channels: 1,
            size: 3,
            values: (0..18).map(|v| v as f32 - 9.0).collect(),
        }],
        maps: Vec::new(),
    };
    assert_eq!(
        FromWorker::from_js(snapshot.to_js().unwrap()).unwrap(),
        snapshot
    );

    let err = ToWorker::from_js(JsValue::from_str("train"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("not a convlab request"), "{err}");
}
