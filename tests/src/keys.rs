//! A key a test holds: mine to it, then spend its coins with transactions the test signs.

use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::transaction::Version;
use bitcoin::{
    absolute, Amount, CompressedPublicKey, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
    Witness,
};

/// A P2WPKH key for tests.
#[derive(Clone, Debug)]
pub struct TestKey {
    secret: SecretKey,
    public: CompressedPublicKey,
}

impl Default for TestKey {
    fn default() -> Self {
        Self::new()
    }
}

impl TestKey {
    /// A fresh random key.
    pub fn new() -> Self {
        let secp = Secp256k1::new();
        let (secret, public) = secp.generate_keypair(&mut bitcoin::secp256k1::rand::thread_rng());
        TestKey {
            secret,
            public: CompressedPublicKey(public),
        }
    }

    /// `wpkh(<pubkey>)`, for `generatetodescriptor`.
    pub fn descriptor(&self) -> String {
        format!("wpkh({})", self.public)
    }

    /// The P2WPKH scriptPubKey.
    pub fn script_pubkey(&self) -> ScriptBuf {
        ScriptBuf::new_p2wpkh(&self.public.wpubkey_hash())
    }

    /// The public key.
    pub fn public_key(&self) -> CompressedPublicKey {
        self.public
    }

    /// A signed segwit v0 transaction spending `coins` (all paid to this key) to `outputs`.
    pub fn spend(&self, coins: &[(OutPoint, TxOut)], outputs: Vec<TxOut>) -> Transaction {
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: coins
                .iter()
                .map(|(outpoint, _)| TxIn {
                    previous_output: *outpoint,
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                    witness: Witness::new(),
                })
                .collect(),
            output: outputs,
        };
        let secp = Secp256k1::new();
        let mut cache = SighashCache::new(&mut tx);
        for (index, (_, coin)) in coins.iter().enumerate() {
            assert_eq!(
                coin.script_pubkey,
                self.script_pubkey(),
                "coin {index} is not paid to this key"
            );
            let sighash = cache
                .p2wpkh_signature_hash(
                    index,
                    &coin.script_pubkey,
                    coin.value,
                    EcdsaSighashType::All,
                )
                .expect("input index is in range and the script is p2wpkh");
            let signature = bitcoin::ecdsa::Signature {
                signature: secp.sign_ecdsa(&Message::from(sighash), &self.secret),
                sighash_type: EcdsaSighashType::All,
            };
            *cache.witness_mut(index).expect("input index is in range") =
                Witness::p2wpkh(&signature, &self.public.0);
        }
        tx
    }

    /// Spends one coin to `to`, leaving `fee`.
    pub fn spend_one(&self, coin: (OutPoint, TxOut), to: ScriptBuf, fee: Amount) -> Transaction {
        let value = coin
            .1
            .value
            .checked_sub(fee)
            .expect("fee below the coin's value");
        self.spend(
            &[coin],
            vec![TxOut {
                value,
                script_pubkey: to,
            }],
        )
    }
}
