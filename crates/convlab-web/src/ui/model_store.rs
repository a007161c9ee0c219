//! Saved models: `.convlab` files kept in the browser's IndexedDB (through rexie) or
//! downloaded and picked again from disk. The files themselves are written and checked by the
//! worker (convlab-core's `model_file`); this module only stores and moves bytes.

use super::saved::SavedModel;
use crate::error::During;
use crate::WebError;
use js_sys::{Array, Reflect, Uint8Array};
use rexie::{ObjectStore, Rexie, Store, Transaction, TransactionMode};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

const DATABASE: &str = "convlab";
const STORE: &str = "models";

/// A stored model as IndexedDB holds it (the same records the page has always written).
#[derive(Serialize)]
struct NewRecord<'a> {
    name: &'a str,
    architecture: &'a str,
    params: f64,
    test_accuracy: Option<f64>,
    saved: &'a str,
    #[serde(with = "serde_bytes")]
    file: &'a [u8],
}

/// A stored model's description; its `file` is read apart, without copying the bytes.
#[derive(Deserialize)]
struct Described {
    #[serde(default)]
    id: f64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    params: f64,
    #[serde(default)]
    test_accuracy: Option<f64>,
    #[serde(default)]
    saved: String,
}

fn idb(context: &str, error: rexie::Error) -> WebError {
    WebError::Js(idb_detail(error)).during(context)
}

/// How long opening the database may take. It opens in milliseconds; an open request that
/// is "blocked" (another tab holds an older version of the database open and does not let go)
/// would wait for ever.
const OPEN_TIMEOUT_MS: i32 = 5_000;

async fn open() -> Result<Rexie, WebError> {
    let unavailable = |reason: String| WebError::ModelStore { reason };
    // Reading `indexedDB` throws a SecurityError where the browser's settings block storage.
    let factory = web_sys::window().map(|w| w.indexed_db());
    match factory {
        Some(Ok(Some(_))) => {}
        Some(Err(e)) => {
            return Err(unavailable(format!(
                "IndexedDB is blocked: {}",
                WebError::from(e)
            )))
        }
        _ => {
            return Err(unavailable(
                "this browser gives the page no IndexedDB (private mode?)".to_string(),
            ))
        }
    }
    let opening = Box::pin(
        Rexie::builder(DATABASE)
            .version(1)
            .add_object_store(ObjectStore::new(STORE).key_path("id").auto_increment(true))
            .build(),
    );
    match within(OPEN_TIMEOUT_MS, opening).await {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(unavailable(format!(
            "IndexedDB did not open: {}",
            idb_detail(e)
        ))),
        Err(pending) => {
            // Let the request finish on its own (its callbacks must outlive it), then close.
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(db) = pending.await {
                    db.close();
                }
            });
            Err(unavailable(format!(
                "IndexedDB did not open within {} s: another tab with this page may hold the database open; close it and reload",
                OPEN_TIMEOUT_MS / 1000
            )))
        }
    }
}

/// `work`'s output, or `work` itself, still pending, once `ms` milliseconds have passed (so
/// that the caller can let it finish instead of dropping it half-way).
async fn within<F: std::future::Future + Unpin>(ms: i32, mut work: F) -> Result<F::Output, F> {
    let timer = js_sys::Promise::new(&mut |resolve, _reject| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let mut timer = wasm_bindgen_futures::JsFuture::from(timer);
    let done = std::future::poll_fn(|cx| {
        use std::future::Future;
        use std::pin::Pin;
        use std::task::Poll;
        if let Poll::Ready(output) = Pin::new(&mut work).poll(cx) {
            return Poll::Ready(Some(output));
        }
        match Pin::new(&mut timer).poll(cx) {
            Poll::Ready(_) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
    .await;
    done.ok_or(work)
}

fn idb_detail(error: rexie::Error) -> String {
    match error {
        rexie::Error::IdbError(e) => e.to_string(),
        other => other.to_string(),
    }
}

/// The models' object store, in a transaction of `mode`.
fn store(db: &Rexie, mode: TransactionMode) -> Result<(Transaction, Store), WebError> {
    let opening = |e| idb("opening the model store", e);
    let transaction = db.transaction(&[STORE], mode).map_err(opening)?;
    let store = transaction.store(STORE).map_err(opening)?;
    Ok((transaction, store))
}

/// Keeps `file` under `name`; several models may share a name (nothing is overwritten).
pub async fn save(
    name: &str,
    architecture: &str,
    params: usize,
    test_accuracy: Option<f32>,
    saved: &str,
    file: &[u8],
) -> Result<(), WebError> {
    let record = NewRecord {
        name,
        architecture,
        params: params as f64,
        test_accuracy: test_accuracy.map(f64::from),
        saved,
        file,
    };
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true);
    let value = record
        .serialize(&serializer)
        .map_err(|e| WebError::Js(e.to_string()).during("saving the model"))?;
    let db = open().await?;
    let (transaction, store) = store(&db, TransactionMode::ReadWrite)?;
    store
        .add(&value, None)
        .await
        .map_err(|e| idb("saving the model", e))?;
    // The model is kept once the transaction commits, not when the add request succeeds (a
    // full disk aborts the transaction afterwards).
    let kept = transaction.done().await.map(|r| r.is_committed());
    db.close();
    match kept {
        Ok(true) => Ok(()),
        _ => Err(WebError::Unavailable(
            "the browser did not keep the model (out of storage space?); download it as a file instead",
        )),
    }
}

/// Every saved model, oldest first.
pub async fn list() -> Result<Vec<SavedModel>, WebError> {
    let db = open().await?;
    let (_transaction, models) = store(&db, TransactionMode::ReadOnly)?;
    let all = models
        .get_all(None, None)
        .await
        .map_err(|e| idb("listing the saved models", e));
    db.close();
    all?.iter()
        .map(|record| {
            let described: Described = serde_wasm_bindgen::from_value(record.clone())
                .map_err(|e| WebError::Js(e.to_string()).during("listing the saved models"))?;
            let size = Reflect::get(record, &"file".into())
                .ok()
                .and_then(|f| f.dyn_into::<Uint8Array>().ok())
                .map_or(0, |f| f.length() as usize);
            Ok(SavedModel {
                id: described.id,
                name: described.name,
                saved: described.saved,
                architecture: described.architecture,
                params: described.params as usize,
                test_accuracy: described.test_accuracy,
                size,
            })
        })
        .collect()
}

/// The bytes of saved model `id`.
pub async fn file(id: f64) -> Result<Vec<u8>, WebError> {
    let db = open().await?;
    let (_transaction, models) = store(&db, TransactionMode::ReadOnly)?;
    let record = models
        .get(id.into())
        .await
        .map_err(|e| idb("reading the saved model", e));
    db.close();
    let record = record?.ok_or(WebError::Unavailable(
        "that saved model is no longer in this browser",
    ))?;
    let file = Reflect::get(&record, &"file".into()).during("reading the saved model")?;
    Ok(file.unchecked_into::<Uint8Array>().to_vec())
}

pub async fn delete(id: f64) -> Result<(), WebError> {
    let db = open().await?;
    let (transaction, models) = store(&db, TransactionMode::ReadWrite)?;
    let deleted = models
        .delete(id.into())
        .await
        .map_err(|e| idb("deleting the saved model", e));
    let _ = transaction.done().await;
    db.close();
    deleted
}

/// Offers `file` as a download named `name`.
pub fn download(name: &str, file: &[u8]) -> Result<(), WebError> {
    let parts = Array::of1(&Uint8Array::from(file));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/octet-stream");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .during("preparing the download")?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).during("preparing the download")?;
    let link = super::dom::document()
        .create_element("a")
        .during("preparing the download")?;
    link.set_attribute("href", &url)
        .during("preparing the download")?;
    link.set_attribute("download", name)
        .during("preparing the download")?;
    link.unchecked_into::<web_sys::HtmlElement>().click();
    // The browser has taken the blob once the click is handled.
    let revoke = Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    if let Some(window) = web_sys::window() {
        let _ = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 10_000);
    }
    Ok(())
}

/// The bytes and name of the file picked in `input`.
pub async fn picked_file(
    input: &web_sys::HtmlInputElement,
) -> Result<Option<(String, Vec<u8>)>, WebError> {
    let Some(file) = input.files().and_then(|files| files.get(0)) else {
        return Ok(None);
    };
    // Refused by its size before a byte is read (a read copies the file more than once).
    if let Err(e) = convlab_core::model_file::check_size(file.size() as u64) {
        return Err(WebError::PickedFile {
            name: file.name(),
            source: e,
        });
    }
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .during(&format!("reading {}", file.name()))?;
    Ok(Some((file.name(), Uint8Array::new(&buffer).to_vec())))
}
