//! IDX parsing of good and bad input: every error names the file and what was expected.

mod common;

use convlab_core::data::{gzip, maybe_gunzip, MAX_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};
use convlab_core::{DataError, Dataset};

fn read(name: &str) -> Vec<u8> {
    std::fs::read(common::fixture_dir().join(name)).unwrap()
}

fn load(images: &[u8], labels: &[u8]) -> Result<Dataset, DataError> {
    Dataset::from_idx("images.idx", images, "labels.idx", labels)
}

#[test]
fn fixture_is_real_fashion_mnist() {
    let train = common::fixture_train();
    assert_eq!(train.len(), 3000);
    assert_eq!(train.images.len(), 3000 * 784);
    // The first training labels of Fashion-MNIST.
    assert_eq!(&train.labels[..10], &[9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    let test = common::fixture_test();
    assert_eq!(test.len(), 1000);
    // The lab's cell: indices 0, 23 and 28 are all ankle boots (9).
    assert_eq!(&test.labels[..12], &[9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5]);
    assert_eq!(
        [test.labels[0], test.labels[23], test.labels[28]],
        [9, 9, 9]
    );
    // Pixels span the byte range; scaled pixels lie in [0, 1].
    assert_eq!(*train.images.iter().max().unwrap(), 255);
    let scaled = train.pixels_f32(0..1);
    assert!(scaled.iter().all(|p| (0.0..=1.0).contains(p)));
}

#[test]
fn raw_and_gzipped_files_read_the_same() {
    let images = read(TRAIN_IMAGES);
    let labels = read(TRAIN_LABELS);
    let gz = load(&images, &labels).unwrap();
    let raw_images = maybe_gunzip("x", &images).unwrap();
    let raw_labels = maybe_gunzip("x", &labels).unwrap();
    assert_eq!(&raw_images[..4], &[0, 0, 8, 3]);
    assert_eq!(load(&raw_images, &raw_labels).unwrap(), gz);
    // And writing it back gives the same bytes.
    assert_eq!(gz.images_idx(), raw_images);
    assert_eq!(gz.labels_idx(), raw_labels);
}

#[test]
fn wrong_magic_is_refused_with_file_and_offset() {
    let labels = gz_subset().labels_idx();
    let mut images = gz_subset().images_idx();
    images[1] = 0x42;
    let msg = load(&images, &labels).unwrap_err().to_string();
    assert_eq!(
        msg,
        "images.idx: at byte 0: not an IDX file: magic starts 00 42, expected 00 00"
    );
    let mut images = gz_subset().images_idx();
    images[3] = 1; // a label file's dimension count
    let msg = load(&images, &labels).unwrap_err().to_string();
    assert_eq!(
        msg,
        "images.idx: at byte 3: IDX array has 1 dimensions (a label file), expected 3 (an image file)"
    );
}

#[test]
fn a_label_file_where_images_belong_is_named_as_such() {
    // The published files swapped, gzipped as they are served.
    let msg = load(&read(TRAIN_LABELS), &read(TRAIN_IMAGES))
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "images.idx: at byte 3 of the unpacked data: IDX array has 1 dimensions (a label file), expected 3 (an image file)"
    );
    // Images where the labels belong.
    let subset = gz_subset();
    let msg = load(&subset.images_idx(), &subset.images_idx())
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "labels.idx: at byte 3: IDX array has 3 dimensions (an image file), expected 1 (a label file)"
    );
}

#[test]
fn truncated_gzip_is_refused_at_its_end() {
    let images = read(TRAIN_IMAGES);
    let cut = &images[..images.len() / 2];
    let msg = load(cut, &read(TRAIN_LABELS)).unwrap_err().to_string();
    let len = cut.len();
    assert_eq!(
        msg,
        format!("images.idx: at byte {len} of {len}: gzip stream is corrupt or truncated: incomplete deflate stream")
    );
    // Cut inside the gzip header.
    let msg = load(&images[..5], &read(TRAIN_LABELS))
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("images.idx: at byte 5 of 5: gzip stream is corrupt or truncated"),
        "{msg}"
    );
}

#[test]
fn corrupt_gzip_is_refused_naming_where_the_decoder_stopped() {
    let labels = read(TRAIN_LABELS);
    let images = read(TRAIN_IMAGES);
    // The first deflate block's type set to 11, which deflate reserves: the decoder stops
    // right after the 10-byte gzip header.
    let mut damaged = images.clone();
    damaged[10] |= 0b110;
    let err = load(&damaged, &labels).unwrap_err();
    let DataError::Gzip { offset, len, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(*len, images.len());
    assert!((10..=16).contains(offset), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "images.idx: at byte {offset} of {len}: gzip stream is corrupt or truncated: {}",
            "corrupt deflate stream"
        )
    );
    // Damage in the middle of the data: it still inflates, and the checksum at the end (the
    // gzip trailer) is what refuses it.
    let mut damaged = images.clone();
    let at = images.len() / 3;
    for b in &mut damaged[at..at + 64] {
        *b ^= 0x55;
    }
    let n = images.len();
    assert_eq!(
        load(&damaged, &labels).unwrap_err().to_string(),
        format!("images.idx: at byte {n} of {n}: gzip stream is corrupt or truncated: corrupt gzip stream does not have a matching checksum")
    );
    // A damaged checksum in the trailer of good data.
    let mut bad_crc = labels.clone();
    let n = bad_crc.len();
    bad_crc[n - 8] ^= 0xff;
    let msg = load(&images, &bad_crc).unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!(
            "labels.idx: at byte {n} of {n}: gzip stream is corrupt or truncated"
        )),
        "{msg}"
    );
}

#[test]
fn valid_gzip_of_garbage_names_the_unpacked_offset() {
    let labels = gz_subset().labels_idx();
    let garbage: Vec<u8> = (0..5000u32)
        .map(|i| (i * 7919 % 251) as u8 | 0x80)
        .collect();
    let msg = load(&gzip(&garbage), &labels).unwrap_err().to_string();
    assert_eq!(
        msg,
        "images.idx: at byte 0 of the unpacked data: not an IDX file: magic starts 80 8a, expected 00 00"
    );
    // Gzipped text (a gzipped error page).
    let msg = load(&gzip(b"Not Found\n"), &labels)
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "images.idx: at byte 0 of the unpacked data: it is text, not an IDX file: it starts with \"Not Found\""
    );
}

#[test]
fn an_html_page_instead_of_a_data_file_is_named() {
    // What a static host or a single-page app's fallback serves with status 200.
    let page = b"<!DOCTYPE html>\n<html><head><title>Page not found</title></head></html>";
    let msg = load(page, &gz_subset().labels_idx())
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "images.idx: at byte 0: it is text, not an IDX file: it starts with \"<!DOCTYPE html>\" (an HTML page: the wrong folder, or a server's error page?)"
    );
    // An empty body (a 200 with nothing in it).
    let msg = load(b"", &gz_subset().labels_idx())
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "images.idx: at byte 0: file is 0 bytes long, too short for an IDX header"
    );
}

#[test]
fn a_gzip_bomb_is_refused_before_it_fills_the_memory() {
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..(convlab_core::data::MAX_UNPACKED >> 20) + 8 {
        encoder.write_all(&zeros).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 2 << 20, "{} bytes", bomb.len());
    let msg = maybe_gunzip("images.idx", &bomb).unwrap_err().to_string();
    assert!(
        msg.starts_with("images.idx: at byte ")
            && msg.ends_with(
                "gzip data unpacks to more than 256 MB, more than any IDX file convlab reads"
            ),
        "{msg}"
    );
}

/// A raw (not gzipped) file is held to the same limit as what a gzipped one unpacks to, and a
/// header that claims more images than the lab reads is refused before anything is copied.
#[test]
fn raw_files_and_image_counts_have_limits_too() {
    let raw = vec![0u8; convlab_core::data::MAX_UNPACKED + 1];
    let msg = maybe_gunzip("images.idx", &raw).unwrap_err().to_string();
    assert_eq!(
        msg,
        format!(
            "images.idx: {} bytes, more than the 256 MB of any IDX file convlab reads",
            raw.len()
        )
    );
    let subset = gz_subset();
    let mut images = subset.images_idx();
    images[4..8].copy_from_slice(&(MAX_IMAGES as u32 + 1).to_be_bytes());
    let msg = load(&images, &subset.labels_idx()).unwrap_err().to_string();
    assert_eq!(
        msg,
        "images.idx: at byte 4: the header claims 250001 images; at most 250000 are read from one file"
    );
}

#[test]
fn truncated_data_names_expected_length() {
    let subset = gz_subset();
    let mut images = subset.images_idx();
    images.truncate(images.len() - 100);
    let msg = load(&images, &subset.labels_idx()).unwrap_err().to_string();
    assert_eq!(
        msg,
        "images.idx: at byte 7756: dimensions [10, 28, 28] need 7840 data bytes after the 16-byte header, found 7740"
    );
    let msg = load(&images[..10], &subset.labels_idx())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("header ends early"), "{msg}");
}

#[test]
fn count_mismatch_is_refused() {
    let subset = gz_subset();
    let fewer = subset.take(7);
    let msg = load(&gzip(&subset.images_idx()), &fewer.labels_idx())
        .unwrap_err()
        .to_string();
    assert_eq!(msg, "images.idx has 10 images but labels.idx has 7 labels");
}

#[test]
fn labels_outside_the_ten_classes_are_refused() {
    let subset = gz_subset();
    let mut labels = subset.labels_idx();
    labels[8 + 4] = 12;
    let msg = load(&subset.images_idx(), &labels).unwrap_err().to_string();
    assert_eq!(msg, "labels.idx: at byte 12: label 12 is not a class 0-9");
}

#[test]
fn missing_file_names_the_path() {
    let err = Dataset::load(&common::fixture_dir(), "nope.gz", TEST_LABELS).unwrap_err();
    assert!(err.to_string().contains("nope.gz: cannot read"), "{err}");
}

#[test]
fn validation_split_takes_the_last_examples() {
    let data = common::fixture_train();
    let (train, val) = data.clone().split_validation(0.2);
    assert_eq!((train.len(), val.len()), (2400, 600));
    assert_eq!(val.labels[..], data.labels[2400..]);
    assert_eq!(train.labels[..], data.labels[..2400]);
}

fn gz_subset() -> Dataset {
    common::fixture_train().take(10)
}
