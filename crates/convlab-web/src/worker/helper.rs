//! A helper worker: the training worker starts one per further core when it trains on the CPU.
//! It answers each [`ShareRequest`] with that share's gradients ([`convlab_core::shares`]),
//! loading the request's weights into a replica of its model.

use crate::protocol::{FromHelper, ShareRequest};
use convlab_core::{Backend, ModelSpec, ShareReplica};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// The replica of the last model asked about, reused while the model stays the same.
type Replica = Rc<RefCell<Option<(ModelSpec, ShareReplica)>>>;

pub fn start(scope: DedicatedWorkerGlobalScope) {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        post(
            &scope,
            &FromHelper::Crashed {
                message: format!("the helper worker panicked: {info}"),
            },
        );
    }));
    let replica: Replica = Rc::default();
    let reply_scope = scope.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let (replica, scope) = (replica.clone(), reply_scope.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let reply = match ShareRequest::from_js(event.data()) {
                Ok(request) => answer(&replica, request).await,
                Err(e) => FromHelper::Failed {
                    message: e.to_string(),
                },
            };
            post(&scope, &reply);
        });
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget(); // the worker lives as long as its handler
    post(&scope, &FromHelper::Ready);
}

/// The gradients of `request`'s share. The training worker sends one share at a time and
/// waits for its answer, so the replica is never needed twice at once.
async fn answer(replica: &Replica, request: ShareRequest) -> FromHelper {
    let kept = replica.borrow_mut().take();
    let (spec, mut model) = match kept.filter(|(spec, _)| *spec == request.spec) {
        Some(kept) => kept,
        None => match ShareReplica::new(&request.spec, &Backend::cpu().device) {
            Ok(model) => (request.spec.clone(), model),
            Err(e) => {
                return FromHelper::Failed {
                    message: e.to_string(),
                }
            }
        },
    };
    let result = model.gradients(&request.job()).await;
    *replica.borrow_mut() = Some((spec, model));
    match result {
        Ok(share) => FromHelper::gradients(&share, super::shared_clock_ms()),
        Err(e) => FromHelper::Failed {
            message: e.to_string(),
        },
    }
}

fn post(scope: &DedicatedWorkerGlobalScope, reply: &FromHelper) {
    if let Ok(value) = reply.to_js() {
        let _ = scope.post_message(&value);
    }
}
