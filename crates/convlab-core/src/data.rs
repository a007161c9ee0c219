//! Fashion-MNIST from IDX files (raw or gzipped). Works on bytes, so the same code reads files
//! natively and buffers fetched by the browser.

use flate2::read::GzDecoder;
use std::io::Read;

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

/// What went wrong reading a data file; always names the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: gzip stream is corrupt or truncated: {source}")]
    Gzip {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: at byte {offset}: {problem}")]
    Format {
        file: String,
        offset: usize,
        problem: String,
    },
    #[error("{images} has {image_count} images but {labels} has {label_count} labels")]
    CountMismatch {
        images: String,
        image_count: usize,
        labels: String,
        label_count: usize,
    },
}

/// Undoes gzip when the bytes start with its magic number; returns raw bytes unchanged.
pub fn maybe_gunzip(file: &str, bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(bytes.len() * 4);
        GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|source| DataError::Gzip {
                file: file.to_string(),
                source,
            })?;
        Ok(out)
    } else {
        Ok(bytes.to_vec())
    }
}

/// Parses an unsigned-byte IDX array with `expected_dims` dimensions; returns its
/// dimensions and a view of its data.
fn parse_idx<'a>(
    file: &str,
    bytes: &'a [u8],
    expected_dims: u8,
) -> Result<(Vec<usize>, &'a [u8]), DataError> {
    let fail = |offset: usize, problem: String| DataError::Format {
        file: file.to_string(),
        offset,
        problem,
    };
    if bytes.len() < 4 {
        return Err(fail(
            0,
            format!(
                "file is {} bytes long, too short for an IDX header",
                bytes.len()
            ),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(fail(
            0,
            format!(
                "not an IDX file: magic starts {:02x} {:02x}, expected 00 00",
                bytes[0], bytes[1]
            ),
        ));
    }
    if bytes[2] != 0x08 {
        return Err(fail(
            2,
            format!(
                "element type 0x{:02x} is not unsigned byte (0x08)",
                bytes[2]
            ),
        ));
    }
    if bytes[3] != expected_dims {
        return Err(fail(
            3,
            format!(
                "IDX array has {} dimensions, expected {expected_dims}",
                bytes[3]
            ),
        ));
    }
    let header_len = 4 + 4 * expected_dims as usize;
    if bytes.len() < header_len {
        return Err(fail(
            bytes.len(),
            format!("header ends early: expected {header_len} header bytes"),
        ));
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected_len = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| fail(4, format!("dimensions {dims:?} overflow")))?;
    let data = &bytes[header_len..];
    if data.len() != expected_len {
        return Err(fail(
            header_len + data.len().min(expected_len),
            format!(
                "dimensions {dims:?} need {expected_len} data bytes after the {header_len}-byte header, found {}",
                data.len()
            ),
        ));
    }
    Ok((dims, data))
}

/// Images (row-major 28x28 bytes each) and their labels 0-9.
#[derive(Debug, Clone, PartialEq, Eq)]
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
        let (dims, pixels) = parse_idx(images_name, &image_bytes, 3)?;
        if dims[1] != IMAGE_SIDE || dims[2] != IMAGE_SIDE {
            return Err(DataError::Format {
                file: images_name.to_string(),
                offset: 8,
                problem: format!(
                    "images are {}x{}, expected {IMAGE_SIDE}x{IMAGE_SIDE}",
                    dims[1], dims[2]
                ),
            });
        }
        let label_bytes = maybe_gunzip(labels_name, labels)?;
        let (label_dims, label_data) = parse_idx(labels_name, &label_bytes, 1)?;
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

    /// Splits off the last `fraction` of the examples for validation, as Keras's
    /// `validation_split` does (before any shuffling).
    /// Consumes the dataset so that the training part is not copied.
    pub fn split_validation(mut self, fraction: f32) -> (Dataset, Dataset) {
        let val = ((self.len() as f64) * fraction.clamp(0.0, 1.0) as f64).floor() as usize;
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

/// Gzips bytes (for writing fixtures in the same form as the published files).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder
        .write_all(bytes)
        .expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}
