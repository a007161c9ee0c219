//! How the page recovers when the browser misbehaves: a lost GPU (the run carries on on the
//! CPU from its last checkpoint) and a dead worker (a fresh one, the run resumed once).

use super::app::{App, Effect, Phase, TestView};
use super::host::HostEvent;
use crate::protocol::{RequestKind, ToWorker, TrainRequest};

impl App {
    /// The GPU is gone. A run carries on on the CPU from its last checkpoint, in the same
    /// worker; any other request fails, naming the loss.
    pub(super) fn on_gpu_lost(
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
        self.forget_picture_request();
        self.notice = Some(format!(
            "{message}. convlab started a fresh training worker: your model, settings, runs and saved models are kept."
        ));
        self.phase = Phase::Booting;
        self.data_status = "Starting a fresh training worker…".to_string();
        let on_gpu = self.run.as_ref().is_some_and(|r| r.on_gpu) && training.is_some();
        if on_gpu {
            self.gpu_lost = Some(format!("the worker crashed on the GPU: {message}"));
        }
        let webgpu = self.worker_may_use_webgpu();
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
        effects.push(Effect::RestartWorker { webgpu });
        effects
    }

    /// Asks for the run to carry on from its last checkpoint (from its start without one):
    /// now, or once a fresh worker has the dataset. Its record notes where and why.
    fn resume_run(&mut self, what: String, by_host: bool, after_restart: bool) -> Vec<Effect> {
        let Some(requested) = self
            .run
            .as_ref()
            .map(|run| self.backend_request(&run.settings, &run.spec))
        else {
            return Vec::new();
        };
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
        let request = ToWorker::Train(TrainRequest {
            spec: run.spec.clone(),
            config: run.settings.train_config(),
            train_limit: Some(run.settings.train_limit),
            backend: requested.backend,
            cpu_workers: requested.cpu_workers,
            timings: requested.timings,
            resume: self.checkpoint.clone(),
            watch: run.watch.clone(),
        });
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
        self.set_test(TestView::Prompt);
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
