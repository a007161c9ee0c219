//! Fashion-MNIST from IDX files (raw or gzipped). Works on bytes, so the same code reads files
//! natively and buffers fetched by the browser.

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
    /// `offset` is where in the compressed file the decoder stopped.
    #[error("{file}: at byte {offset} of {len}: gzip stream is corrupt or truncated: {source}")]
    Gzip {
        file: String,
        offset: usize,
        len: usize,
        source: std::io::Error,
    },
    #[error("{file}: at byte {offset}: gzip data unpacks to more than {} MB, more than any IDX file convlab reads", MAX_UNPACKED >> 20)]
    TooLarge { file: String, offset: usize },
    /// `offset` counts in the unpacked data when the file was gzipped (`gunzipped`).
    #[error("{file}: at byte {offset}{}: {problem}", if *.gunzipped { " of the unpacked data" } else { "" })]
    Format {
        file: String,
        offset: usize,
        gunzipped: bool,
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

/// The most bytes a gzipped data file may unpack to: Fashion-MNIST's largest file (the
/// training images) is 47 MB unpacked; a "gzip bomb" is refused before it fills the memory.
pub const MAX_UNPACKED: usize = 256 << 20;

/// Undoes gzip when the bytes start with its magic number; returns raw bytes unchanged.
pub fn maybe_gunzip(file: &str, bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    if !is_gzip(bytes) {
        return Ok(bytes.to_vec());
    }
    // The buffered decoder reads straight from the slice, so what is left of it says how far
    // into the compressed file the decoder got.
    let mut decoder = flate2::bufread::GzDecoder::new(bytes);
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(4).min(MAX_UNPACKED));
    let read = (&mut decoder)
        .take(MAX_UNPACKED as u64 + 1)
        .read_to_end(&mut out);
    let offset = bytes.len() - decoder.get_ref().len();
    match read {
        Err(source) => Err(DataError::Gzip {
            file: file.to_string(),
            offset,
            len: bytes.len(),
            source,
        }),
        Ok(_) if out.len() > MAX_UNPACKED => Err(DataError::TooLarge {
            file: file.to_string(),
            offset,
        }),
        Ok(_) => Ok(out),
    }
}

fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// The first bytes of a file that is text (an HTML error page, a directory listing), quoted,
/// so that a message can say what the file is instead of an IDX file.
fn text_start(bytes: &[u8]) -> Option<String> {
    let start = &bytes[..bytes.len().min(40)];
    // A cut through a multi-byte character at the end is still text.
    let text = match std::str::from_utf8(start) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&start[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    let text = text.trim_start();
    let printable = !text.is_empty()
        && text
            .chars()
            .all(|c| !c.is_control() || c.is_ascii_whitespace());
    printable.then(|| {
        let line: String = text
            .split(['\n', '\r'])
            .next()
            .unwrap_or("")
            .chars()
            .take(30)
            .collect();
        let html = text.starts_with('<');
        format!(
            "it is text, not an IDX file: it starts with \"{line}\"{}",
            if html {
                " (an HTML page: the wrong folder, or a server's error page?)"
            } else {
                ""
            }
        )
    })
}

/// Parses an unsigned-byte IDX array with `expected_dims` dimensions; returns its
/// dimensions and a view of its data.
fn parse_idx<'a>(
    file: &str,
    bytes: &'a [u8],
    gunzipped: bool,
    expected_dims: u8,
) -> Result<(Vec<usize>, &'a [u8]), DataError> {
    let fail = |offset: usize, problem: String| DataError::Format {
        file: file.to_string(),
        offset,
        gunzipped,
        problem,
    };
    if let Some(text) = text_start(bytes) {
        return Err(fail(0, text));
    }
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
        let kind = |dims: u8| match dims {
            1 => " (a label file)",
            3 => " (an image file)",
            _ => "",
        };
        return Err(fail(
            3,
            format!(
                "IDX array has {} dimensions{}, expected {expected_dims}{}",
                bytes[3],
                kind(bytes[3]),
                kind(expected_dims)
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

/// How many of `len` examples Keras's `validation_split=fraction` holds out for validation
/// (the last ones): the one rounding the trainer, its checks and the page share.
pub fn validation_len(len: usize, fraction: f32) -> usize {
    ((len as f64) * fraction as f64).floor() as usize
}
