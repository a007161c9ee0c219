//! CI's short fuzzing pass: every committed seed, and every input a fuzzer once crashed or
//! hung on (named `crash-*` / `hang-*`), through its target. `write_seeds` (ignored) rewrites
//! the generated seeds: `cargo test --release -p convlab-fuzz -- --ignored write_seeds`.

use convlab_core::data::{gzip, TEST_IMAGES, TEST_LABELS};
use convlab_core::{
    model_file, Backend, BackendKind, BackendTimings, EarlyStoppingConfig, EpochMetrics,
    FeatureMaps, Kernels, ModelHeader, ModelSpec, Monitor, Sequential, ShareGradients, ShareJob,
    StepTiming, StopReason, TrainConfig, TrainEvent, TrainingInfo, PRESET_NAMES,
};
use convlab_fuzz::{two_files, TARGETS};
use convlab_web::protocol::{
    BackendChoice, Destination, FileProgress, FromHelper, FromWorker, RequestKind, ShareRequest,
    TestResult, ToWorker, TrainRequest, WarmUp,
};
use std::path::PathBuf;

// The crate's folder as `cargo test` gives it at run time: the build folder is shared by
// checkouts at different paths (CI's fresh clones), and a test binary built in one of them is
// reused by the others, so the path compiled in may no longer exist.
fn crate_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

fn seeds_dir() -> PathBuf {
    crate_dir().join("seeds")
}

#[test]
fn every_seed_runs_through_its_target() {
    let mut folders: Vec<String> = std::fs::read_dir(seeds_dir())
        .expect("seeds/ exists")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    names.sort();
    assert_eq!(folders, names, "one seed folder per target");
    for (name, target) in TARGETS {
        let mut files: Vec<PathBuf> = std::fs::read_dir(seeds_dir().join(name))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{name} has seeds");
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&bytes));
            assert!(outcome.is_ok(), "{name}: {} panicked", file.display());
        }
    }
}

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(seeds_dir().join(target))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        // Inputs a fuzzer once crashed or hung on are replayed, not expected to be accepted.
        .filter(|(name, _)| !name.starts_with("crash-") && !name.starts_with("hang-"))
        .collect();
    files.sort();
    files
}

/// The generated seeds are inputs the parsers accept (so the fuzzer starts deep inside them);
/// when a format changes, rewrite them (see the top of this file).
#[test]
fn generated_seeds_are_accepted() {
    let rewrite =
        "rewrite the seeds: cargo test --release -p convlab-fuzz -- --ignored write_seeds";
    for target in ["idx", "idx_gz"] {
        for (name, bytes) in seeds(target) {
            let images = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
            let (images, labels) = bytes[4..].split_at(images);
            let parsed = convlab_core::Dataset::from_idx("images", images, "labels", labels);
            assert!(parsed.is_ok(), "{target}/{name}: {parsed:?}");
        }
    }
    for (name, bytes) in seeds("model_file") {
        let device = Backend::cpu().device.autodiff();
        let loaded = model_file::load(&bytes, &device);
        assert!(
            loaded.is_ok(),
            "model_file/{name}: {:?}; {rewrite}",
            loaded.err()
        );
    }
    for (name, bytes) in seeds("layers_text") {
        let spec = ModelSpec::parse_text(std::str::from_utf8(&bytes).unwrap()).unwrap();
        assert_eq!(spec.infer().is_ok(), name != "impossible.txt", "{name}");
    }
    for (name, bytes) in seeds("model_json") {
        let spec = ModelSpec::from_json(std::str::from_utf8(&bytes).unwrap()).unwrap();
        assert!(spec.infer().is_ok(), "{name}");
    }
    for (name, bytes) in seeds("to_worker") {
        let request = serde_json::from_slice::<ToWorker>(&bytes);
        assert!(request.is_ok(), "to_worker/{name}: {request:?}; {rewrite}");
    }
    for (name, bytes) in seeds("from_worker") {
        let reply = serde_json::from_slice::<FromWorker>(&bytes);
        assert!(reply.is_ok(), "from_worker/{name}: {reply:?}; {rewrite}");
    }
    for (name, bytes) in seeds("to_helper") {
        let request = serde_json::from_slice::<ShareRequest>(&bytes);
        let checked = request.map(|r| {
            let params = r.spec.param_count().unwrap();
            r.job().check(params)
        });
        assert!(
            matches!(checked, Ok(Ok(()))),
            "to_helper/{name}: {checked:?}; {rewrite}"
        );
    }
    for (name, bytes) in seeds("from_helper") {
        let reply = serde_json::from_slice::<FromHelper>(&bytes);
        assert!(reply.is_ok(), "from_helper/{name}: {reply:?}; {rewrite}");
    }
}

/// The first `n` test images of the committed Fashion-MNIST subset.
fn fixture(n: usize) -> convlab_core::Dataset {
    let dir = crate_dir().join("../../tests/fixtures/fashion-mnist");
    convlab_core::Dataset::load(&dir, TEST_IMAGES, TEST_LABELS)
        .unwrap()
        .take(n)
}

/// A tiny model's `.convlab` file (a few hundred parameters).
fn tiny_model_file(layers: &str, trained: bool) -> Vec<u8> {
    let spec = ModelSpec::parse_text(layers).unwrap();
    let device = Backend::cpu().device;
    device.seed(1);
    let model = Sequential::new(&spec, &device).unwrap();
    let info = trained.then(|| TrainingInfo {
        config: TrainConfig {
            epochs: 1,
            stop_at_loss: Some(0.4),
            ..TrainConfig::default()
        },
        epochs_run: 1,
        train_images: 100,
        test_accuracy: Some(0.5),
    });
    convlab_core::block_on(model_file::save(&model, &ModelHeader::new(spec, info))).unwrap()
}

fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

#[test]
#[ignore = "rewrites the committed seeds"]
fn write_seeds() {
    let mut seeds: Vec<(&str, String, Vec<u8>)> = Vec::new();
    let mut add = |target: &'static str, name: &str, bytes: Vec<u8>| {
        seeds.push((target, name.to_string(), bytes))
    };

    for n in [0, 1, 2] {
        let data = fixture(n);
        let (images, labels) = (data.images_idx(), data.labels_idx());
        add(
            "idx",
            &format!("{n}-images.bin"),
            two_files(&images, &labels),
        );
        add(
            "idx_gz",
            &format!("{n}-images.bin"),
            two_files(&gzip(&images), &gzip(&labels)),
        );
    }

    let small = "conv:2:3:relu,pool:13,flatten,dense:10:softmax";
    add("model_file", "conv.convlab", tiny_model_file(small, false));
    add(
        "model_file",
        "dense-trained.convlab",
        tiny_model_file("pool:7,flatten,dense:10:softmax", true),
    );

    for preset in PRESET_NAMES {
        let spec = ModelSpec::preset(preset).unwrap();
        add(
            "layers_text",
            &format!("{preset}.txt"),
            spec.to_text().into(),
        );
        add("model_json", &format!("{preset}.json"), json(&spec));
    }
    add(
        "layers_text",
        "short-forms.txt",
        b"Conv2D:16, pool ,flatten,dense:64:relu,dense:10:softmax".to_vec(),
    );
    add(
        "layers_text",
        "impossible.txt",
        b"conv:32:7,pool:4,conv:8:7,flatten,dense:10".to_vec(),
    );
    add(
        "model_json",
        "readme.json",
        br#"{"layers": [
  {"type": "Conv2D", "filters": 32, "kernel": 3, "activation": "relu"},
  {"type": "MaxPool2D", "pool": 2},
  {"type": "Flatten"},
  {"type": "Dense", "units": 128, "activation": "relu"},
  {"type": "Dense", "units": 10, "activation": "softmax"}]}"#
            .to_vec(),
    );

    for (name, query) in [
        ("preset", "preset=cnn&epochs=1&panels=model,train&lock=model&hide=share&allow=https://course.example.org&id=week3"),
        ("share", "layers=conv:16:5:relu,pool:2,flatten,dense:64:relu,dense:10:softmax&epochs=12&batch_size=64&learning_rate=0.0005&seed=7&validation_split=0.1&train_images=6000&webgpu=0&stop_at_loss=0.25&early_stopping=val_accuracy:3:0.001:restore&data=https://host/data/"),
        ("bad-values", "preset=cnn-64&epochs=lots&batch_size=128&stop_at_loss=0.4&layers=conv:x&early_stopping=val_loss&webgpu=maybe&colour=red"),
        ("embedding", "panels=data,model,maps,nope&lock=settings,data,maps&hide=preset,editor,settings,data-url,stop&allow=https://Example.org:443/,http://localhost:8000,*&id=lab%201"),
        ("encoded", "layers=conv%3A32%3A3%3Arelu%2Cpool%2Cflatten%2Cdense%3A10%3Asoftmax&early_stopping=off&stop_at_loss=off&validation_split=0.2"),
    ] {
        add("url_setup", &format!("{name}.txt"), query.into());
    }

    let config = TrainConfig {
        validation_split: 0.2,
        stop_at_loss: Some(0.4),
        early_stopping: Some(EarlyStoppingConfig {
            monitor: Monitor::ValLoss,
            min_delta: 0.001,
            patience: 2,
            restore_best_weights: true,
        }),
        ..TrainConfig::default()
    };
    let step = |samples_per_second| StepTiming {
        first_step_seconds: 21.4,
        samples_per_second,
        timed_steps: 2,
    };
    let timings = BackendTimings {
        adapter: "google swiftshader".into(),
        model: ModelSpec::preset("cnn").unwrap().to_text(),
        batch_size: 32,
        cpu_workers: 2,
        cpu: step(479.0),
        webgpu: step(20.3),
    };
    let warm_up = WarmUp {
        spec: ModelSpec::preset("cnn").unwrap(),
        batch_size: 32,
        backend: BackendChoice::Auto,
        cpu_workers: 2,
        timings: None,
    };
    let requests = [
        (
            "load-data",
            ToWorker::LoadData {
                base_url: "data/".into(),
            },
        ),
        (
            "train",
            ToWorker::Train(TrainRequest {
                spec: ModelSpec::preset("cnn").unwrap(),
                config,
                train_limit: Some(6000),
                backend: BackendChoice::Auto,
                cpu_workers: 2,
                timings: Some(Box::new(timings.clone())),
                resume: None,
                watch: vec![0, 23, 28],
            }),
        ),
        ("stop", ToWorker::Stop),
        (
            "feature-maps",
            ToWorker::FeatureMaps {
                spec: ModelSpec::preset("cnn-16").unwrap(),
                images: vec![0, 23, 28],
                seed: 42,
            },
        ),
        (
            "export",
            ToWorker::ExportModel {
                destination: Destination::Browser {
                    name: "my cnn".into(),
                },
            },
        ),
        (
            "load-model",
            ToWorker::LoadModel {
                origin: "cnn.convlab".into(),
                file: tiny_model_file(small, true),
            },
        ),
        (
            "classify",
            ToWorker::Classify {
                spec: ModelSpec::preset("cnn-1conv").unwrap(),
                pixels: vec![0.5; 784],
                seed: 42,
            },
        ),
        (
            "test-images",
            ToWorker::TestImages {
                indices: vec![408, 23],
            },
        ),
        ("inspect", ToWorker::Inspect { index: 408 }),
        ("warm-up", ToWorker::WarmUp(warm_up.clone())),
    ];
    for (name, request) in requests {
        add("to_worker", &format!("{name}.json"), json(&request));
    }

    let sample = fixture(1);
    let sample_pixels = sample.images.clone();
    let mut confusion = vec![vec![0usize; 10]; 10];
    confusion[3][3] = 7;
    confusion[3][6] = 2;
    let test = TestResult {
        loss: 0.35,
        accuracy: 0.88,
        confusion,
        labels: vec![3; 9],
        predictions: vec![3, 3, 6, 3, 3, 6, 3, 3, 3],
        confidences: vec![0.9, 0.8, 0.7, 0.95, 0.6, 0.55, 0.99, 0.5, 0.85],
    };
    let replies = [
        ("ready", FromWorker::Ready),
        (
            "progress",
            FromWorker::DataProgress(FileProgress {
                file: "t10k-labels-idx1-ubyte.gz".into(),
                loaded: 2048,
                total: Some(5148),
                cached: false,
            }),
        ),
        (
            "data-ready",
            FromWorker::DataReady {
                train: 60_000,
                test: 10_000,
                samples: sample.images,
                sample_labels: sample.labels,
            },
        ),
        (
            "backend",
            FromWorker::Backend {
                kind: BackendKind::Cpu,
                description: "CPU (burn-flex)".into(),
                timings: None,
            },
        ),
        (
            "warmed-up",
            FromWorker::WarmedUp {
                warm_up,
                backend: BackendKind::Wgpu,
                description: "WebGPU (google swiftshader)".into(),
                seconds: 7.84,
                timings: Some(Box::new(timings)),
            },
        ),
        (
            "epoch",
            FromWorker::Training(TrainEvent::Epoch(EpochMetrics {
                epoch: 1,
                loss: 0.5,
                accuracy: 0.82,
                val_loss: Some(0.4),
                val_accuracy: Some(0.86),
                seconds: 4.8,
                samples: 48_000,
            })),
        ),
        (
            "stopped",
            FromWorker::Training(TrainEvent::Stopped {
                epoch: 3,
                reason: StopReason::LossThreshold {
                    loss: 0.39,
                    threshold: 0.4,
                },
                message: "Reached the desired loss, so cancelling training!".into(),
            }),
        ),
        (
            "memory",
            FromWorker::WorkerMemory {
                epoch: 1,
                wasm_bytes: 1 << 28,
            },
        ),
        ("tested", FromWorker::Tested(test.clone())),
        (
            "feature-maps",
            FromWorker::FeatureMaps {
                maps: vec![FeatureMaps {
                    layer: 0,
                    name: "conv2d".into(),
                    images: 1,
                    channels: 2,
                    height: 2,
                    width: 2,
                    values: vec![0.5, -1.25, 3.0e-7, 42.0, 0.0, 1.0, 2.0, 3.0],
                }],
                images: vec![0],
                labels: vec![9],
                trained: true,
            },
        ),
        (
            "loaded",
            FromWorker::ModelLoaded {
                origin: "cnn.convlab".into(),
                header: ModelHeader::new(ModelSpec::preset("dnn").unwrap(), None),
                test,
            },
        ),
        (
            "classified",
            FromWorker::Classified {
                probabilities: vec![0.1; 10],
                maps: Vec::new(),
                trained: true,
            },
        ),
        (
            "test-images",
            FromWorker::TestImages {
                indices: vec![0],
                pixels: sample_pixels.clone(),
            },
        ),
        (
            "inspected",
            FromWorker::Inspected {
                index: 0,
                probabilities: vec![0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.55],
                maps: Vec::new(),
            },
        ),
        (
            "snapshot",
            FromWorker::Snapshot {
                epoch: 1,
                kernels: vec![Kernels {
                    layer: 0,
                    name: "conv2d".into(),
                    filters: 2,
                    channels: 1,
                    size: 3,
                    values: (0..18).map(|v| v as f32 / 9.0 - 1.0).collect(),
                }],
                maps: Vec::new(),
            },
        ),
        (
            "failed",
            FromWorker::Failed {
                request: RequestKind::Train,
                message: "invalid setting epochs: must be between 1 and 1000, got 0".into(),
            },
        ),
    ];
    for (name, reply) in replies {
        add("from_worker", &format!("{name}.json"), json(&reply));
    }

    // A share each of a dense and a convolutional model small enough for the target to
    // compute their gradients.
    for (name, layers, params) in [
        ("share-dense", "pool:7,flatten,dense:10:softmax", 170),
        ("share-conv", small, 110),
    ] {
        let spec = ModelSpec::parse_text(layers).unwrap();
        assert_eq!(spec.param_count(), Ok(params));
        let job = ShareJob {
            weights: std::sync::Arc::new((0..params).map(|i| i as f32 / 1e3 - 0.05).collect()),
            examples: fixture(2),
            scale: 0.5,
        };
        let request = ShareRequest::for_jobs(&spec, vec![job]).remove(0);
        add("to_helper", &format!("{name}.json"), json(&request));
    }
    let helper_replies = [
        ("ready", FromHelper::Ready),
        (
            "gradients",
            FromHelper::gradients(
                &ShareGradients {
                    gradients: vec![0.5, -1.25, 3.0e-7],
                    loss_sum: 1.5,
                    correct: 1.0,
                    seconds: 0.03125,
                },
                0.03125,
            ),
        ),
        (
            "failed",
            FromHelper::Failed {
                message: "cannot compute the share: the share has no examples".into(),
            },
        ),
        (
            "crashed",
            FromHelper::Crashed {
                message: "the helper worker panicked".into(),
            },
        ),
    ];
    for (name, reply) in helper_replies {
        add("from_helper", &format!("{name}.json"), json(&reply));
    }

    for (target, name, bytes) in seeds {
        let dir = seeds_dir().join(target);
        std::fs::create_dir_all(&dir).unwrap();
        assert!(bytes.len() <= convlab_fuzz::MAX_INPUT, "{target}/{name}");
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
