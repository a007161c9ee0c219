//! The mistakes view's requests: test images' pixels for a page of thumbnails, and one test
//! image through the trained model.

use super::{Session, SessionError};
use crate::protocol::FromWorker;
use convlab_core::data::IMAGE_PIXELS;

impl Session {
    pub(super) fn test_images(&self, indices: Vec<usize>) -> Result<FromWorker, SessionError> {
        let test = self.test.as_ref().ok_or(SessionError::NoData)?;
        if let Some(&index) = indices.iter().find(|&&i| i >= test.len()) {
            return Err(SessionError::NoSuchImage {
                index,
                count: test.len(),
            });
        }
        let pixels = indices
            .iter()
            .flat_map(|&i| &test.images[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS])
            .copied()
            .collect();
        Ok(FromWorker::TestImages { indices, pixels })
    }

    /// Test image `index` through the last trained or loaded model.
    pub(super) async fn inspect(&self, index: usize) -> Result<FromWorker, SessionError> {
        let test = self.test.as_ref().ok_or(SessionError::NoData)?;
        let trained = self.trained.as_ref().ok_or(SessionError::NoModel)?;
        if index >= test.len() {
            return Err(SessionError::NoSuchImage {
                index,
                count: test.len(),
            });
        }
        let pixels = test.pixels_f32([index]);
        let classified =
            convlab_core::classify(&trained.model, &pixels, &trained.backend.device).await?;
        Ok(FromWorker::Inspected {
            index,
            probabilities: classified.probabilities,
            maps: classified.maps,
        })
    }
}
