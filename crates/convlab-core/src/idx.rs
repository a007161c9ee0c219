//! The IDX file format (raw or gzipped) read from bytes with limits: every refusal names the
//! file and the byte offset, and no size a file claims is allocated before it is checked.

use std::io::Read;

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
    #[error("{file}: {len} bytes, more than the {} MB of any IDX file convlab reads", MAX_UNPACKED >> 20)]
    RawTooLarge { file: String, len: usize },
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

/// The most images one IDX image file may hold: four times Fashion-MNIST's training set, 196
/// MB of pixels. A header that claims more is refused before its pixels are copied into a
/// dataset, and the training worker never holds more pixels than this per file.
pub const MAX_IMAGES: usize = 250_000;

/// Undoes gzip when the bytes start with its magic number; returns raw bytes unchanged. Both
/// are held to [`MAX_UNPACKED`].
pub fn maybe_gunzip(file: &str, bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    if !is_gzip(bytes) {
        if bytes.len() > MAX_UNPACKED {
            return Err(DataError::RawTooLarge {
                file: file.to_string(),
                len: bytes.len(),
            });
        }
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

pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
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
pub(crate) fn parse_idx<'a>(
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
    if expected_dims == 3 && dims[0] > MAX_IMAGES {
        return Err(fail(
            4,
            format!(
                "the header claims {} images; at most {MAX_IMAGES} are read from one file",
                dims[0]
            ),
        ));
    }
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
