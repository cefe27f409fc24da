//! Every consensus constant of the sharechain, per network, in one place,
//! and the [`SharechainId`] that hashes them together with the federation's
//! payout script so two different chains never mix.

use std::fmt;

use bitcoin::{CompactTarget, Network, ScriptBuf, Target};

use crate::tagged_hash::{tagged_hash, SHARECHAIN_ID_TAG};

/// Version of the share format and of these rules; committed in every share
/// and hashed into the sharechain id, so a rule change starts a new chain.
pub const SHARE_VERSION: u32 = 1;

/// Largest encoded share accepted off the wire. A real share is about 500
/// bytes (80 header, ~150 coinbase, ≤ 17 × 32 branch, ≤ 3 × 32 uncles, ~110
/// data); 4 KiB leaves room and bounds what a peer can make us buffer.
pub const MAX_SHARE_SIZE: usize = 4096;

/// Largest coinbase accepted. Ours is ~150 bytes (scriptSig ≤ 100, three
/// outputs whose scripts are ≤ 34 + 38 + 38 bytes); a payout script is at most
/// [`MAX_PAYOUT_SCRIPT_LEN`].
pub const MAX_COINBASE_SIZE: usize = 1024;

/// Longest federation payout script: a `wsh` or `tr` output is 34 bytes, a
/// bare script larger than this is not something a federation would use.
pub const MAX_PAYOUT_SCRIPT_LEN: usize = 520;

/// Longest coinbase merkle branch. A 4 MWU block holds at most ~66,000
/// transactions (60-byte minimum), depth 17; 24 is a safe structural cap.
pub const MAX_MERKLE_BRANCH_LEN: usize = 24;

/// Most uncles the decoder reads before rejecting; the per-network rule
/// ([`ConsensusParams::max_uncles`]) is checked by validation.
pub const DECODE_MAX_UNCLES: usize = 16;

/// The default signet's challenge (a 1-of-2 multisig), from Bitcoin Core's chainparams.
const DEFAULT_SIGNET_CHALLENGE: &str = "512103ad5e0edad18cb1f0fc0d28a3d4f1f3e445640337489abb10404f2d1e086be430210359ef5021964fe22d6f8e05b2463c9540ce96883fe3b278760f048f5189f2e6c452ae";

/// The consensus rules one sharechain runs by. Every node and guardian of a
/// chain holds identical values; they are hashed into [`SharechainId`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsensusParams {
    /// The bitcoin network the shares are blocks of.
    pub network: Network,
    /// The signet challenge script (signet only): a custom signet is a different chain.
    pub signet_challenge: Option<ScriptBuf>,
    /// Target seconds between shares on the best chain. Short enough that a
    /// miner gets many shares per block (low variance), long enough that
    /// gossip latency orphans few shares (uncles recover those).
    pub share_interval_secs: u32,
    /// ASERT half-life: if shares come twice as slow as intended for this
    /// long, the target doubles (60 share intervals, as p2poolv2: 600 s for 10 s).
    pub asert_half_life_secs: u32,
    /// Target of the chain's first share and the ASERT anchor.
    pub initial_share_bits: CompactTarget,
    /// Easiest share target allowed (the minimum difficulty): bounds how much
    /// spam a peer can send per hash.
    pub max_share_bits: CompactTarget,
    /// Hardest share target the retarget rule may demand: keeps the
    /// arithmetic away from zero; never reached in practice.
    pub min_share_bits: CompactTarget,
    /// A miner may choose a share target up to `2^max_harder_shift` times
    /// harder than demanded (fewer, heavier shares for a big miner), no more:
    /// a single share must never outweigh more than that many normal shares
    /// in the best-chain choice.
    pub max_harder_shift: u8,
    /// Most uncles one share may reference ("more can be a sign of an attack").
    pub max_uncles: usize,
    /// An uncle's height must be at least `height - max_uncle_depth`: older
    /// orphans are not latency losses but separate chains.
    pub max_uncle_depth: u32,
    /// PPLNS window length in shares of the best chain (the chain part uses it).
    pub pplns_window_shares: u32,
    /// Percent of its work an uncle is paid in PPLNS (the chain part uses it):
    /// less than 100 so there is no gain in withholding shares to make uncles.
    pub uncle_weight_percent: u8,
    /// A share's timestamp may be at most this far ahead of the validating
    /// node's clock: bounds how much a miner can ease the next target.
    pub max_future_secs: u32,
    /// A share's timestamp may be at most this far behind its parent's:
    /// allows clock skew between miners, stops large backwards jumps.
    pub max_secs_before_parent: u32,
    /// A share's bitcoin parent may be at most this many blocks below the
    /// validating node's bitcoin tip: older work cannot become a block.
    pub max_bitcoin_parent_depth: u32,
}

impl ConsensusParams {
    /// The rules for a network; `signet_challenge` applies to signet only
    /// (`None` means the default signet).
    pub fn for_network(network: Network, signet_challenge: Option<ScriptBuf>) -> Self {
        match network {
            Network::Bitcoin => Self::mainnet(),
            // Testnet3 is dead; if used, it runs testnet4's rules under its own magic.
            Network::Testnet4 | Network::Testnet => ConsensusParams {
                network,
                ..Self::testnet4()
            },
            Network::Signet => match signet_challenge {
                Some(challenge) => Self::custom_signet(challenge),
                None => Self::signet(),
            },
            _ => Self::regtest(),
        }
    }

    /// Mainnet: 10 s shares (p2poolv2's interval, with uncles for latency).
    pub fn mainnet() -> Self {
        ConsensusParams {
            network: Network::Bitcoin,
            signet_challenge: None,
            share_interval_secs: 10,
            asert_half_life_secs: 600,
            // Difficulty 65,536 (~2.8e14 hashes): a 100 TH/s miner finds one
            // every ~3 s, so a new chain does not flood the network at start.
            initial_share_bits: CompactTarget::from_consensus(0x1b00_ffff),
            // Difficulty 1, bitcoin's own proof-of-work limit.
            max_share_bits: CompactTarget::from_consensus(0x1d00_ffff),
            min_share_bits: CompactTarget::from_consensus(HARDEST_SHARE_BITS),
            max_harder_shift: 4,
            max_uncles: 3,
            max_uncle_depth: 3,
            // 24 hours of shares at 10 s.
            pplns_window_shares: 8640,
            uncle_weight_percent: 90,
            max_future_secs: 60,
            max_secs_before_parent: 60,
            // The tip or up to two blocks behind: a block found on a recent
            // stale tip still proves hashrate during propagation races.
            max_bitcoin_parent_depth: 2,
        }
    }

    /// Testnet4: mainnet's rules from difficulty 1.
    pub fn testnet4() -> Self {
        ConsensusParams {
            network: Network::Testnet4,
            initial_share_bits: CompactTarget::from_consensus(0x1d00_ffff),
            ..Self::mainnet()
        }
    }

    /// The default signet (blocks need the signet key's signature).
    pub fn signet() -> Self {
        ConsensusParams {
            network: Network::Signet,
            signet_challenge: Some(
                ScriptBuf::from_hex(DEFAULT_SIGNET_CHALLENGE).expect("valid hex constant"),
            ),
            ..Self::custom_signet(ScriptBuf::new())
        }
    }

    /// A custom signet, e.g. `-signetchallenge=51` (difficulty ~0.001, ~4.8
    /// million hashes a block): 1 s shares so a CPU miner at a few MH/s finds
    /// shares several times per block, the realistic test of payouts.
    pub fn custom_signet(challenge: ScriptBuf) -> Self {
        ConsensusParams {
            network: Network::Signet,
            signet_challenge: Some(challenge),
            share_interval_secs: 1,
            asert_half_life_secs: 60,
            // 2^236: about a million hashes, a fifth of a block.
            initial_share_bits: CompactTarget::from_consensus(0x1e10_0000),
            // About 65,536 hashes: instant for any CPU.
            max_share_bits: CompactTarget::from_consensus(0x1f00_ffff),
            min_share_bits: CompactTarget::from_consensus(HARDEST_SHARE_BITS),
            max_harder_shift: 4,
            max_uncles: 3,
            max_uncle_depth: 3,
            pplns_window_shares: 1000,
            uncle_weight_percent: 90,
            // A quarter of the half-life: a future timestamp eases one
            // share's successor by at most 2^(1/4).
            max_future_secs: 15,
            max_secs_before_parent: 60,
            // Test networks find blocks every few seconds: allow more races.
            max_bitcoin_parent_depth: 6,
        }
    }

    /// Regtest: every hash nearly meets the bitcoin target, so every share is
    /// a block; the share minimum is as easy as regtest's own limit so a slow
    /// CPU miner (even a debug build) finds shares at once.
    pub fn regtest() -> Self {
        ConsensusParams {
            network: Network::Regtest,
            signet_challenge: None,
            share_interval_secs: 1,
            // Short, so tests see the target settle within ~30 shares.
            asert_half_life_secs: 10,
            // About 65,536 hashes: well under a second on any CPU.
            initial_share_bits: CompactTarget::from_consensus(0x1f00_ffff),
            // Regtest's proof-of-work limit: about every second hash.
            max_share_bits: CompactTarget::from_consensus(0x207f_ffff),
            min_share_bits: CompactTarget::from_consensus(HARDEST_SHARE_BITS),
            max_harder_shift: 4,
            max_uncles: 3,
            max_uncle_depth: 3,
            pplns_window_shares: 100,
            uncle_weight_percent: 90,
            // Not tighter: blocks generated in bulk (generatetodescriptor
            // 101) push bitcoin's minimum time tens of seconds ahead of the clock.
            max_future_secs: 60,
            max_secs_before_parent: 60,
            max_bitcoin_parent_depth: 6,
        }
    }

    /// The easiest share target allowed.
    pub fn max_share_target(&self) -> Target {
        Target::from_compact(self.max_share_bits)
    }

    /// The hardest share target the retarget rule may demand.
    pub fn min_share_target(&self) -> Target {
        Target::from_compact(self.min_share_bits)
    }

    /// The canonical byte encoding hashed into the sharechain id (layout in docs/protocol.md).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        out.extend_from_slice(&self.network.magic().to_bytes());
        let challenge = self
            .signet_challenge
            .as_ref()
            .map(|s| s.as_bytes())
            .unwrap_or(&[]);
        out.extend_from_slice(&(challenge.len() as u32).to_le_bytes());
        out.extend_from_slice(challenge);
        for v in [
            self.share_interval_secs,
            self.asert_half_life_secs,
            self.initial_share_bits.to_consensus(),
            self.max_share_bits.to_consensus(),
            self.min_share_bits.to_consensus(),
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.push(self.max_harder_shift);
        out.extend_from_slice(&(self.max_uncles as u32).to_le_bytes());
        out.extend_from_slice(&self.max_uncle_depth.to_le_bytes());
        out.extend_from_slice(&self.pplns_window_shares.to_le_bytes());
        out.push(self.uncle_weight_percent);
        for v in [
            self.max_future_secs,
            self.max_secs_before_parent,
            self.max_bitcoin_parent_depth,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }
}

/// Hardest target any network's retarget may reach: 2^32 (bits 0x05010000),
/// 2^224 hashes per share; a floor for the arithmetic, not a practical limit.
pub const HARDEST_SHARE_BITS: u32 = 0x0501_0000;

/// Names one sharechain: its rules, its federation's payout script and the
/// share version. Shares carry it; peers gossip on a topic named by it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SharechainId([u8; 32]);

impl SharechainId {
    /// Wraps 32 bytes as an id.
    pub fn from_byte_array(bytes: [u8; 32]) -> Self {
        SharechainId(bytes)
    }

    /// The id's bytes.
    pub fn to_byte_array(&self) -> [u8; 32] {
        self.0
    }
}

impl fmt::Display for SharechainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for SharechainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharechainId({self})")
    }
}

/// One sharechain: the rules plus the federation script every share pays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharechainConfig {
    /// The consensus rules.
    pub params: ConsensusParams,
    /// The federation's script, the only output with value in every coinbase.
    pub payout_script: ScriptBuf,
}

impl SharechainConfig {
    /// A chain for `params` paying `payout_script`.
    pub fn new(params: ConsensusParams, payout_script: ScriptBuf) -> Self {
        SharechainConfig {
            params,
            payout_script,
        }
    }

    /// `tagged_hash("sharemint/sharechain-id", version ‖ params ‖ len ‖ payout_script)`.
    pub fn id(&self) -> SharechainId {
        let mut msg = SHARE_VERSION.to_le_bytes().to_vec();
        msg.extend_from_slice(&self.params.encode());
        msg.extend_from_slice(&(self.payout_script.len() as u32).to_le_bytes());
        msg.extend_from_slice(self.payout_script.as_bytes());
        SharechainId(tagged_hash(SHARECHAIN_ID_TAG, &msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<ConsensusParams> {
        vec![
            ConsensusParams::mainnet(),
            ConsensusParams::testnet4(),
            ConsensusParams::signet(),
            ConsensusParams::custom_signet(ScriptBuf::from_bytes(vec![0x51])),
            ConsensusParams::regtest(),
        ]
    }

    #[test]
    fn targets_are_ordered_and_valid_on_every_network() {
        for p in all() {
            let initial = Target::from_compact(p.initial_share_bits);
            assert!(p.min_share_target() < initial, "{:?}", p.network);
            assert!(initial <= p.max_share_target(), "{:?}", p.network);
            // Compact values are canonical, so they round-trip exactly.
            for bits in [p.initial_share_bits, p.max_share_bits, p.min_share_bits] {
                assert_eq!(Target::from_compact(bits).to_compact_lossy(), bits);
            }
            assert!(p.asert_half_life_secs >= 10 * p.share_interval_secs);
        }
    }

    #[test]
    fn every_network_and_script_gives_a_different_id() {
        let script = ScriptBuf::from_bytes(vec![0x00, 0x20, 7, 7, 7]);
        let mut ids: Vec<SharechainId> = all()
            .into_iter()
            .map(|p| SharechainConfig::new(p, script.clone()).id())
            .collect();
        ids.push(
            SharechainConfig::new(
                ConsensusParams::regtest(),
                ScriptBuf::from_bytes(vec![0x51]),
            )
            .id(),
        );
        let mut other = ConsensusParams::regtest();
        other.pplns_window_shares += 1;
        ids.push(SharechainConfig::new(other, script.clone()).id());
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len());
        // Deterministic.
        assert_eq!(
            SharechainConfig::new(ConsensusParams::regtest(), script.clone()).id(),
            ids[4]
        );
    }

    #[test]
    fn for_network_picks_the_matching_rules() {
        assert_eq!(
            ConsensusParams::for_network(Network::Bitcoin, None),
            ConsensusParams::mainnet()
        );
        assert_eq!(
            ConsensusParams::for_network(Network::Regtest, None),
            ConsensusParams::regtest()
        );
        let c = ScriptBuf::from_bytes(vec![0x51]);
        assert_eq!(
            ConsensusParams::for_network(Network::Signet, Some(c.clone())).signet_challenge,
            Some(c)
        );
        assert_eq!(
            ConsensusParams::for_network(Network::Signet, None),
            ConsensusParams::signet()
        );
    }
}
