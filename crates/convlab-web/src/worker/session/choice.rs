//! Which backend a Train or a warm-up gets. Forced by the student, or automatic: then the
//! faster of WebGPU and the CPU on this model, adapter and batch size, timed here unless the
//! page sends timings it remembers for them.

use super::{Session, SessionError};
use crate::gpu::{choose_backend, webgpu_adapter};
use crate::protocol::BackendChoice;
use crate::worker::yield_to_event_loop;
use convlab_core::speed::timing_images;
use convlab_core::{
    time_steps, Backend, BackendKind, BackendTimings, ModelSpec, StopHandle, TrainError,
};

/// A chosen backend, with the timings behind an automatic choice when they were made now.
pub(super) struct Chosen {
    pub backend: Backend,
    pub timings: Option<Box<BackendTimings>>,
}

impl Session {
    /// The backend for `spec` at `batch_size`. With [`BackendChoice::Auto`] and WebGPU
    /// usable, both backends are timed (unless `known` timings are for this adapter, model
    /// and batch size) and the faster trains; `cancel` ends the timing early, and the choice
    /// is then made on what was timed.
    pub(super) async fn choose(
        &self,
        choice: BackendChoice,
        known: Option<Box<BackendTimings>>,
        spec: &ModelSpec,
        batch_size: usize,
        cancel: &StopHandle,
    ) -> Result<Chosen, SessionError> {
        let webgpu = choose_backend(choice).await;
        // Forced, or WebGPU unusable here (its description says why).
        if choice != BackendChoice::Auto || webgpu.kind == BackendKind::Cpu {
            return Ok(Chosen {
                backend: webgpu,
                timings: None,
            });
        }
        let adapter = webgpu_adapter().await.unwrap_or_default();
        let (timings, fresh) = match known.filter(|t| t.matches(&adapter, spec, batch_size)) {
            Some(timings) => (*timings, false),
            None => match self
                .time_backends(adapter, spec, batch_size, &webgpu, cancel)
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
        })
    }

    /// Times `spec` on the CPU, then on `webgpu`, on the first training images.
    async fn time_backends(
        &self,
        adapter: String,
        spec: &ModelSpec,
        batch_size: usize,
        webgpu: &Backend,
        cancel: &StopHandle,
    ) -> Result<BackendTimings, TrainError> {
        let train = self
            .train
            .as_ref()
            .map(|t| t.take(timing_images(batch_size)));
        let data = train.unwrap_or_default();
        let time =
            |device| time_steps(spec, batch_size, &data, device, cancel, yield_to_event_loop);
        let cpu = time(Backend::cpu().device).await?;
        let gpu = time(webgpu.device.clone()).await?;
        Ok(BackendTimings {
            adapter,
            model: spec.to_text(),
            batch_size,
            cpu,
            webgpu: gpu,
        })
    }
}
