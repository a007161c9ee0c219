//! How fast a model trains on a device, measured rather than guessed: which backend is faster
//! depends on the adapter (a real GPU, or a CPU emulation of one), the model and the batch
//! size, so the page times a few steps of the student's model on each and trains on the faster.

use crate::shares::GradientHelpers;
use crate::train::{run_pausing, StopHandle, TrainConfig, TrainError, TrainEvent, Trainer};
use crate::{BackendKind, Dataset, ModelSpec};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::future::Future;
use web_time::Instant;

/// Timing stops once the timed steps have run this long and there are enough of them for a
/// median...
const TIMING_SECONDS: f64 = 1.0;
const MIN_TIMED_STEPS: usize = 3;
/// ... or at this many, whichever comes first.
const MAX_TIMED_STEPS: usize = 8;

/// What timing one backend found.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepTiming {
    /// The first step: on WebGPU mostly compiling the step's kernels, so it is not counted
    /// in the speed.
    pub first_step_seconds: f64,
    /// Training speed: the batch size over the median time of the steps after the first (the
    /// second step still runs slower on WebGPU, so a mean would understate it).
    pub samples_per_second: f64,
    /// How many steps after the first were timed.
    pub timed_steps: usize,
}

/// Trains a throwaway copy of `spec` (seeded, so nothing else is disturbed) on the first
/// batches of `data` on `device`: one step to compile and warm up, then at least three steps
/// and about a second of them. Every step reads its loss back, so each one is timed to its end on the
/// device, not to the moment its work was queued. Once `cancel` is asked to stop, it stops
/// after the step under way (with whatever it has timed). With `helpers`, each step is shared
/// with them, as the run will be.
pub async fn time_steps<F: Future<Output = ()>>(
    spec: &ModelSpec,
    batch_size: usize,
    data: &Dataset,
    device: Device,
    helpers: Option<Box<dyn GradientHelpers>>,
    cancel: &StopHandle,
    pause: impl FnMut() -> F,
) -> Result<StepTiming, TrainError> {
    let batches = (data.len() / batch_size.max(1)).min(MAX_TIMED_STEPS + 1);
    if batches < 2 {
        return Err(TrainError::TooFewForTiming {
            images: data.len(),
            batch_size,
        });
    }
    let config = TrainConfig {
        epochs: 1,
        batch_size,
        report_every: 1,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(spec, config, data.take(batches * batch_size), device)?;
    if let Some(helpers) = helpers {
        trainer.use_helpers(helpers);
    }
    let stop = trainer.stop_handle();
    let started = Instant::now();
    let mut first_step_done: Option<Instant> = None;
    let mut last_step_done = started;
    let mut step_seconds: Vec<f64> = Vec::new();
    let mut on_event = |event: TrainEvent| {
        if cancel.requested() {
            stop.request_stop();
        }
        if let TrainEvent::Batch { .. } = event {
            let now = Instant::now();
            match first_step_done {
                None => first_step_done = Some(now),
                Some(first) => {
                    step_seconds.push((now - last_step_done).as_secs_f64());
                    let timed = (now - first).as_secs_f64();
                    if timed >= TIMING_SECONDS && step_seconds.len() >= MIN_TIMED_STEPS {
                        stop.request_stop();
                    }
                }
            }
            last_step_done = now;
        }
    };
    run_pausing(&mut trainer, None, &mut on_event, pause).await?;
    let first = first_step_done.unwrap_or(started);
    step_seconds.sort_by(f64::total_cmp);
    let median = step_seconds.get(step_seconds.len() / 2).copied();
    Ok(StepTiming {
        first_step_seconds: (first - started).as_secs_f64(),
        samples_per_second: median
            .filter(|&seconds| seconds > 0.0)
            .map_or(0.0, |seconds| batch_size as f64 / seconds),
        timed_steps: step_seconds.len(),
    })
}

/// The images [`time_steps`] trains on at most, at `batch_size`.
pub fn timing_images(batch_size: usize) -> usize {
    batch_size * (MAX_TIMED_STEPS + 1)
}

/// Both backends timed on one model at one batch size, on one adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendTimings {
    /// The WebGPU adapter, as the browser describes it.
    pub adapter: String,
    /// The model, as its layers' text (`ModelSpec::to_text`).
    pub model: String,
    pub batch_size: usize,
    /// Workers the CPU was timed on (the training worker and its helpers).
    #[serde(default = "one_worker")]
    pub cpu_workers: usize,
    pub cpu: StepTiming,
    pub webgpu: StepTiming,
}

/// Timings remembered before the CPU trained on several workers were made on one.
fn one_worker() -> usize {
    1
}

impl BackendTimings {
    /// The backend that trained faster; the CPU on a tie (it needs no device to start).
    pub fn faster(&self) -> BackendKind {
        if self.webgpu.samples_per_second > self.cpu.samples_per_second {
            BackendKind::Wgpu
        } else {
            BackendKind::Cpu
        }
    }

    /// Whether these timings are for this adapter, model, batch size and number of CPU
    /// workers.
    pub fn matches(
        &self,
        adapter: &str,
        spec: &ModelSpec,
        batch_size: usize,
        cpu_workers: usize,
    ) -> bool {
        self.adapter == adapter
            && self.batch_size == batch_size
            && self.cpu_workers == cpu_workers
            && self.model == spec.to_text()
    }

    /// "WebGPU 20 samples/s, CPU 479 samples/s".
    pub fn figures(&self) -> String {
        format!(
            "WebGPU {} samples/s, CPU {} samples/s",
            rate(self.webgpu.samples_per_second),
            rate(self.cpu.samples_per_second)
        )
    }
}

fn rate(samples_per_second: f64) -> String {
    if samples_per_second >= 100.0 {
        crate::units::thousands(samples_per_second.round() as usize)
    } else {
        format!("{samples_per_second:.1}")
    }
}
