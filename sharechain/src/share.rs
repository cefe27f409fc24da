//! The share (decision 2): an 80-byte bitcoin header, its coinbase, the
//! coinbase's merkle branch, and the sharechain data the coinbase commits
//! to. This file holds the types and their canonical encoding; decoding is
//! in `decode.rs`, the rules in `validation.rs`.

use bitcoin::block::Header;
use bitcoin::consensus::Encodable;
use bitcoin::hashes::Hash;
use bitcoin::{CompactTarget, Transaction, TxMerkleNode};

use crate::coinbase::serialize_no_witness;
use crate::params::SharechainId;
use crate::tagged_hash::{tagged_hash, SHARE_DATA_TAG};
use crate::types::{ClaimKey, ShareCommitment, ShareId};

/// The sharechain data a share's coinbase commits to. Its tagged hash is the
/// [`ShareCommitment`] in the coinbase's OP_RETURN output, so the bitcoin
/// proof of work covers every field.
///
/// A share's time is its header's `time`: the miner sets it (ntime rolling
/// included) and the proof of work covers it, so a second timestamp here
/// could only disagree with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareData {
    /// Share format version, [`crate::params::SHARE_VERSION`].
    pub version: u32,
    /// The chain this share belongs to (rules + federation).
    pub sharechain_id: SharechainId,
    /// The previous share on this share's chain; `None` only for a chain's first share.
    pub prev_share: Option<ShareId>,
    /// Recent orphan shares this share references, so their miners are paid.
    pub uncles: Vec<ShareId>,
    /// The share target the proof of work is checked against.
    pub share_bits: CompactTarget,
    /// The key whose owner is paid for this share.
    pub claim_key: ClaimKey,
}

/// A whole share as it travels between nodes and sits in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    /// The bitcoin block header; its hash is the share id.
    pub header: Header,
    /// The coinbase transaction. Only its non-witness serialization is sent
    /// (the txid is what the merkle tree uses); a decoded share has no witness.
    pub coinbase: Transaction,
    /// Stratum-order merkle branch from the coinbase txid to `header.merkle_root`.
    pub merkle_branch: Vec<TxMerkleNode>,
    /// The committed sharechain data.
    pub data: ShareData,
}

/// Encoded size of the fixed part of [`ShareData`] (without uncles):
/// version 4 + id 32 + prev 32 + uncle count 1 + bits 4 + claim key 33.
pub const SHARE_DATA_FIXED_SIZE: usize = 4 + 32 + 32 + 1 + 4 + 33;

impl ShareData {
    /// Canonical encoding (docs/protocol.md, "Share data").
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SHARE_DATA_FIXED_SIZE + 32 * self.uncles.len());
        self.encode_into(&mut out);
        out
    }

    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.sharechain_id.to_byte_array());
        let prev = self
            .prev_share
            .map(|p| p.to_byte_array())
            .unwrap_or([0; 32]);
        out.extend_from_slice(&prev);
        write_compact_size(out, self.uncles.len() as u64);
        for uncle in &self.uncles {
            out.extend_from_slice(&uncle.to_byte_array());
        }
        out.extend_from_slice(&self.share_bits.to_consensus().to_le_bytes());
        out.extend_from_slice(&self.claim_key.public_key().serialize());
    }

    /// `tagged_hash("sharemint/share-data", encode())`: what the coinbase commits to.
    pub fn commitment(&self) -> ShareCommitment {
        ShareCommitment::from_byte_array(tagged_hash(SHARE_DATA_TAG, &self.encode()))
    }
}

impl Share {
    /// The share's id: its header hash.
    pub fn id(&self) -> ShareId {
        ShareId::from_block_hash(self.header.block_hash())
    }

    /// The share's time (its header's `time`, unix seconds).
    pub fn time(&self) -> u32 {
        self.header.time
    }

    /// The previous share, `None` for a chain's first share.
    pub fn prev_share(&self) -> Option<ShareId> {
        self.data.prev_share
    }

    /// Canonical wire encoding (docs/protocol.md, "Share encoding").
    pub fn encode(&self) -> Vec<u8> {
        let coinbase = serialize_no_witness(&self.coinbase);
        let mut out = Vec::with_capacity(
            80 + 3 + coinbase.len() + 1 + 32 * self.merkle_branch.len() + SHARE_DATA_FIXED_SIZE,
        );
        self.header
            .consensus_encode(&mut out)
            .expect("writing to a Vec never fails");
        write_compact_size(&mut out, coinbase.len() as u64);
        out.extend_from_slice(&coinbase);
        write_compact_size(&mut out, self.merkle_branch.len() as u64);
        for node in &self.merkle_branch {
            out.extend_from_slice(node.as_byte_array());
        }
        self.data.encode_into(&mut out);
        out
    }
}

/// Bitcoin's CompactSize: 1 byte below 0xfd, else a marker and 2, 4 or 8 bytes.
pub(crate) fn write_compact_size(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=0xfc => out.push(n as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xfe);
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}
