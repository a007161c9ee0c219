//! Bad `.convlab` files, as a student might pick them (or someone might forge them): each is
//! refused with the byte offset or the layer named, before anything large is allocated.

use convlab_core::model_file::{self, MAGIC};
use convlab_core::{Backend, ModelHeader, ModelSpec, Sequential};

/// A real file: the lab's one-conv CNN, untrained.
fn good_file() -> Vec<u8> {
    let spec = ModelSpec::preset("cnn-1conv").unwrap();
    let device = Backend::cpu().device;
    device.seed(3);
    let model = Sequential::new(&spec, &device).unwrap();
    convlab_core::block_on(model_file::save(&model, &ModelHeader::new(spec, None))).unwrap()
}

fn refused(file: &[u8]) -> String {
    match model_file::load(file, &Backend::cpu().device) {
        Ok(_) => panic!("a bad file of {} bytes loaded", file.len()),
        Err(e) => e.to_string(),
    }
}

fn header_len(file: &[u8]) -> usize {
    u32::from_le_bytes(file[12..16].try_into().unwrap()) as usize
}

/// `file` with its header replaced by `json` (the length field updated to match).
fn with_header(file: &[u8], json: &[u8]) -> Vec<u8> {
    let weights = &file[16 + header_len(file)..];
    let mut forged = file[..12].to_vec();
    forged.extend_from_slice(&(json.len() as u32).to_le_bytes());
    forged.extend_from_slice(json);
    forged.extend_from_slice(weights);
    forged
}

#[test]
fn a_file_that_is_not_a_model_names_its_first_bytes() {
    assert_eq!(
        refused(b"PK\x03\x04 a zip archive, not a model"),
        "not a convlab model file: bytes 0-7 are \"PK\\x03\\x04 a z\", expected \"CONVLABM\""
    );
    assert_eq!(
        refused(b"<!DOCTYPE html><html>"),
        "not a convlab model file: bytes 0-7 are \"<!DOCTYP\", expected \"CONVLABM\""
    );
}

#[test]
fn a_truncated_file_is_refused_wherever_it_was_cut() {
    let file = good_file();
    let header_end = 16 + header_len(&file);
    // In the preamble, in the header, in the weights.
    assert_eq!(
        refused(&file[..12]),
        "not a convlab model file: it is 12 bytes long, shorter than the 16-byte preamble"
    );
    let cut = &file[..16 + header_len(&file) / 2];
    assert_eq!(
        refused(cut),
        format!(
            "damaged model file: the header length at bytes 12-15 is {}, but {} bytes follow",
            header_len(&file),
            cut.len() - 16
        )
    );
    for keep in [header_end, header_end + 10, file.len() - 1] {
        let message = refused(&file[..keep]);
        assert!(
            message.starts_with(&format!(
                "damaged model file: the weights at byte {header_end} cannot be read"
            )),
            "cut at {keep}: {message}"
        );
    }
}

/// A file larger than the largest model's is refused by its size, before it is read: the page
/// asks with the picked file's size, and `load` checks the bytes it is given.
#[test]
fn a_file_larger_than_any_model_is_refused_by_its_size() {
    let largest = model_file::MAX_FILE_BYTES as u64;
    assert!(largest >= 200_000_000, "room for MAX_PARAMS weights");
    assert!(model_file::check_size(largest).is_ok());
    assert_eq!(
        model_file::check_size(2 << 30).unwrap_err().to_string(),
        format!(
            "2147483648 bytes is more than a model file can be: the largest model convlab trains is saved in {} MB",
            largest >> 20
        )
    );
}

#[test]
fn a_huge_header_is_refused_before_it_is_read() {
    let file = good_file();
    // A length far past the end of the file.
    let mut huge = file.clone();
    huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        refused(&huge),
        format!(
            "damaged model file: the header length at bytes 12-15 is 4294967295, but {} bytes follow",
            file.len() - 16
        )
    );
    // A header that is really there, but larger than any model header (2 MB of spaces).
    let mut padded = b"{\"spec\":".to_vec();
    padded.resize(2 << 20, b' ');
    let message = refused(&with_header(&file, &padded));
    assert_eq!(
        message,
        "not a convlab model file: the header length at bytes 12-15 is 2097152, over the 1048576-byte limit of a model header"
    );
}

#[test]
fn a_forged_header_is_refused_naming_what_is_wrong() {
    let file = good_file();
    let message = refused(&with_header(&file, b"{\"spec\": 42}"));
    assert!(
        message.starts_with(
            "damaged model file: the header at byte 16 is not valid: invalid type: integer `42`"
        ),
        "{message}"
    );
    // Valid JSON, a stack that cannot be built: the layer is named, no weights are read.
    let forged = br#"{"spec":{"layers":[{"type":"Conv2D","filters":32,"kernel":29,"activation":"relu"},{"type":"Flatten"},{"type":"Dense","units":10,"activation":"softmax"}]}}"#;
    let message = refused(&with_header(&file, forged));
    assert!(
        message.starts_with("the model in the file cannot be built: layer 0 (Conv2D)"),
        "{message}"
    );
    // A stack far too large to allocate: refused by the model's limits, not by running out
    // of memory.
    let forged = br#"{"spec":{"layers":[{"type":"Flatten"},{"type":"Dense","units":100000000,"activation":"relu"},{"type":"Dense","units":10,"activation":"softmax"}]}}"#;
    let message = refused(&with_header(&file, forged));
    assert!(
        message.starts_with("the model in the file cannot be built: layer 1 (Dense)"),
        "{message}"
    );
    // Another architecture's weights under a forged header: the layer is named.
    let other = ModelHeader::new(ModelSpec::preset("cnn-16").unwrap(), None);
    let json = serde_json::to_vec(&other).unwrap();
    let message = refused(&with_header(&file, &json));
    assert!(
        message.starts_with("the weights in the file do not fit its architecture")
            && message.contains("layer "),
        "{message}"
    );
    assert_eq!(&file[..8], MAGIC);
}
