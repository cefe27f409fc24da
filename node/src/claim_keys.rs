//! The node's wallet seed and the claim keys derived from it (DESIGN
//! decision 3): one fresh secp256k1 key per mining job, so a share's claim
//! key links to nobody, and whoever holds the seed can claim every payout.
//!
//! - The seed is a BIP 39 mnemonic of 24 words, created at the node's first
//!   start in `<data dir>/wallet-seed` (mode 0600). Writing the words down is
//!   the backup; the node says so once, when it creates them.
//! - Claim key `i` is the BIP 32 key at [`CLAIM_KEY_PATH`]`/i'` from the
//!   seed (empty BIP 39 passphrase). The federation wallet derives the same
//!   keys from the same seed to claim.
//! - The next unused index is kept in `<data dir>/claim-key-index`. Indexes
//!   are reserved in blocks of [`RESERVE_BLOCK`] written durably before any of
//!   them is handed out, so a restart (even after kill -9) never reuses a key;
//!   it may skip at most one block.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bip39::Mnemonic;
use bitcoin::bip32::{ChildNumber, DerivationPath, Xpriv};
use bitcoin::secp256k1::{All, Secp256k1, SecretKey};
use bitcoin::{Network, NetworkKind};
use rand::RngCore;
use sharechain::ClaimKey;

/// File holding the mnemonic, inside the data dir.
pub const SEED_FILE: &str = "wallet-seed";
/// File holding the next claim-key index not yet reserved.
pub const INDEX_FILE: &str = "claim-key-index";
/// Claim keys live under `m/7337'/<coin>'/0'` (coin 0 on mainnet, 1 on test
/// networks, as SLIP 44); key `i` is the hardened child `i'`. 7337 is a
/// purpose no BIP uses, so a wallet scanning the usual paths never mixes them up.
pub const CLAIM_KEY_PURPOSE: u32 = 7337;
/// Human-readable form of the path, for docs and logs.
pub const CLAIM_KEY_PATH: &str = "m/7337'/<coin>'/0'";
/// Indexes reserved per durable write.
pub const RESERVE_BLOCK: u32 = 64;
/// Words in a new mnemonic (256 bits of entropy).
const WORDS: usize = 24;

/// Why the seed or the index could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum ClaimKeyError {
    /// Reading or writing a file failed.
    #[error("wallet file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The seed file does not hold a valid BIP 39 mnemonic.
    #[error("wallet seed file {path} is not a valid BIP 39 mnemonic: {reason}; restore it from your backup")]
    BadSeed {
        /// The file.
        path: PathBuf,
        /// The parser's reason.
        reason: String,
    },
    /// The index file is not a number.
    #[error("claim-key index file {path} is corrupt: {content:?}")]
    BadIndex {
        /// The file.
        path: PathBuf,
        /// What it holds.
        content: String,
    },
    /// Every hardened index has been used (2^31 jobs).
    #[error("claim-key indexes exhausted; start a new wallet seed")]
    Exhausted,
}

/// The wallet seed as a mnemonic, and the claim keys derived from it.
pub struct ClaimKeys {
    account: Xpriv,
    secp: Secp256k1<All>,
    index_path: PathBuf,
    state: Mutex<IndexState>,
}

#[derive(Debug)]
struct IndexState {
    /// The next index to hand out.
    next: u32,
    /// Indexes below this are durably reserved.
    reserved_until: u32,
}

/// One claim key and its index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DerivedClaimKey {
    /// Its index under [`CLAIM_KEY_PATH`].
    pub index: u32,
    /// The key committed in shares.
    pub key: ClaimKey,
}

impl ClaimKeys {
    /// Loads the seed from `data_dir`, creating it (and telling the user to
    /// back it up) on first start, and the next claim-key index.
    pub fn open(data_dir: &Path, network: Network) -> Result<ClaimKeys, ClaimKeyError> {
        fs::create_dir_all(data_dir).map_err(io_error(data_dir))?;
        let seed_path = data_dir.join(SEED_FILE);
        let mnemonic = if seed_path.exists() {
            read_mnemonic(&seed_path)?
        } else {
            let mnemonic = create_mnemonic(&seed_path)?;
            tracing::warn!(
                "created a new wallet seed in {}: it is the only key to your mining rewards. \
                 Back it up now: write down its {WORDS} words (`cat {}`) and keep them offline; \
                 anyone with them can claim your payouts",
                seed_path.display(),
                seed_path.display()
            );
            mnemonic
        };
        Self::from_mnemonic(&mnemonic, network, data_dir.join(INDEX_FILE))
    }

    fn from_mnemonic(
        mnemonic: &Mnemonic,
        network: Network,
        index_path: PathBuf,
    ) -> Result<ClaimKeys, ClaimKeyError> {
        let secp = Secp256k1::new();
        let kind = NetworkKind::from(network);
        let master = Xpriv::new_master(kind, &mnemonic.to_seed("")).expect("a 64-byte seed");
        let account = master
            .derive_priv(&secp, &account_path(network))
            .expect("hardened derivation of a valid key");
        let next = read_index(&index_path)?;
        Ok(ClaimKeys {
            account,
            secp,
            index_path,
            state: Mutex::new(IndexState {
                next,
                reserved_until: next,
            }),
        })
    }

    /// A claim key never handed out before, even across restarts.
    pub fn next_key(&self) -> Result<DerivedClaimKey, ClaimKeyError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.next >= state.reserved_until {
            let until = state
                .next
                .checked_add(RESERVE_BLOCK)
                .filter(|u| *u < (1 << 31))
                .ok_or(ClaimKeyError::Exhausted)?;
            write_durably(&self.index_path, until.to_string().as_bytes())?;
            state.reserved_until = until;
        }
        let index = state.next;
        state.next += 1;
        Ok(DerivedClaimKey {
            index,
            key: ClaimKey::new(self.secret(index).public_key(&self.secp)),
        })
    }

    /// The index the next key will have.
    pub fn next_index(&self) -> u32 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).next
    }

    /// The secret key of claim key `index` (for claiming payouts).
    pub fn secret(&self, index: u32) -> SecretKey {
        let child = ChildNumber::from_hardened_idx(index).expect("index below 2^31");
        self.account
            .derive_priv(&self.secp, &[child])
            .expect("hardened derivation of a valid key")
            .private_key
    }
}

/// `m/7337'/<coin>'/0'`.
fn account_path(network: Network) -> DerivationPath {
    let coin = if network == Network::Bitcoin { 0 } else { 1 };
    [CLAIM_KEY_PURPOSE, coin, 0]
        .into_iter()
        .map(|i| ChildNumber::from_hardened_idx(i).expect("small index"))
        .collect::<Vec<_>>()
        .into()
}

fn create_mnemonic(path: &Path) -> Result<Mnemonic, ClaimKeyError> {
    let mut entropy = [0u8; WORDS / 3 * 4];
    rand::rngs::OsRng.fill_bytes(&mut entropy);
    let mnemonic = Mnemonic::from_entropy(&entropy).expect("32 bytes is a valid entropy length");
    write_durably(path, format!("{mnemonic}\n").as_bytes())?;
    Ok(mnemonic)
}

fn read_mnemonic(path: &Path) -> Result<Mnemonic, ClaimKeyError> {
    let text = fs::read_to_string(path).map_err(io_error(path))?;
    Mnemonic::parse_normalized(text.trim()).map_err(|e| ClaimKeyError::BadSeed {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

fn read_index(path: &Path) -> Result<u32, ClaimKeyError> {
    match fs::read_to_string(path) {
        Ok(text) => text.trim().parse().map_err(|_| ClaimKeyError::BadIndex {
            path: path.to_owned(),
            content: text,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(ClaimKeyError::Io {
            path: path.to_owned(),
            source: e,
        }),
    }
}

/// Writes `bytes` to `path` through a synced temporary file and a rename, so
/// a crash leaves either the old or the new content. The file is private
/// (0600): the seed file is a secret.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), ClaimKeyError> {
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io_error(&tmp))?;
    file.write_all(bytes).map_err(io_error(&tmp))?;
    file.sync_all().map_err(io_error(&tmp))?;
    fs::rename(&tmp, path).map_err(io_error(path))?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error(dir))?;
    }
    Ok(())
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ClaimKeyError + '_ {
    move |source| ClaimKeyError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_is_private_and_keys_are_never_reused_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let keys = ClaimKeys::open(dir.path(), Network::Regtest).unwrap();
        let first: Vec<_> = (0..3).map(|_| keys.next_key().unwrap()).collect();
        assert_eq!(first.iter().map(|k| k.index).collect::<Vec<_>>(), [0, 1, 2]);
        let words = fs::read_to_string(dir.path().join(SEED_FILE)).unwrap();
        assert_eq!(words.split_whitespace().count(), 24);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(SEED_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        drop(keys);

        let again = ClaimKeys::open(dir.path(), Network::Regtest).unwrap();
        let next = again.next_key().unwrap();
        assert!(next.index >= 3, "index {} reused", next.index);
        assert!(first.iter().all(|k| k.key != next.key));
        // Same seed, same derivation: key 0 is still key 0.
        assert_eq!(
            ClaimKey::new(again.secret(0).public_key(&again.secp)),
            first[0].key
        );
    }

    #[test]
    fn a_damaged_seed_file_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(SEED_FILE), "not a mnemonic\n").unwrap();
        let err = ClaimKeys::open(dir.path(), Network::Regtest).err().unwrap();
        assert!(matches!(err, ClaimKeyError::BadSeed { .. }), "{err}");
        assert_eq!(
            fs::read_to_string(dir.path().join(SEED_FILE)).unwrap(),
            "not a mnemonic\n"
        );
    }

    #[test]
    fn the_derivation_path_matches_bip32_test_tooling() {
        // The "abandon ... about" test mnemonic: anyone can check key 0 with a
        // BIP 32 tool at m/7337'/1'/0'/0'.
        let mnemonic = Mnemonic::parse_normalized(
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let keys =
            ClaimKeys::from_mnemonic(&mnemonic, Network::Regtest, dir.path().join(INDEX_FILE))
                .unwrap();
        let secp = Secp256k1::new();
        let master = Xpriv::new_master(NetworkKind::Test, &mnemonic.to_seed("")).unwrap();
        let path: DerivationPath = "m/7337'/1'/0'/0'".parse().unwrap();
        let expected = master.derive_priv(&secp, &path).unwrap().private_key;
        assert_eq!(keys.secret(0), expected);
    }
}
