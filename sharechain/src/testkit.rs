//! Making real shares outside a miner, for tests and benches here and in
//! the other crates: assemble a share from its parts, grind its nonce on the
//! CPU, and two in-memory views (a sharechain index and a bitcoind) to
//! validate against. Nothing here changes a consensus rule; use easy
//! [`crate::params::ConsensusParams`] values to make grinding fast.

use std::collections::HashMap;

use bitcoin::block::{Header, Version};
use bitcoin::hashes::Hash;
use bitcoin::{Amount, BlockHash, CompactTarget, ScriptBuf, Txid};

use crate::coinbase::CoinbaseSpec;
use crate::merkle::{coinbase_branch, root_from_coinbase};
use crate::params::{ConsensusParams, SharechainConfig, SHARE_VERSION};
use crate::retarget::{expected_bits, target_from_bits};
use crate::share::{Share, ShareData};
use crate::types::{ClaimKey, ShareId};
use crate::view::{BitcoinBlockInfo, BitcoinView, ChainView, ShareSummary};

/// Everything that decides a share, before the nonce.
#[derive(Clone, Debug)]
pub struct ShareRecipe {
    /// Previous share, `None` for a chain's first share.
    pub prev_share: Option<ShareId>,
    /// Uncles to reference.
    pub uncles: Vec<ShareId>,
    /// Share target.
    pub share_bits: CompactTarget,
    /// Who is paid.
    pub claim_key: ClaimKey,
    /// The bitcoin block built on.
    pub bitcoin_parent: BlockHash,
    /// Height of the block this share would be (parent + 1).
    pub bitcoin_height: u32,
    /// The bitcoin target (`nBits`) of the header.
    pub bitcoin_bits: CompactTarget,
    /// Header time.
    pub time: u32,
    /// Coinbase value.
    pub value: Amount,
    /// Txids of the block's other transactions.
    pub other_txids: Vec<Txid>,
    /// The template's witness commitment, if any.
    pub witness_commitment: Option<ScriptBuf>,
    /// Extranonce bytes in the coinbase.
    pub extranonce: Vec<u8>,
}

impl ShareRecipe {
    /// A recipe with a fixed claim key, no transactions, regtest's bitcoin
    /// target and a 50 BTC coinbase.
    pub fn new(
        bitcoin_parent: BlockHash,
        bitcoin_height: u32,
        time: u32,
        share_bits: CompactTarget,
    ) -> Self {
        ShareRecipe {
            prev_share: None,
            uncles: Vec::new(),
            share_bits,
            claim_key: test_claim_key(1),
            bitcoin_parent,
            bitcoin_height,
            bitcoin_bits: CompactTarget::from_consensus(0x207f_ffff),
            time,
            value: Amount::from_sat(5_000_000_000),
            other_txids: Vec::new(),
            witness_commitment: None,
            extranonce: vec![0; 8],
        }
    }
}

/// The share for `recipe` with header nonce `nonce`, not necessarily meeting its target.
pub fn assemble(config: &SharechainConfig, recipe: &ShareRecipe, nonce: u32) -> Share {
    let data = ShareData {
        version: SHARE_VERSION,
        sharechain_id: config.id(),
        prev_share: recipe.prev_share,
        uncles: recipe.uncles.clone(),
        share_bits: recipe.share_bits,
        claim_key: recipe.claim_key,
    };
    let spec = CoinbaseSpec {
        height: recipe.bitcoin_height,
        value: recipe.value,
        payout_script: config.payout_script.clone(),
        share_commitment: data.commitment(),
        witness_commitment: recipe.witness_commitment.clone(),
        extranonce_len: recipe.extranonce.len(),
    };
    let mut coinbase = spec
        .build(&recipe.extranonce)
        .expect("test recipe is well formed");
    coinbase.input[0].witness = bitcoin::Witness::new();
    let merkle_branch = coinbase_branch(&recipe.other_txids);
    let header = Header {
        version: Version::from_consensus(0x2000_0000),
        prev_blockhash: recipe.bitcoin_parent,
        merkle_root: root_from_coinbase(coinbase.compute_txid(), &merkle_branch),
        time: recipe.time,
        bits: recipe.bitcoin_bits,
        nonce,
    };
    Share {
        header,
        coinbase,
        merkle_branch,
        data,
    }
}

/// Grinds the nonce until the share meets its own share target.
///
/// # Panics
/// If no nonce works (use an easy enough target in tests).
pub fn mine(config: &SharechainConfig, recipe: &ShareRecipe) -> Share {
    let mut share = assemble(config, recipe, 0);
    let target = target_from_bits(recipe.share_bits).expect("test recipe has canonical bits");
    for nonce in 0..=u32::MAX {
        share.header.nonce = nonce;
        if target.is_met_by(share.header.block_hash()) {
            return share;
        }
    }
    panic!("no nonce meets the share target; use an easier target in tests");
}

/// Regtest rules with a first-share target of ~256 hashes, so tests grind in
/// microseconds; every rule is the real one. Pays a fixed P2WSH script.
pub fn quick_regtest_config() -> SharechainConfig {
    let params = ConsensusParams {
        initial_share_bits: CompactTarget::from_consensus(0x2000_ffff),
        ..ConsensusParams::regtest()
    };
    SharechainConfig::new(
        params,
        ScriptBuf::from_bytes([&[0x00, 0x20][..], &[0x42; 32]].concat()),
    )
}

/// A deterministic claim key for tests.
pub fn test_claim_key(seed: u8) -> ClaimKey {
    let secret = secp256k1::SecretKey::from_slice(&[seed.max(1); 32]).expect("valid scalar");
    ClaimKey::new(secp256k1::PublicKey::from_secret_key(
        secp256k1::SECP256K1,
        &secret,
    ))
}

/// A bitcoin block hash for tests, distinct per `n`.
pub fn test_block_hash(n: u32) -> BlockHash {
    BlockHash::hash(&n.to_le_bytes())
}

/// An in-memory sharechain index: enough of one to validate against.
#[derive(Clone, Debug, Default)]
pub struct MemoryChain {
    shares: HashMap<ShareId, (ShareSummary, u32)>,
    params: Option<crate::params::ConsensusParams>,
}

impl MemoryChain {
    /// An empty index for a chain with `params`.
    pub fn new(params: crate::params::ConsensusParams) -> Self {
        MemoryChain {
            shares: HashMap::new(),
            params: Some(params),
        }
    }

    /// Files a (validated) share.
    pub fn insert(&mut self, share: &Share) {
        let (height, anchor) = match share.data.prev_share {
            None => (0, share.header.time),
            Some(prev) => {
                let (parent, anchor) = &self.shares[&prev];
                (parent.height + 1, *anchor)
            }
        };
        let summary = ShareSummary {
            height,
            time: share.header.time,
            prev: share.data.prev_share,
            uncles: share.data.uncles.clone(),
        };
        self.shares.insert(share.id(), (summary, anchor));
    }
}

impl ChainView for MemoryChain {
    fn share(&self, id: &ShareId) -> Option<ShareSummary> {
        self.shares.get(id).map(|(s, _)| s.clone())
    }

    fn expected_bits(&self, parent: &ShareId) -> Option<CompactTarget> {
        let (summary, anchor) = self.shares.get(parent)?;
        let params = self.params.as_ref()?;
        Some(expected_bits(params, *anchor, summary.height, summary.time))
    }
}

/// An in-memory bitcoind: known blocks and a tip height.
#[derive(Clone, Debug, Default)]
pub struct MemoryBitcoin {
    /// Known blocks.
    pub blocks: HashMap<BlockHash, BitcoinBlockInfo>,
    /// Best tip height.
    pub tip_height: u32,
}

impl MemoryBitcoin {
    /// Adds a best-chain block at `height` and moves the tip up to it.
    pub fn add(&mut self, hash: BlockHash, height: u32) {
        self.blocks.insert(
            hash,
            BitcoinBlockInfo {
                height,
                in_best_chain: true,
            },
        );
        self.tip_height = self.tip_height.max(height);
    }
}

impl BitcoinView for MemoryBitcoin {
    fn block(&self, hash: &BlockHash) -> Option<BitcoinBlockInfo> {
        self.blocks.get(hash).copied()
    }

    fn tip_height(&self) -> u32 {
        self.tip_height
    }
}
