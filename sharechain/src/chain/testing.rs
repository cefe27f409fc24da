//! Deterministic chain entries for tests, benchmarks and the crash-test
//! tool: share `n` always has the same id and claim key.

use std::sync::OnceLock;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::BlockHash;
use secp256k1::{PublicKey, Secp256k1, SecretKey};

use crate::chain::ChainEntry;
use crate::types::{ClaimKey, ShareId};
use crate::work::Work;

/// How many distinct claim keys the helpers cycle through (deriving a key
/// per share would dominate the time of large benchmarks).
const KEYS: usize = 64;

/// The id of test share `n`.
pub fn id(n: u64) -> ShareId {
    ShareId::from_byte_array(sha256::Hash::hash(&n.to_le_bytes()).to_byte_array())
}

/// The claim key of test share `n`.
pub fn claim_key(n: u64) -> ClaimKey {
    static KEYS_CELL: OnceLock<Vec<ClaimKey>> = OnceLock::new();
    let keys = KEYS_CELL.get_or_init(|| {
        let secp = Secp256k1::new();
        (0..KEYS as u64)
            .map(|k| {
                let seed = sha256::Hash::hash(&[b"claim".as_slice(), &k.to_le_bytes()].concat());
                let secret = SecretKey::from_slice(seed.as_byte_array())
                    .expect("a sha256 output is a valid key with overwhelming probability");
                ClaimKey::new(PublicKey::from_secret_key(&secp, &secret))
            })
            .collect()
    });
    keys[(n % KEYS as u64) as usize]
}

/// Test share `n` on `parent` with `uncles` (all by number) and `work`.
pub fn entry_with(n: u64, parent: Option<u64>, uncles: &[u64], work: u128) -> ChainEntry {
    ChainEntry {
        id: id(n),
        parent: parent.map(id),
        uncles: uncles.iter().copied().map(id).collect(),
        work: Work::from_u128(work),
        share_bits: bitcoin::CompactTarget::from_consensus(0x207f_ffff),
        time: 1_700_000_000 + n as u32,
        claim_key: claim_key(n),
        bitcoin_height: 1,
        bitcoin_prev: BlockHash::all_zeros(),
    }
}

/// Test shares `first..first + count`, the first on share `first - 1`:
/// every tenth share (n % 10 == 5) is an orphan, a sibling of the tip, and
/// the next share lists it as an uncle, like a sharechain that loses one
/// share in ten to latency. Work varies a little per share.
pub fn lossy_chain(first: u64, count: u64) -> Vec<ChainEntry> {
    let mut out = Vec::with_capacity(count as usize);
    let mut tip = (first > 1).then(|| first - 1);
    let mut tip_parent = None;
    let mut pending_uncle = None;
    for n in first..first + count {
        let work = 1_000_000 + u128::from(n % 1000);
        if n % 10 == 5 && tip_parent.is_some() {
            out.push(entry_with(n, tip_parent, &[], work));
            pending_uncle = Some(n);
            continue;
        }
        let uncles: Vec<u64> = pending_uncle.take().into_iter().collect();
        out.push(entry_with(n, tip, &uncles, work));
        tip_parent = tip;
        tip = Some(n);
    }
    out
}
