//! Data-parallel steps: a batch shared among replicas trains the same model as one worker,
//! and a helper that fails hands its work back without spoiling the run.

mod common;

use convlab_core::{
    block_on, Backend, GradientHelpers, HelperError, LocalHelpers, ModelSpec, ShareGradients,
    ShareJob, ShareReplica, SharedEpoch, SharesFuture, StopReason, TrainConfig, TrainEvent,
    Trainer,
};
use std::sync::Arc;

/// 289 images at batch 32: nine full batches and a last one of a single image, which is not
/// split.
const IMAGES: usize = 289;

fn config() -> TrainConfig {
    TrainConfig {
        epochs: 2,
        batch_size: 32,
        report_every: 4,
        seed: 7,
        ..TrainConfig::default()
    }
}

/// burn seeds a device's generator for the whole process: a model built on another test's
/// thread between a trainer's seeding and its model would change its starting weights.
static ONE_RUN_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The run's events and its final weights, with `helpers` if given.
fn train(
    spec: &ModelSpec,
    helpers: impl FnOnce() -> Option<Box<dyn GradientHelpers>>,
) -> (Vec<TrainEvent>, Vec<u8>) {
    let _one = ONE_RUN_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let data = common::fixture_train().take(IMAGES);
    let mut trainer = Trainer::new(spec, config(), data, Backend::cpu().device).unwrap();
    if let Some(helpers) = helpers() {
        trainer.use_helpers(helpers);
    }
    let mut events = Vec::new();
    block_on(convlab_core::run(&mut trainer, None, &mut |e| {
        events.push(e)
    }))
    .unwrap();
    let weights = block_on(trainer.checkpoint()).unwrap().weights;
    (events, weights)
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn largest_difference(a: &[u8], b: &[u8]) -> f32 {
    let (a, b) = (floats(a), floats(b));
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn epochs(events: &[TrainEvent]) -> Vec<(f32, f32)> {
    events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Epoch(m) => Some((m.loss, m.accuracy)),
            _ => None,
        })
        .collect()
}

fn assert_same_run(alone: &(Vec<TrainEvent>, Vec<u8>), shared: &(Vec<TrainEvent>, Vec<u8>)) {
    let (alone_epochs, shared_epochs) = (epochs(&alone.0), epochs(&shared.0));
    assert_eq!(alone_epochs.len(), 2);
    for (a, s) in alone_epochs.iter().zip(&shared_epochs) {
        assert!(
            (a.0 - s.0).abs() < 1e-4,
            "losses {alone_epochs:?} vs {shared_epochs:?}"
        );
        // The correct counts of 289 images, within one image for a near-tie.
        assert!((a.1 - s.1).abs() <= 1.0 / IMAGES as f32 + 1e-6);
    }
    let difference = largest_difference(&alone.1, &shared.1);
    assert!(
        difference < 1e-4,
        "the weights after two epochs differ by up to {difference}"
    );
}

#[test]
fn a_batch_shared_among_replicas_trains_the_same_model_as_one_worker() {
    let spec = ModelSpec::preset("cnn").unwrap();
    let alone = train(&spec, || None);
    let device = Backend::cpu().device;
    for helpers in [1, 2] {
        let shared = train(&spec, || {
            Some(Box::new(
                LocalHelpers::new(&spec, &device, helpers).unwrap(),
            ))
        });
        assert_same_run(&alone, &shared);
        assert!(
            !shared
                .0
                .iter()
                .any(|e| matches!(e, TrainEvent::HelpersStopped { .. })),
            "no helper failed"
        );
        // Nine batches of 32 shared in each epoch (not the last, of one image).
        let figures = shared_epochs(&shared.0);
        assert_eq!(figures.len(), 2);
        for epoch in &figures {
            assert_eq!(epoch.steps, 9);
            assert_eq!(epoch.split.len(), helpers + 1);
            assert_eq!(epoch.split.iter().sum::<usize>(), 32);
            assert!(epoch.own_seconds > 0.0 && epoch.waited_seconds >= 0.0);
        }
    }
    assert!(shared_epochs(&alone.0).is_empty(), "nothing shared alone");
    // The loss fell, so the comparison is of a run that learned.
    let losses = epochs(&alone.0);
    assert!(losses[1].0 < losses[0].0, "{losses:?}");
}

fn shared_epochs(events: &[TrainEvent]) -> Vec<SharedEpoch> {
    events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Shared(figures) => Some(figures.clone()),
            _ => None,
        })
        .collect()
}

/// Local helpers whose answers `alter` changes: to play one on a busier core, or one whose
/// replica has diverged.
struct AlteredHelpers {
    inner: LocalHelpers,
    alter: fn(&mut ShareGradients),
}

impl AlteredHelpers {
    fn one(spec: &ModelSpec, alter: fn(&mut ShareGradients)) -> Option<Box<dyn GradientHelpers>> {
        let inner = LocalHelpers::new(spec, &Backend::cpu().device, 1).unwrap();
        Some(Box::new(AlteredHelpers { inner, alter }))
    }
}

impl GradientHelpers for AlteredHelpers {
    fn count(&self) -> usize {
        self.inner.count()
    }

    fn start(&mut self, jobs: Vec<ShareJob>) {
        self.inner.start(jobs);
    }

    fn finish(&mut self) -> SharesFuture<'_> {
        Box::pin(async move {
            let mut results = self.inner.finish().await;
            results.iter_mut().flatten().for_each(self.alter);
            results
        })
    }
}

#[test]
fn a_slower_helper_is_given_a_smaller_share() {
    let spec = ModelSpec::preset("cnn").unwrap();
    let alone = train(&spec, || None);
    // It reports four times the time it took.
    let shared = train(&spec, || {
        AlteredHelpers::one(&spec, |share| share.seconds *= 4.0)
    });
    let split = &shared_epochs(&shared.0)[1].split;
    assert!(
        split[1] < split[0] / 2,
        "the split after an epoch: {split:?}"
    );
    // Shares of any size make the same step.
    assert_same_run(&alone, &shared);
}

#[test]
fn a_helper_s_nan_loss_stops_the_run_by_name() {
    let spec = ModelSpec::preset("cnn").unwrap();
    let (events, _) = train(&spec, || {
        AlteredHelpers::one(&spec, |share| share.loss_sum = f32::NAN)
    });
    let stopped = events.iter().find_map(|e| match e {
        TrainEvent::Stopped {
            reason, message, ..
        } => Some((reason.clone(), message.clone())),
        _ => None,
    });
    let Some((StopReason::NonFinite { batch, value }, message)) = stopped else {
        panic!("the run was not stopped for its loss: {stopped:?}");
    };
    // The first report, after `report_every` batches.
    assert_eq!(batch, config().report_every);
    assert!(value.is_nan());
    assert!(message.contains("the loss became NaN"), "{message}");
}

/// Helpers that answer the first `good` steps correctly, then fail as `failure` says.
struct FailingHelpers {
    inner: LocalHelpers,
    good: usize,
    failure: fn(Vec<ShareJob>) -> Result<Vec<f32>, HelperError>,
    jobs: Vec<ShareJob>,
}

impl GradientHelpers for FailingHelpers {
    fn count(&self) -> usize {
        self.inner.count()
    }

    fn start(&mut self, jobs: Vec<ShareJob>) {
        if self.good > 0 {
            self.good -= 1;
            self.inner.start(jobs);
        } else {
            self.jobs = jobs;
        }
    }

    fn finish(&mut self) -> SharesFuture<'_> {
        if self.jobs.is_empty() {
            return self.inner.finish();
        }
        let jobs = std::mem::take(&mut self.jobs);
        let failure = self.failure;
        Box::pin(async move {
            vec![failure(jobs).map(|gradients| ShareGradients {
                gradients,
                loss_sum: 0.0,
                correct: 0.0,
                seconds: 0.001,
            })]
        })
    }
}

fn run_with_failing_helper(
    failure: fn(Vec<ShareJob>) -> Result<Vec<f32>, HelperError>,
) -> (Vec<TrainEvent>, Vec<u8>) {
    let spec = ModelSpec::preset("cnn").unwrap();
    train(&spec, || {
        Some(Box::new(FailingHelpers {
            inner: LocalHelpers::new(&spec, &Backend::cpu().device, 1).unwrap(),
            good: 3,
            failure,
            jobs: Vec::new(),
        }))
    })
}

fn stopped_messages(events: &[TrainEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::HelpersStopped { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_helper_that_stops_hands_its_batch_back_and_the_run_carries_on_alone() {
    let spec = ModelSpec::preset("cnn").unwrap();
    let alone = train(&spec, || None);
    let failed = run_with_failing_helper(|_| {
        Err(HelperError::Stopped {
            helper: 0,
            reason: "the worker's script failed to load".into(),
        })
    });
    assert_eq!(
        stopped_messages(&failed.0),
        ["helper 0 stopped: the worker's script failed to load"],
        "reported once: the trainer then trains alone"
    );
    assert_same_run(&alone, &failed);
}

#[test]
fn gradients_of_the_wrong_length_are_refused_by_name() {
    let spec = ModelSpec::preset("cnn").unwrap();
    let alone = train(&spec, || None);
    let failed = run_with_failing_helper(|jobs| Ok(vec![0.0; jobs[0].weights.len() - 1]));
    assert_eq!(
        stopped_messages(&failed.0),
        ["helper 0 sent 113385 gradients for a model of 113386 parameters"]
    );
    assert_same_run(&alone, &failed);
}

#[test]
fn a_replica_refuses_a_malformed_share_by_name_and_stays_usable() {
    let _one = ONE_RUN_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let spec = ModelSpec::parse_text("pool:7,flatten,dense:10:softmax").unwrap();
    let mut replica = ShareReplica::new(&spec, &Backend::cpu().device).unwrap();
    let good = ShareJob {
        weights: Arc::new(vec![0.01; spec.param_count().unwrap()]),
        examples: common::fixture_train().take(2),
        scale: 0.5,
    };
    let computed = block_on(replica.gradients(&good)).unwrap();
    assert_eq!(computed.gradients.len(), good.weights.len());
    assert!(computed.loss_sum.is_finite() && computed.loss_sum > 0.0);

    let changed = |change: &dyn Fn(&mut ShareJob)| {
        let mut job = good.clone();
        change(&mut job);
        job
    };
    let refused = [
        (
            changed(&|job| job.examples = job.examples.take(0)),
            "the share has no examples",
        ),
        (
            changed(&|job| {
                job.examples.images.pop();
            }),
            "the share's 2 labels come with 1567 image bytes, not 1568",
        ),
        (
            changed(&|job| job.examples.labels[1] = 10),
            "example 1 of the share has label 10, not a class 0-9",
        ),
        (
            changed(&|job| job.scale = f32::NAN),
            "the share's part of the batch must be above 0 and at most 1, got NaN",
        ),
        (
            changed(&|job| job.weights = Arc::new(vec![0.0; 3])),
            "the share comes with 3 weights, but the model has 170 parameters",
        ),
    ];
    for (job, reason) in refused {
        let error = block_on(replica.gradients(&job)).unwrap_err();
        assert!(error.to_string().ends_with(reason), "{error}");
    }
    let again = block_on(replica.gradients(&good)).unwrap();
    assert_eq!(
        (again.gradients, again.loss_sum, again.correct),
        (computed.gradients, computed.loss_sum, computed.correct),
        "the refusals left the replica as it was"
    );
}
