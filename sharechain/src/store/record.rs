//! The on-disk form of a [`ChainEntry`]: fixed-width little-endian fields
//! behind a version byte, trailing bytes rejected.
//!
//! ```text
//! version u8 (= 1) | id [32] | has_parent u8 | parent [32] (zeros if none)
//! | uncle_count u8 | uncles [32 * count] | share_bits u32 | work u128
//! | time u32 | claim_key [65] (uncompressed) | bitcoin_height u32
//! | bitcoin_prev [32]
//! ```
//! The claim key is stored uncompressed: parsing a compressed key costs a
//! square root, and loading 100,000 shares at start would spend most of its
//! time there.

use bitcoin::hashes::Hash;
use bitcoin::{BlockHash, CompactTarget};
use secp256k1::PublicKey;

use crate::chain::ChainEntry;
use crate::store::StoreError;
use crate::types::{ClaimKey, ShareId};
use crate::work::Work;

const VERSION: u8 = 1;

/// Serializes an entry for the store.
pub fn encode_entry(entry: &ChainEntry) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(1 + 32 + 33 + 1 + 32 * entry.uncles.len() + 4 + 16 + 4 + 65 + 4 + 32);
    out.push(VERSION);
    out.extend_from_slice(&entry.id.to_byte_array());
    out.push(u8::from(entry.parent.is_some()));
    out.extend_from_slice(&entry.parent.map_or([0; 32], |p| p.to_byte_array()));
    let count = u8::try_from(entry.uncles.len()).expect("uncle count checked by the chain");
    out.push(count);
    for uncle in &entry.uncles {
        out.extend_from_slice(&uncle.to_byte_array());
    }
    out.extend_from_slice(&entry.share_bits.to_consensus().to_le_bytes());
    out.extend_from_slice(&entry.work.to_u128().to_le_bytes());
    out.extend_from_slice(&entry.time.to_le_bytes());
    out.extend_from_slice(&entry.claim_key.public_key().serialize_uncompressed());
    out.extend_from_slice(&entry.bitcoin_height.to_le_bytes());
    out.extend_from_slice(&entry.bitcoin_prev.to_byte_array());
    out
}

/// Parses an entry written by [`encode_entry`].
pub fn decode_entry(bytes: &[u8]) -> Result<ChainEntry, StoreError> {
    let mut r = Reader { bytes };
    let version = r.u8()?;
    if version != VERSION {
        return Err(corrupt(format!(
            "entry version {version}, expected {VERSION}"
        )));
    }
    let id = ShareId::from_byte_array(r.array()?);
    let has_parent = r.u8()?;
    let parent_bytes: [u8; 32] = r.array()?;
    let parent = match has_parent {
        0 => None,
        1 => Some(ShareId::from_byte_array(parent_bytes)),
        other => return Err(corrupt(format!("has_parent byte {other}"))),
    };
    let count = r.u8()?;
    let uncles = (0..count)
        .map(|_| r.array().map(ShareId::from_byte_array))
        .collect::<Result<Vec<_>, _>>()?;
    let share_bits = CompactTarget::from_consensus(u32::from_le_bytes(r.array()?));
    let work = Work::from_u128(u128::from_le_bytes(r.array()?));
    let time = u32::from_le_bytes(r.array()?);
    let key: [u8; 65] = r.array()?;
    let claim_key = PublicKey::from_slice(&key)
        .map(ClaimKey::new)
        .map_err(|e| corrupt(format!("claim key: {e}")))?;
    let bitcoin_height = u32::from_le_bytes(r.array()?);
    let bitcoin_prev = BlockHash::from_byte_array(r.array()?);
    if !r.bytes.is_empty() {
        return Err(corrupt(format!("{} trailing bytes", r.bytes.len())));
    }
    Ok(ChainEntry {
        id,
        parent,
        uncles,
        share_bits,
        work,
        time,
        claim_key,
        bitcoin_height,
        bitcoin_prev,
    })
}

fn corrupt(why: String) -> StoreError {
    StoreError::Corrupt {
        what: "chain entry",
        why,
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn u8(&mut self) -> Result<u8, StoreError> {
        self.array::<1>().map(|[b]| b)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        if self.bytes.len() < N {
            return Err(corrupt(format!(
                "truncated: needed {N} more bytes, {} left",
                self.bytes.len()
            )));
        }
        let (head, rest) = self.bytes.split_at(N);
        self.bytes = rest;
        Ok(head.try_into().expect("split_at(N) gives N bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::testing::entry_with;

    #[test]
    fn entries_round_trip() {
        let mut entry = entry_with(7, Some(3), &[4, 5], 1234);
        entry.time = 1_700_000_000;
        entry.share_bits = bitcoin::CompactTarget::from_consensus(0x1d00_ffff);
        entry.bitcoin_height = 840_000;
        assert_eq!(decode_entry(&encode_entry(&entry)).unwrap(), entry);
        let root = entry_with(1, None, &[], 1);
        assert_eq!(decode_entry(&encode_entry(&root)).unwrap(), root);
    }

    #[test]
    fn damaged_entries_are_errors_not_panics() {
        let bytes = encode_entry(&entry_with(7, Some(3), &[4], 9));
        for len in 0..bytes.len() {
            assert!(
                decode_entry(&bytes[..len]).is_err(),
                "prefix of {len} bytes"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_entry(&longer).is_err());
        let mut bad_version = bytes.clone();
        bad_version[0] = 2;
        assert!(decode_entry(&bad_version).is_err());
    }
}
