//! The note string: how notes travel from one person to another.
//!
//! `sharemint-notes1` followed by the unpadded base64url encoding of a JSON
//! object `{"version":1,"federation_id":hex,"guardians":[url...],"notes":[...]}`
//! where each note is `{"denomination":msat,"spend_key":hex,"signature":hex}`.
//! It carries the spend keys: whoever holds the string can spend the notes,
//! so a receiver reissues them at once. Decoding is capped and strict.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::config::FederationId;
use crate::note::SpendableNote;

/// What every note string starts with.
pub const NOTE_STRING_PREFIX: &str = "sharemint-notes1";
/// Longest string accepted (about 4,000 notes): refuses memory bombs.
pub const MAX_NOTE_STRING_LEN: usize = 1 << 20;
/// Most notes in one string.
pub const MAX_NOTES: usize = 1_000;

/// Notes with where to redeem them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteString {
    /// Format version: 1.
    pub version: u32,
    /// The issuing federation.
    pub federation_id: FederationId,
    /// Its guardians' API URLs, so a receiver who knows nothing else can
    /// fetch the config.
    pub guardians: Vec<String>,
    /// The notes with their spend keys.
    pub notes: Vec<SpendableNote>,
}

/// Why a note string is refused.
#[derive(Debug, thiserror::Error)]
pub enum NoteStringError {
    /// Wrong start.
    #[error("not a note string: it must start with {NOTE_STRING_PREFIX}")]
    Prefix,
    /// Over the cap.
    #[error("note string longer than {MAX_NOTE_STRING_LEN} characters")]
    TooLong,
    /// Not base64url.
    #[error("note string is damaged (not base64url): {0}")]
    Encoding(#[from] base64::DecodeError),
    /// Not the JSON layout.
    #[error("note string is damaged (bad contents): {0}")]
    Json(#[from] serde_json::Error),
    /// Unknown version.
    #[error("note string version {0} is not supported")]
    Version(u32),
    /// No notes or too many.
    #[error("a note string must carry 1 to {MAX_NOTES} notes")]
    NoteCount,
}

impl NoteString {
    /// Encodes with the prefix.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("note strings always serialize");
        format!("{NOTE_STRING_PREFIX}{}", URL_SAFE_NO_PAD.encode(json))
    }

    /// Decodes and checks the layout (not the signatures: that needs the
    /// federation's keys).
    pub fn decode(text: &str) -> Result<Self, NoteStringError> {
        let text = text.trim();
        if text.len() > MAX_NOTE_STRING_LEN {
            return Err(NoteStringError::TooLong);
        }
        let body = text
            .strip_prefix(NOTE_STRING_PREFIX)
            .ok_or(NoteStringError::Prefix)?;
        let parsed: NoteString = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body)?)?;
        if parsed.version != 1 {
            return Err(NoteStringError::Version(parsed.version));
        }
        if parsed.notes.is_empty() || parsed.notes.len() > MAX_NOTES {
            return Err(NoteStringError::NoteCount);
        }
        Ok(parsed)
    }

    /// Total value.
    pub fn amount(&self) -> sharechain::Msat {
        crate::denomination::total(self.notes.iter().map(|n| &n.denomination))
            .unwrap_or(sharechain::Msat::from_msat(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::denomination::Denomination;

    fn sample() -> NoteString {
        let output = crate::note::PendingOutput::random(Denomination::from_msat(8).unwrap());
        let signature = crate::tbs::Signature(bls12_381::G1Affine::generator());
        NoteString {
            version: 1,
            federation_id: FederationId([7; 32]),
            guardians: vec!["http://127.0.0.1:1".into()],
            notes: vec![SpendableNote {
                denomination: output.denomination,
                spend_key: output.spend_key,
                signature,
            }],
        }
    }

    #[test]
    fn round_trips() {
        let notes = sample();
        assert_eq!(NoteString::decode(&notes.encode()).unwrap(), notes);
    }

    #[test]
    fn malformed_strings_are_refused_with_reasons() {
        let good = sample().encode();
        assert!(matches!(
            NoteString::decode("cashuBxyz"),
            Err(NoteStringError::Prefix)
        ));
        assert!(matches!(
            NoteString::decode(&format!("{good}!")),
            Err(NoteStringError::Encoding(_))
        ));
        let cut = &good[..good.len() - 10];
        assert!(NoteString::decode(cut).is_err());
        let long = format!("{NOTE_STRING_PREFIX}{}", "A".repeat(MAX_NOTE_STRING_LEN));
        assert!(matches!(
            NoteString::decode(&long),
            Err(NoteStringError::TooLong)
        ));
        let empty = NoteString {
            notes: vec![],
            ..sample()
        };
        assert!(matches!(
            NoteString::decode(&empty.encode()),
            Err(NoteStringError::NoteCount)
        ));
    }
}
