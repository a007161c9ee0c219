//! The training worker. It owns the dataset and the models; the page only sends
//! [`ToWorker`] requests and draws the [`FromWorker`] replies, so training never blocks it.
//!
//! [`Session`] is the worker's logic without the transport (tests drive it directly);
//! [`start`] wires it to the worker's `onmessage` / `postMessage`.

use crate::fetch;
use crate::gpu::choose_backend;
use crate::protocol::{Destination, FileProgress, FromWorker, TestResult, ToWorker, SAMPLE_COUNT};
use convlab_core::data::{TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};
use convlab_core::{
    evaluate, feature_maps, model_file, Backend, Dataset, ModelHeader, ModelSpec, Sequential,
    StopHandle, TrainConfig, TrainError, TrainEvent, Trainer, TrainingInfo,
};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageChannel, MessageEvent};

/// The stop handle of the run in progress, reachable while the session is busy training.
#[derive(Clone, Default)]
pub struct StopSlot(Rc<RefCell<Option<StopHandle>>>);

impl StopSlot {
    pub fn request_stop(&self) {
        if let Some(handle) = self.0.borrow().as_ref() {
            handle.request_stop();
        }
    }

    fn set(&self, handle: Option<StopHandle>) {
        *self.0.borrow_mut() = handle;
    }
}

/// The last trained (or loaded) model and what its file header says about it.
struct TrainedModel {
    header: ModelHeader,
    model: Sequential,
    backend: Backend,
}

/// The worker's state: the decoded dataset, the chosen backend and the last trained model.
#[derive(Default)]
pub struct Session {
    train: Option<Dataset>,
    test: Option<Dataset>,
    backend: Option<Backend>,
    trained: Option<TrainedModel>,
    stop: StopSlot,
}

type Emit<'a> = &'a mut dyn FnMut(FromWorker);

impl Session {
    pub fn new(stop: StopSlot) -> Session {
        Session {
            stop,
            ..Session::default()
        }
    }

    /// Handles one request (a Stop is handled by the transport, through the [`StopSlot`]).
    pub async fn handle(&mut self, request: ToWorker, emit: Emit<'_>) {
        match request {
            ToWorker::LoadData { base_url } => self.load_data(&base_url, emit).await,
            ToWorker::Train {
                spec,
                config,
                train_limit,
                prefer_webgpu,
            } => {
                if let Err(message) = self
                    .train(spec, config, train_limit, prefer_webgpu, emit)
                    .await
                {
                    emit(FromWorker::Failed {
                        request: "train".into(),
                        message,
                    });
                }
            }
            ToWorker::Stop => self.stop.request_stop(),
            ToWorker::ExportModel { destination } => match self.export(destination).await {
                Ok(reply) => emit(reply),
                Err(message) => emit(FromWorker::Failed {
                    request: "export_model".into(),
                    message,
                }),
            },
            ToWorker::LoadModel { origin, file } => match self.load_model(origin, &file).await {
                Ok(reply) => emit(reply),
                Err(message) => emit(FromWorker::Failed {
                    request: "load_model".into(),
                    message,
                }),
            },
            ToWorker::FeatureMaps { spec, images, seed } => {
                match self.feature_maps(&spec, &images, seed).await {
                    Ok(reply) => emit(reply),
                    Err(message) => emit(FromWorker::Failed {
                        request: "feature_maps".into(),
                        message,
                    }),
                }
            }
        }
    }

    /// Fetches the four files under `base_url` and decodes them.
    async fn load_data(&mut self, base_url: &str, emit: Emit<'_>) {
        let base = if base_url.is_empty() || base_url.ends_with('/') {
            base_url.to_string()
        } else {
            format!("{base_url}/")
        };
        let mut files = Vec::new();
        for name in [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS] {
            let url = format!("{base}{name}");
            let mut progress = |loaded, total| {
                emit(FromWorker::DataProgress(FileProgress {
                    file: name.to_string(),
                    loaded,
                    total,
                    cached: false,
                }))
            };
            match fetch::fetch_cached(&url, &mut progress).await {
                Ok(fetched) => {
                    if fetched.cached {
                        emit(FromWorker::DataProgress(FileProgress {
                            file: name.to_string(),
                            loaded: fetched.bytes.len() as u64,
                            total: Some(fetched.bytes.len() as u64),
                            cached: true,
                        }));
                    }
                    files.push((url, fetched));
                }
                Err(message) => {
                    emit(FromWorker::DataFailed { message });
                    return;
                }
            }
        }
        let [train_images, train_labels, test_images, test_labels] = &files[..] else {
            unreachable!("four files were fetched");
        };
        let decoded = Dataset::from_idx(
            &train_images.0,
            &train_images.1.bytes,
            &train_labels.0,
            &train_labels.1.bytes,
        )
        .and_then(|train| {
            Dataset::from_idx(
                &test_images.0,
                &test_images.1.bytes,
                &test_labels.0,
                &test_labels.1.bytes,
            )
            .map(|test| (train, test))
        });
        match decoded {
            Ok((train, test)) => {
                for (url, fetched) in &files {
                    if !fetched.cached {
                        fetch::store(url, &fetched.bytes).await;
                    }
                }
                emit(self.set_data(train, test));
            }
            Err(e) => {
                // A cached copy that no longer decodes must not stick: the retry refetches.
                for (url, _) in &files {
                    fetch::forget(url).await;
                }
                emit(FromWorker::DataFailed {
                    message: e.to_string(),
                });
            }
        }
    }

    /// Keeps a decoded dataset; the reply carries the thumbnails the page shows.
    pub fn set_data(&mut self, train: Dataset, test: Dataset) -> FromWorker {
        let shown = test.take(SAMPLE_COUNT);
        let reply = FromWorker::DataReady {
            train: train.len(),
            test: test.len(),
            samples: shown.images,
            sample_labels: shown.labels,
        };
        self.train = Some(train);
        self.test = Some(test);
        reply
    }

    async fn train(
        &mut self,
        spec: ModelSpec,
        config: TrainConfig,
        train_limit: Option<usize>,
        prefer_webgpu: bool,
        emit: Emit<'_>,
    ) -> Result<(), String> {
        let (Some(train), Some(test)) = (&self.train, &self.test) else {
            return Err("the dataset is not loaded yet".to_string());
        };
        let config_used = config.clone();
        let data = match train_limit {
            Some(0) => return Err("train on at least one image".to_string()),
            Some(n) => train.take(n),
            None => train.clone(),
        };
        let backend = choose_backend(prefer_webgpu).await;
        emit(FromWorker::Backend {
            kind: backend.kind,
            description: backend.description.clone(),
        });
        self.backend = Some(backend.clone());
        let mut trainer =
            Trainer::new(&spec, config, data, backend.device.clone()).map_err(|e| e.to_string())?;
        self.stop.set(Some(trainer.stop_handle()));
        let outcome = run_to_end(&mut trainer, emit).await;
        self.stop.set(None);
        outcome.map_err(|e| e.to_string())?;
        let evaluation = evaluate(trainer.model(), test, trainer.device())
            .await
            .map_err(|e| format!("evaluating on the test set failed: {e}"))?;
        let info = TrainingInfo {
            config: config_used,
            epochs_run: trainer.history().len(),
            train_images: trainer.train_len(),
            test_accuracy: Some(evaluation.accuracy),
        };
        self.trained = Some(TrainedModel {
            header: ModelHeader::new(spec, Some(info)),
            model: trainer.model().clone(),
            backend,
        });
        emit(FromWorker::Tested(test_result(&evaluation, test)));
        Ok(())
    }

    /// The last trained or loaded model as a `.convlab` file.
    async fn export(&self, destination: Destination) -> Result<FromWorker, String> {
        let trained = self
            .trained
            .as_ref()
            .ok_or("there is no trained model yet: train one (or load one) first")?;
        Ok(FromWorker::ModelExported {
            destination,
            header: trained.header.clone(),
            file: model_file::save(&trained.model, &trained.header).await?,
        })
    }

    /// Rebuilds the model in `file` and evaluates it on the test set.
    async fn load_model(&mut self, origin: String, file: &[u8]) -> Result<FromWorker, String> {
        let Some(test) = &self.test else {
            return Err("the dataset is not loaded yet".to_string());
        };
        let backend = match &self.backend {
            Some(backend) => backend.clone(),
            None => Backend::cpu(),
        };
        let (model, header) = model_file::load(file, &backend.device.clone().autodiff())
            .map_err(|e| format!("{origin}: {e}"))?;
        let evaluation = evaluate(&model, test, &backend.device)
            .await
            .map_err(|e| format!("evaluating {origin} on the test set failed: {e}"))?;
        let result = test_result(&evaluation, test);
        self.trained = Some(TrainedModel {
            header: header.clone(),
            model,
            backend,
        });
        Ok(FromWorker::ModelLoaded {
            origin,
            header,
            test: result,
        })
    }

    async fn feature_maps(
        &self,
        spec: &ModelSpec,
        images: &[usize],
        seed: u64,
    ) -> Result<FromWorker, String> {
        let Some(test) = &self.test else {
            return Err("the dataset is not loaded yet".to_string());
        };
        let (model, device, trained) = match &self.trained {
            Some(t) if &t.header.spec == spec => (t.model.clone(), t.backend.device.clone(), true),
            _ => {
                let device = self
                    .backend
                    .as_ref()
                    .map(|b| b.device.clone())
                    .unwrap_or_else(|| Backend::cpu().device);
                device.seed(seed);
                let model =
                    Sequential::new(spec, &device.clone().autodiff()).map_err(|e| e.to_string())?;
                (model, device, false)
            }
        };
        let maps = feature_maps(&model, test, images, &device)
            .await
            .map_err(|e: TrainError| e.to_string())?;
        Ok(FromWorker::FeatureMaps {
            maps,
            images: images.to_vec(),
            labels: images.iter().map(|&i| test.labels[i]).collect(),
            trained,
        })
    }
}

fn test_result(evaluation: &convlab_core::Evaluation, test: &Dataset) -> TestResult {
    TestResult {
        loss: evaluation.loss,
        accuracy: evaluation.accuracy,
        confusion: evaluation
            .confusion_matrix(&test.labels)
            .iter()
            .map(|row| row.to_vec())
            .collect(),
    }
}

/// Trains every batch, yielding to the event loop between batches so that a Stop message
/// is seen before the next one. Reports the worker's memory after every epoch.
async fn run_to_end(trainer: &mut Trainer, emit: Emit<'_>) -> Result<(), TrainError> {
    let mut on_event = |event: TrainEvent| {
        let epoch = match &event {
            TrainEvent::Epoch(metrics) => Some(metrics.epoch),
            _ => None,
        };
        emit(FromWorker::Training(event));
        if let Some(epoch) = epoch {
            emit(FromWorker::WorkerMemory {
                epoch,
                wasm_bytes: wasm_memory_bytes(),
            });
        }
    };
    while trainer.step(&mut on_event).await? {
        yield_to_event_loop().await;
    }
    Ok(())
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

/// Runs the worker: requests are handled one at a time in arrival order, except Stop, which
/// acts at once on the run in progress.
pub fn start(scope: DedicatedWorkerGlobalScope) {
    let stop = StopSlot::default();
    let session = Rc::new(RefCell::new(Some(Session::new(stop.clone()))));
    let queue: Rc<RefCell<VecDeque<ToWorker>>> = Rc::default();
    let post_scope = scope.clone();
    // A reply that cannot be converted (say, a model file whose header holds a seed beyond
    // JavaScript's exact integers) is replaced by a failure, so the page is not left waiting.
    let post = move |reply: FromWorker| match reply.to_js() {
        Ok(value) => {
            let _ = post_scope.post_message(&value);
        }
        Err(e) => {
            web_sys_log(&format!("convlab worker: cannot send a reply: {e}"));
            let failure = FromWorker::Failed {
                request: reply.request().to_string(),
                message: format!("the worker could not send its answer: {e}"),
            };
            if let Ok(value) = failure.to_js() {
                let _ = post_scope.post_message(&value);
            }
        }
    };
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let request = match ToWorker::from_js(event.data()) {
            Ok(request) => request,
            Err(message) => {
                post(FromWorker::Failed {
                    request: "unknown".into(),
                    message,
                });
                return;
            }
        };
        if request == ToWorker::Stop {
            stop.request_stop();
            return;
        }
        queue.borrow_mut().push_back(request);
        // Whoever takes the session drains the queue; if it is out, a drain is running.
        let Some(mut taken) = session.borrow_mut().take() else {
            return;
        };
        let (queue, session, post) = (queue.clone(), session.clone(), post.clone());
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                let next = queue.borrow_mut().pop_front();
                let Some(request) = next else { break };
                taken.handle(request, &mut |reply| post(reply)).await;
            }
            *session.borrow_mut() = Some(taken);
        });
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget(); // the worker lives as long as its handler
    if let Ok(ready) = FromWorker::Ready.to_js() {
        let _ = scope.post_message(&ready);
    }
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn web_sys_log(s: &str);
}
