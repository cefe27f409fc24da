//! An in-memory consensus for tests, benches and the misbehaving-peer
//! program: a [`ShareSink`] over the sharechain crate's own validation
//! (`validate_share` with its testkit's `MemoryChain` and `MemoryBitcoin`),
//! best chain by cumulative work, reorgs recorded; and quick chain builders
//! on easy regtest-like parameters. The daemon's sink uses the real chain
//! store instead; the network cannot tell the two apart.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bitcoin::pow::Work;
use bitcoin::{CompactTarget, ScriptBuf, Target};
use sharechain::testkit::{
    mine, test_block_hash, test_claim_key, MemoryBitcoin, MemoryChain, ShareRecipe,
};
use sharechain::{validate_share, ConsensusParams, PeerAction, Share, ShareId, SharechainConfig};

use super::sink::{locator_heights, ChainTip, Origin, ShareSink, Verdict};

/// Bitcoin height of the block every test share builds on.
pub const TEST_BITCOIN_HEIGHT: u32 = 100;

/// Regtest parameters with the easiest share target from the first share
/// on, so a chain of thousands of shares grinds in well under a second.
pub fn easy_config() -> SharechainConfig {
    let mut params = ConsensusParams::regtest();
    params.initial_share_bits = CompactTarget::from_consensus(0x207f_ffff);
    SharechainConfig::new(params, ScriptBuf::from_bytes(vec![0x51]))
}

/// The in-memory bitcoind every test node shares: one block at [`TEST_BITCOIN_HEIGHT`].
pub fn test_bitcoin() -> MemoryBitcoin {
    let mut bitcoin = MemoryBitcoin::default();
    bitcoin.add(test_block_hash(TEST_BITCOIN_HEIGHT), TEST_BITCOIN_HEIGHT);
    bitcoin
}

/// Unix time now.
pub fn unix_now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

/// `n` shares on top of `parent` (a new chain if `None`, its first share at
/// `start_time`), on schedule so the target stays put; `seed` varies the claim
/// key so two builders make different shares.
pub fn build_chain(
    config: &SharechainConfig,
    parent: Option<(&Share, u32)>,
    n: usize,
    start_time: u32,
    seed: u8,
) -> Vec<Share> {
    let bits = config.params.initial_share_bits;
    let mut shares: Vec<Share> = Vec::with_capacity(n);
    let (mut prev, mut height) = match parent {
        Some((share, height)) => (Some(share.id()), height + 1),
        None => (None, 0),
    };
    let t0 = match parent {
        Some((share, height)) => share.header.time - height,
        None => start_time,
    };
    for _ in 0..n {
        let mut recipe = ShareRecipe::new(
            test_block_hash(TEST_BITCOIN_HEIGHT),
            TEST_BITCOIN_HEIGHT + 1,
            t0 + height,
            bits,
        );
        recipe.prev_share = prev;
        recipe.claim_key = test_claim_key(seed);
        let share = mine(config, &recipe);
        prev = Some(share.id());
        height += 1;
        shares.push(share);
    }
    shares
}

#[derive(Default)]
struct State {
    chain: MemoryChain,
    bytes: HashMap<ShareId, Vec<u8>>,
    meta: HashMap<ShareId, (u32, Work, Option<ShareId>)>,
    main: Vec<ShareId>,
    tip: Option<ChainTip>,
    reorgs: Vec<(ShareId, ShareId)>,
    accepted_at: HashMap<ShareId, Instant>,
}

/// A sink holding everything in memory.
pub struct MemorySink {
    config: SharechainConfig,
    bitcoin: MemoryBitcoin,
    state: Mutex<State>,
}

impl MemorySink {
    /// An empty chain validated against `bitcoin`.
    pub fn new(config: SharechainConfig, bitcoin: MemoryBitcoin) -> Self {
        let chain = MemoryChain::new(config.params.clone());
        MemorySink {
            config,
            bitcoin,
            state: Mutex::new(State {
                chain,
                ..State::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Files shares without the network (a node's own history), in order.
    pub fn preload(&self, shares: &[Share]) {
        for share in shares {
            let verdict = self.accept(share.clone(), true);
            assert_eq!(
                verdict,
                Verdict::Accepted,
                "preloaded share {} must be valid",
                share.id()
            );
        }
    }

    /// Reorgs so far as (old tip, new tip).
    pub fn reorgs(&self) -> Vec<(ShareId, ShareId)> {
        self.lock().reorgs.clone()
    }

    /// When a share was accepted (for latency measurements).
    pub fn accepted_at(&self, id: &ShareId) -> Option<Instant> {
        self.lock().accepted_at.get(id).copied()
    }

    /// Number of stored shares.
    pub fn len(&self) -> usize {
        self.lock().bytes.len()
    }

    /// Whether no share is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn accept(&self, share: Share, history: bool) -> Verdict {
        let id = share.id();
        let mut state = self.lock();
        if state.bytes.contains_key(&id) {
            return Verdict::Duplicate;
        }
        let valid = match validate_share(
            &share,
            &self.config,
            &state.chain,
            &self.bitcoin,
            unix_now(),
        ) {
            Ok(valid) => valid,
            Err(err) => match err.action() {
                PeerAction::FetchShares(ids) => return Verdict::Missing(ids),
                // Old history may sit on a bitcoin parent that is no longer recent.
                PeerAction::Ignore if history => return self.accept_unchecked(&mut state, share),
                _ => return Verdict::Rejected(err),
            },
        };
        debug_assert_eq!(valid.id, id);
        self.accept_unchecked(&mut state, share)
    }

    fn accept_unchecked(&self, state: &mut State, share: Share) -> Verdict {
        let id = share.id();
        let prev = share.data.prev_share;
        let own = Target::from_compact(share.data.share_bits).to_work();
        let (height, work) = match prev.and_then(|p| state.meta.get(&p)) {
            Some(&(h, w, _)) => (h + 1, w + own),
            None => (0, own),
        };
        state.chain.insert(&share);
        state.bytes.insert(id, share.encode());
        state.meta.insert(id, (height, work, prev));
        state.accepted_at.insert(id, Instant::now());
        if state.tip.is_none_or(|t| work > t.work) {
            self.set_tip(state, ChainTip { id, height, work });
        }
        Verdict::Accepted
    }

    fn set_tip(&self, state: &mut State, tip: ChainTip) {
        let old = state.tip.replace(tip);
        let mut path = Vec::new();
        let mut cursor = Some(tip.id);
        while let Some(id) = cursor {
            let (height, _, prev) = state.meta[&id];
            if state.main.get(height as usize) == Some(&id) {
                break;
            }
            path.push(id);
            cursor = prev;
        }
        state.main.truncate(tip.height as usize + 1 - path.len());
        state.main.extend(path.into_iter().rev());
        if let Some(old) = old {
            if state.main.get(old.height as usize) != Some(&old.id) {
                tracing::info!(old = %old.id, new = %tip.id, height = tip.height, "sharechain reorg");
                state.reorgs.push((old.id, tip.id));
            }
        }
    }
}

impl ShareSink for MemorySink {
    fn offer(&self, share: Share, origin: Origin) -> Verdict {
        self.accept(share, matches!(origin, Origin::Sync(_)))
    }

    fn tip(&self) -> Option<ChainTip> {
        self.lock().tip
    }

    fn contains(&self, id: &ShareId) -> bool {
        self.lock().bytes.contains_key(id)
    }

    fn share_bytes(&self, id: &ShareId) -> Option<Vec<u8>> {
        self.lock().bytes.get(id).cloned()
    }

    fn locator(&self) -> Vec<ShareId> {
        let state = self.lock();
        let Some(tip) = state.tip else {
            return Vec::new();
        };
        locator_heights(tip.height)
            .into_iter()
            .map(|h| state.main[h as usize])
            .collect()
    }

    fn ids_after(&self, locator: &[ShareId], max: usize) -> Vec<ShareId> {
        let state = self.lock();
        let start = locator
            .iter()
            .find_map(|id| {
                let (height, _, _) = state.meta.get(id)?;
                (state.main.get(*height as usize) == Some(id)).then_some(*height as usize + 1)
            })
            .unwrap_or(0);
        state.main.iter().skip(start).take(max).copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::PeerId;

    #[test]
    fn memory_sink_follows_most_work_and_reports_the_reorg() {
        let config = easy_config();
        let now = unix_now() - 100;
        let sink = MemorySink::new(config.clone(), test_bitcoin());
        let base = build_chain(&config, None, 3, now, 1);
        sink.preload(&base);
        let a = build_chain(&config, Some((&base[2], 2)), 2, now, 2);
        let b = build_chain(&config, Some((&base[2], 2)), 3, now, 3);
        sink.preload(&a);
        assert_eq!(sink.tip().map(|t| t.id), Some(a[1].id()));
        sink.preload(&b);
        assert_eq!(sink.tip().map(|t| (t.id, t.height)), Some((b[2].id(), 5)));
        assert_eq!(sink.reorgs(), vec![(a[1].id(), b[2].id())]);
        assert_eq!(
            sink.ids_after(&[base[1].id()], 10),
            vec![base[2].id(), b[0].id(), b[1].id(), b[2].id()]
        );
        assert_eq!(
            sink.ids_after(&[a[1].id()], 2),
            vec![base[0].id(), base[1].id()]
        );
        let peer = PeerId::random();
        assert_eq!(
            sink.offer(b[0].clone(), Origin::Gossip(peer)),
            Verdict::Duplicate
        );
        let orphan = build_chain(&config, Some((&b[2], 5)), 2, now, 4);
        assert_eq!(
            sink.offer(orphan[1].clone(), Origin::Gossip(peer)),
            Verdict::Missing(vec![orphan[0].id()])
        );
    }
}
