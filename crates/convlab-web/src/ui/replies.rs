//! How the page's state follows the training worker: its replies, and its failure.

use super::app::{App, DataInfo, Effect, Phase, ShownMaps, TestView};
use super::host::HostEvent;
use crate::protocol::{FromWorker, RequestKind, TestResult, ToWorker};
use convlab_core::summary::thousands;
use convlab_core::{BackendKind, Summary, TrainEvent};

impl App {
    pub(super) fn on_reply(&mut self, reply: FromWorker) -> Vec<Effect> {
        match reply {
            FromWorker::Ready => {
                self.phase = Phase::Idle;
                self.data_status = "Loading Fashion-MNIST…".to_string();
                let folder = self.state.data_url.clone();
                self.load_data(folder, false)
            }
            FromWorker::DataProgress(p) => {
                self.file_progress
                    .insert(p.file.clone(), (p.loaded, p.total));
                let (loaded, total) = self
                    .file_progress
                    .values()
                    .map(|&(l, t)| (l, t.unwrap_or(l).max(l)))
                    .fold((0, 0), |(a, b), (l, t)| (a + l, b + t));
                self.data_progress = self
                    .file_progress
                    .values()
                    .map(|&(l, t)| t.map_or(0.0, |t| l as f64 / t.max(1) as f64).min(1.0))
                    .sum::<f64>()
                    / 4.0;
                let source = if p.cached {
                    "from the browser's cache"
                } else {
                    "downloading"
                };
                self.data_status = format!(
                    "{source} {}: {:.1} MB of {:.1} MB so far ({:.0}%)",
                    p.file,
                    loaded as f64 / 1e6,
                    total as f64 / 1e6,
                    self.data_progress * 100.0
                );
                Vec::new()
            }
            FromWorker::DataReady {
                train,
                test,
                samples,
                sample_labels,
            } => {
                self.phase = Phase::Idle;
                self.data_progress = 1.0;
                self.data_status = format!(
                    "Fashion-MNIST ready: {} training and {} test images (28 × 28 grey, pixels / 255).",
                    thousands(train),
                    thousands(test)
                );
                self.data_error = None;
                self.data = Some(DataInfo {
                    train,
                    test,
                    samples,
                    sample_labels,
                });
                self.versions.samples += 1;
                if let Some((request, by_host)) = self.resume_after_data.take() {
                    self.phase = Phase::Training { by_host };
                    return vec![Effect::Send(request)];
                }
                let mut effects = self.request_maps();
                if !self.ready_sent {
                    self.ready_sent = true;
                    effects.push(Effect::Post(HostEvent::Ready {
                        preset: self.state.preset.clone(),
                        layers: self.state.spec.to_text(),
                        params: self.state.spec.param_count().unwrap_or(0),
                    }));
                }
                effects
            }
            FromWorker::DataFailed { message } => {
                self.phase = Phase::Idle;
                self.data_status = "The dataset could not be loaded.".to_string();
                self.data_error = Some(format!(
                    "{message}. Check the dataset folder and press Load data to retry."
                ));
                vec![Effect::Post(HostEvent::Error {
                    message: format!("the dataset could not be loaded: {message}"),
                })]
            }
            FromWorker::Backend { kind, description } => {
                self.backend = format!("Backend: {description}");
                if let Some(run) = &mut self.run {
                    run.on_gpu = kind == BackendKind::Wgpu;
                    run.backend = match run.backend.as_str() {
                        "" => description,
                        first if first == description => description,
                        first => format!("{first}, then {description}"),
                    };
                }
                Vec::new()
            }
            FromWorker::Training(event) => self.on_training(event),
            FromWorker::WorkerMemory { wasm_bytes, .. } => {
                if let Some(run) = &mut self.run {
                    run.memory.push(wasm_bytes);
                }
                Vec::new()
            }
            FromWorker::Tested(result) => self.on_tested(result),
            FromWorker::FeatureMaps {
                maps,
                images,
                labels,
                trained,
            } => {
                if self.maps.row >= images.len() {
                    self.maps.row = 0;
                }
                if !maps.iter().any(|m| m.name == self.maps.layer) {
                    self.maps.layer = String::new();
                }
                self.maps.shown = Some(ShownMaps {
                    maps,
                    images,
                    labels,
                    trained,
                });
                self.maps.status = String::new();
                self.versions.maps += 1;
                Vec::new()
            }
            FromWorker::ModelExported {
                destination,
                header,
                file,
            } => self.on_exported(destination, header, file),
            FromWorker::ModelLoaded {
                origin,
                header,
                test,
            } => self.on_model_loaded(origin, header, test),
            FromWorker::Failed { request, message } => self.on_failed(request, message),
            FromWorker::GpuLost {
                request,
                reason,
                epoch,
                batch,
            } => self.on_gpu_lost(request, reason, epoch, batch),
            FromWorker::Crashed { message } => self.on_worker_crashed(message),
        }
    }

    fn on_training(&mut self, event: TrainEvent) -> Vec<Effect> {
        let Some(run) = &mut self.run else {
            return Vec::new();
        };
        match event {
            TrainEvent::Started {
                train_samples,
                val_samples,
                batches_per_epoch,
                epochs,
                params,
            } => {
                run.train_samples = train_samples;
                run.epochs = epochs;
                run.params = params;
                let validation = if val_samples > 0 {
                    format!(", validate on {}", thousands(val_samples))
                } else {
                    String::new()
                };
                run.log += &format!(
                    "Train on {} samples{validation}; {batches_per_epoch} batches per epoch; {} parameters\n",
                    thousands(train_samples),
                    thousands(params)
                );
                Vec::new()
            }
            TrainEvent::Batch {
                epoch,
                batch,
                batches,
                samples_seen,
                loss,
                accuracy,
                samples_per_second,
            } => {
                run.at = (epoch, batch);
                let total = (run.train_samples * run.epochs).max(1);
                self.train_progress = samples_seen as f64 / total as f64;
                let eta =
                    (total.saturating_sub(samples_seen)) as f64 / samples_per_second.max(1e-9);
                self.train_status = format!(
                    "Epoch {epoch}/{} · batch {batch}/{batches} · loss {loss:.4} · accuracy {accuracy:.4} · {} samples/s · ETA {}",
                    run.epochs,
                    thousands(samples_per_second.round() as usize),
                    super::format::duration(eta)
                );
                Vec::new()
            }
            TrainEvent::Epoch(metrics) => {
                let batches = run.train_samples.div_ceil(run.settings.batch_size);
                run.log += &format!(
                    "Epoch {}/{}\n{batches}/{batches} - {}\n",
                    metrics.epoch,
                    run.epochs,
                    metrics.log_line()
                );
                self.train_progress = metrics.epoch as f64 / run.epochs.max(1) as f64;
                let event = HostEvent::EpochEnd {
                    epochs: run.epochs,
                    metrics: metrics.clone(),
                };
                run.history.push(metrics);
                self.versions.charts += 1;
                vec![Effect::Post(event)]
            }
            TrainEvent::Stopped {
                epoch,
                message,
                reason,
            } => {
                run.log += &format!("{message}\n");
                run.stop = Some((epoch, message.clone()));
                vec![Effect::Post(HostEvent::EarlyStop {
                    epoch,
                    reason: reason.code().to_string(),
                    message,
                })]
            }
            TrainEvent::Finished(_) => Vec::new(),
            TrainEvent::Checkpoint(checkpoint) => {
                self.checkpoint = Some(checkpoint);
                Vec::new()
            }
            TrainEvent::Resumed { epoch } => {
                run.log += &format!("Resumed after epoch {epoch} on {}\n", run.backend);
                Vec::new()
            }
        }
    }

    fn on_tested(&mut self, result: TestResult) -> Vec<Effect> {
        self.phase = Phase::Idle;
        self.has_model = true;
        let Some(run) = self.run.clone() else {
            return Vec::new();
        };
        self.train_status = match run.history.last() {
            Some(m) => format!(
                "Done: {} epoch(s), final loss {:.4}, accuracy {:.4}.",
                m.epoch, m.loss, m.accuracy
            ),
            None => "Stopped before the first epoch ended.".to_string(),
        };
        self.runs.push(self.record(&run, Some(result.accuracy)));
        self.versions.history += 1;
        let finished = HostEvent::Finished {
            test_loss: result.loss,
            test_accuracy: result.accuracy,
            epochs_run: run.history.len(),
            layers: run.spec.to_text(),
            params: run.params,
            summary: Summary::of(&run.spec)
                .map(|s| s.to_table("sequential"))
                .unwrap_or_default(),
        };
        self.test = TestView::Shown {
            lead: "Test loss".to_string(),
            result,
        };
        let mut effects = vec![Effect::SaveHistory, Effect::Post(finished)];
        effects.extend(self.request_maps());
        effects
    }

    fn on_failed(&mut self, request: RequestKind, message: String) -> Vec<Effect> {
        match request {
            RequestKind::FeatureMaps => self.maps.status = message.clone(),
            RequestKind::LoadModel | RequestKind::ExportModel => {
                if self.phase == Phase::LoadingModel {
                    self.phase = Phase::Idle;
                }
                self.models_status = String::new();
                self.models_error = Some(message.clone());
            }
            _ => self.notice = Some(format!("{request} failed: {message}")),
        }
        match (request, &self.phase) {
            (RequestKind::Train, Phase::Training { by_host }) => {
                let by_host = *by_host;
                self.phase = Phase::Idle;
                self.train_status = "Training did not run.".to_string();
                self.test = TestView::Prompt;
                if by_host {
                    return vec![Effect::Post(HostEvent::CommandFailed {
                        command: "start".into(),
                        message,
                    })];
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// The GPU is gone. A run carries on on the CPU from its last checkpoint, in the same
    /// worker; any other request fails, naming the loss.
    fn on_gpu_lost(
        &mut self,
        request: RequestKind,
        reason: String,
        epoch: usize,
        batch: usize,
    ) -> Vec<Effect> {
        self.gpu_lost = Some(reason.clone());
        self.has_model = false;
        self.backend = format!("Backend: CPU (burn-flex): the GPU was reset ({reason})");
        if request == RequestKind::Train && matches!(self.phase, Phase::Training { .. }) {
            let what = format!("the GPU was reset ({reason}) during epoch {epoch}, batch {batch}");
            let by_host = matches!(self.phase, Phase::Training { by_host: true });
            return self.resume_run(what, by_host, false);
        }
        self.on_failed(
            request,
            format!("the GPU was reset ({reason}); convlab now runs on the CPU, and a model trained on the GPU is gone with it: train again"),
        )
    }

    /// The worker died (a panic, a trap, an out-of-memory abort, a script error): start a fresh
    /// one, which loads the dataset again from the browser's cache. The model being edited,
    /// the settings, the runs and the saved models live in the page and stay. A run in progress
    /// carries on from its last checkpoint once (on the CPU if it was on the GPU); if it
    /// crashes again it ends, and its record says why.
    pub(super) fn on_worker_crashed(&mut self, message: String) -> Vec<Effect> {
        if matches!(self.phase, Phase::WorkerLost { .. }) {
            return Vec::new();
        }
        self.worker_restarts += 1;
        let training = match self.phase {
            Phase::Training { by_host } => Some(by_host),
            _ => None,
        };
        let mut effects = vec![Effect::Post(HostEvent::Error {
            message: message.clone(),
        })];
        if self.worker_restarts > MAX_WORKER_RESTARTS {
            if training == Some(true) {
                effects.push(Effect::Post(HostEvent::CommandFailed {
                    command: "start".into(),
                    message: message.clone(),
                }));
            }
            if let Some(run) = self.run.clone().filter(|_| training.is_some()) {
                self.end_interrupted(&run, &message);
                effects.push(Effect::SaveHistory);
            }
            self.phase = Phase::WorkerLost {
                reason: message.clone(),
            };
            self.data_error = Some(format!(
                "{message}; convlab restarted its worker {MAX_WORKER_RESTARTS} times and stopped trying: reload the page to retry"
            ));
            return effects;
        }
        self.has_model = false;
        self.notice = Some(format!(
            "{message}. convlab started a fresh training worker: your model, settings, runs and saved models are kept."
        ));
        self.phase = Phase::Booting;
        self.data_status = "Starting a fresh training worker…".to_string();
        let on_gpu = self.run.as_ref().is_some_and(|r| r.on_gpu) && training.is_some();
        if on_gpu {
            self.gpu_lost = Some(format!("the worker crashed on the GPU: {message}"));
        }
        let prefer_webgpu = self.state.settings.prefer_webgpu && self.gpu_lost.is_none();
        match (training, self.run.clone()) {
            (Some(_), Some(run)) if run.crashes == 0 || on_gpu => {
                if let Some(run) = &mut self.run {
                    run.crashes += 1;
                }
                let (epoch, batch) = run.at;
                let what = format!(
                    "the training worker crashed ({message}) during epoch {epoch}, batch {batch}"
                );
                effects.extend(self.resume_run(what, training == Some(true), true));
            }
            (Some(_), Some(run)) => {
                self.end_interrupted(&run, &message);
                effects.push(Effect::SaveHistory);
            }
            _ => {}
        }
        effects.push(Effect::RestartWorker { prefer_webgpu });
        effects
    }

    /// Asks for the run to carry on from its last checkpoint (from its start without one):
    /// now, or once a fresh worker has the dataset. Its record notes where and why.
    fn resume_run(&mut self, what: String, by_host: bool, after_restart: bool) -> Vec<Effect> {
        let Some(run) = &mut self.run else {
            return Vec::new();
        };
        let from = match self.checkpoint.as_deref() {
            Some(c) if c.batches_done > 0 => {
                format!("epoch {}, batch {}", c.epochs_done + 1, c.batches_done)
            }
            Some(c) => format!("the end of epoch {}", c.epochs_done),
            None => "the start".to_string(),
        };
        let on = if self.gpu_lost.is_some() {
            " on the CPU"
        } else {
            ""
        };
        let note = format!("{what}; continued{on} from {from}");
        run.log += &format!("{note}\n");
        run.notes.push(note.clone());
        run.history
            .truncate(self.checkpoint.as_ref().map_or(0, |c| c.epochs_done));
        self.versions.charts += 1;
        self.train_status = format!("{}…", capitalized(&note));
        let request = ToWorker::Train {
            spec: run.spec.clone(),
            config: run.settings.train_config(),
            train_limit: Some(run.settings.train_limit),
            prefer_webgpu: run.settings.prefer_webgpu && self.gpu_lost.is_none(),
            resume: self.checkpoint.clone(),
        };
        if after_restart {
            self.resume_after_data = Some((request, by_host));
            Vec::new()
        } else {
            vec![Effect::Send(request)]
        }
    }

    /// A run that cannot go on: its epochs so far go into the history, without a test result.
    fn end_interrupted(&mut self, run: &super::app::Run, message: &str) {
        let mut record = self.record(run, None);
        record.stop_reason = format!("interrupted: {message}");
        self.runs.push(record);
        self.versions.history += 1;
        self.train_status = format!("Training stopped: {message}.");
        self.test = TestView::Prompt;
    }
}

/// A fresh worker is started at most this often in a page's life; a worker that keeps dying
/// (it cannot even start) is then reported, not restarted forever.
const MAX_WORKER_RESTARTS: usize = 3;

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
