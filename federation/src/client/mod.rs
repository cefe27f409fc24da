//! The ecash client: the federation protocol ([`federation`]), note strings
//! ([`note_string`]), the seed ([`seed`]) and the wallet ([`wallet`]).

pub mod federation;
pub mod note_string;
pub mod seed;
pub mod wallet;

pub use federation::{ClientError, Failures, FederationClient, GuardianFailure, Issued};
pub use note_string::{NoteString, NoteStringError, NOTE_STRING_PREFIX};
pub use seed::{SeedError, WalletSeed};
pub use wallet::{Wallet, WalletError, WalletInfo};
