//! Serde helpers: 32-byte ids as lower-case hex strings in JSON.

use serde::{Deserialize, Deserializer, Serializer};

/// Serialize 32 bytes as 64 hex digits.
pub fn serialize<S: Serializer>(bytes: &[u8; 32], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(bytes))
}

/// Parse 64 hex digits into 32 bytes.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 32], D::Error> {
    let text = String::deserialize(deserializer)?;
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(&text, &mut bytes).map_err(serde::de::Error::custom)?;
    Ok(bytes)
}

/// A [`sharechain::ShareId`] as hex (the header hash in internal byte order).
pub mod share_id {
    use serde::{Deserializer, Serializer};
    use sharechain::ShareId;

    /// Serialize a share id.
    pub fn serialize<S: Serializer>(id: &ShareId, serializer: S) -> Result<S::Ok, S::Error> {
        super::serialize(&id.to_byte_array(), serializer)
    }

    /// Parse a share id.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ShareId, D::Error> {
        super::deserialize(deserializer).map(ShareId::from_byte_array)
    }
}
