//! How a batch is cut among the trainer and its helpers. The trainer waits for the last
//! answer, and a helper that answers early idles until the next step, so the shares are sized
//! by each one's measured speed: the trainer's own share costs it only its compute, a helper's
//! also the request's way to it and its decoding, and cores slow each other down unevenly.
//! Until a step has been timed the shares are near-equal.

use crate::shares::step::share_ranges;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// How much the latest step moves the running time per image (the rest is the past steps'),
/// so that one slow step (a garbage collection, the browser busy) shifts the shares little.
const SMOOTHING: f64 = 0.25;

/// The running time per image of the trainer and of each helper, and the shares cut by it;
/// with the figures of the epoch under way.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShareBalance {
    /// Seconds per image, the trainer's first; empty until a step has been timed.
    seconds_per_image: Vec<f64>,
    epoch: SharedEpoch,
}

/// How an epoch's batches were shared (for the console and the benchmarks).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SharedEpoch {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Steps shared with the helpers.
    pub steps: usize,
    /// The share sizes of the epoch's last full step (its last batch may be smaller), the
    /// trainer's first.
    pub split: Vec<usize>,
    /// The trainer's time on its own shares, in total.
    pub own_seconds: f64,
    /// The trainer's time waiting for answers after its own share, in total.
    pub waited_seconds: f64,
}

impl ShareBalance {
    /// `n` examples cut into `parts` contiguous shares, the trainer's first, in proportion to
    /// each one's speed (near-equal before any step of `parts` shares was timed). No share is
    /// empty.
    pub fn ranges(&self, n: usize, parts: usize) -> Vec<Range<usize>> {
        let parts = parts.clamp(1, n.max(1));
        if self.seconds_per_image.len() != parts {
            return share_ranges(n, parts);
        }
        let speeds: Vec<f64> = self.seconds_per_image.iter().map(|s| 1.0 / s).collect();
        let mut start = 0;
        sizes_in_proportion(n, &speeds)
            .into_iter()
            .map(|len| {
                start += len;
                start - len..start
            })
            .collect()
    }

    /// Takes a step's timing: each share's size and the seconds it took, the trainer's first,
    /// and how long the trainer then waited for the answers. A step with a share of no size
    /// or a time that is not a positive number teaches nothing about speeds.
    pub fn record(&mut self, sizes: &[usize], seconds: &[f64], waited: f64) {
        self.epoch.steps += 1;
        if sizes.iter().sum::<usize>() >= self.epoch.split.iter().sum() {
            self.epoch.split = sizes.to_vec();
        }
        self.epoch.own_seconds += seconds.first().copied().unwrap_or(0.0);
        self.epoch.waited_seconds += waited;
        let timed = sizes.len() == seconds.len()
            && sizes.iter().all(|&n| n > 0)
            && seconds.iter().all(|s| s.is_finite() && *s > 0.0);
        if !timed {
            return;
        }
        let latest = sizes.iter().zip(seconds).map(|(&n, s)| s / n as f64);
        if self.seconds_per_image.len() == sizes.len() {
            for (running, latest) in self.seconds_per_image.iter_mut().zip(latest) {
                *running += SMOOTHING * (latest - *running);
            }
        } else {
            self.seconds_per_image = latest.collect();
        }
    }

    /// The figures of the epoch that just ended (`epoch`, from 1), if any step of it was
    /// shared; the next epoch's start from nothing.
    pub fn end_epoch(&mut self, epoch: usize) -> Option<SharedEpoch> {
        let figures = std::mem::take(&mut self.epoch);
        (figures.steps > 0).then_some(SharedEpoch { epoch, ..figures })
    }
}

/// `n` split into one whole part per weight, each at least 1, in proportion to the weights
/// (largest remainders rounded up). Needs `n` at least the number of weights.
fn sizes_in_proportion(n: usize, weights: &[f64]) -> Vec<usize> {
    let parts = weights.len();
    let spare = n - parts;
    let total: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| spare as f64 * w / total).collect();
    let mut sizes: Vec<usize> = exact.iter().map(|e| 1 + e.floor() as usize).collect();
    let mut by_remainder: Vec<usize> = (0..parts).collect();
    by_remainder
        .sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let short = n - sizes.iter().sum::<usize>();
    for &part in by_remainder.iter().cycle().take(short) {
        sizes[part] += 1;
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(ranges: &[Range<usize>]) -> Vec<usize> {
        ranges.iter().map(|r| r.len()).collect()
    }

    #[test]
    fn untimed_shares_are_near_equal() {
        let balance = ShareBalance::default();
        assert_eq!(balance.ranges(128, 2), vec![0..64, 64..128]);
        assert_eq!(balance.ranges(10, 3), vec![0..4, 4..7, 7..10]);
    }

    #[test]
    fn a_slower_helper_gets_fewer_images() {
        let mut balance = ShareBalance::default();
        // The helper took 36 ms for 64 images, the trainer 32 ms.
        balance.record(&[64, 64], &[0.032, 0.036], 0.004);
        let ranges = balance.ranges(128, 2);
        assert_eq!(sizes(&ranges), [68, 60]);
        assert_eq!(ranges[0].start, 0);
        assert_eq!(ranges[1].end, 128);
    }

    #[test]
    fn one_slow_step_moves_the_shares_a_little() {
        let mut balance = ShareBalance::default();
        balance.record(&[64, 64], &[0.032, 0.032], 0.0);
        // A pause of 100 ms in the helper.
        balance.record(&[64, 64], &[0.032, 0.132], 0.0);
        let moved = sizes(&balance.ranges(128, 2));
        assert!(moved[1] < 64 && moved[1] > 40, "{moved:?}");
    }

    #[test]
    fn an_epoch_s_figures_are_totalled_and_start_afresh() {
        let mut balance = ShareBalance::default();
        assert_eq!(balance.end_epoch(1), None, "no step shared");
        balance.record(&[64, 64], &[0.25, 0.5], 0.125);
        balance.record(&[68, 60], &[0.5, 0.25], 0.0);
        balance.record(&[20, 12], &[0.125, 0.125], 0.0);
        assert_eq!(
            balance.end_epoch(1),
            Some(SharedEpoch {
                epoch: 1,
                steps: 3,
                split: vec![68, 60],
                own_seconds: 0.875,
                waited_seconds: 0.125,
            })
        );
        assert_eq!(balance.end_epoch(2), None);
        // The speeds are kept from one epoch to the next.
        assert_eq!(balance.ranges(128, 2).len(), 2);
        assert_ne!(balance.ranges(128, 2)[0], 0..64);
    }

    #[test]
    fn every_share_keeps_an_image() {
        let mut balance = ShareBalance::default();
        balance.record(&[2, 2, 2], &[0.001, 1.0, 1.0], 0.0);
        assert_eq!(sizes(&balance.ranges(6, 3)), [4, 1, 1]);
        assert_eq!(sizes(&balance.ranges(3, 3)), [1, 1, 1]);
    }

    #[test]
    fn the_shares_always_cover_the_batch() {
        let mut balance = ShareBalance::default();
        balance.record(&[11, 7, 5, 9], &[0.013, 0.029, 0.007, 0.019], 0.0);
        for n in 4..300 {
            let ranges = balance.ranges(n, 4);
            assert_eq!(ranges.len(), 4);
            assert!(ranges.iter().all(|r| !r.is_empty()));
            assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
            assert_eq!((ranges[0].start, ranges[3].end), (0, n));
        }
    }

    #[test]
    fn untimable_steps_are_left_out_and_another_count_starts_afresh() {
        let mut balance = ShareBalance::default();
        balance.record(&[64, 64], &[0.032, f64::NAN], 0.0);
        balance.record(&[64, 64], &[0.0, 0.032], 0.0);
        balance.record(&[64], &[0.032, 0.032], 0.0);
        assert_eq!(balance.ranges(128, 2), [0..64, 64..128]);
        balance.record(&[64, 64], &[0.032, 0.064], 0.0);
        // Three shares were never timed: near-equal.
        assert_eq!(sizes(&balance.ranges(12, 3)), [4, 4, 4]);
        balance.record(&[4, 4, 4], &[0.004, 0.004, 0.004], 0.0);
        assert_eq!(sizes(&balance.ranges(12, 3)), [4, 4, 4]);
    }
}
