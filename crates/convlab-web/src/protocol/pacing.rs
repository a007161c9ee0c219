//! How often the page hears of batches. Each report costs the page's main thread a message,
//! a render and a frame (style, layout, paint), and that thread shares the cores with the
//! workers that train: on a fast CPU run a report per batch would be tens a second, more
//! than anyone can read. So the worker passes a batch report on only when enough time has
//! passed since the last one, and always an epoch's first and last: the page then knows which
//! epoch runs (a crash report names it) and gets every epoch's figures. Each report carries the epoch's running figures, so one skipped
//! loses nothing the next does not say.

use super::FromWorker;
use convlab_core::TrainEvent;

/// The shortest time between two batch reports the page gets, in milliseconds.
pub const BATCH_REPORT_INTERVAL_MS: f64 = 200.0;

/// Decides, reply by reply, which of a request's replies go to the page.
#[derive(Debug, Default)]
pub struct BatchReports {
    last_sent_ms: Option<f64>,
}

impl BatchReports {
    /// Whether `reply`, ready at `now_ms` (any clock in milliseconds), goes to the page.
    /// Replies other than batch reports always do.
    pub fn admits(&mut self, reply: &FromWorker, now_ms: f64) -> bool {
        let FromWorker::Training(TrainEvent::Batch { batch, batches, .. }) = reply else {
            return true;
        };
        let due = self
            .last_sent_ms
            .is_none_or(|last| now_ms - last >= BATCH_REPORT_INTERVAL_MS);
        if due || *batch == 1 || *batch >= *batches {
            self.last_sent_ms = Some(now_ms);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(batch: usize, batches: usize) -> FromWorker {
        FromWorker::Training(TrainEvent::Batch {
            epoch: 1,
            batch,
            batches,
            samples_seen: batch * 32,
            loss: 1.0,
            accuracy: 0.5,
            samples_per_second: 1000.0,
        })
    }

    #[test]
    fn batch_reports_are_paced_but_each_epoch_s_last_gets_through() {
        let mut reports = BatchReports::default();
        // A batch every 30 ms: the first, then one per interval, then the epoch's last.
        let passed: Vec<usize> = (1..=20)
            .filter(|&b| reports.admits(&batch(b, 20), b as f64 * 30.0))
            .collect();
        assert_eq!(passed, vec![1, 8, 15, 20]);
    }

    #[test]
    fn each_epoch_s_first_batch_gets_through() {
        let mut reports = BatchReports::default();
        assert!(reports.admits(&batch(20, 20), 0.0));
        assert!(reports.admits(&batch(1, 20), 1.0));
        assert!(!reports.admits(&batch(2, 20), 2.0));
    }

    #[test]
    fn slow_batches_are_all_reported() {
        let mut reports = BatchReports::default();
        assert!((1..=5).all(|b| reports.admits(&batch(b, 50), b as f64 * 250.0)));
    }

    #[test]
    fn other_replies_always_get_through() {
        let mut reports = BatchReports::default();
        assert!(reports.admits(&batch(1, 10), 0.0));
        assert!(reports.admits(&FromWorker::Ready, 1.0));
        assert!(reports.admits(
            &FromWorker::WorkerMemory {
                epoch: 1,
                wasm_bytes: 1
            },
            2.0
        ));
        assert!(!reports.admits(&batch(2, 10), 3.0));
    }
}
