//! The page: it holds no dataset and trains nothing itself; it sends [`ToWorker`] requests to
//! the training worker and draws the [`FromWorker`] replies, so it stays responsive.
//!
//! The Elm shape: [`app::App`] is the state (plain Rust, an explicit phase), changed only by
//! [`app::App::update`], which returns [`app::Effect`]s. One panel per file under `panels/`
//! binds its elements once, renders from the state and turns its DOM events into
//! [`app::Msg`]s. The [`Dispatcher`] borrows the state, runs `update`, releases it, renders
//! and then carries out the effects: a message sent while it runs is queued, so nothing
//! re-enters `update`.
//!
//! [`ToWorker`]: crate::protocol::ToWorker
//! [`FromWorker`]: crate::protocol::FromWorker

mod actions;
pub mod app;
pub mod charts;
mod commands;
pub mod controls;
pub mod dom;
pub mod draw;
pub mod editor;
mod effects;
pub mod filters;
pub mod format;
pub mod history;
pub mod host;
pub mod messages;
pub mod mistakes;
pub mod model_store;
pub mod panels;
pub mod picture;
mod recovery;
mod replies;
pub mod saved;
pub mod setup;
pub mod state;
pub mod storage;
pub mod timings;
mod warm_up;

pub use controls::Control;

use crate::protocol::FromWorker;
use crate::WebError;
use app::{App, Boot, Msg};
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

/// What every panel does: draw itself from the state (cheaply when nothing it shows changed).
pub trait Panel {
    fn render(&self, app: &App);
}

/// Runs messages through [`App::update`] one at a time, renders, then carries out effects.
#[derive(Clone)]
pub struct Dispatcher(Rc<Inner>);

struct Inner {
    app: RefCell<App>,
    queue: RefCell<VecDeque<Msg>>,
    running: Cell<bool>,
    panels: OnceCell<Vec<Box<dyn Panel>>>,
    worker: RefCell<Option<Worker>>,
    /// Counts the workers started: a dead worker's last messages are told apart by it.
    generation: Cell<u32>,
}

impl Dispatcher {
    pub fn dispatch(&self, msg: Msg) {
        self.0.queue.borrow_mut().push_back(msg);
        if self.0.running.replace(true) {
            return; // the loop below takes it
        }
        loop {
            let next = self.0.queue.borrow_mut().pop_front();
            let Some(msg) = next else { break };
            let effects = {
                let mut app = self.0.app.borrow_mut();
                app.now = now_local();
                app.update(msg)
            };
            self.render();
            for effect in effects {
                effects::run(self, effect);
            }
        }
        self.0.running.set(false);
    }

    fn render(&self) {
        let app = self.0.app.borrow();
        for panel in self.0.panels.get().into_iter().flatten() {
            panel.render(&app);
        }
    }

    /// Reads the state (for an effect that needs more of it than its message carries).
    pub fn with_app<T>(&self, read: impl FnOnce(&App) -> T) -> T {
        read(&self.0.app.borrow())
    }

    fn worker(&self) -> Option<Worker> {
        self.0.worker.borrow().clone()
    }

    /// Ends the current worker (if any) and starts a fresh one; its messages, and only its,
    /// reach the state from now on.
    fn restart_worker(&self, webgpu: bool) {
        if let Some(old) = self.0.worker.borrow_mut().take() {
            old.terminate();
        }
        let generation = self.0.generation.get() + 1;
        self.0.generation.set(generation);
        match start_worker(self, webgpu, generation) {
            Ok(worker) => *self.0.worker.borrow_mut() = Some(worker),
            Err(e) => self.dispatch(Msg::WorkerFailed(format!(
                "convlab could not start its training worker: {e}"
            ))),
        }
    }

    fn is_current(&self, generation: u32) -> bool {
        self.0.generation.get() == generation
    }
}

/// Starts the page: the state from storage and the URL, the panels, the worker.
pub fn start() {
    if let Err(error) = try_start() {
        // Without its panels the page cannot say anything else: the console and an alert.
        let message = format!("convlab could not start: {error}");
        console_error(&message);
        if let Some(window) = web_sys::window() {
            let _ = window.alert_with_message(&message);
        }
    }
}

fn try_start() -> Result<(), WebError> {
    let window = web_sys::window().ok_or(WebError::Unavailable("convlab needs a window"))?;
    let href = window.location().href()?;
    let page = url::Url::parse(&href).map_err(|e| WebError::Js(e.to_string()))?;
    let url_pairs = page.query_pairs().into_owned().collect();
    let page_base = dom::document().base_uri()?.unwrap_or(href);
    let (runs, history_problem) = storage::load_runs();
    let app = App::new(Boot {
        page_base,
        url_pairs,
        load_state: storage::load_state,
        runs,
        timings: storage::load_timings(),
        cores: crate::gpu::cores(),
        problems: history_problem.into_iter().collect(),
    });
    let webgpu = app.worker_may_use_webgpu();
    let test_faults = app.test_faults;
    let allow = app.embedding.allow.clone();
    let dispatcher = Dispatcher(Rc::new(Inner {
        app: RefCell::new(app),
        queue: RefCell::default(),
        running: Cell::new(false),
        panels: OnceCell::new(),
        worker: RefCell::new(None),
        generation: Cell::new(0),
    }));
    let panels = panels::bind_all(&dispatcher)?;
    let _ = dispatcher.0.panels.set(panels);
    panels::embed::listen(&dispatcher, allow);
    dispatcher.restart_worker(webgpu);
    if test_faults {
        expose_faults(&dispatcher);
    }
    dispatcher.render();
    effects::run(&dispatcher, app::Effect::ListModels);
    effects::register_service_worker();
    let probe = dispatcher.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let adapter = crate::gpu::webgpu_adapter().await;
        probe.dispatch(Msg::AdapterProbed(adapter));
    });
    Ok(())
}

/// Starts the worker. Its first message is the CPU-only module this page already compiled,
/// and whether it may use WebGPU (not when the student forces the CPU): `worker.js` then runs
/// the WebGPU build (`convlab-web-gpu`, fetched only then, which has the CPU backend too)
/// where the browser gives an adapter, else this module.
fn start_worker(
    dispatcher: &Dispatcher,
    webgpu: bool,
    generation: u32,
) -> Result<Worker, WebError> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    let worker = Worker::new_with_options("worker.js", &options)?;
    let replies = dispatcher.clone();
    dom::on(&worker, "message", move |event| {
        if !replies.is_current(generation) {
            return;
        }
        let data = event.unchecked_ref::<MessageEvent>().data();
        match FromWorker::from_js(data) {
            Ok(reply) => replies.dispatch(Msg::Worker(reply)),
            Err(e) => replies.dispatch(Msg::Notice(e.to_string())),
        }
    });
    let failures = dispatcher.clone();
    dom::on(&worker, "error", move |event| {
        if !failures.is_current(generation) {
            return;
        }
        let detail = js_sys::Reflect::get(event, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| "see the browser console".to_string());
        failures.dispatch(Msg::WorkerFailed(format!(
            "the training worker failed ({detail})"
        )));
    });
    let message = js_sys::Object::new();
    js_sys::Reflect::set(&message, &"module".into(), &wasm_bindgen::module())?;
    js_sys::Reflect::set(&message, &"webgpu".into(), &webgpu.into())?;
    worker.post_message(&message)?;
    Ok(worker)
}

/// `window.convlabFault("lose_gpu" | "panic" | "stop_helper")`, for the end-to-end fault tests
/// (the page's URL has `test-faults`): the worker loses its GPU device, panics, or has its
/// first helper worker ended.
fn expose_faults(dispatcher: &Dispatcher) {
    let d = dispatcher.clone();
    let fault = Closure::<dyn Fn(JsValue) -> bool>::new(move |name: JsValue| {
        let fault = serde_wasm_bindgen::from_value::<crate::protocol::Fault>(name);
        match fault {
            Ok(fault) => {
                d.dispatch(Msg::Fault(fault));
                true
            }
            Err(_) => false,
        }
    });
    let _ = js_sys::Reflect::set(
        &js_sys::global(),
        &"convlabFault".into(),
        fault.as_ref().unchecked_ref(),
    );
    fault.forget(); // lives as long as the page
}

fn now_local() -> String {
    let date = js_sys::Date::new_0();
    format!(
        "{}-{:02}-{:02} {:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(s: &str);
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    pub fn console_warn(s: &str);
}
