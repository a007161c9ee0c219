//! Fashion-MNIST from IDX files (raw or gzipped). Works on bytes, so the same code reads files
//! natively and buffers fetched by the browser.

pub use crate::idx::{gzip, maybe_gunzip, DataError, MAX_IMAGES, MAX_UNPACKED};
use crate::idx::{is_gzip, parse_idx};

/// Side of every image, in pixels.
pub const IMAGE_SIDE: usize = 28;
/// Pixels per image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;

/// File names of the four Fashion-MNIST files, as published.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte.gz";
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte.gz";
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte.gz";
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte.gz";

/// Class names in label order.
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Images (row-major 28x28 bytes each) and their labels 0-9.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dataset {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Dataset {
    /// Reads an image file and a label file (each raw or gzipped IDX). The names are only
    /// used in error messages.
    pub fn from_idx(
        images_name: &str,
        images: &[u8],
        labels_name: &str,
        labels: &[u8],
    ) -> Result<Dataset, DataError> {
        let image_bytes = maybe_gunzip(images_name, images)?;
        let (dims, pixels) = parse_idx(images_name, &image_bytes, is_gzip(images), 3)?;
        if dims[1] != IMAGE_SIDE || dims[2] != IMAGE_SIDE {
            return Err(DataError::Format {
                file: images_name.to_string(),
                offset: 8,
                gunzipped: is_gzip(images),
                problem: format!(
                    "images are {}x{}, expected {IMAGE_SIDE}x{IMAGE_SIDE}",
                    dims[1], dims[2]
                ),
            });
        }
        let label_bytes = maybe_gunzip(labels_name, labels)?;
        let (label_dims, label_data) = parse_idx(labels_name, &label_bytes, is_gzip(labels), 1)?;
        if label_dims[0] != dims[0] {
            return Err(DataError::CountMismatch {
                images: images_name.to_string(),
                image_count: dims[0],
                labels: labels_name.to_string(),
                label_count: label_dims[0],
            });
        }
        if let Some(pos) = label_data.iter().position(|&l| l >= 10) {
            return Err(DataError::Format {
                file: labels_name.to_string(),
                offset: 8 + pos,
                gunzipped: is_gzip(labels),
                problem: format!("label {} is not a class 0-9", label_data[pos]),
            });
        }
        Ok(Dataset {
            images: pixels.to_vec(),
            labels: label_data.to_vec(),
        })
    }

    /// Reads `<dir>/<images_file>` and `<dir>/<labels_file>`.
    #[cfg(not(target_family = "wasm"))]
    pub fn load(
        dir: &std::path::Path,
        images_file: &str,
        labels_file: &str,
    ) -> Result<Dataset, DataError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| DataError::Io {
                file: path.display().to_string(),
                source,
            })
        };
        let images = read(images_file)?;
        let labels = read(labels_file)?;
        Dataset::from_idx(
            &dir.join(images_file).display().to_string(),
            &images,
            &dir.join(labels_file).display().to_string(),
            &labels,
        )
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The first `n` examples (all of them if there are fewer).
    pub fn take(&self, n: usize) -> Dataset {
        let n = n.min(self.len());
        Dataset {
            images: self.images[..n * IMAGE_PIXELS].to_vec(),
            labels: self.labels[..n].to_vec(),
        }
    }

    /// The examples at `indices` (each must be below `len()`), in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        Dataset {
            images: indices
                .iter()
                .flat_map(|&i| &self.images[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS])
                .copied()
                .collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// Splits off the last `fraction` of the examples for validation, as Keras's
    /// `validation_split` does (before any shuffling).
    /// Consumes the dataset so that the training part is not copied.
    pub fn split_validation(mut self, fraction: f32) -> (Dataset, Dataset) {
        let val = validation_len(self.len(), fraction.clamp(0.0, 1.0));
        let train = self.len() - val;
        let tail = Dataset {
            images: self.images.split_off(train * IMAGE_PIXELS),
            labels: self.labels.split_off(train),
        };
        (self, tail)
    }

    /// Pixels of the given examples scaled to [0, 1], as the lab's `/ 255.0`.
    pub fn pixels_f32(&self, indices: impl IntoIterator<Item = usize>) -> Vec<f32> {
        indices
            .into_iter()
            .flat_map(|i| &self.images[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS])
            .map(|&p| p as f32 / 255.0)
            .collect()
    }

    /// The image file's bytes as IDX (uncompressed).
    pub fn images_idx(&self) -> Vec<u8> {
        let mut out = vec![0, 0, 0x08, 3];
        for d in [self.len(), IMAGE_SIDE, IMAGE_SIDE] {
            out.extend_from_slice(&(d as u32).to_be_bytes());
        }
        out.extend_from_slice(&self.images);
        out
    }

    /// The label file's bytes as IDX (uncompressed).
    pub fn labels_idx(&self) -> Vec<u8> {
        let mut out = vec![0, 0, 0x08, 1];
        out.extend_from_slice(&(self.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.labels);
        out
    }
}

/// How many of `len` examples Keras's `validation_split=fraction` holds out for validation
/// (the last ones): the one rounding the trainer, its checks and the page share.
pub fn validation_len(len: usize, fraction: f32) -> usize {
    ((len as f64) * fraction as f64).floor() as usize
}
