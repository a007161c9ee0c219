//! Which backend a Train or a warm-up gets. Forced by the student, or automatic: then the
//! faster of WebGPU and the CPU on this model, adapter and batch size, timed here unless the
//! page sends timings it remembers for them.

use super::{Session, SessionError};
use crate::gpu::{choose_backend, webgpu_adapter};
use crate::protocol::BackendChoice;
use crate::worker::yield_to_event_loop;
use crate::worker::HelperPool;
use convlab_core::speed::timing_images;
use convlab_core::{
    time_steps, Backend, BackendKind, BackendTimings, HelperError, ModelSpec, StopHandle,
    TrainError,
};

/// A chosen backend, with the timings behind an automatic choice when they were made now, and
/// on the CPU the helper workers that share its batches.
pub(super) struct Chosen {
    pub backend: Backend,
    pub timings: Option<Box<BackendTimings>>,
    pub helpers: Option<HelperPool>,
}

impl Chosen {
    /// On the CPU, the helpers join the choice and its description says how many workers
    /// train (or why only one does).
    fn with_helpers(mut self, helpers: Result<Option<HelperPool>, HelperError>) -> Chosen {
        if self.backend.kind != BackendKind::Cpu {
            return self;
        }
        match helpers {
            // Helpers that failed while the CPU was timed are not lent to the run.
            Ok(Some(pool)) if pool.is_broken() => {
                self.backend.description +=
                    " (on one worker: its helpers stopped while it was timed)";
            }
            Ok(Some(pool)) => {
                self.backend.description += &format!(", on {} workers", pool.len() + 1);
                self.helpers = Some(pool);
            }
            Ok(None) => {}
            Err(why) => {
                self.backend.description += &format!(" (on one worker: {why})");
            }
        }
        self
    }
}

impl Session {
    /// The backend for `spec` at `batch_size`, the CPU with `helpers` when they started.
    /// With [`BackendChoice::Auto`] and WebGPU usable, both backends are timed (unless
    /// `known` timings are for this adapter, model, batch size and CPU workers) and the
    /// faster trains; `cancel` ends the timing early, and the choice is then made on what
    /// was timed.
    pub(super) async fn choose(
        &self,
        choice: BackendChoice,
        known: Option<Box<BackendTimings>>,
        spec: &ModelSpec,
        batch_size: usize,
        helpers: Result<Option<HelperPool>, HelperError>,
        cancel: &StopHandle,
    ) -> Result<Chosen, SessionError> {
        let chosen = self
            .choose_backend(
                choice,
                known,
                spec,
                batch_size,
                helpers.as_ref().ok(),
                cancel,
            )
            .await?;
        Ok(chosen.with_helpers(helpers))
    }

    async fn choose_backend(
        &self,
        choice: BackendChoice,
        known: Option<Box<BackendTimings>>,
        spec: &ModelSpec,
        batch_size: usize,
        helpers: Option<&Option<HelperPool>>,
        cancel: &StopHandle,
    ) -> Result<Chosen, SessionError> {
        let helpers = helpers.and_then(Option::as_ref);
        let webgpu = choose_backend(choice).await;
        // Forced, or WebGPU unusable here (its description says why).
        if choice != BackendChoice::Auto || webgpu.kind == BackendKind::Cpu {
            return Ok(Chosen {
                backend: webgpu,
                timings: None,
                helpers: None,
            });
        }
        let adapter = webgpu_adapter().await.unwrap_or_default();
        let workers = helpers.map_or(1, |pool| pool.len() + 1);
        let (timings, fresh) =
            match known.filter(|t| t.matches(&adapter, spec, batch_size, workers)) {
                Some(timings) => (*timings, false),
                None => match self
                    .time_backends(adapter, spec, batch_size, &webgpu, helpers, cancel)
                    .await
                {
                    Ok(timings) => (timings, true),
                    Err(why) => {
                        let mut cpu = Backend::cpu();
                        cpu.description = format!(
                            "{} (WebGPU could not be timed on this model: {why})",
                            cpu.description
                        );
                        return Ok(Chosen {
                            backend: cpu,
                            timings: None,
                            helpers: None,
                        });
                    }
                },
            };
        let figures = timings.figures();
        let backend = match timings.faster() {
            BackendKind::Wgpu => Backend {
                description: format!(
                    "{}: faster here for this model ({figures})",
                    webgpu.description
                ),
                ..webgpu
            },
            BackendKind::Cpu => {
                let cpu = Backend::cpu();
                Backend {
                    description: format!(
                        "{}: faster here than {} for this model ({figures})",
                        cpu.description, webgpu.description
                    ),
                    ..cpu
                }
            }
        };
        // Timings cut short are not worth remembering: the next request times again.
        let whole = timings.cpu.timed_steps > 0 && timings.webgpu.timed_steps > 0;
        Ok(Chosen {
            backend,
            timings: (fresh && whole && !cancel.requested()).then(|| Box::new(timings)),
            helpers: None,
        })
    }

    /// Times `spec` on the CPU (with `helpers`, as it would train), then on `webgpu`, on the
    /// first training images.
    async fn time_backends(
        &self,
        adapter: String,
        spec: &ModelSpec,
        batch_size: usize,
        webgpu: &Backend,
        helpers: Option<&HelperPool>,
        cancel: &StopHandle,
    ) -> Result<BackendTimings, TrainError> {
        let train = self
            .train
            .as_ref()
            .map(|t| t.take(timing_images(batch_size)));
        let data = train.unwrap_or_default();
        let time = |device, helpers| {
            time_steps(
                spec,
                batch_size,
                &data,
                device,
                helpers,
                cancel,
                yield_to_event_loop,
            )
        };
        let cpu = time(
            Backend::cpu().device,
            helpers.map(|pool| pool.for_run(spec)),
        )
        .await?;
        let gpu = time(webgpu.device.clone(), None).await?;
        Ok(BackendTimings {
            adapter,
            model: spec.to_text(),
            batch_size,
            cpu_workers: helpers.map_or(1, |pool| pool.len() + 1),
            cpu,
            webgpu: gpu,
        })
    }
}
