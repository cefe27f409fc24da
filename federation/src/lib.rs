//! The guardians' daemon and the ecash client library.

pub mod dkg;
