//! The automatic backend choice, page side: the timings the worker made, remembered per
//! adapter, model and batch size (in local storage, across visits), and what each request
//! asks for.

use super::app::{App, Effect};
use super::saved::Settings;
use crate::protocol::BackendChoice;
use convlab_core::{BackendTimings, ModelSpec};

/// Past this many, the oldest timings are forgotten.
const MAX_REMEMBERED: usize = 100;

/// The timings remembered, oldest first, and this browser's WebGPU adapter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimingMemory {
    /// `None` until the page has asked the browser; `Some(None)` where it gives no adapter.
    pub adapter: Option<Option<String>>,
    pub remembered: Vec<BackendTimings>,
}

impl TimingMemory {
    pub fn new(remembered: Vec<BackendTimings>) -> TimingMemory {
        TimingMemory {
            adapter: None,
            remembered,
        }
    }

    /// The timings for `spec` at `batch_size`, with the CPU on `cpu_workers` workers, on this
    /// browser's adapter, if any were made.
    pub fn for_model(
        &self,
        spec: &ModelSpec,
        batch_size: usize,
        cpu_workers: usize,
    ) -> Option<&BackendTimings> {
        let adapter = self.adapter.as_ref()?.as_deref()?;
        self.remembered
            .iter()
            .rev()
            .find(|t| t.matches(adapter, spec, batch_size, cpu_workers))
    }

    /// Keeps `timings`, in place of older ones for the same adapter, model, batch size and
    /// CPU workers.
    pub fn remember(&mut self, timings: BackendTimings) {
        let key = |t: &BackendTimings| {
            (
                t.adapter.clone(),
                t.model.clone(),
                t.batch_size,
                t.cpu_workers,
            )
        };
        let new = key(&timings);
        self.remembered.retain(|t| key(t) != new);
        self.remembered.push(timings);
        let excess = self.remembered.len().saturating_sub(MAX_REMEMBERED);
        self.remembered.drain(..excess);
    }
}

/// The fewest images of a batch a CPU worker is given when their number is automatic: each
/// step sends every helper the weights and gets its gradients back, which a share of 8 images
/// does not repay (on the 2-core development machine two workers were as fast as one at batch
/// 16 and faster from batch 32 on: BENCHMARKS, "The CPU on every core").
pub const MIN_AUTOMATIC_SHARE: usize = 16;

/// Automatic CPU workers: one per core, but no more than the batch has shares of
/// [`MIN_AUTOMATIC_SHARE`] images.
pub fn automatic_cpu_workers(cores: usize, batch_size: usize) -> usize {
    cores.min(batch_size / MIN_AUTOMATIC_SHARE).max(1)
}

/// Where a Train or warm-up asks to run.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendRequest {
    pub backend: BackendChoice,
    /// Workers that share the batches on the CPU (the setting resolved: one per core).
    pub cpu_workers: usize,
    /// What this browser remembers of timing the model, for the automatic choice.
    pub timings: Option<Box<BackendTimings>>,
}

impl App {
    /// What a Train or warm-up of `spec` with `settings` asks for: the student's choice (the
    /// CPU once the GPU was lost), the CPU workers, and with the automatic choice the
    /// timings this browser remembers for the model, so that the worker does not time it
    /// again.
    pub fn backend_request(&self, settings: &Settings, spec: &ModelSpec) -> BackendRequest {
        let cpu_workers = settings
            .cpu_workers
            .unwrap_or_else(|| automatic_cpu_workers(self.cores, settings.batch_size))
            .clamp(1, crate::gpu::MAX_CPU_WORKERS);
        if self.gpu_lost.is_some() {
            return BackendRequest {
                backend: BackendChoice::Cpu,
                cpu_workers,
                timings: None,
            };
        }
        let timings = match settings.backend {
            BackendChoice::Auto => self
                .timings
                .for_model(spec, settings.batch_size, cpu_workers)
                .map(|t| Box::new(t.clone())),
            _ => None,
        };
        BackendRequest {
            backend: settings.backend,
            cpu_workers,
            timings,
        }
    }

    /// Whether the worker will run the WebGPU module (it is chosen when it starts).
    pub fn worker_may_use_webgpu(&self) -> bool {
        self.state.settings.backend.may_use_webgpu() && self.gpu_lost.is_none()
    }

    /// Whether a request with `settings` will time both backends before it trains.
    pub fn will_time_backends(&self, settings: &Settings, spec: &ModelSpec) -> bool {
        let adapter = matches!(self.timings.adapter, Some(Some(_)));
        let request = self.backend_request(settings, spec);
        adapter && request.backend == BackendChoice::Auto && request.timings.is_none()
    }

    /// Keeps the timings the worker just made, here and in local storage.
    pub(super) fn remember_timings(
        &mut self,
        timings: Option<Box<convlab_core::BackendTimings>>,
    ) -> Vec<Effect> {
        match timings {
            Some(timings) => {
                self.timings.remember(*timings);
                vec![Effect::SaveTimings]
            }
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use convlab_core::StepTiming;

    fn timings(adapter: &str, preset: &str, batch_size: usize, cpu: f64) -> BackendTimings {
        let step = |samples_per_second| StepTiming {
            first_step_seconds: 1.0,
            samples_per_second,
            timed_steps: 3,
        };
        BackendTimings {
            adapter: adapter.to_string(),
            model: ModelSpec::preset(preset).unwrap().to_text(),
            batch_size,
            cpu_workers: 2,
            cpu: step(cpu),
            webgpu: step(20.0),
        }
    }

    #[test]
    fn timings_are_found_for_their_adapter_model_batch_and_workers_only() {
        let cnn = ModelSpec::preset("cnn").unwrap();
        let mut memory = TimingMemory::new(vec![timings("swiftshader", "cnn", 32, 479.0)]);
        assert_eq!(
            memory.for_model(&cnn, 32, 2),
            None,
            "the adapter is not known yet"
        );
        memory.adapter = Some(Some("swiftshader".to_string()));
        assert_eq!(
            memory
                .for_model(&cnn, 32, 2)
                .unwrap()
                .cpu
                .samples_per_second,
            479.0
        );
        assert_eq!(memory.for_model(&cnn, 128, 2), None);
        assert_eq!(
            memory.for_model(&cnn, 32, 4),
            None,
            "the CPU timed on another number of workers"
        );
        assert_eq!(
            memory.for_model(&ModelSpec::preset("dnn").unwrap(), 32, 2),
            None
        );
        memory.adapter = Some(Some("nvidia".to_string()));
        assert_eq!(memory.for_model(&cnn, 32, 2), None);
        memory.adapter = Some(None);
        assert_eq!(
            memory.for_model(&cnn, 32, 2),
            None,
            "no adapter, nothing to choose"
        );
    }

    #[test]
    fn automatic_cpu_workers_get_at_least_a_share_of_16_images_each() {
        assert_eq!(automatic_cpu_workers(2, 16), 1);
        assert_eq!(automatic_cpu_workers(2, 31), 1);
        assert_eq!(automatic_cpu_workers(2, 32), 2);
        assert_eq!(automatic_cpu_workers(2, 128), 2);
        assert_eq!(automatic_cpu_workers(8, 64), 4);
        assert_eq!(automatic_cpu_workers(4, 1024), 4);
        assert_eq!(automatic_cpu_workers(1, 1024), 1);
        assert_eq!(
            automatic_cpu_workers(0, 1024),
            1,
            "a browser that reports no cores"
        );
    }

    #[test]
    fn newer_timings_replace_older_ones_and_the_oldest_are_forgotten() {
        let mut memory = TimingMemory::new(Vec::new());
        memory.remember(timings("a", "cnn", 32, 100.0));
        memory.remember(timings("a", "cnn", 32, 200.0));
        assert_eq!(memory.remembered.len(), 1);
        assert_eq!(memory.remembered[0].cpu.samples_per_second, 200.0);
        for batch_size in 1..=MAX_REMEMBERED + 5 {
            memory.remember(timings("a", "dnn", batch_size, 1.0));
        }
        assert_eq!(memory.remembered.len(), MAX_REMEMBERED);
        assert_eq!(memory.remembered[0].batch_size, 6, "the oldest went first");
    }
}
