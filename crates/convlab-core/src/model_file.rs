//! The `.convlab` model file: a trained model's architecture and weights in one file, written
//! by the page (download or IndexedDB) and read back by the page or the CLI.
//!
//! Layout (all integers little-endian):
//!
//! | bytes        | content                                                   |
//! |--------------|-----------------------------------------------------------|
//! | 0..8         | magic `CONVLABM`                                          |
//! | 8..12        | format version (u32), currently 1                         |
//! | 12..16       | header length H (u32)                                     |
//! | 16..16+H     | header: JSON [`ModelHeader`] (the spec and how it was trained) |
//! | 16+H..       | weights: burn's burnpack record of the [`Sequential`] module |
//!
//! The spec travels with the weights, so loading rebuilds the same architecture and burn
//! checks every weight's shape against it.

use crate::model::Sequential;
use crate::spec::{ModelSpec, SpecError, MAX_PARAMS};
use crate::train::TrainConfig;
use burn::module::Module;
use burn::store::{ModuleRecord, RecordError};
use burn::tensor::{Bytes, Device};
use serde::{Deserialize, Serialize};

pub const MAGIC: &[u8; 8] = b"CONVLABM";
pub const FORMAT_VERSION: u32 = 1;
/// Where the header starts: after the magic, the version and the header length.
const HEADER_OFFSET: usize = 16;
/// A header is a few kilobytes; more than this is not a convlab file, whatever it claims.
const MAX_HEADER: usize = 1 << 20;
/// The largest `.convlab` file: the preamble, the largest header and the weights of the
/// largest model the limits allow ([`MAX_PARAMS`] f32s), with a megabyte for the weight
/// record's own names and shapes. A bigger file is refused before it is read or copied.
pub const MAX_FILE_BYTES: usize = HEADER_OFFSET + MAX_HEADER + MAX_PARAMS * 4 + (1 << 20);
/// The file name extension the page and the CLI use.
pub const EXTENSION: &str = "convlab";

/// What the file says about the model besides its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelHeader {
    pub spec: ModelSpec,
    /// The convlab version that wrote the file.
    #[serde(default)]
    pub convlab_version: String,
    /// How it was trained, when it was (absent for an untrained model).
    #[serde(default)]
    pub trained: Option<TrainingInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    pub config: TrainConfig,
    pub epochs_run: usize,
    pub train_images: usize,
    /// Test accuracy measured right after training, to compare with a re-evaluation.
    pub test_accuracy: Option<f32>,
}

impl ModelHeader {
    pub fn new(spec: ModelSpec, trained: Option<TrainingInfo>) -> ModelHeader {
        ModelHeader {
            spec,
            convlab_version: env!("CARGO_PKG_VERSION").to_string(),
            trained,
        }
    }
}

/// Why a file is not a model convlab can load; names the byte offset or the layer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelFileError {
    #[error("not a convlab model file: it is {len} bytes long, shorter than the {HEADER_OFFSET}-byte preamble")]
    TooShort { len: usize },
    #[error("{len} bytes is more than a model file can be: the largest model convlab trains is saved in {} MB", MAX_FILE_BYTES >> 20)]
    TooLarge { len: u64 },
    #[error("not a convlab model file: bytes 0-7 are \"{found}\", expected \"CONVLABM\"")]
    NotAModel { found: String },
    #[error("model file format version {version} (bytes 8-11) is not one this convlab reads (it reads {FORMAT_VERSION})")]
    Version { version: u32 },
    #[error("damaged model file: the header length at bytes 12-15 is {claimed}, but {available} bytes follow")]
    HeaderLength { claimed: usize, available: usize },
    #[error("not a convlab model file: the header length at bytes 12-15 is {claimed}, over the {MAX_HEADER}-byte limit of a model header")]
    HeaderTooLong { claimed: usize },
    #[error("damaged model file: the header at byte {HEADER_OFFSET} is not valid: {problem}")]
    Header { problem: String },
    #[error("the model in the file cannot be built: {0}")]
    Spec(#[from] SpecError),
    #[error("damaged model file: the weights at byte {offset} cannot be read: {problem}")]
    Weights { offset: usize, problem: String },
    #[error("the weights in the file do not fit its architecture: {problem}")]
    Mismatch { problem: String },
    #[error("writing the model file's header failed: {problem}")]
    WriteHeader { problem: String },
    #[error("writing the model's weights failed: {problem}")]
    WriteWeights { problem: String },
    #[error("reading the model's weights back from the device failed: {problem}")]
    ReadBack { problem: String },
}

/// Refuses a file of `len` bytes before it is read when it is larger than any model file.
pub fn check_size(len: u64) -> Result<(), ModelFileError> {
    if len > MAX_FILE_BYTES as u64 {
        return Err(ModelFileError::TooLarge { len });
    }
    Ok(())
}

/// Writes a model and its header as one `.convlab` file.
pub async fn save(model: &Sequential, header: &ModelHeader) -> Result<Vec<u8>, ModelFileError> {
    let json = serde_json::to_vec(header).map_err(|e| ModelFileError::WriteHeader {
        problem: e.to_string(),
    })?;
    let weights = on_cpu(model)
        .await?
        .into_record()
        .into_bytes()
        .map_err(|e| ModelFileError::WriteWeights {
            problem: e.to_string(),
        })?;
    let mut file = Vec::with_capacity(HEADER_OFFSET + json.len() + weights.len());
    file.extend_from_slice(MAGIC);
    file.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    file.extend_from_slice(&(json.len() as u32).to_le_bytes());
    file.extend_from_slice(&json);
    file.extend_from_slice(&weights);
    Ok(file)
}

/// The model with its weights copied to burn's CPU backend. burn's record reads every weight
/// synchronously, which WebGPU in a browser cannot do; this reads them all in one
/// asynchronous read-back instead, in the order the module visits them.
async fn on_cpu(model: &Sequential) -> Result<Sequential, ModelFileError> {
    let problem = |e: &dyn std::fmt::Display| ModelFileError::ReadBack {
        problem: e.to_string(),
    };
    let values = crate::weights::read_weights(model)
        .await
        .map_err(|e| problem(&e))?;
    let device = Device::flex();
    let fresh = Sequential::new(model.spec(), &device)?;
    crate::weights::with_weights(fresh, &values, &device).map_err(|e| problem(&e))
}

/// Reads a `.convlab` file and rebuilds its model on `device` (an autodiff device to train
/// it further, a plain one to evaluate).
pub fn load(file: &[u8], device: &Device) -> Result<(Sequential, ModelHeader), ModelFileError> {
    check_size(file.len() as u64)?;
    let (header, weights_at) = split(file)?;
    // Shared: the record and the check below read the same bytes without a copy.
    let weights = Bytes::from_bytes_vec(file[weights_at..].to_vec()).shared();
    let record =
        ModuleRecord::from_bytes(weights.clone()).map_err(|e| ModelFileError::Weights {
            offset: weights_at,
            problem: record_problem(e),
        })?;
    check_dtypes(weights, weights_at, &header.spec)?;
    let fresh = Sequential::new(&header.spec, device)?;
    let model = fresh
        .try_load_record(record)
        .map_err(|e| ModelFileError::Mismatch {
            problem: name_layers(&record_problem(e), &header.spec),
        })?;
    Ok((model, header))
}

/// convlab writes f32 weights. burn panics when it loads a record's tensor of another kind
/// (integers, booleans, quantized values) into a float parameter, so those are refused first.
fn check_dtypes(weights: Bytes, offset: usize, spec: &ModelSpec) -> Result<(), ModelFileError> {
    let problem = |problem: String| ModelFileError::Weights { offset, problem };
    let tensors = burn_pack::Reader::from_bytes(weights)
        .and_then(burn_pack::Reader::into_tensors)
        .map_err(|e| problem(e.to_string()))?;
    match tensors.iter().find(|t| t.dtype != burn_pack::DType::F32) {
        Some(tensor) => Err(problem(name_layers(
            &format!("{} holds {:?} values, not f32", tensor.name, tensor.dtype),
            spec,
        ))),
        None => Ok(()),
    }
}

/// Checks the preamble and parses the header; returns it and where the weights start.
fn split(file: &[u8]) -> Result<(ModelHeader, usize), ModelFileError> {
    if file.len() < HEADER_OFFSET {
        // A short file that does not even start like one is "not a model", not "short".
        if !MAGIC.starts_with(&file[..file.len().min(8)]) || file.is_empty() {
            return Err(ModelFileError::NotAModel {
                found: printable(&file[..file.len().min(8)]),
            });
        }
        return Err(ModelFileError::TooShort { len: file.len() });
    }
    if &file[..8] != MAGIC {
        return Err(ModelFileError::NotAModel {
            found: printable(&file[..8]),
        });
    }
    let version = u32::from_le_bytes(file[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(ModelFileError::Version { version });
    }
    let claimed = u32::from_le_bytes(file[12..16].try_into().expect("4 bytes")) as usize;
    let available = file.len() - HEADER_OFFSET;
    if claimed > available {
        return Err(ModelFileError::HeaderLength { claimed, available });
    }
    if claimed > MAX_HEADER {
        return Err(ModelFileError::HeaderTooLong { claimed });
    }
    let header: ModelHeader = serde_json::from_slice(&file[HEADER_OFFSET..HEADER_OFFSET + claimed])
        .map_err(|e| ModelFileError::Header {
            problem: e.to_string(),
        })?;
    header.spec.infer()?;
    // A forged header must not make evaluation allocate more than a page can hold.
    header.spec.check_memory(1)?;
    Ok((header, HEADER_OFFSET + claimed))
}

fn record_problem(e: RecordError) -> String {
    match e {
        RecordError::Io(m) | RecordError::Validation(m) => m,
    }
}

/// burn names parameters by module path (`convs.1.weight`); the student knows layers.
fn name_layers(message: &str, spec: &ModelSpec) -> String {
    let mut message = message.to_string();
    let (mut convs, mut denses) = (0, 0);
    for (index, layer) in spec.layers.iter().enumerate() {
        let path = match layer {
            crate::LayerSpec::Conv2D { .. } => {
                convs += 1;
                format!("convs.{}.", convs - 1)
            }
            crate::LayerSpec::Dense { .. } => {
                denses += 1;
                format!("denses.{}.", denses - 1)
            }
            _ => continue,
        };
        message = message.replace(&path, &format!("layer {index} ({}) ", layer.kind()));
    }
    message
}

/// The first bytes of a file as text, for "expected CONVLABM, found ..." messages.
fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Tensor;

    fn cnn(name: &str, seed: u64) -> (Sequential, ModelHeader) {
        let spec = ModelSpec::preset(name).unwrap();
        let device = Device::flex();
        device.seed(seed);
        let model = Sequential::new(&spec, &device).unwrap();
        (model, ModelHeader::new(spec, None))
    }

    /// Found by fuzzing (crates/convlab-fuzz): a weight stored as integers made burn panic
    /// ("Expected float dtype, got U32") instead of refusing the file.
    #[test]
    fn weights_that_are_not_floats_are_refused_naming_the_layer() {
        let (model, header) = cnn("cnn-16", 3);
        let mut file = crate::block_on(save(&model, &header)).unwrap();
        // The first tensor's dtype in the burnpack metadata (CBOR text "F32") becomes "U32":
        // same element size, so only the kind is wrong.
        let at = file
            .windows(4)
            .position(|w| w == b"\x63F32")
            .expect("an f32 dtype");
        file[at + 1] = b'U';
        let message = load(&file, &Device::flex()).err().unwrap().to_string();
        assert!(
            message.starts_with("damaged model file: the weights at byte")
                && message.contains("layer 0 (Conv2D) bias holds U32 values, not f32"),
            "{message}"
        );
    }

    #[test]
    fn a_saved_model_loads_back_with_the_same_outputs() {
        let (model, header) = cnn("cnn-16", 7);
        let file = crate::block_on(save(&model, &header)).unwrap();
        assert_eq!(&file[..8], MAGIC);
        let device = Device::flex();
        let (loaded, read) = load(&file, &device).unwrap();
        assert_eq!(read, header);
        let images = Tensor::<4>::ones([2, 1, 28, 28], &device) * 0.5;
        let before: Vec<f32> = model
            .forward(images.clone())
            .into_data()
            .try_to_vec()
            .unwrap();
        let after: Vec<f32> = loaded.forward(images).into_data().try_to_vec().unwrap();
        assert_eq!(before, after);
    }

    #[test]
    fn other_files_are_refused_by_what_is_wrong() {
        let device = Device::flex();
        let err = |bytes: &[u8]| load(bytes, &device).err().unwrap().to_string();
        assert_eq!(
            err(b"\x89PNG\r\n\x1a\n0000000000000"),
            "not a convlab model file: bytes 0-7 are \"\\x89PNG\\x0d\\x0a\\x1a\\x0a\", expected \"CONVLABM\""
        );
        assert!(err(b"").starts_with("not a convlab model file"));
        assert!(err(b"CONVLAB").contains("shorter than the 16-byte preamble"));

        let (model, header) = cnn("cnn-16", 1);
        let good = crate::block_on(save(&model, &header)).unwrap();
        let mut newer = good.clone();
        newer[8] = 9;
        assert!(err(&newer).contains("format version 9 (bytes 8-11)"));
        let mut long = good.clone();
        long[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(err(&long).contains("header length at bytes 12-15 is 4294967295"));
        let mut bad_json = good.clone();
        bad_json[16] = b'[';
        assert!(err(&bad_json).contains("header at byte 16 is not valid"));
        let truncated = &good[..good.len() - 100];
        assert!(
            err(truncated).contains("weights at byte"),
            "{}",
            err(truncated)
        );
    }

    #[test]
    fn weights_of_another_architecture_are_refused_naming_the_layer() {
        let (model, _) = cnn("cnn-16", 1);
        // The header claims 64 filters; the weights are those of 16.
        let header = ModelHeader::new(ModelSpec::preset("cnn-64").unwrap(), None);
        let file = crate::block_on(save(&model, &header)).unwrap();
        let message = load(&file, &Device::flex()).err().unwrap().to_string();
        assert!(
            message.starts_with("the weights in the file do not fit its architecture")
                && message.contains("layer 0 (Conv2D)"),
            "{message}"
        );
        // A header whose spec cannot be built is refused before the weights are read.
        let mut header = ModelHeader::new(ModelSpec::preset("cnn").unwrap(), None);
        header.spec.layers.pop();
        let file = crate::block_on(save(&model, &header)).unwrap();
        assert!(load(&file, &Device::flex())
            .err()
            .unwrap()
            .to_string()
            .starts_with("the model in the file cannot be built"));
    }
}
