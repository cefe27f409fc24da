//! Notes and the outputs that become notes.
//!
//! A [`Note`] is public: denomination, nonce (a secp256k1 public key) and the
//! federation's unblinded signature on the nonce. Whoever holds the nonce's
//! secret key can spend it: a [`SpendableNote`]. A [`PendingOutput`] is the
//! owner's side of a note being issued: the nonce key and the blinding key
//! whose [`BlindedOutput`] the guardians sign.

use crate::tbs::{
    blind_message, unblind_signature, BlindedMessage, BlindedSignature, BlindingKey, Message,
    Signature,
};
use secp256k1::{Keypair, PublicKey, SecretKey, SECP256K1};
use serde::{Deserialize, Serialize};

use crate::denomination::Denomination;

/// An ecash note as the federation sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// What the note is worth.
    pub denomination: Denomination,
    /// The note's identity; its secret key authorises spending.
    pub nonce: PublicKey,
    /// The federation's signature on [`note_message`] of the nonce.
    pub signature: Signature,
}

impl Note {
    /// The message the federation signed for this note.
    pub fn message(&self) -> Message {
        note_message(&self.nonce)
    }
}

/// The message signed for a note with this nonce: the domain-separated hash
/// of its compressed encoding mapped onto G1.
pub fn note_message(nonce: &PublicKey) -> Message {
    Message::from_bytes(&nonce.serialize())
}

/// A note with the secret key that spends it: what a wallet keeps and what a
/// note string carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendableNote {
    /// What the note is worth.
    pub denomination: Denomination,
    /// The nonce's secret key.
    pub spend_key: SecretKey,
    /// The federation's signature.
    pub signature: Signature,
}

impl SpendableNote {
    /// The public note.
    pub fn note(&self) -> Note {
        Note {
            denomination: self.denomination,
            nonce: self.spend_key.public_key(SECP256K1),
            signature: self.signature,
        }
    }

    /// The key pair that signs spend proofs.
    pub fn keypair(&self) -> Keypair {
        Keypair::from_secret_key(SECP256K1, &self.spend_key)
    }
}

/// A request to sign one new note: its denomination and blinded nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlindedOutput {
    /// The denomination whose key signs it.
    pub denomination: Denomination,
    /// The blinded [`note_message`]; guardians never see the nonce.
    pub blinded_message: BlindedMessage,
}

/// The owner's secrets for an output being signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOutput {
    /// What the note will be worth.
    pub denomination: Denomination,
    /// The future note's spend key.
    pub spend_key: SecretKey,
    /// Hides the nonce from the guardians.
    pub blinding_key: BlindingKey,
}

impl PendingOutput {
    /// A fresh output from random keys.
    pub fn random(denomination: Denomination) -> Self {
        PendingOutput {
            denomination,
            spend_key: SecretKey::new(&mut rand::thread_rng()),
            blinding_key: BlindingKey::random(),
        }
    }

    /// The nonce of the future note.
    pub fn nonce(&self) -> PublicKey {
        self.spend_key.public_key(SECP256K1)
    }

    /// What the guardians are asked to sign.
    pub fn blinded(&self) -> BlindedOutput {
        BlindedOutput {
            denomination: self.denomination,
            blinded_message: blind_message(note_message(&self.nonce()), self.blinding_key),
        }
    }

    /// The finished note from the federation's (aggregated, verified) blind signature.
    pub fn finish(&self, blinded_signature: BlindedSignature) -> SpendableNote {
        SpendableNote {
            denomination: self.denomination,
            spend_key: self.spend_key,
            signature: unblind_signature(self.blinding_key, blinded_signature),
        }
    }
}
