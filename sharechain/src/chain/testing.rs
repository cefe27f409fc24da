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
        timestamp: 1_700_000_000 + n,
        claim_key: claim_key(n),
        bitcoin_height: 1,
        bitcoin_prev: BlockHash::all_zeros(),
    }
}
