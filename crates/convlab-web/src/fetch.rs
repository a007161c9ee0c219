//! Downloads with progress, kept in the browser's Cache Storage so that a reload does not
//! fetch the 30 MB dataset again. Works in a window and in a worker.

use crate::error::WebError;
use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Cache, CacheStorage, ReadableStreamDefaultReader, Response, Window, WorkerGlobalScope,
};

/// The Cache Storage bucket for the dataset; bump the suffix if the stored form changes.
pub const DATA_CACHE: &str = "convlab-data-v1";

/// The most bytes one download may bring: the largest IDX file convlab reads, gzipped or not
/// (a gzipped file is smaller than what it unpacks to). A response that announces more is
/// refused before its body is read, and one that sends more is stopped there, so a server
/// cannot size the worker's memory.
pub const MAX_DOWNLOAD: u64 = convlab_core::data::MAX_UNPACKED as u64;

/// Progress reports are sent at most this often (bytes), so a fast local server does not
/// flood the page with messages.
const PROGRESS_STEP: u64 = 512 * 1024;

fn global_fetch(url: &str) -> Promise {
    let global = js_sys::global();
    match global.dyn_ref::<Window>() {
        Some(window) => window.fetch_with_str(url),
        None => global
            .unchecked_ref::<WorkerGlobalScope>()
            .fetch_with_str(url),
    }
}

/// The browser's Cache Storage, or `None` where the page may not use it (e.g. `file://`).
fn cache_storage() -> Option<CacheStorage> {
    let global = js_sys::global();
    match global.dyn_ref::<Window>() {
        Some(window) => window.caches().ok(),
        None => global.unchecked_ref::<WorkerGlobalScope>().caches().ok(),
    }
}

async fn open_cache() -> Option<Cache> {
    let storage = cache_storage()?;
    let cache = JsFuture::from(storage.open(DATA_CACHE)).await.ok()?;
    cache.dyn_into::<Cache>().ok()
}

/// A downloaded file and whether it came from the cache.
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub cached: bool,
}

/// The bytes at `url`: from the cache when present, else from the network (reporting
/// `(loaded, total)` as chunks arrive) and then stored in the cache.
pub async fn fetch_cached(
    url: &str,
    on_progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Fetched, WebError> {
    let cache = open_cache().await;
    if let Some(cache) = &cache {
        let hit = JsFuture::from(cache.match_with_str(url))
            .await
            .ok()
            .and_then(|r| r.dyn_into::<Response>().ok());
        if let Some(response) = hit {
            let bytes = read_all(&response, on_progress).await?;
            return Ok(Fetched {
                bytes,
                cached: true,
            });
        }
    }
    let fetch_error = |source: WebError| WebError::Fetch {
        url: url.to_string(),
        source: Box::new(source),
    };
    let response = JsFuture::from(global_fetch(url))
        .await
        .map_err(|e| fetch_error(e.into()))?
        .dyn_into::<Response>()
        .map_err(|_| fetch_error(WebError::Js("not a response".into())))?;
    if !response.ok() {
        return Err(WebError::Http {
            url: url.to_string(),
            status: response.status(),
            status_text: response.status_text(),
        });
    }
    let bytes = read_all(&response, on_progress).await?;
    Ok(Fetched {
        bytes,
        cached: false,
    })
}

/// Stores `bytes` as the response for `url` (after they decoded, so a bad file is not kept).
pub async fn store(url: &str, bytes: &[u8]) {
    let Some(cache) = open_cache().await else {
        return;
    };
    let body = Uint8Array::from(bytes);
    if let Ok(response) = Response::new_with_opt_buffer_source(Some(&body)) {
        // A full quota only costs the next reload a download; nothing to tell the user.
        let _ = JsFuture::from(cache.put_with_str(url, &response)).await;
    }
}

/// Drops `url` from the cache (a cached file that no longer decodes).
pub async fn forget(url: &str) {
    if let Some(cache) = open_cache().await {
        let _ = JsFuture::from(cache.delete_with_str(url)).await;
    }
}

/// Reads a response body chunk by chunk, reporting progress.
async fn read_all(
    response: &Response,
    on_progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, WebError> {
    let url = response.url();
    let body_error = |problem| WebError::Body {
        url: url.clone(),
        problem,
    };
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok());
    let Some(body) = response.body() else {
        on_progress(0, total);
        return Ok(Vec::new());
    };
    if let Some(announced) = total.filter(|&total| total > MAX_DOWNLOAD) {
        // Not read: the connection is let go at once.
        let _ = body.cancel();
        return Err(WebError::TooLarge {
            url,
            bytes: announced,
            announced: true,
        });
    }
    let reader = body
        .get_reader()
        .dyn_into::<ReadableStreamDefaultReader>()
        .map_err(|_| body_error("the body cannot be read"))?;
    // Never more than the cap, whatever the header says (it may also say less than arrives).
    let mut bytes = Vec::with_capacity(total.unwrap_or(0).min(MAX_DOWNLOAD) as usize);
    let mut reported = 0u64;
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| WebError::BrokenOff {
                url: url.clone(),
                received: bytes.len() as u64,
                source: Box::new(e.into()),
            })?;
        let done = Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if done {
            break;
        }
        let array = Reflect::get(&chunk, &"value".into())?
            .dyn_into::<Uint8Array>()
            .map_err(|_| body_error("the body is not bytes"))?;
        let start = bytes.len();
        if start as u64 + array.length() as u64 > MAX_DOWNLOAD {
            let _ = reader.cancel();
            return Err(WebError::TooLarge {
                url: url.clone(),
                bytes: MAX_DOWNLOAD,
                announced: false,
            });
        }
        bytes.resize(start + array.length() as usize, 0);
        array.copy_to(&mut bytes[start..]);
        let loaded = bytes.len() as u64;
        if loaded - reported >= PROGRESS_STEP {
            reported = loaded;
            on_progress(loaded, total);
        }
    }
    on_progress(bytes.len() as u64, total);
    Ok(bytes)
}
