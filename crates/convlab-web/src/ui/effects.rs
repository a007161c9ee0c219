//! Carrying out what [`App::update`](super::app::App::update) asks for: messages to the
//! worker, storage, events to the host page, the model store, downloads and the clipboard.
//! Async work reports back as a message.

use super::app::{CopyTarget, Effect, ModelsMsg, Msg};
use super::{console_warn, model_store, panels, storage, Dispatcher};
use crate::protocol::FromWorker;
use crate::WebError;
use wasm_bindgen_futures::{spawn_local, JsFuture};

pub fn run(dispatcher: &Dispatcher, effect: Effect) {
    let d = dispatcher.clone();
    match effect {
        Effect::Send(request) => {
            let sent = request.to_js().and_then(|value| match dispatcher.worker() {
                Some(worker) => worker.post_message(&value).map_err(WebError::from),
                None => Err(WebError::Unavailable("the training worker is not running")),
            });
            if let Err(e) = sent {
                // Answered as the worker would answer a failure, so that no phase waits for a
                // reply that cannot come (a Train returns to Idle with the reason shown).
                d.dispatch(Msg::Worker(FromWorker::Failed {
                    request: request.kind(),
                    message: format!("the message could not be sent to the worker: {e}"),
                }));
            }
        }
        Effect::RestartWorker { webgpu } => dispatcher.restart_worker(webgpu),
        Effect::SaveTimings => {
            let saved = dispatcher.with_app(|app| storage::save_timings(&app.timings.remembered));
            if let Err(e) = saved {
                d.dispatch(Msg::Notice(e.to_string()));
            }
        }
        Effect::SaveState => {
            let saved =
                dispatcher.with_app(|app| storage::save_state(&app.storage_key, &app.state));
            if let Err(e) = saved {
                d.dispatch(Msg::Notice(e.to_string()));
            }
        }
        Effect::SaveHistory => {
            if let Err(e) = dispatcher.with_app(|app| storage::save_runs(&app.runs)) {
                d.dispatch(Msg::Notice(e.to_string()));
            }
        }
        Effect::Post(event) => {
            dispatcher.with_app(|app| panels::embed::post(&event, &app.embedding));
        }
        Effect::ListModels => spawn_local(async move {
            let listed = model_store::list().await;
            d.dispatch(Msg::Models(ModelsMsg::Listed(listed)));
        }),
        Effect::StoreModel {
            name,
            architecture,
            params,
            test_accuracy,
            file,
        } => {
            let saved = dispatcher.with_app(|app| app.now.clone());
            spawn_local(async move {
                let stored =
                    model_store::save(&name, &architecture, params, test_accuracy, &saved, &file)
                        .await
                        .map(|()| name);
                d.dispatch(Msg::Models(ModelsMsg::Stored(stored)));
            })
        }
        Effect::ReadSavedModel { id, name } => spawn_local(async move {
            match model_store::file(id).await {
                Ok(file) => d.dispatch(Msg::Models(ModelsMsg::Open {
                    origin: format!("saved model '{name}'"),
                    file,
                })),
                Err(e) => d.dispatch(Msg::Models(ModelsMsg::Unreadable(e))),
            }
        }),
        Effect::DeleteSavedModel(id) => spawn_local(async move {
            let deleted = model_store::delete(id).await;
            d.dispatch(Msg::Models(ModelsMsg::Deleted(deleted)));
        }),
        Effect::Download {
            file_name,
            file,
            of,
        } => {
            let result = model_store::download(&file_name, &file).map(|()| (file_name, file.len()));
            d.dispatch(Msg::Downloaded { of, result });
        }
        Effect::Copy { text, target } => copy(d, text, target),
    }
}

/// Copies `text` to the clipboard and reports whether the browser allowed it.
fn copy(dispatcher: Dispatcher, text: String, target: CopyTarget) {
    let navigator = web_sys::window().map(|w| w.navigator());
    // Outside a secure context there is no navigator.clipboard: calling it would throw.
    let Some(navigator) =
        navigator.filter(|n| js_sys::Reflect::has(n, &"clipboard".into()).unwrap_or(false))
    else {
        return dispatcher.dispatch(Msg::Copied { target, ok: false });
    };
    let promise = navigator.clipboard().write_text(&text);
    spawn_local(async move {
        let ok = JsFuture::from(promise).await.is_ok();
        dispatcher.dispatch(Msg::Copied { target, ok });
    });
}

/// Keeps the page and its data usable offline once loaded (see www/sw.js). Only where the
/// browser offers service workers (a secure context: https or localhost).
pub fn register_service_worker() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let navigator = window.navigator();
    if !js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
        return;
    }
    let registration = navigator.service_worker().register("sw.js");
    spawn_local(async move {
        if let Err(e) = JsFuture::from(registration).await {
            console_warn(&format!(
                "convlab: offline use is off, the service worker did not register: {}",
                WebError::from(e)
            ));
        }
    });
}
