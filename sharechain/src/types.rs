//! Identifiers every part of the sharechain speaks in: what a share is called,
//! who it pays, and what its coinbase commits to.

use std::fmt;

use bitcoin::hashes::Hash;
use bitcoin::BlockHash;
use secp256k1::PublicKey;

/// A share's identity: the hash of its 80-byte bitcoin header.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShareId(BlockHash);

impl ShareId {
    /// The id of the share whose header hashes to `hash`.
    pub fn from_block_hash(hash: BlockHash) -> Self {
        ShareId(hash)
    }

    /// The header hash, as bitcoind would name the block if it met the bitcoin target.
    pub fn block_hash(&self) -> BlockHash {
        self.0
    }

    /// The 32 bytes in internal (little-endian) order.
    pub fn to_byte_array(&self) -> [u8; 32] {
        self.0.to_byte_array()
    }

    /// The id from 32 bytes in internal (little-endian) order.
    pub fn from_byte_array(bytes: [u8; 32]) -> Self {
        ShareId(BlockHash::from_byte_array(bytes))
    }
}

impl fmt::Display for ShareId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for ShareId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShareId({})", self.0)
    }
}

/// The fresh public key a share is paid to. Derived from the miner's wallet
/// seed, one per job, so that claim keys link to nobody.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ClaimKey(PublicKey);

impl ClaimKey {
    /// Wraps a public key as a claim key.
    pub fn new(key: PublicKey) -> Self {
        ClaimKey(key)
    }

    /// The public key whose owner may claim the share's payout.
    pub fn public_key(&self) -> PublicKey {
        self.0
    }
}

impl fmt::Display for ClaimKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The 32-byte hash of a share's sharechain data, carried in the coinbase's
/// zero-value OP_RETURN output so the bitcoin proof of work covers it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ShareCommitment([u8; 32]);

impl ShareCommitment {
    /// Wraps 32 bytes as a commitment.
    pub fn from_byte_array(bytes: [u8; 32]) -> Self {
        ShareCommitment(bytes)
    }

    /// The committed bytes.
    pub fn to_byte_array(&self) -> [u8; 32] {
        self.0
    }
}
