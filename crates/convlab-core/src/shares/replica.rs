//! A replica of the model that computes a share's gradients (what a helper runs), and
//! [`LocalHelpers`], replicas in this thread: the reference the browser's helpers are tested
//! against.

use crate::batch::DeviceSums;
use crate::error::TrainError;
use crate::model::Sequential;
use crate::shares::job::{GradientHelpers, HelperError, ShareGradients, ShareJob, SharesFuture};
use crate::shares::step::{flat_gradients, share_step};
use crate::spec::ModelSpec;
use crate::weights::with_weights;
use burn::module::Module;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::tensor::Device;
use web_time::Instant;

/// A replica of the model that computes shares' gradients: what a helper runs.
pub struct ShareReplica {
    model: Option<Sequential>,
    device: Device,
    train_device: Device,
    loss_fn: CrossEntropyLoss,
}

impl ShareReplica {
    /// A replica of `spec` on `device` (its weights come with each job).
    pub fn new(spec: &ModelSpec, device: &Device) -> Result<ShareReplica, TrainError> {
        let train_device = device.clone().autodiff();
        Ok(ShareReplica {
            model: Some(Sequential::new(spec, &train_device)?),
            train_device,
            device: device.clone(),
            loss_fn: CrossEntropyLossConfig::new().init(device),
        })
    }

    /// The gradients of `job`'s share, from `job`'s weights.
    pub async fn gradients(&mut self, job: &ShareJob) -> Result<ShareGradients, TrainError> {
        let started = Instant::now();
        let model = self
            .model
            .take()
            .expect("the replica's model is only taken out inside gradients");
        if let Err(error) = job.check(model.num_params()) {
            self.model = Some(model);
            return Err(error.into());
        }
        let model = match with_weights(model.clone(), &job.weights, &self.train_device) {
            Ok(model) => model,
            Err(error) => {
                self.model = Some(model);
                return Err(error.into());
            }
        };
        let indices: Vec<usize> = (0..job.examples.len()).collect();
        let step = share_step(
            &model,
            &self.loss_fn,
            &job.examples,
            &indices,
            job.scale,
            &self.train_device,
        );
        let gradients = flat_gradients(&step.grads, &model, &self.device)
            .into_data_async()
            .await?
            .convert::<f32>()
            .try_into_vec::<f32>()?;
        let mut sums = DeviceSums::zeros(&self.device);
        sums.add(step.predicted, step.labels, step.mean_loss);
        let (loss_sum, correct) = sums.read().await?;
        self.model = Some(model);
        Ok(ShareGradients {
            gradients,
            loss_sum,
            correct,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// Helpers in this thread, one after another: the reference the browser's helper workers are
/// tested against, and a way to check the splitting without workers.
pub struct LocalHelpers {
    replicas: Vec<ShareReplica>,
    jobs: Vec<ShareJob>,
}

impl LocalHelpers {
    pub fn new(
        spec: &ModelSpec,
        device: &Device,
        count: usize,
    ) -> Result<LocalHelpers, TrainError> {
        Ok(LocalHelpers {
            replicas: (0..count)
                .map(|_| ShareReplica::new(spec, device))
                .collect::<Result<_, _>>()?,
            jobs: Vec::new(),
        })
    }
}

impl GradientHelpers for LocalHelpers {
    fn count(&self) -> usize {
        self.replicas.len()
    }

    fn start(&mut self, jobs: Vec<ShareJob>) {
        self.jobs = jobs;
    }

    fn finish(&mut self) -> SharesFuture<'_> {
        Box::pin(async move {
            let jobs = std::mem::take(&mut self.jobs);
            let mut results = Vec::with_capacity(jobs.len());
            for (helper, (job, replica)) in jobs.iter().zip(&mut self.replicas).enumerate() {
                results.push(
                    replica
                        .gradients(job)
                        .await
                        .map_err(|e| HelperError::Failed {
                            helper,
                            message: e.to_string(),
                        }),
                );
            }
            results
        })
    }
}
