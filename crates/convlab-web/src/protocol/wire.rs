//! Bulk data on the wire: activations and kernels as the little-endian bytes of their f32s.

/// Feature maps on the wire: the activations as the little-endian bytes of their f32s, which
/// serde-wasm-bindgen sends as one Uint8Array instead of an array of 100k JS numbers.
pub mod maps_as_bytes {
    use convlab_core::FeatureMaps;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Wire {
        layer: usize,
        name: String,
        images: usize,
        channels: usize,
        height: usize,
        width: usize,
        #[serde(with = "serde_bytes")]
        values: Vec<u8>,
    }

    pub fn serialize<S: Serializer>(maps: &[FeatureMaps], s: S) -> Result<S::Ok, S::Error> {
        let wire: Vec<Wire> = maps
            .iter()
            .map(|m| Wire {
                layer: m.layer,
                name: m.name.clone(),
                images: m.images,
                channels: m.channels,
                height: m.height,
                width: m.width,
                values: m.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            })
            .collect();
        wire.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<FeatureMaps>, D::Error> {
        let wire = Vec::<Wire>::deserialize(d)?;
        wire.into_iter()
            .map(|w| {
                // Checked: dimensions whose product overflows must not pass for a short buffer.
                let expected = [w.images, w.channels, w.height, w.width, 4]
                    .iter()
                    .try_fold(1usize, |n, &d| n.checked_mul(d));
                if expected != Some(w.values.len()) {
                    return Err(serde::de::Error::custom(format!(
                        "feature maps of {} carry {} bytes for {}x{}x{}x{} values",
                        w.name,
                        w.values.len(),
                        w.images,
                        w.channels,
                        w.height,
                        w.width
                    )));
                }
                Ok(FeatureMaps {
                    layer: w.layer,
                    name: w.name,
                    images: w.images,
                    channels: w.channels,
                    height: w.height,
                    width: w.width,
                    values: w
                        .values
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect(),
                })
            })
            .collect()
    }
}

/// Kernels on the wire as feature maps are (one "image" per filter, a channel per input
/// channel, the kernel's side as height and width): the same checked byte encoding.
pub mod kernels_as_bytes {
    use convlab_core::{FeatureMaps, Kernels};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(kernels: &[Kernels], s: S) -> Result<S::Ok, S::Error> {
        let maps: Vec<FeatureMaps> = kernels
            .iter()
            .map(|k| FeatureMaps {
                layer: k.layer,
                name: k.name.clone(),
                images: k.filters,
                channels: k.channels,
                height: k.size,
                width: k.size,
                values: k.values.clone(),
            })
            .collect();
        super::maps_as_bytes::serialize(&maps, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Kernels>, D::Error> {
        let maps = super::maps_as_bytes::deserialize(d)?;
        maps.into_iter()
            .map(|m| {
                if m.height != m.width {
                    return Err(serde::de::Error::custom(format!(
                        "kernels of {} are {}x{}, not square",
                        m.name, m.height, m.width
                    )));
                }
                Ok(Kernels {
                    layer: m.layer,
                    name: m.name,
                    filters: m.images,
                    channels: m.channels,
                    size: m.height,
                    values: m.values,
                })
            })
            .collect()
    }
}
