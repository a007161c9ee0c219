//! How the page's state follows the training worker: its replies, and its failure.

use super::app::{App, DataInfo, Effect, Phase, ShownMaps, TestView};
use super::host::HostEvent;
use crate::protocol::{FromWorker, RequestKind, TestResult};
use convlab_core::units::thousands;
use convlab_core::{BackendKind, Summary, TrainEvent};

impl App {
    pub(super) fn on_reply(&mut self, reply: FromWorker) -> Vec<Effect> {
        match reply {
            FromWorker::Ready => {
                // A fresh worker: nothing is compiled on it yet.
                self.warm = Default::default();
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
                // The folder may have changed: the thumbnails are asked for again.
                self.mistakes.images.clear();
                if let Some((request, by_host)) = self.resume_after_data.take() {
                    self.phase = Phase::Training { by_host };
                    return vec![Effect::Send(request)];
                }
                let mut effects = self.request_maps();
                effects.extend(self.ask_about_picture());
                effects.extend(self.ask_for_page_images());
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
            FromWorker::Backend {
                kind,
                description,
                timings,
            } => {
                self.backend = format!("Backend: {description}");
                let remembered = self.remember_timings(timings);
                self.run_prepared_the_warm_up(&description);
                if let Some(run) = &mut self.run {
                    run.on_gpu = kind == BackendKind::Wgpu;
                    run.backend = match run.backend.as_str() {
                        "" => description,
                        first if first == description => description,
                        first => format!("{first}, then {description}"),
                    };
                }
                remembered
            }
            FromWorker::Training(event) => self.on_training(event),
            FromWorker::WarmedUp {
                warm_up,
                backend,
                description,
                seconds,
                timings,
            } => {
                let compiled =
                    format!(" Its first step is compiled ({seconds:.1} s, done while you read).");
                let text = match (&timings, &warm_up.timings, backend) {
                    (Some(_), _, _) => format!(
                        "Ready to train on {description}. Timed in {seconds:.1} s while you read."
                    ),
                    (None, Some(_), kind) => format!(
                        "Ready to train on {description}, as timed earlier in this browser.{}",
                        if kind == BackendKind::Wgpu {
                            compiled.as_str()
                        } else {
                            ""
                        }
                    ),
                    (None, None, BackendKind::Wgpu) => {
                        format!("Ready to train on {description}.{compiled}")
                    }
                    (None, None, BackendKind::Cpu) => format!("Ready to train on {description}."),
                };
                self.warm.outcome = Some((warm_up, Ok(text)));
                self.remember_timings(timings)
            }
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
            FromWorker::Classified {
                probabilities,
                maps,
                trained,
            } => self.on_classified(probabilities, maps, trained),
            FromWorker::TestImages { indices, pixels } => self.on_test_images(indices, pixels),
            FromWorker::Snapshot {
                epoch,
                kernels,
                maps,
            } => self.on_snapshot(epoch, kernels, maps),
            FromWorker::Inspected {
                index,
                probabilities,
                maps,
            } => self.on_inspected(index, probabilities, maps),
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
            // The worker sends snapshots as their own reply (`FromWorker::Snapshot`), and
            // the sharing's figures only to the console.
            TrainEvent::Finished(_) | TrainEvent::Snapshot(_) | TrainEvent::Shared(_) => Vec::new(),
            TrainEvent::Checkpoint(checkpoint) => {
                self.checkpoint = Some(checkpoint);
                Vec::new()
            }
            TrainEvent::Resumed { epoch } => {
                run.log += &format!("Resumed after epoch {epoch} on {}\n", run.backend);
                Vec::new()
            }
            TrainEvent::HelpersStopped { message } => {
                run.log += &format!(
                    "The workers on other cores stopped ({message}); training goes on in one worker\n"
                );
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
        self.set_test(TestView::Shown {
            lead: "Test loss".to_string(),
            result,
        });
        let mut effects = vec![Effect::SaveHistory, Effect::Post(finished)];
        effects.extend(self.request_maps());
        effects.extend(self.ask_about_picture());
        effects
    }

    pub(super) fn on_failed(&mut self, request: RequestKind, message: String) -> Vec<Effect> {
        match request {
            RequestKind::FeatureMaps => self.maps.status = message.clone(),
            // Train says the same when it is pressed; until then it is only a remark.
            RequestKind::WarmUp => {
                if let Some(sent) = self.warm.sent.clone() {
                    self.warm.outcome = Some((sent, Err(message.clone())));
                }
            }
            RequestKind::Classify => self.on_classify_failed(message.clone()),
            RequestKind::TestImages | RequestKind::Inspect => {
                self.on_mistakes_failed(message.clone())
            }
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
                self.set_test(TestView::Prompt);
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
}
