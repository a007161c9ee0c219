//! The training worker. It owns the dataset and the models; the page only sends
//! [`ToWorker`] requests and draws the [`FromWorker`] replies, so training never blocks it.
//!
//! [`Session`] is the worker's logic without the transport (tests drive it directly); this
//! module is the transport: the message loop, the queue, the stop slot, the pace of batch
//! reports and the yield to the event loop between batches.

pub mod helper;
mod helpers;
mod session;

pub use helpers::HelperPool;
pub use session::{Session, SessionError};

use crate::protocol::{BatchReports, Fault, FromWorker, RequestKind, ToWorker};
use convlab_core::StopHandle;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageChannel, MessageEvent};

/// The stop handles of the run and of the warm-up in progress, reachable while the session
/// is busy with them.
#[derive(Clone, Default)]
pub struct StopSlot {
    run: Rc<RefCell<Option<StopHandle>>>,
    warm_up: Rc<RefCell<Option<StopHandle>>>,
}

impl StopSlot {
    /// Stops the run in progress (the student's Stop).
    pub fn request_stop(&self) {
        if let Some(handle) = self.run.borrow().as_ref() {
            handle.request_stop();
        }
    }

    /// Ends the warm-up in progress after its current step: a newer warm-up or a Train has
    /// arrived, and timing a model nobody will train only delays it.
    pub fn cancel_warm_up(&self) {
        if let Some(handle) = self.warm_up.borrow().as_ref() {
            handle.request_stop();
        }
    }

    fn set(&self, handle: Option<StopHandle>) {
        *self.run.borrow_mut() = handle;
    }

    fn set_warm_up(&self, handle: Option<StopHandle>) {
        *self.warm_up.borrow_mut() = handle;
    }
}

/// The size of this module's linear memory (the heap of the wasm CPU backend and of every
/// Rust value in the worker).
fn wasm_memory_bytes() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        wasm_bindgen::memory()
            .unchecked_into::<js_sys::WebAssembly::Memory>()
            .buffer()
            .unchecked_into::<js_sys::ArrayBuffer>()
            .byte_length() as u64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}

thread_local! {
    /// A message channel used as a zero-delay task queue (setTimeout is clamped to 4 ms once
    /// nested, which would cost a fast CPU step a third of its time).
    static YIELD: (MessageChannel, Rc<RefCell<VecDeque<js_sys::Function>>>) = {
        let channel = MessageChannel::new().expect("MessageChannel exists in windows and workers");
        let waiting: Rc<RefCell<VecDeque<js_sys::Function>>> = Rc::default();
        let queue = waiting.clone();
        let wake = Closure::<dyn FnMut()>::new(move || {
            if let Some(resolve) = queue.borrow_mut().pop_front() {
                let _ = resolve.call0(&JsValue::NULL);
            }
        });
        channel.port1().set_onmessage(Some(wake.as_ref().unchecked_ref()));
        wake.forget(); // lives as long as the page or worker
        (channel, waiting)
    };
}

/// Milliseconds on a clock that the page's workers read alike (`performance.timeOrigin +
/// performance.now()`; `now()` alone counts from each worker's own start): how long a helper
/// took for a share is told by the time its answer was ready against the time the share was
/// handed out. 0 where there is no `performance`.
fn shared_clock_ms() -> f64 {
    let performance =
        js_sys::Reflect::get(&js_sys::global(), &"performance".into()).unwrap_or_default();
    let origin = js_sys::Reflect::get(&performance, &"timeOrigin".into())
        .ok()
        .and_then(|origin| origin.as_f64());
    match origin {
        Some(origin) => origin + performance_now(),
        None => 0.0,
    }
}

/// Lets the event loop run queued tasks (messages from the page), then resumes.
pub async fn yield_to_event_loop() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        YIELD.with(|(channel, waiting)| {
            waiting.borrow_mut().push_back(resolve);
            let _ = channel.port2().post_message(&JsValue::NULL);
        });
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Posts `reply` to the page. A reply that cannot be converted (say, a model file whose header
/// holds a seed beyond JavaScript's exact integers) is replaced by a failure naming its
/// request, so the page is not left waiting.
fn post(scope: &DedicatedWorkerGlobalScope, reply: FromWorker) {
    match reply.to_js() {
        Ok(value) => {
            let _ = scope.post_message(&value);
        }
        Err(e) => {
            log(&format!("convlab worker: cannot send a reply: {e}"));
            let failure = FromWorker::Failed {
                request: reply.request(),
                message: format!("the worker could not send its answer: {e}"),
            };
            if let Ok(value) = failure.to_js() {
                let _ = scope.post_message(&value);
            }
        }
    }
}

/// Runs the worker: requests are handled one at a time in arrival order, except Stop, which
/// acts at once on the run in progress.
pub fn start(scope: DedicatedWorkerGlobalScope) {
    report_panics();
    let stop = StopSlot::default();
    let session = Rc::new(RefCell::new(Some(Session::new(stop.clone()))));
    let queue: Rc<RefCell<VecDeque<ToWorker>>> = Rc::default();
    let post_scope = scope.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let request = match ToWorker::from_js(event.data()) {
            Ok(request) => request,
            Err(e) => {
                let failure = FromWorker::Failed {
                    request: RequestKind::Unknown,
                    message: e.to_string(),
                };
                return post(&post_scope, failure);
            }
        };
        match request {
            ToWorker::Stop => return stop.request_stop(),
            ToWorker::Fault(Fault::LoseGpu) => {
                if !crate::gpu::destroy_device() {
                    log("convlab worker: the fault test asked to lose the GPU, but none is in use");
                }
                return;
            }
            ToWorker::Fault(Fault::Panic) => panic!("the fault test asked the worker to panic"),
            ToWorker::Fault(Fault::StopHelper) => {
                if !helpers::stop_first_helper() {
                    log("convlab worker: the fault test asked to stop a helper, but none runs");
                }
                return;
            }
            ToWorker::WarmUp(_) | ToWorker::Train(_) => stop.cancel_warm_up(),
            _ => {}
        }
        queue.borrow_mut().push_back(request);
        // Whoever takes the session drains the queue; if it is out, a drain is running.
        let Some(mut taken) = session.borrow_mut().take() else {
            return;
        };
        let (queue, session, scope) = (queue.clone(), session.clone(), post_scope.clone());
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                let next = queue.borrow_mut().pop_front();
                let Some(request) = next else { break };
                if matches!(request, ToWorker::WarmUp(_)) && makes_warm_up_stale(&queue.borrow()) {
                    continue;
                }
                let mut reports = BatchReports::default();
                taken
                    .handle(request, &mut |reply| {
                        if reports.admits(&reply, js_sys::Date::now()) {
                            post(&scope, reply);
                        }
                    })
                    .await;
            }
            *session.borrow_mut() = Some(taken);
        });
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget(); // the worker lives as long as its handler
    post(&scope, FromWorker::Ready);
}

/// A warm-up is for the model on screen when it was sent: a newer one, or a Train (which
/// compiles its own first step), already waiting makes it pointless.
fn makes_warm_up_stale(waiting: &VecDeque<ToWorker>) -> bool {
    waiting
        .iter()
        .any(|r| matches!(r, ToWorker::WarmUp(_) | ToWorker::Train(_)))
}

/// A panic kills this worker (wasm cannot unwind): the console gets its message and stack,
/// and the page a [`FromWorker::Crashed`] naming it, so that it starts a fresh worker.
fn report_panics() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let crashed = FromWorker::Crashed {
            message: format!("the training worker panicked: {info}"),
        };
        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        if let Ok(value) = crashed.to_js() {
            let _ = scope.post_message(&value);
        }
    }));
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn log(s: &str);
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}
