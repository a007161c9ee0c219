//! The wire form of the page-worker messages.
use super::*;
use convlab_core::FeatureMaps;

#[test]
fn per_class_accuracy_reads_the_diagonal() {
    let mut confusion = vec![vec![0; 10]; 10];
    confusion[0][0] = 3;
    confusion[0][6] = 1;
    confusion[1][1] = 2;
    let result = TestResult {
        loss: 0.5,
        accuracy: 0.8,
        confusion,
        labels: Vec::new(),
        predictions: Vec::new(),
        confidences: Vec::new(),
    };
    let per_class = result.per_class_accuracy();
    assert_eq!(per_class[0], Some(0.75));
    assert_eq!(per_class[1], Some(1.0));
    assert_eq!(per_class[2], None);
}

#[test]
fn feature_maps_survive_the_byte_encoding() {
    let reply = FromWorker::FeatureMaps {
        maps: vec![FeatureMaps {
            layer: 0,
            name: "conv2d".into(),
            images: 1,
            channels: 2,
            height: 1,
            width: 2,
            values: vec![0.5, -1.25, 3.0e-7, 42.0],
        }],
        images: vec![0],
        labels: vec![9],
        trained: false,
    };
    let json = serde_json::to_string(&reply).unwrap();
    assert_eq!(serde_json::from_str::<FromWorker>(&json).unwrap(), reply);
    let broken = json.replacen("\"channels\":2", "\"channels\":3", 1);
    let err = serde_json::from_str::<FromWorker>(&broken).unwrap_err();
    assert!(
        err.to_string()
            .contains("feature maps of conv2d carry 16 bytes"),
        "{err}"
    );
}

#[test]
fn requests_are_tagged_json() {
    let json = serde_json::to_string(&ToWorker::Stop).unwrap();
    assert_eq!(json, r#"{"request":"stop"}"#);
    let failed = FromWorker::Failed {
        request: RequestKind::FeatureMaps,
        message: "no".into(),
    };
    let json = serde_json::to_string(&failed).unwrap();
    assert!(json.contains(r#""request":"feature_maps""#), "{json}");
    assert_eq!(failed.request(), "feature_maps");
    let back: ToWorker =
        serde_json::from_str(r#"{"request":"load_data","base_url":"data/"}"#).unwrap();
    assert_eq!(back.kind(), RequestKind::LoadData);
    assert_eq!(
        back,
        ToWorker::LoadData {
            base_url: "data/".into()
        }
    );
}

/// Found writing the worker-message fuzz target (crates/convlab-fuzz): dimensions whose byte
/// count overflows (a quarter of the address space of 1x1 images, times 4 bytes, wraps to 0)
/// passed the length check with no values, and drawing a channel then panicked.
#[test]
fn feature_maps_whose_size_overflows_are_refused() {
    let images = usize::MAX / 4 + 1;
    let json = format!(
        r#"{{"reply":"feature_maps","data":{{"maps":[{{"layer":0,"name":"conv2d","images":{images},"channels":1,"height":1,"width":1,"values":[]}}],"images":[0],"labels":[9],"trained":false}}}}"#
    );
    let err = serde_json::from_str::<FromWorker>(&json).unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "feature maps of conv2d carry 0 bytes for {images}x1x1x1 values"
        )),
        "{err}"
    );
}

#[test]
fn a_step_s_share_requests_give_their_jobs_back() {
    use convlab_core::{Dataset, ModelSpec, ShareJob};
    use std::sync::Arc;
    let weights = Arc::new(vec![0.5, -1.25, 3.0e-7]);
    let job = |label: u8, scale| ShareJob {
        weights: weights.clone(),
        examples: Dataset {
            images: vec![label; 784],
            labels: vec![label],
        },
        scale,
    };
    let jobs = vec![job(3, 0.25), job(7, 0.75)];
    let spec = ModelSpec::preset("dnn").unwrap();
    let requests = ShareRequest::for_jobs(&spec, jobs.clone());
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].weights, requests[1].weights);
    assert_eq!(requests[0].weights.len(), 3 * 4);
    for (request, job) in requests.into_iter().zip(jobs) {
        assert_eq!(request.spec, spec);
        assert_eq!(request.job(), job);
    }
}

#[test]
fn a_helper_s_answer_becomes_its_share_or_a_failure_naming_it() {
    let share = FromHelper::gradients(
        &convlab_core::ShareGradients {
            gradients: vec![1.5, -2.0],
            loss_sum: 0.75,
            correct: 2.0,
            seconds: 0.5,
        },
        1_000_037.5,
    )
    .into_share(1, 1_000_000.0)
    .unwrap();
    // The helper's time runs from the share being handed out to the answer being ready (on
    // the workers' shared clock), not just the replica's own computing.
    assert_eq!(
        (
            share.gradients,
            share.loss_sum,
            share.correct,
            share.seconds
        ),
        (vec![1.5, -2.0], 0.75, 2.0, 0.0375)
    );
    let failures = [
        (
            FromHelper::Ready,
            "helper 1 failed: it answered a share by saying it is ready",
        ),
        (
            FromHelper::Failed {
                message: "invalid model".into(),
            },
            "helper 1 failed: invalid model",
        ),
        (
            FromHelper::Crashed {
                message: "out of memory".into(),
            },
            "helper 1 stopped: out of memory",
        ),
    ];
    for (reply, message) in failures {
        assert_eq!(reply.into_share(1, 0.0).unwrap_err().to_string(), message);
    }
}
