//! What the model gets wrong on a test set: the images behind one cell of the confusion matrix,
//! the most confident first, the pairs of classes it mixes up most, and pages of either, so a
//! page never lays out 10,000 images at once.

use crate::spec::NUM_CLASSES;
use crate::train::Evaluation;
use serde::{Deserialize, Serialize};

/// One test image and what the model made of it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The image's place in the test set.
    pub index: usize,
    pub truth: u8,
    pub predicted: u8,
    /// The model's probability for the class it predicted.
    pub confidence: f32,
}

/// Two classes the model mixes up, each way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusedPair {
    /// The lower class number of the two.
    pub first: u8,
    pub second: u8,
    /// `first` images predicted as `second`.
    pub first_as_second: usize,
    /// `second` images predicted as `first`.
    pub second_as_first: usize,
}

impl ConfusedPair {
    pub fn total(&self) -> usize {
        self.first_as_second + self.second_as_first
    }
}

/// One page of a longer list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<'a, T> {
    pub items: &'a [T],
    /// From 0; a page past the end shows the last one.
    pub number: usize,
    /// At least 1, so an empty list has one empty page.
    pub count: usize,
    /// The length of the whole list.
    pub total: usize,
}

/// Page `number` (from 0) of `items`, `per_page` to a page (at least one).
pub fn page<T>(items: &[T], number: usize, per_page: usize) -> Page<'_, T> {
    let per_page = per_page.max(1);
    let count = items.len().div_ceil(per_page).max(1);
    let number = number.min(count - 1);
    let start = (number * per_page).min(items.len());
    let end = (start + per_page).min(items.len());
    Page {
        items: &items[start..end],
        number,
        count,
        total: items.len(),
    }
}

impl Evaluation {
    /// The images of class `truth` the model predicted as `predicted` (one cell of the
    /// confusion matrix), the most confident first; equal confidences keep the test set's order.
    pub fn cell(&self, labels: &[u8], truth: u8, predicted: u8) -> Vec<Prediction> {
        let mut cell: Vec<Prediction> = self
            .predictions_with(labels)
            .filter(|p| p.truth == truth && p.predicted == predicted)
            .collect();
        cell.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        cell
    }

    /// Every wrong prediction, the most confident first.
    pub fn mistakes(&self, labels: &[u8]) -> Vec<Prediction> {
        let mut wrong: Vec<Prediction> = self
            .predictions_with(labels)
            .filter(|p| p.truth != p.predicted)
            .collect();
        wrong.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        wrong
    }

    /// The pairs of classes mixed up at least once (see [`most_confused_pairs`]).
    pub fn confused_pairs(&self, labels: &[u8]) -> Vec<ConfusedPair> {
        most_confused_pairs(&self.confusion_matrix(labels))
    }

    fn predictions_with<'a>(&'a self, labels: &'a [u8]) -> impl Iterator<Item = Prediction> + 'a {
        labels
            .iter()
            .zip(&self.predictions)
            .zip(&self.confidences)
            .enumerate()
            .map(|(index, ((&truth, &predicted), &confidence))| Prediction {
                index,
                truth,
                predicted,
                confidence,
            })
    }
}

/// The pairs of classes mixed up at least once, the most mixed-up first (ties in class order),
/// from `matrix[true][predicted]` counts.
pub fn most_confused_pairs(matrix: &[[usize; NUM_CLASSES]; NUM_CLASSES]) -> Vec<ConfusedPair> {
    let mut pairs: Vec<ConfusedPair> = (0..NUM_CLASSES)
        .flat_map(|first| (first + 1..NUM_CLASSES).map(move |second| (first, second)))
        .map(|(first, second)| ConfusedPair {
            first: first as u8,
            second: second as u8,
            first_as_second: matrix[first][second],
            second_as_first: matrix[second][first],
        })
        .filter(|pair| pair.total() > 0)
        .collect();
    pairs.sort_by_key(|pair| std::cmp::Reverse(pair.total()));
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Six images: two right, four wrong (two shirts taken for T-shirts, one T-shirt for a
    /// shirt, one sneaker for a sandal).
    fn evaluation() -> (Evaluation, Vec<u8>) {
        let labels = vec![6, 0, 6, 7, 0, 1];
        let evaluation = Evaluation {
            loss: 0.5,
            accuracy: 2.0 / 6.0,
            predictions: vec![0, 6, 0, 5, 0, 1],
            confidences: vec![0.55, 0.61, 0.93, 0.7, 0.99, 0.8],
        };
        (evaluation, labels)
    }

    #[test]
    fn a_cell_holds_its_images_most_confident_first() {
        let (evaluation, labels) = evaluation();
        let shirts_as_tshirts = evaluation.cell(&labels, 6, 0);
        let indices: Vec<usize> = shirts_as_tshirts.iter().map(|p| p.index).collect();
        assert_eq!(indices, [2, 0]);
        assert_eq!(shirts_as_tshirts[0].confidence, 0.93);
        // Its length is the matrix's number for that cell.
        let matrix = evaluation.confusion_matrix(&labels);
        for truth in 0..NUM_CLASSES as u8 {
            for predicted in 0..NUM_CLASSES as u8 {
                assert_eq!(
                    evaluation.cell(&labels, truth, predicted).len(),
                    matrix[truth as usize][predicted as usize]
                );
            }
        }
    }

    #[test]
    fn mistakes_leave_out_the_right_answers() {
        let (evaluation, labels) = evaluation();
        let confidences: Vec<f32> = evaluation
            .mistakes(&labels)
            .iter()
            .map(|p| p.confidence)
            .collect();
        assert_eq!(confidences, [0.93, 0.7, 0.61, 0.55]);
    }

    #[test]
    fn pairs_count_both_ways_and_the_most_confused_come_first() {
        let (evaluation, labels) = evaluation();
        let pairs = evaluation.confused_pairs(&labels);
        assert_eq!(
            pairs,
            [
                ConfusedPair {
                    first: 0,
                    second: 6,
                    first_as_second: 1,
                    second_as_first: 2
                },
                ConfusedPair {
                    first: 5,
                    second: 7,
                    first_as_second: 0,
                    second_as_first: 1
                },
            ]
        );
        assert_eq!(pairs[0].total(), 3);
    }

    #[test]
    fn pages_split_a_list_and_clamp_past_the_end() {
        let items: Vec<usize> = (0..25).collect();
        let first = page(&items, 0, 10);
        assert_eq!((first.items.len(), first.count, first.total), (10, 3, 25));
        let last = page(&items, 2, 10);
        assert_eq!(last.items, &items[20..]);
        assert_eq!(page(&items, 9, 10).number, 2);
        let empty: Vec<usize> = Vec::new();
        let none = page(&empty, 0, 10);
        assert_eq!((none.items.len(), none.count, none.number), (0, 1, 0));
    }
}
