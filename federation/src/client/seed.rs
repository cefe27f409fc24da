//! The wallet seed: BIP39 words from which every note's spend key and
//! blinding key derive, so a wallet restored from its words can find its
//! notes again by asking the guardians what they signed.

use crate::tbs::BlindingKey;
use bls12_381::Scalar;
use secp256k1::SecretKey;

use crate::config::FederationId;
use crate::crypto::tagged_hash;
use crate::denomination::Denomination;
use crate::note::PendingOutput;

/// Why seed words are not usable.
#[derive(Debug, thiserror::Error)]
#[error("invalid seed words: {0}")]
pub struct SeedError(#[from] bip39::Error);

/// A wallet's BIP39 seed.
#[derive(Clone)]
pub struct WalletSeed {
    mnemonic: bip39::Mnemonic,
    seed: [u8; 64],
}

impl std::fmt::Debug for WalletSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WalletSeed(..)")
    }
}

impl WalletSeed {
    /// Fresh 12 words from the OS random generator.
    pub fn generate() -> Self {
        let mnemonic = bip39::Mnemonic::generate(12).expect("12 is a valid word count");
        Self::from_mnemonic(mnemonic)
    }

    /// From an existing mnemonic (the node passes its own).
    pub fn from_mnemonic(mnemonic: bip39::Mnemonic) -> Self {
        let seed = mnemonic.to_seed("");
        WalletSeed { mnemonic, seed }
    }

    /// Parses English words.
    pub fn from_words(words: &str) -> Result<Self, SeedError> {
        Ok(Self::from_mnemonic(bip39::Mnemonic::parse_normalized(
            words,
        )?))
    }

    /// The words to write down.
    pub fn words(&self) -> String {
        self.mnemonic.to_string()
    }

    /// The secrets of output number `index` for `federation`: spend key and
    /// blinding key, each a tagged hash of the seed, federation and index.
    pub fn output(
        &self,
        federation: &FederationId,
        index: u64,
        denomination: Denomination,
    ) -> PendingOutput {
        let index_bytes = index.to_le_bytes();
        let part = |tag: &str| tagged_hash(tag, &[&self.seed, &federation.0, &index_bytes]);
        let spend_key = SecretKey::from_slice(&part("sharemint/note-spend-key"))
            .expect("a hash is a valid secret key except with negligible probability");
        let mut wide = [0u8; 64];
        wide[..32].copy_from_slice(&part("sharemint/note-blinding-key/0"));
        wide[32..].copy_from_slice(&part("sharemint/note-blinding-key/1"));
        PendingOutput {
            denomination,
            spend_key,
            blinding_key: BlindingKey(Scalar::from_bytes_wide(&wide)),
        }
    }
}
