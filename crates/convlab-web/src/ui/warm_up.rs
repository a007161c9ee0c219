//! The first training step of the model on screen, made ready while the student reads or
//! edits: which warm-up the page sends, what it says about it, and a run that did its work.

use super::app::{App, Effect, Phase};
use crate::protocol::{ToWorker, WarmUp};

impl App {
    /// The warm-up the model on screen would get now: only while the page waits for the
    /// student with a model that can train.
    pub fn warm_up_key(&self) -> Option<WarmUp> {
        if self.phase != Phase::Idle || !self.enabled(super::Control::Train) {
            return None;
        }
        let request = self.backend_request(&self.state.settings, &self.state.spec);
        Some(WarmUp {
            spec: self.state.spec.clone(),
            batch_size: self.state.settings.batch_size,
            backend: request.backend,
            cpu_workers: request.cpu_workers,
            timings: request.timings,
        })
    }

    /// After any change, a model (or batch size, or backend) that the worker has not warmed
    /// up yet is sent to it; the worker skips a warm-up that a newer one has overtaken.
    pub(super) fn warm_up_if_changed(&mut self) -> Option<Effect> {
        let key = self.warm_up_key()?;
        if self
            .warm
            .sent
            .as_ref()
            .is_some_and(|sent| sent.prepares_same(&key))
        {
            return None;
        }
        self.warm.sent = Some(key.clone());
        Some(Effect::Send(ToWorker::WarmUp(key)))
    }

    /// What the training panel says about the next run's first step.
    pub fn warm_status(&self) -> String {
        let Some(key) = self.warm_up_key() else {
            return String::new();
        };
        match &self.warm.outcome {
            Some((done, Ok(text))) if done.prepares_same(&key) => text.clone(),
            Some((failed, Err(why))) if failed.prepares_same(&key) => {
                format!("The first step could not be prepared ahead: {why}")
            }
            _ if self
                .warm
                .sent
                .as_ref()
                .is_some_and(|sent| sent.prepares_same(&key)) =>
            {
                if self.will_time_backends(&self.state.settings, &self.state.spec) {
                    "Timing this model on WebGPU and on the CPU, to train on the faster…"
                        .to_string()
                } else {
                    "Preparing this model's first training step…".to_string()
                }
            }
            _ => String::new(),
        }
    }

    /// A run compiles its own first step: the warm-up of the same model that it overtook or
    /// cancelled (which then never answers) is not waited for after it.
    pub(super) fn run_prepared_the_warm_up(&mut self, description: &str) {
        let Some(sent) = self.warm.sent.clone() else {
            return;
        };
        let answered = self
            .warm
            .outcome
            .as_ref()
            .is_some_and(|(done, outcome)| done.prepares_same(&sent) && outcome.is_ok());
        let same_model = self
            .run
            .as_ref()
            .is_some_and(|run| run.spec == sent.spec && run.settings.batch_size == sent.batch_size);
        if same_model && !answered {
            self.warm.outcome = Some((
                sent,
                Ok(format!(
                    "Ready to train on {description}: the last run prepared it."
                )),
            ));
        }
    }
}
