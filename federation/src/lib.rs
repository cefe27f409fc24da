//! The guardians' daemon and the ecash client library.
//!
//! Notes are Fedimint-style (decision 4): a power-of-two denomination, a
//! nonce that is a secp256k1 public key, and a threshold blind BLS signature
//! (Fedimint's scheme, in [`tbs`]). Guardians sign claims and reissues without a consensus
//! round (decision 5): each checks a request against its own view and durably
//! locks the request's inputs before it answers. See `docs/federation.md`.

pub mod api;
pub mod client;
pub mod config;
pub mod crypto;
#[cfg(any(test, feature = "testing"))]
pub mod dealer;
pub mod denomination;
pub mod dkg;
pub mod guardian;
pub mod hex32;
pub mod note;
pub mod secrets;
pub mod tbs;

pub use config::{FederationConfig, FederationId, GuardianConfig, PeerId};
pub use denomination::{Denomination, DenominationError};
pub use note::{BlindedOutput, Note, PendingOutput, SpendableNote};
pub use secrets::GuardianSecrets;
pub use sharechain::Msat;
