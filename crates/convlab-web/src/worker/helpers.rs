//! The training worker's helpers: on the CPU backend, one more worker per further core, each
//! computing a share of every batch's gradients (a browser gives each worker one thread; wasm
//! threads would need a nightly toolchain). They run the same CPU module as the page, which
//! `worker.js` keeps for them.

use crate::protocol::{FromHelper, ShareRequest};
use convlab_core::{
    GradientHelpers, HelperError, ModelSpec, ShareGradients, ShareJob, SharesFuture,
};
use gloo_timers::callback::Timeout;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

/// The global where `worker.js` keeps the CPU module it was given.
const CPU_MODULE: &str = "convlabCpuModule";

/// A helper that has not started its module by then counts as failed (a script that never
/// loads must not hold the training worker's queue).
const START_TIMEOUT_MS: u32 = 20_000;

/// A share's answer is given up on after this many times the training worker's own share took,
/// and at least [`MIN_REPLY_TIMEOUT_MS`]: a browser can end a worker without an error event
/// (out of memory), and a step must not wait for it forever.
const REPLY_TIMEOUT_FACTOR: f64 = 20.0;
const MIN_REPLY_TIMEOUT_MS: f64 = 10_000.0;

thread_local! {
    /// The helpers of the pool last started, for the fault test.
    static RUNNING: std::cell::RefCell<std::rc::Weak<Vec<Helper>>> = std::cell::RefCell::default();
}

/// Ends the first running helper without telling the training worker (the `stop_helper`
/// fault). Returns whether there was one.
pub fn stop_first_helper() -> bool {
    RUNNING.with(|running| {
        running
            .borrow()
            .upgrade()
            .and_then(|helpers| helpers.first().map(|helper| helper.worker.terminate()))
            .is_some()
    })
}

/// Speaks for helpers that cannot: unless dropped first, tells each of `channels` after `ms`
/// that its helper stopped, for `reason`. The one time limit for starting and for answering.
fn deadline(ms: f64, channels: Vec<async_channel::Sender<FromHelper>>, reason: String) -> Timeout {
    Timeout::new(ms.min(f64::from(i32::MAX)) as u32, move || {
        for send in channels {
            let _ = send.try_send(FromHelper::Crashed {
                message: reason.clone(),
            });
        }
    })
}

/// One helper worker and the channel its replies arrive on.
struct Helper {
    worker: Worker,
    replies: async_channel::Receiver<FromHelper>,
    /// For [`deadline`]s.
    send: async_channel::Sender<FromHelper>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

impl Helper {
    fn spawn(script: &str, module: &JsValue) -> Result<Helper, String> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        let worker = Worker::new_with_options(script, &options).map_err(|e| format!("{e:?}"))?;
        let (send, replies) = async_channel::unbounded();
        let to_channel = send.clone();
        let send_for_deadlines = send.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let reply = FromHelper::from_js(event.data()).unwrap_or_else(|e| FromHelper::Failed {
                message: e.to_string(),
            });
            let _ = to_channel.try_send(reply);
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let detail = js_sys::Reflect::get(&event, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_else(|| "its script failed (see the browser console)".to_string());
            let _ = send.try_send(FromHelper::Crashed { message: detail });
        });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let first = js_sys::Object::new();
        let set = |key: &str, value: &JsValue| js_sys::Reflect::set(&first, &key.into(), value);
        set("module", module)
            .and_then(|_| set("helper", &true.into()))
            .and_then(|_| worker.post_message(&first))
            .map_err(|e| format!("{e:?}"))?;
        Ok(Helper {
            worker,
            replies,
            send: send_for_deadlines,
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    /// The next reply, as the result of a share handed out at `sent_at_ms`.
    async fn receive(&self, index: usize, sent_at_ms: f64) -> Result<ShareGradients, HelperError> {
        match self.replies.recv().await {
            Ok(reply) => reply.into_share(index, sent_at_ms),
            Err(_) => Err(HelperError::Stopped {
                helper: index,
                reason: "its reply channel closed".to_string(),
            }),
        }
    }
}

/// Running helper workers, kept by the session between runs and lent to each run's trainer.
/// Once one fails, the pool is broken and the next run starts fresh ones.
#[derive(Clone)]
pub struct HelperPool {
    helpers: Rc<Vec<Helper>>,
    broken: Rc<Cell<bool>>,
}

impl HelperPool {
    /// Starts `count` helpers on this worker's script and CPU module, and waits until each
    /// runs its module.
    pub async fn start(count: usize) -> Result<HelperPool, HelperError> {
        let global = js_sys::global();
        let module = js_sys::Reflect::get(&global, &CPU_MODULE.into())
            .ok()
            .filter(|m| m.is_object())
            .ok_or_else(|| HelperError::Stopped {
                helper: 0,
                reason: "this worker was not given the CPU module to start helpers with"
                    .to_string(),
            })?;
        let script = js_sys::Reflect::get(&global, &"location".into())
            .and_then(|location| js_sys::Reflect::get(&location, &"href".into()))
            .ok()
            .and_then(|href| href.as_string())
            .unwrap_or_else(|| "worker.js".to_string());
        let mut helpers = Vec::with_capacity(count);
        for helper in 0..count {
            let spawned = Helper::spawn(&script, &module)
                .map_err(|reason| HelperError::Stopped { helper, reason })?;
            helpers.push(spawned);
        }
        // A script that never loads sends nothing; dropped (cancelled) once all have answered.
        let _start_limit = deadline(
            f64::from(START_TIMEOUT_MS),
            helpers.iter().map(|h| h.send.clone()).collect(),
            format!("it did not start within {} s", START_TIMEOUT_MS / 1000),
        );
        for (helper, spawned) in helpers.iter().enumerate() {
            match spawned.replies.recv().await {
                Ok(FromHelper::Ready) => {}
                Ok(FromHelper::Crashed { message } | FromHelper::Failed { message }) => {
                    return Err(HelperError::Stopped {
                        helper,
                        reason: message,
                    })
                }
                Ok(FromHelper::Gradients { .. }) | Err(_) => {
                    return Err(HelperError::Stopped {
                        helper,
                        reason: "it did not start".to_string(),
                    })
                }
            }
        }
        let helpers = Rc::new(helpers);
        RUNNING.with(|running| *running.borrow_mut() = Rc::downgrade(&helpers));
        Ok(HelperPool {
            helpers,
            broken: Rc::default(),
        })
    }

    pub fn len(&self) -> usize {
        self.helpers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.helpers.is_empty()
    }

    pub fn is_broken(&self) -> bool {
        self.broken.get()
    }

    /// The helpers for one run's trainer, on `spec`.
    pub fn for_run(&self, spec: &ModelSpec) -> Box<dyn GradientHelpers> {
        Box::new(RunHelpers {
            pool: self.clone(),
            spec: spec.clone(),
            sent: Vec::new(),
            sent_at_ms: 0.0,
        })
    }
}

/// The pool as one run's trainer uses it.
struct RunHelpers {
    pool: HelperPool,
    spec: ModelSpec,
    /// Whether each share of the current step was handed to its helper.
    sent: Vec<Result<(), HelperError>>,
    /// When they were (the workers' shared clock, ms): for the replies' time limit, and for
    /// how long each helper took.
    sent_at_ms: f64,
}

impl GradientHelpers for RunHelpers {
    fn count(&self) -> usize {
        self.pool.len()
    }

    fn start(&mut self, jobs: Vec<ShareJob>) {
        self.sent = self
            .pool
            .helpers
            .iter()
            .zip(ShareRequest::for_jobs(&self.spec, jobs))
            .enumerate()
            .map(|(helper, (worker, request))| {
                request
                    .to_js()
                    .map_err(|e| e.to_string())
                    .and_then(|value| {
                        worker
                            .worker
                            .post_message(&value)
                            .map_err(|e| format!("{e:?}"))
                    })
                    .map_err(|message| HelperError::Failed { helper, message })
            })
            .collect();
        // The trainer starts on its own share now; a helper's time runs from here too.
        self.sent_at_ms = super::shared_clock_ms();
    }

    fn finish(&mut self) -> SharesFuture<'_> {
        Box::pin(async move {
            let sent = std::mem::take(&mut self.sent);
            // The trainer computed its own share in the meantime: helpers have this long.
            let own_ms = super::shared_clock_ms() - self.sent_at_ms;
            let limit_ms = (own_ms * REPLY_TIMEOUT_FACTOR).max(MIN_REPLY_TIMEOUT_MS);
            let answer_limit = deadline(
                limit_ms,
                self.pool.helpers.iter().map(|h| h.send.clone()).collect(),
                format!("no answer within {:.0} s", limit_ms / 1e3),
            );
            let mut results = Vec::with_capacity(sent.len());
            for (helper, sent) in sent.into_iter().enumerate() {
                results.push(match sent {
                    Ok(()) => {
                        self.pool.helpers[helper]
                            .receive(helper, self.sent_at_ms)
                            .await
                    }
                    Err(error) => Err(error),
                });
            }
            drop(answer_limit);
            if results.iter().any(Result::is_err) {
                self.pool.broken.set(true);
            }
            results
        })
    }
}
