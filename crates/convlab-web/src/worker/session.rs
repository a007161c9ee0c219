//! The worker's logic without its transport: the decoded dataset, the chosen backend and the
//! last trained model, and what each request does with them. Tests drive it directly.

use crate::fetch;
use crate::protocol::{Destination, FileProgress, FromWorker, TestResult, ToWorker, SAMPLE_COUNT};
use crate::WebError;
use convlab_core::data::{TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};
use convlab_core::{
    evaluate, feature_maps, model_file, Backend, BackendKind, DataError, Dataset, ModelFileError,
    ModelHeader, ModelSpec, Sequential, SpecError, TrainError,
};

use super::{HelperPool, StopSlot};
use crate::protocol::BackendChoice;
use convlab_core::HelperError;

mod choice;
mod inspect;
mod training;

/// Why a request could not be served; its text is what the page shows.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("the dataset is not loaded yet")]
    NoData,
    #[error("train on at least one image")]
    NoImages,
    #[error("there is no trained model yet: train one (or load one) first")]
    NoModel,
    #[error("there is no test image #{index}: the test set has {count}")]
    NoSuchImage { index: usize, count: usize },
    #[error(transparent)]
    Fetch(#[from] WebError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Save(#[from] ModelFileError),
    #[error("{origin}: {source}")]
    Load {
        origin: String,
        source: ModelFileError,
    },
    #[error("evaluating {origin} on the test set failed: {source}")]
    EvaluateLoaded { origin: String, source: TrainError },
}

impl SessionError {
    /// The backend itself failed (a kernel, a read-back), as it does once its device is lost;
    /// not a bad request or a bad file.
    fn is_device_failure(&self) -> bool {
        let train = |e: &TrainError| {
            matches!(
                e,
                TrainError::Execution(_) | TrainError::Data(_) | TrainError::EmptyReadBack { .. }
            )
        };
        match self {
            SessionError::Train(e) | SessionError::EvaluateLoaded { source: e, .. } => train(e),
            SessionError::Save(ModelFileError::ReadBack { .. }) => true,
            _ => false,
        }
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
    /// The helper workers of the last CPU run on several workers, kept for the next.
    helpers: Option<HelperPool>,
}

type Emit<'a> = &'a mut dyn FnMut(FromWorker);

impl Session {
    pub fn new(stop: StopSlot) -> Session {
        Session {
            stop,
            ..Session::default()
        }
    }

    /// Handles one request; a failure becomes the one reply that names the request.
    pub async fn handle(&mut self, request: ToWorker, emit: Emit<'_>) {
        let kind = request.kind();
        if let Err(error) = self.serve(request, emit).await {
            match self.gpu_lost(&error).await {
                Some(reason) => emit(FromWorker::GpuLost {
                    request: kind,
                    reason,
                    epoch: 0,
                    batch: 0,
                }),
                None => emit(failure(kind, &error)),
            }
        }
    }

    /// Helper workers for a run on `cpu_workers` workers (this one included) with `backend`:
    /// none on one worker or when WebGPU is forced; those of the last run when there are as
    /// many and none failed; otherwise fresh ones. A failure to start them is the reason the
    /// run trains on one worker.
    async fn helpers_for(
        &mut self,
        backend: BackendChoice,
        cpu_workers: usize,
    ) -> Result<Option<HelperPool>, HelperError> {
        let wanted = cpu_workers.clamp(1, crate::gpu::MAX_CPU_WORKERS) - 1;
        if wanted == 0 || backend == BackendChoice::Webgpu {
            return Ok(None);
        }
        if let Some(pool) = &self.helpers {
            if pool.len() == wanted && !pool.is_broken() {
                return Ok(Some(pool.clone()));
            }
        }
        // The old helpers end once the last run's trainer has let go of them too.
        self.helpers = None;
        let pool = HelperPool::start(wanted).await?;
        self.helpers = Some(pool.clone());
        Ok(Some(pool))
    }

    /// Whether a failure on WebGPU means the device is gone: its `lost` promise settled (the
    /// reason `worker.js` kept) or burn reports an error on it. The session then forgets the
    /// device and what lived on it; from now on it runs on the CPU.
    async fn gpu_lost(&mut self, error: &SessionError) -> Option<String> {
        let on_gpu = self
            .backend
            .as_ref()
            .is_some_and(|b| b.kind == BackendKind::Wgpu);
        if !on_gpu || !(error.is_device_failure() || crate::gpu::lost_reason().is_some()) {
            return None;
        }
        let reason = crate::gpu::wait_for_lost_reason()
            .await
            .unwrap_or_else(|| error.to_string());
        crate::gpu::mark_lost(&reason);
        self.backend = None;
        self.trained = None;
        Some(reason)
    }

    async fn serve(&mut self, request: ToWorker, emit: Emit<'_>) -> Result<(), SessionError> {
        match request {
            ToWorker::LoadData { base_url } => self.load_data(&base_url, emit).await,
            ToWorker::Train(run) => self.train(run, emit).await,
            ToWorker::WarmUp(warm_up) => {
                if let Some(reply) = self.warm_up(warm_up).await? {
                    emit(reply);
                }
                Ok(())
            }
            // The transport acts on these at once; queued, they have nothing left to do.
            ToWorker::Stop | ToWorker::Fault(_) => {
                self.stop.request_stop();
                Ok(())
            }
            ToWorker::ExportModel { destination } => {
                emit(self.export(destination).await?);
                Ok(())
            }
            ToWorker::LoadModel { origin, file } => {
                emit(self.load_model(origin, &file).await?);
                Ok(())
            }
            ToWorker::FeatureMaps { spec, images, seed } => {
                emit(self.feature_maps(&spec, &images, seed).await?);
                Ok(())
            }
            ToWorker::Classify { spec, pixels, seed } => {
                emit(self.classify(&spec, &pixels, seed).await?);
                Ok(())
            }
            ToWorker::TestImages { indices } => {
                emit(self.test_images(indices)?);
                Ok(())
            }
            ToWorker::Inspect { index } => {
                emit(self.inspect(index).await?);
                Ok(())
            }
        }
    }

    /// Fetches the four files under `base_url` and decodes them.
    async fn load_data(&mut self, base_url: &str, emit: Emit<'_>) -> Result<(), SessionError> {
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
            let fetched = fetch::fetch_cached(&url, &mut progress).await?;
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
        let [train_images, train_labels, test_images, test_labels] = &files[..] else {
            unreachable!("four files were fetched");
        };
        let decode = |images: &(String, fetch::Fetched), labels: &(String, fetch::Fetched)| {
            Dataset::from_idx(&images.0, &images.1.bytes, &labels.0, &labels.1.bytes)
        };
        match decode(train_images, train_labels)
            .and_then(|train| Ok((train, decode(test_images, test_labels)?)))
        {
            Ok((train, test)) => {
                for (url, fetched) in &files {
                    if !fetched.cached {
                        fetch::store(url, &fetched.bytes).await;
                    }
                }
                emit(self.set_data(train, test));
                Ok(())
            }
            Err(error) => {
                // A cached copy that no longer decodes must not stick: the retry refetches.
                for (url, _) in &files {
                    fetch::forget(url).await;
                }
                Err(error.into())
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

    /// The last trained or loaded model as a `.convlab` file.
    async fn export(&self, destination: Destination) -> Result<FromWorker, SessionError> {
        let trained = self.trained.as_ref().ok_or(SessionError::NoModel)?;
        Ok(FromWorker::ModelExported {
            destination,
            header: trained.header.clone(),
            file: model_file::save(&trained.model, &trained.header).await?,
        })
    }

    /// Rebuilds the model in `file` and evaluates it on the test set.
    async fn load_model(
        &mut self,
        origin: String,
        file: &[u8],
    ) -> Result<FromWorker, SessionError> {
        let test = self.test.as_ref().ok_or(SessionError::NoData)?;
        let backend = self.backend.clone().unwrap_or_else(Backend::cpu);
        let (model, header) = match model_file::load(file, &backend.device.clone().autodiff()) {
            Ok(loaded) => loaded,
            Err(source) => return Err(SessionError::Load { origin, source }),
        };
        let evaluation = match evaluate(&model, test, &backend.device).await {
            Ok(evaluation) => evaluation,
            Err(source) => return Err(SessionError::EvaluateLoaded { origin, source }),
        };
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

    /// The last trained model if it has `spec`'s architecture (and whether it was), otherwise
    /// a fresh one seeded with `seed`, with the backend it lives on.
    fn model_for(
        &self,
        spec: &ModelSpec,
        seed: u64,
    ) -> Result<(Sequential, Backend, bool), SessionError> {
        if let Some(t) = self.trained.as_ref().filter(|t| &t.header.spec == spec) {
            return Ok((t.model.clone(), t.backend.clone(), true));
        }
        let backend = self.backend.clone().unwrap_or_else(Backend::cpu);
        backend.device.seed(seed);
        let model = Sequential::new(spec, &backend.device.clone().autodiff())?;
        Ok((model, backend, false))
    }

    async fn feature_maps(
        &self,
        spec: &ModelSpec,
        images: &[usize],
        seed: u64,
    ) -> Result<FromWorker, SessionError> {
        let test = self.test.as_ref().ok_or(SessionError::NoData)?;
        let (model, backend, trained) = self.model_for(spec, seed)?;
        let maps = feature_maps(&model, test, images, &backend.device).await?;
        Ok(FromWorker::FeatureMaps {
            maps,
            images: images.to_vec(),
            labels: images.iter().map(|&i| test.labels[i]).collect(),
            trained,
        })
    }

    async fn classify(
        &self,
        spec: &ModelSpec,
        pixels: &[f32],
        seed: u64,
    ) -> Result<FromWorker, SessionError> {
        let (model, backend, trained) = self.model_for(spec, seed)?;
        let classified = convlab_core::classify(&model, pixels, &backend.device).await?;
        Ok(FromWorker::Classified {
            probabilities: classified.probabilities,
            maps: classified.maps,
            trained,
        })
    }
}

/// The one mapping of a failed request to its reply: a dataset that did not load has its own
/// reply (the page offers a retry); any other failure names its request.
fn failure(kind: crate::protocol::RequestKind, error: &SessionError) -> FromWorker {
    match kind {
        crate::protocol::RequestKind::LoadData => FromWorker::DataFailed {
            message: error.to_string(),
        },
        request => FromWorker::Failed {
            request,
            message: error.to_string(),
        },
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
        labels: test.labels.clone(),
        predictions: evaluation.predictions.clone(),
        confidences: evaluation.confidences.clone(),
    }
}
