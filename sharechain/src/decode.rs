//! Decoding a share off the wire: syntax only, assuming malice. Every
//! length is capped before anything is allocated, trailing bytes are
//! rejected, and every failure is a typed [`DecodeError`] (a peer that sends
//! one is sending garbage: ban it). Whether the share follows the rules is
//! `validation.rs`'s business.

use bitcoin::block::Header;
use bitcoin::consensus::{deserialize, Decodable};
use bitcoin::hashes::Hash;
use bitcoin::{CompactTarget, Transaction, TxMerkleNode};
use secp256k1::PublicKey;

use crate::params::{
    SharechainId, DECODE_MAX_UNCLES, MAX_COINBASE_SIZE, MAX_MERKLE_BRANCH_LEN, MAX_SHARE_SIZE,
    SHARE_VERSION,
};
use crate::share::{Share, ShareData};
use crate::types::{ClaimKey, ShareId};
use crate::validation::PeerAction;

/// Why bytes are not a well-formed share.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// More bytes than any share may have.
    #[error("share is {size} bytes, more than the maximum of {MAX_SHARE_SIZE}; ban the sender")]
    TooLarge {
        /// The size received.
        size: usize,
    },
    /// The input ends inside a field.
    #[error("share is truncated inside its {field}; ban the sender")]
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// Bytes are left after the share.
    #[error("{count} trailing bytes after the share; ban the sender")]
    TrailingBytes {
        /// How many bytes were left.
        count: usize,
    },
    /// A CompactSize not in its shortest form.
    #[error("non-canonical length prefix for {field}; ban the sender")]
    NonCanonicalLength {
        /// The field whose length it was.
        field: &'static str,
    },
    /// A count or length above its cap.
    #[error("{field} has {count} entries/bytes, more than the maximum of {max}; ban the sender")]
    TooMany {
        /// The field.
        field: &'static str,
        /// The count received.
        count: u64,
        /// The cap.
        max: usize,
    },
    /// The coinbase bytes are not one legacy-serialized transaction.
    #[error("coinbase does not parse as a transaction: {0}; ban the sender")]
    Coinbase(#[source] bitcoin::consensus::encode::Error),
    /// The coinbase was sent with witness data (shares carry the non-witness serialization).
    #[error(
        "coinbase carries witness data, shares carry the non-witness serialization; ban the sender"
    )]
    CoinbaseWitness,
    /// A share version this software does not know.
    #[error("share version {0} is not supported (this node speaks {SHARE_VERSION}); upgrade or ignore the peer")]
    UnsupportedVersion(u32),
    /// The claim key is not a valid compressed secp256k1 point.
    #[error("claim key is not a valid compressed secp256k1 public key; ban the sender")]
    BadClaimKey,
    /// An uncle id is all zeros (reserved for "no previous share").
    #[error("an uncle id is all zeros; ban the sender")]
    ZeroUncle,
}

impl DecodeError {
    /// What to do with the peer that sent the bytes: a share version we do
    /// not speak is not malice (the peer may be newer), anything else is.
    pub fn action(&self) -> PeerAction {
        match self {
            DecodeError::UnsupportedVersion(_) => PeerAction::Ignore,
            _ => PeerAction::Ban,
        }
    }
}

impl Share {
    /// Decodes a share from exactly `bytes` (see docs/protocol.md, "Share encoding").
    pub fn decode(bytes: &[u8]) -> Result<Share, DecodeError> {
        if bytes.len() > MAX_SHARE_SIZE {
            return Err(DecodeError::TooLarge { size: bytes.len() });
        }
        let mut r = Reader { bytes, pos: 0 };
        let header_bytes = r.take(80, "header")?;
        let header =
            Header::consensus_decode(&mut &header_bytes[..]).expect("any 80 bytes are a header");
        let coinbase_len = r.length("coinbase", MAX_COINBASE_SIZE)?;
        let coinbase_bytes = r.take(coinbase_len, "coinbase")?;
        let coinbase = decode_coinbase(coinbase_bytes)?;
        let branch_len = r.length("merkle branch", MAX_MERKLE_BRANCH_LEN)?;
        let mut merkle_branch = Vec::with_capacity(branch_len);
        for _ in 0..branch_len {
            merkle_branch.push(TxMerkleNode::from_byte_array(r.array32("merkle branch")?));
        }
        let data = read_share_data(&mut r)?;
        r.finish()?;
        Ok(Share {
            header,
            coinbase,
            merkle_branch,
            data,
        })
    }
}

impl ShareData {
    /// Decodes share data from exactly `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<ShareData, DecodeError> {
        let mut r = Reader { bytes, pos: 0 };
        let data = read_share_data(&mut r)?;
        r.finish()?;
        Ok(data)
    }
}

fn decode_coinbase(bytes: &[u8]) -> Result<Transaction, DecodeError> {
    let tx: Transaction = deserialize(bytes).map_err(DecodeError::Coinbase)?;
    if tx.input.iter().any(|i| !i.witness.is_empty()) {
        return Err(DecodeError::CoinbaseWitness);
    }
    Ok(tx)
}

fn read_share_data(r: &mut Reader<'_>) -> Result<ShareData, DecodeError> {
    let version = r.u32("version")?;
    if version != SHARE_VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let sharechain_id = SharechainId::from_byte_array(r.array32("sharechain id")?);
    let prev = r.array32("previous share")?;
    let prev_share = (prev != [0; 32]).then(|| ShareId::from_byte_array(prev));
    let count = r.length("uncles", DECODE_MAX_UNCLES)?;
    let mut uncles = Vec::with_capacity(count);
    for _ in 0..count {
        let id = r.array32("uncles")?;
        if id == [0; 32] {
            return Err(DecodeError::ZeroUncle);
        }
        uncles.push(ShareId::from_byte_array(id));
    }
    let share_bits = CompactTarget::from_consensus(r.u32("share bits")?);
    let key = r.take(33, "claim key")?;
    let claim_key = PublicKey::from_slice(key)
        .ok()
        .filter(|_| key[0] == 0x02 || key[0] == 0x03)
        .map(ClaimKey::new)
        .ok_or(DecodeError::BadClaimKey)?;
    Ok(ShareData {
        version,
        sharechain_id,
        prev_share,
        uncles,
        share_bits,
        claim_key,
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(DecodeError::Truncated { field })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array32(&mut self, field: &'static str) -> Result<[u8; 32], DecodeError> {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.take(32, field)?);
        Ok(out)
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        let mut out = [0u8; 4];
        out.copy_from_slice(self.take(4, field)?);
        Ok(u32::from_le_bytes(out))
    }

    /// A canonical CompactSize, checked against `max` before use.
    fn length(&mut self, field: &'static str, max: usize) -> Result<usize, DecodeError> {
        let first = self.take(1, field)?[0];
        let (value, min) = match first {
            0xfd => (u64::from(u16::from_le_bytes(self.fixed(field)?)), 0xfd),
            0xfe => (u64::from(u32::from_le_bytes(self.fixed(field)?)), 0x1_0000),
            0xff => (u64::from_le_bytes(self.fixed(field)?), 0x1_0000_0000),
            n => (u64::from(n), 0),
        };
        if value < min {
            return Err(DecodeError::NonCanonicalLength { field });
        }
        if value > max as u64 {
            return Err(DecodeError::TooMany {
                field,
                count: value,
                max,
            });
        }
        Ok(value as usize)
    }

    fn fixed<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    fn finish(self) -> Result<(), DecodeError> {
        match self.bytes.len() - self.pos {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes { count }),
        }
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
