//! Saved models: `.convlab` files kept in the browser's IndexedDB (listed on the page) or
//! downloaded and picked again from disk. The files themselves are written and checked by
//! the worker (convlab-core's `model_file`); this module only stores and moves bytes.

use super::dom::escape;
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbObjectStoreParameters, IdbRequest, IdbTransactionMode};

const DATABASE: &str = "convlab";
const STORE: &str = "models";

/// One saved model as the list shows it (the bytes stay in the database until loaded).
#[derive(Debug, Clone, PartialEq)]
pub struct SavedModel {
    pub id: f64,
    pub name: String,
    pub saved: String,
    pub architecture: String,
    pub params: usize,
    pub test_accuracy: Option<f64>,
    pub size: usize,
}

fn js_error(context: &str, e: JsValue) -> String {
    let detail = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| {
            Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{e:?}"));
    format!("{context}: {detail}")
}

/// Waits for an IndexedDB request and returns its result.
async fn finished(request: &IdbRequest) -> Result<JsValue, String> {
    let done = Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    match JsFuture::from(done).await {
        Ok(_) => request
            .result()
            .map_err(|e| js_error("reading the saved models", e)),
        // Through the property: web-sys's DomException feature would rebuild burn-wgpu.
        Err(_) => Err(Reflect::get(request, &"error".into())
            .ok()
            .and_then(|e| Reflect::get(&e, &"message".into()).ok())
            .and_then(|m| m.as_string())
            .map_or(
                "the browser's model store refused the request".to_string(),
                |m| format!("the browser's model store refused: {m}"),
            )),
    }
}

async fn open() -> Result<IdbDatabase, String> {
    let factory = web_sys::window()
        .and_then(|w| w.indexed_db().ok().flatten())
        .ok_or("this browser gives the page no IndexedDB (private mode?); download the model as a file instead")?;
    let request = factory
        .open_with_u32(DATABASE, 1)
        .map_err(|e| js_error("opening the model store", e))?;
    let upgrade_request = request.clone();
    let on_upgrade = Closure::once(move |_event: web_sys::Event| {
        if let Ok(db) = upgrade_request.result() {
            let db: IdbDatabase = db.unchecked_into();
            let options = IdbObjectStoreParameters::new();
            options.set_key_path(&"id".into());
            options.set_auto_increment(true);
            let _ = db.create_object_store_with_optional_parameters(STORE, &options);
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let db = finished(&request).await;
    drop(on_upgrade);
    Ok(db?.unchecked_into())
}

fn store(db: &IdbDatabase, mode: IdbTransactionMode) -> Result<web_sys::IdbObjectStore, String> {
    db.transaction_with_str_and_mode(STORE, mode)
        .and_then(|t| t.object_store(STORE))
        .map_err(|e| js_error("opening the model store", e))
}

/// Keeps `file` under `name`; several models may share a name (nothing is overwritten).
pub async fn save(
    name: &str,
    architecture: &str,
    params: usize,
    test_accuracy: Option<f32>,
    saved: &str,
    file: &[u8],
) -> Result<(), String> {
    let record = Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&record, &key.into(), &value);
    };
    set("name", name.into());
    set("architecture", architecture.into());
    set("params", (params as f64).into());
    set(
        "test_accuracy",
        test_accuracy.map_or(JsValue::NULL, |a| (a as f64).into()),
    );
    set("saved", saved.into());
    set("file", Uint8Array::from(file).into());
    let db = open().await?;
    let transaction = db
        .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
        .map_err(|e| js_error("opening the model store", e))?;
    // The model is kept once the transaction commits, not when the add request succeeds (a
    // full disk aborts the transaction afterwards).
    let committed = Promise::new(&mut |resolve, reject| {
        transaction.set_oncomplete(Some(&resolve));
        transaction.set_onerror(Some(&reject));
        transaction.set_onabort(Some(&reject));
    });
    transaction
        .object_store(STORE)
        .and_then(|store| store.add(&record))
        .map_err(|e| js_error("saving the model", e))?;
    let result = JsFuture::from(committed).await.map(|_| ()).map_err(|_| {
        "the browser did not keep the model (out of storage space?); download it as a file instead"
            .to_string()
    });
    db.close();
    result
}

/// Every saved model, oldest first.
pub async fn list() -> Result<Vec<SavedModel>, String> {
    let db = open().await?;
    let request = store(&db, IdbTransactionMode::Readonly)?
        .get_all()
        .map_err(|e| js_error("listing the saved models", e))?;
    let all: Array = finished(&request).await?.unchecked_into();
    db.close();
    let field = |record: &JsValue, key: &str| Reflect::get(record, &key.into()).ok();
    Ok(all
        .iter()
        .map(|record| SavedModel {
            id: field(&record, "id").and_then(|v| v.as_f64()).unwrap_or(0.0),
            name: field(&record, "name")
                .and_then(|v| v.as_string())
                .unwrap_or_default(),
            saved: field(&record, "saved")
                .and_then(|v| v.as_string())
                .unwrap_or_default(),
            architecture: field(&record, "architecture")
                .and_then(|v| v.as_string())
                .unwrap_or_default(),
            params: field(&record, "params")
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0) as usize,
            test_accuracy: field(&record, "test_accuracy").and_then(|v| v.as_f64()),
            size: field(&record, "file")
                .map(|f| f.unchecked_into::<Uint8Array>().length() as usize)
                .unwrap_or(0),
        })
        .collect())
}

/// The bytes of saved model `id`.
pub async fn file(id: f64) -> Result<Vec<u8>, String> {
    let db = open().await?;
    let request = store(&db, IdbTransactionMode::Readonly)?
        .get(&id.into())
        .map_err(|e| js_error("reading the saved model", e))?;
    let record = finished(&request).await?;
    db.close();
    if record.is_undefined() {
        return Err("that saved model is no longer in this browser".to_string());
    }
    let file = Reflect::get(&record, &"file".into()).map_err(|e| js_error("reading", e))?;
    Ok(file.unchecked_into::<Uint8Array>().to_vec())
}

pub async fn delete(id: f64) -> Result<(), String> {
    let db = open().await?;
    let request = store(&db, IdbTransactionMode::Readwrite)?
        .delete(&id.into())
        .map_err(|e| js_error("deleting the saved model", e))?;
    let result = finished(&request).await.map(|_| ());
    db.close();
    result
}

/// Offers `file` as a download named `name`.
pub fn download(name: &str, file: &[u8]) -> Result<(), String> {
    let parts = Array::of1(&Uint8Array::from(file));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/octet-stream");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| js_error("preparing the download", e))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|e| js_error("preparing the download", e))?;
    let link = super::dom::document()
        .create_element("a")
        .map_err(|e| js_error("preparing the download", e))?;
    let _ = link.set_attribute("href", &url);
    let _ = link.set_attribute("download", name);
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

/// The bytes and name of the file picked in the `<input type="file">` `id`.
pub async fn picked_file(id: &str) -> Result<Option<(String, Vec<u8>)>, String> {
    let input = super::dom::input(id);
    let Some(file) = input.files().and_then(|files| files.get(0)) else {
        return Ok(None);
    };
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| js_error(&format!("reading {}", file.name()), e))?;
    Ok(Some((file.name(), Uint8Array::new(&buffer).to_vec())))
}

/// The saved models as table rows with Load and Delete buttons.
pub fn rows_html(models: &[SavedModel]) -> String {
    if models.is_empty() {
        return "<tr><td colspan=\"7\">No models saved in this browser yet.</td></tr>".to_string();
    }
    models
        .iter()
        .map(|m| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0} kB</td><td><button type=\"button\" data-load-model=\"{id}\">Load</button> <button type=\"button\" data-delete-model=\"{id}\">Delete</button></td></tr>",
                escape(&m.name),
                escape(&m.architecture),
                convlab_core::summary::thousands(m.params),
                m.test_accuracy
                    .map_or("–".to_string(), |a| super::dom::percent(a as f32)),
                escape(&m.saved),
                m.size as f64 / 1000.0,
                id = m.id,
            )
        })
        .collect()
}
