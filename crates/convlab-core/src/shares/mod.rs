//! Data-parallel training steps: a batch is split into shares, a replica of the model computes
//! each share's gradients (in a browser, a helper worker on another core), and the trainer sums
//! them and applies one Adam step.
//!
//! Each replica differentiates its share's mean loss scaled by the share's part of the batch,
//! so the sum is the gradient of the whole batch's mean loss: the same step as one worker's,
//! up to float rounding. The models have no dropout or batch statistics, which would make a
//! share's step depend on the rest of the batch.

mod balance;
mod job;
mod replica;
mod step;

pub use crate::error::ShareJobError;
pub use balance::{ShareBalance, SharedEpoch};
pub use job::{GradientHelpers, HelperError, ShareGradients, ShareJob, SharesFuture};
pub use replica::{LocalHelpers, ShareReplica};
pub(crate) use step::{add_shares, jobs_for, share_step};
