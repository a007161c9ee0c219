//! Fuzz targets for every parser of outside input, one plain function per target. Each takes
//! arbitrary bytes, runs the parser as convlab runs it, and checks what a success promises;
//! a refusal (an `Err`) is the expected outcome of most inputs. A target never returns an error:
//! a panic (or an endless loop) is the bug the fuzzer looks for.
//!
//! The same functions serve the replay of the committed seeds (`tests/seeds.rs`, run by
//! `cargo test`) and the AFL++ harness (`src/bin/fuzz.rs`, run by `scripts/fuzz.sh`).

use convlab_core::data::{maybe_gunzip, IMAGE_PIXELS};
use convlab_core::spec::{MAX_LAYERS, MAX_PARAMS};
use convlab_core::{model_file, Backend, Dataset, ModelSpec, ShareReplica, Summary};
use convlab_web::protocol::{FromHelper, FromWorker, ShareRequest, ToWorker, TrainRequest};
use convlab_web::ui::saved::SavedState;
use convlab_web::ui::setup;

/// Longer inputs are skipped, as libFuzzer's `-max_len` would: every parser here reads inputs
/// of a few kilobytes at most in the seeds, and a gzip stream can inflate a thousandfold.
pub const MAX_INPUT: usize = 64 * 1024;

/// Training images in Fashion-MNIST: the worker trains on at most this many.
const TRAIN_IMAGES: usize = 60_000;
/// Test images: the feature-map request's indices are checked against this many.
const TEST_IMAGES: usize = 10_000;

/// Share requests on models up to this size are computed, not only checked: a replica of a
/// larger model would take too long per input.
const MAX_COMPUTED_PARAMS: usize = 20_000;

/// A fuzz target: arbitrary bytes in, a panic on a bug.
pub type Target = fn(&[u8]);

/// Every target, by the name `scripts/fuzz.sh`, the harness and the seed folders use.
pub const TARGETS: [(&str, Target); 10] = [
    ("idx", idx),
    ("idx_gz", idx_gz),
    ("model_file", model_file),
    ("layers_text", layers_text),
    ("model_json", model_json),
    ("url_setup", url_setup),
    ("to_worker", to_worker),
    ("from_worker", from_worker),
    ("to_helper", to_helper),
    ("from_helper", from_helper),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The IDX targets' input: an image file and a label file in one buffer, the image file's
/// length first (u32, little-endian).
pub fn two_files(images: &[u8], labels: &[u8]) -> Vec<u8> {
    let mut input = (images.len() as u32).to_le_bytes().to_vec();
    input.extend_from_slice(images);
    input.extend_from_slice(labels);
    input
}

/// Splits an IDX target's input back into its two files (a length past the end takes all).
fn split_files(data: &[u8]) -> (&[u8], &[u8]) {
    if data.len() < 4 {
        return (data, &[]);
    }
    let claimed = u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as usize;
    let rest = &data[4..];
    rest.split_at(claimed.min(rest.len()))
}

/// `Dataset::from_idx` on raw IDX files (as the CLI reads unpacked files).
pub fn idx(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let (images, labels) = split_files(data);
    check_idx(images, labels);
}

/// The gzip layer (`maybe_gunzip`) and then `Dataset::from_idx`, on gzipped IDX files as the
/// page downloads them. The seeds are gzipped; mutations of their deflate streams, headers
/// and checksums exercise the decoder, those that lose the magic the raw path.
pub fn idx_gz(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let (images, labels) = split_files(data);
    for (name, bytes) in [("images.gz", images), ("labels.gz", labels)] {
        match maybe_gunzip(name, bytes) {
            Ok(raw) => {
                if !bytes.starts_with(&[0x1f, 0x8b]) {
                    assert_eq!(raw, bytes, "bytes without the gzip magic pass unchanged");
                }
            }
            Err(e) => assert!(e.to_string().starts_with(name), "{e}"),
        }
    }
    check_idx(images, labels);
}

fn check_idx(images: &[u8], labels: &[u8]) {
    match Dataset::from_idx("images.idx", images, "labels.idx", labels) {
        Ok(data) => {
            assert_eq!(data.images.len(), data.len() * IMAGE_PIXELS);
            assert!(data.labels.iter().all(|&l| l < 10));
            // What the worker does with a decoded set: thumbnails, a split, scaled pixels.
            let shown = data.take(100);
            let _ = shown.pixels_f32(0..shown.len().min(2));
            let count = data.len();
            let (train, val) = data.split_validation(0.2);
            assert_eq!(train.len() + val.len(), count);
            assert_eq!(train.images.len() + val.images.len(), count * IMAGE_PIXELS);
        }
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.contains("images.idx") || message.contains("labels.idx"),
                "an IDX error names its file: {message}"
            );
        }
    }
}

/// `model_file::load` onto the CPU autodiff device, as the worker loads a `.convlab` file.
pub fn model_file(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let device = Backend::cpu().device.autodiff();
    match model_file::load(data, &device) {
        Ok((model, header)) => {
            assert_eq!(model.spec(), &header.spec);
            header.spec.infer().expect("a loaded model's spec infers");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// `ModelSpec::parse_text` (the URL's and the CLI's `layers`), then shape inference.
pub fn layers_text(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let text = String::from_utf8_lossy(data);
    match ModelSpec::parse_text(&text) {
        Ok(spec) => {
            assert!(!spec.layers.is_empty() && spec.layers.len() <= MAX_LAYERS);
            assert_eq!(ModelSpec::parse_text(&spec.to_text()).as_ref(), Ok(&spec));
            check_spec(&spec);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// `ModelSpec::from_json` (the CLI's `--model` file), then shape inference.
pub fn model_json(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let text = String::from_utf8_lossy(data);
    match ModelSpec::from_json(&text) {
        Ok(spec) => {
            let json = serde_json::to_string(&spec).expect("a spec serializes");
            assert_eq!(ModelSpec::from_json(&json).as_ref(), Ok(&spec));
            if !spec.layers.is_empty() && spec.layers.len() <= MAX_LAYERS {
                assert_eq!(ModelSpec::parse_text(&spec.to_text()).as_ref(), Ok(&spec));
            }
            check_spec(&spec);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// Shape inference and what the page shows of it (Keras's summary table).
fn check_spec(spec: &ModelSpec) {
    match spec.infer() {
        Ok(layers) => {
            assert_eq!(layers.len(), spec.layers.len());
            let params: usize = layers.iter().map(|l| l.params).sum();
            assert!(params <= MAX_PARAMS);
            assert_eq!(spec.param_count(), Ok(params));
            let summary = Summary::of(spec).expect("a spec that infers has a summary");
            let _ = summary.to_table("sequential");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// The page's URL setup: the query as the page reads it (`Url::query_pairs`), the experiment
/// applied to the default state, the embedding. A share link of the result must restore the
/// same experiment, without a problem.
pub fn url_setup(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let query = String::from_utf8_lossy(data);
    let Ok(page) = url::Url::parse(&format!("https://lab.example.org/convlab/?{query}")) else {
        return;
    };
    let pairs: Vec<(String, String)> = page.query_pairs().into_owned().collect();
    let has_experiment = setup::has_experiment(&pairs);
    assert_eq!(has_experiment, !setup::experiment_key(&pairs).is_empty());
    let mut state = SavedState::default();
    let problems = setup::apply_experiment(&pairs, &mut state);
    if !has_experiment {
        assert_eq!(state, SavedState::default());
    }
    for problem in &problems {
        assert!(!problem.is_empty());
    }
    assert_eq!(state.settings.check(), Ok(()), "applied settings pass");
    let (embedding, _problems) = setup::embedding(&pairs);
    for origin in &embedding.allow {
        assert!(origin.starts_with("http://") || origin.starts_with("https://"));
    }
    // A share link of what was applied restores it.
    let data_url = pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "data")
        .map(|(_, v)| v.as_str());
    let share = setup::share_query(&state, data_url);
    let shared: Vec<(String, String)> = url::form_urlencoded::parse(share.as_bytes())
        .into_owned()
        .collect();
    let mut restored = SavedState::default();
    assert_eq!(
        setup::apply_experiment(&shared, &mut restored),
        Vec::<String>::new(),
        "{share}"
    );
    assert_eq!(restored.spec, state.spec, "{share}");
    assert_eq!(setup::share_query(&restored, data_url), share);
    if let Some(data_url) = data_url {
        let back = shared.iter().find(|(k, _)| k == "data").map(|(_, v)| v);
        assert_eq!(back.map(String::as_str), Some(data_url), "{share}");
    }
}

/// A page-to-worker request, through the same `Deserialize` impl the worker uses (there via
/// serde-wasm-bindgen, here via JSON), then the checks the worker makes before working.
pub fn to_worker(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let Ok(request) = serde_json::from_slice::<ToWorker>(data) else {
        return;
    };
    let _ = request.kind();
    let _ = serde_json::to_vec(&request);
    match request {
        ToWorker::Train(TrainRequest {
            spec,
            config,
            train_limit,
            ..
        }) => {
            check_spec(&spec);
            if train_limit != Some(0) {
                let images = train_limit.map_or(TRAIN_IMAGES, |n| n.min(TRAIN_IMAGES));
                if let Err(e) = config.validate(images) {
                    let _ = e.to_string();
                }
            }
        }
        ToWorker::FeatureMaps { spec, images, .. } => {
            check_spec(&spec);
            let _ = images.iter().all(|&i| i < TEST_IMAGES);
        }
        ToWorker::LoadModel { file, .. } => model_file(&file),
        // Nothing to check before working (a checkpoint to resume from is checked against the
        // model by `Trainer::resume`, which builds the model: too slow for a fuzz target).
        _ => {}
    }
}

/// A worker-to-page reply, through its `Deserialize` impl; the feature maps' byte encoding
/// must give maps whose every channel can be drawn.
pub fn from_worker(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let Ok(reply) = serde_json::from_slice::<FromWorker>(data) else {
        return;
    };
    let _ = reply.request();
    if let FromWorker::FeatureMaps { maps, .. } = &reply {
        for map in maps {
            let plane = map.height * map.width;
            assert_eq!(map.values.len(), map.images * map.channels * plane);
            if map.images > 0 && map.channels > 0 {
                assert_eq!(map.channel(map.images - 1, map.channels - 1).len(), plane);
            }
        }
    }
}

/// A share of a batch as a helper worker receives it, then what the helper does with it: the
/// job checked and, on a small enough model, its gradients computed by a replica.
pub fn to_helper(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let Ok(request) = serde_json::from_slice::<ShareRequest>(data) else {
        return;
    };
    let spec = request.spec.clone();
    check_spec(&spec);
    let Ok(params) = spec.param_count() else {
        return;
    };
    let job = request.job();
    if job.check(params).is_err() || params > MAX_COMPUTED_PARAMS {
        return;
    }
    let Ok(mut replica) = ShareReplica::new(&spec, &Backend::cpu().device) else {
        return;
    };
    match convlab_core::block_on(replica.gradients(&job)) {
        Ok(share) => {
            assert_eq!(share.gradients.len(), params);
            // Weights that are not finite (a diverged run's) give a loss that is not either,
            // which stops the trainer's run by name; its correct count means nothing then.
            assert!(
                !share.loss_sum.is_finite()
                    || (share.correct >= 0.0 && share.correct <= job.examples.len() as f32),
                "loss sum {}, {} correct of {}",
                share.loss_sum,
                share.correct,
                job.examples.len()
            );
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// A helper's answer as the training worker receives it and takes it as a share's result:
/// gradients are whole f32 values, anything else is a named failure of that helper.
pub fn from_helper(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let Ok(reply) = serde_json::from_slice::<FromHelper>(data) else {
        return;
    };
    let bytes = match &reply {
        FromHelper::Gradients { gradients, .. } => Some(gradients.len()),
        _ => None,
    };
    match (reply.into_share(3, 0.0), bytes) {
        (Ok(share), Some(bytes)) => assert_eq!(share.gradients.len(), bytes / 4),
        (Err(e), None) => assert!(e.to_string().starts_with("helper 3 "), "{e}"),
        (result, _) => panic!("a share from a reply of the wrong kind: {result:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_files_split_back() {
        let input = two_files(b"abc", b"de");
        assert_eq!(split_files(&input), (&b"abc"[..], &b"de"[..]));
        assert_eq!(split_files(b"ab"), (&b"ab"[..], &b""[..]));
        let mut long = input.clone();
        long[0] = 200;
        assert_eq!(split_files(&long), (&b"abcde"[..], &b""[..]));
    }

    #[test]
    fn every_target_is_found_by_name() {
        for (name, _) in TARGETS {
            assert!(target(name).is_some());
        }
        assert!(target("nope").is_none());
    }
}
