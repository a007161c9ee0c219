//! A Train request: a fresh (or resumed) run on the chosen backend, its events streamed to the
//! page, and the test-set evaluation at its end; a lost GPU ends it with the batch it was at.

use super::{test_result, Emit, Session, SessionError, TrainedModel};
use crate::protocol::{FromWorker, RequestKind, TrainRequest, WarmUp};
use crate::worker::{wasm_memory_bytes, yield_to_event_loop};
use convlab_core::{run_pausing, StopHandle, TrainConfig, TrainEvent, Trainer};

impl Session {
    /// Starts the backend a Train would get and runs one step of a throwaway copy of the
    /// model on one batch of real images, so that the run the student starts next finds its
    /// device ready and, on WebGPU, every kernel of its first step compiled (the compiled
    /// pipelines are kept by the device, whichever model asked for them). The automatic
    /// choice times both backends here, which warms both up. The trainer seeds its own model
    /// and shuffle, so the run that follows is the same as without it. A newer warm-up or a
    /// Train cancels it after the step under way; it then replies nothing.
    pub(super) async fn warm_up(
        &mut self,
        warm_up: WarmUp,
    ) -> Result<Option<FromWorker>, SessionError> {
        let train = self.train.as_ref().ok_or(SessionError::NoData)?;
        let config = TrainConfig {
            epochs: 1,
            batch_size: warm_up.batch_size,
            report_every: 1,
            ..TrainConfig::default()
        };
        let data = train.take(warm_up.batch_size);
        config.check_training(&warm_up.spec, data.len())?;
        let started = js_sys::Date::now();
        let cancel = StopHandle::default();
        self.stop.set_warm_up(Some(cancel.clone()));
        let helpers = self.helpers_for(warm_up.backend, warm_up.cpu_workers).await;
        let chosen = self
            .choose(
                warm_up.backend,
                warm_up.timings.clone(),
                &warm_up.spec,
                warm_up.batch_size,
                helpers,
                &cancel,
            )
            .await;
        self.stop.set_warm_up(None);
        let chosen = chosen?;
        if cancel.requested() {
            return Ok(None);
        }
        let backend = chosen.backend;
        self.backend = Some(backend.clone());
        if chosen.timings.is_none() {
            // Timing ran every step's kernels already; otherwise one step does (and gets the
            // helpers' replicas ready).
            let mut trainer = Trainer::new(&warm_up.spec, config, data, backend.device.clone())?;
            if let Some(pool) = &chosen.helpers {
                trainer.use_helpers(pool.for_run(&warm_up.spec));
            }
            run_pausing(&mut trainer, None, &mut |_| {}, yield_to_event_loop).await?;
        }
        Ok(Some(FromWorker::WarmedUp {
            warm_up,
            backend: backend.kind,
            description: backend.description,
            seconds: (js_sys::Date::now() - started) / 1e3,
            timings: chosen.timings,
        }))
    }

    pub(super) async fn train(
        &mut self,
        run: TrainRequest,
        emit: Emit<'_>,
    ) -> Result<(), SessionError> {
        let TrainRequest {
            spec,
            config,
            train_limit,
            backend,
            cpu_workers,
            timings,
            resume,
            watch,
        } = run;
        let (Some(train), true) = (&self.train, self.test.is_some()) else {
            return Err(SessionError::NoData);
        };
        let data = match train_limit {
            Some(0) => return Err(SessionError::NoImages),
            Some(n) => train.take(n),
            None => train.clone(),
        };
        // Settings, stack and memory against the budget, before a device or tensor exists.
        config.check_training(&spec, data.len())?;
        // Made before the trainer exists, so that a Stop while the backends are timed counts.
        let stop = StopHandle::default();
        self.stop.set(Some(stop.clone()));
        let helpers = self.helpers_for(backend, cpu_workers).await;
        let chosen = self
            .choose(backend, timings, &spec, config.batch_size, helpers, &stop)
            .await?;
        let test = self.test.as_ref().ok_or(SessionError::NoData)?;
        let backend = chosen.backend;
        emit(FromWorker::Backend {
            kind: backend.kind,
            description: backend.description.clone(),
            timings: chosen.timings,
        });
        self.backend = Some(backend.clone());
        let mut trainer = match &resume {
            Some(checkpoint) => {
                Trainer::resume(&spec, config, data, backend.device.clone(), checkpoint)?
            }
            None => Trainer::new(&spec, config, data, backend.device.clone())?,
        };
        trainer.emit_checkpoints();
        if let Some(pool) = &chosen.helpers {
            trainer.use_helpers(pool.for_run(&spec));
        }
        // Images past the test set's end (another dataset's choice) are left out.
        let watch: Vec<usize> = watch.into_iter().filter(|&i| i < test.len()).collect();
        trainer.watch(test.select(&watch));
        trainer.stop_with(stop);
        let mut on_event = |event: TrainEvent| match event {
            // The Tested reply below carries the evaluation, without its 10,000 predictions.
            TrainEvent::Finished(_) => {}
            TrainEvent::Snapshot(snapshot) => {
                // For the benchmarks (bench/browser), which read the console.
                debug(&format!(
                    "convlab snapshot: epoch {}, {:.2} ms",
                    snapshot.epoch,
                    snapshot.seconds * 1e3
                ));
                let snapshot = *snapshot;
                emit(FromWorker::Snapshot {
                    epoch: snapshot.epoch,
                    kernels: snapshot.kernels,
                    maps: snapshot.maps,
                });
            }
            TrainEvent::Checkpoint(checkpoint) => {
                // For the benchmarks (bench/browser), which read the console.
                debug(&format!(
                    "convlab checkpoint: epochs {}, {} bytes, {:.2} ms",
                    checkpoint.epochs_done,
                    checkpoint.bytes(),
                    checkpoint.seconds * 1e3
                ));
                emit(FromWorker::Training(TrainEvent::Checkpoint(checkpoint)));
            }
            TrainEvent::Shared(shared) => {
                // For the benchmarks (bench/browser), which read the console.
                debug(&format!(
                    "convlab shares: epoch {}, {} steps, last split {:?}, own share {:.2} ms, waited {:.2} ms a step",
                    shared.epoch,
                    shared.steps,
                    shared.split,
                    shared.own_seconds * 1e3 / shared.steps as f64,
                    shared.waited_seconds * 1e3 / shared.steps as f64
                ));
            }
            TrainEvent::Epoch(metrics) => {
                let epoch = metrics.epoch;
                emit(FromWorker::Training(TrainEvent::Epoch(metrics)));
                emit(FromWorker::WorkerMemory {
                    epoch,
                    wasm_bytes: wasm_memory_bytes(),
                });
            }
            event => emit(FromWorker::Training(event)),
        };
        let outcome =
            run_pausing(&mut trainer, Some(test), &mut on_event, yield_to_event_loop).await;
        self.stop.set(None);
        let summary = match outcome {
            Ok(summary) => summary,
            Err(error) => {
                let error = SessionError::from(error);
                let Some(reason) = self.gpu_lost(&error).await else {
                    return Err(error);
                };
                let (epoch, batch) = trainer.position();
                emit(FromWorker::GpuLost {
                    request: RequestKind::Train,
                    reason,
                    epoch,
                    batch,
                });
                return Ok(());
            }
        };
        let evaluation = summary.test.expect("run evaluates when given a test set");
        self.trained = Some(TrainedModel {
            header: summary.header,
            model: trainer.model().clone(),
            backend,
        });
        emit(FromWorker::Tested(test_result(&evaluation, test)));
        Ok(())
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = debug)]
    fn debug(s: &str);
}
