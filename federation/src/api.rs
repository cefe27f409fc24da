//! The guardian HTTP JSON API: paths, requests, answers and errors, shared
//! by the guardian service and the client.
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | GET | `/v1/config` | | [`crate::FederationConfig`] |
//! | GET | `/v1/health` | | [`Health`] |
//! | POST | `/v1/reissue` | [`ReissueRequest`] | [`SignatureShares`] |
//! | POST | `/v1/claim` | [`ClaimRequest`] | [`SignatureShares`] |
//! | POST | `/v1/note_state` | [`NoteStateRequest`] | [`NoteStateResponse`] |
//! | POST | `/v1/recover` | [`RecoverRequest`] | [`RecoverResponse`] |
//!
//! Refusals answer with an HTTP 4xx/5xx status and an [`ApiError`].

use std::fmt;

use crate::tbs::{BlindedMessage, BlindedSignatureShare};
use secp256k1::{schnorr, Keypair, Message, PublicKey, XOnlyPublicKey, SECP256K1};
use serde::{Deserialize, Serialize};
use sharechain::ShareId;

use crate::config::{FederationId, PeerId};
use crate::crypto::tagged_hash;
use crate::denomination::Denomination;
use crate::note::{BlindedOutput, Note};

/// Most inputs or outputs in one request: bounds a guardian's work per call.
pub const MAX_REQUEST_ITEMS: usize = 1_000;

/// Names a request: inputs and outputs, not the proofs (which a client may
/// sign afresh on a retry), so a retried request maps to the same answer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestHash(#[serde(with = "crate::hex32")] pub [u8; 32]);

impl fmt::Display for RequestHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.0[..8]))
    }
}

impl fmt::Debug for RequestHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestHash({})", hex::encode(self.0))
    }
}

impl RequestHash {
    /// The message a spend or claim proof signs: bound to the federation and
    /// to the request, so it cannot be replayed anywhere else.
    pub fn proof_message(&self, federation: &FederationId) -> Message {
        Message::from_digest(tagged_hash(
            "sharemint/request-proof",
            &[&federation.0, &self.0],
        ))
    }
}

/// Exchange notes for new blinded notes of the same total.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReissueRequest {
    /// Notes to spend.
    pub inputs: Vec<Note>,
    /// New notes to sign, in the order shares come back.
    pub outputs: Vec<BlindedOutput>,
    /// One BIP340 signature per input, by its nonce key, over
    /// [`RequestHash::proof_message`].
    pub proofs: Vec<schnorr::Signature>,
}

impl ReissueRequest {
    /// Builds and signs a request spending `inputs` (with their key pairs).
    pub fn new(
        federation: &FederationId,
        inputs: Vec<(Note, Keypair)>,
        outputs: Vec<BlindedOutput>,
    ) -> Self {
        let notes: Vec<Note> = inputs.iter().map(|(note, _)| *note).collect();
        let hash = reissue_hash(&notes, &outputs);
        let message = hash.proof_message(federation);
        let proofs = inputs
            .iter()
            .map(|(_, keypair)| SECP256K1.sign_schnorr(&message, keypair))
            .collect();
        ReissueRequest {
            inputs: notes,
            outputs,
            proofs,
        }
    }

    /// The request's name.
    pub fn hash(&self) -> RequestHash {
        reissue_hash(&self.inputs, &self.outputs)
    }
}

fn reissue_hash(inputs: &[Note], outputs: &[BlindedOutput]) -> RequestHash {
    let mut bytes = Vec::with_capacity(8 + inputs.len() * 90 + outputs.len() * 56);
    bytes.extend_from_slice(&(inputs.len() as u32).to_le_bytes());
    for note in inputs {
        bytes.extend_from_slice(&note.denomination.msat().to_le_bytes());
        bytes.extend_from_slice(&note.nonce.serialize());
        bytes.extend_from_slice(&note.signature.0.to_compressed());
    }
    encode_outputs(&mut bytes, outputs);
    RequestHash(tagged_hash("sharemint/reissue", &[&bytes]))
}

fn encode_outputs(bytes: &mut Vec<u8>, outputs: &[BlindedOutput]) {
    bytes.extend_from_slice(&(outputs.len() as u32).to_le_bytes());
    for output in outputs {
        bytes.extend_from_slice(&output.denomination.msat().to_le_bytes());
        bytes.extend_from_slice(&output.blinded_message.0.to_compressed());
    }
}

/// Claim a share's payout from a found block as new blinded notes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    /// The share that found the bitcoin block (its id is the block hash).
    #[serde(with = "crate::hex32::share_id")]
    pub block: ShareId,
    /// The share in the block's PPLNS window being paid.
    #[serde(with = "crate::hex32::share_id")]
    pub share: ShareId,
    /// New notes summing to the share's payout.
    pub outputs: Vec<BlindedOutput>,
    /// BIP340 signature by the share's claim key over
    /// [`RequestHash::proof_message`].
    pub proof: schnorr::Signature,
}

impl ClaimRequest {
    /// Builds and signs a claim with the share's claim key.
    pub fn new(
        federation: &FederationId,
        block: ShareId,
        share: ShareId,
        outputs: Vec<BlindedOutput>,
        claim_key: &Keypair,
    ) -> Self {
        let hash = claim_hash(&block, &share, &outputs);
        let proof = SECP256K1.sign_schnorr(&hash.proof_message(federation), claim_key);
        ClaimRequest {
            block,
            share,
            outputs,
            proof,
        }
    }

    /// The request's name.
    pub fn hash(&self) -> RequestHash {
        claim_hash(&self.block, &self.share, &self.outputs)
    }
}

fn claim_hash(block: &ShareId, share: &ShareId, outputs: &[BlindedOutput]) -> RequestHash {
    let mut bytes = Vec::with_capacity(68 + outputs.len() * 56);
    bytes.extend_from_slice(&block.to_byte_array());
    bytes.extend_from_slice(&share.to_byte_array());
    encode_outputs(&mut bytes, outputs);
    RequestHash(tagged_hash("sharemint/claim", &[&bytes]))
}

/// Checks a BIP340 proof by `key` (its x-only form) for `hash`.
pub fn verify_proof(
    federation: &FederationId,
    hash: &RequestHash,
    key: &PublicKey,
    proof: &schnorr::Signature,
) -> bool {
    let x_only: XOnlyPublicKey = key.x_only_public_key().0;
    SECP256K1
        .verify_schnorr(proof, &hash.proof_message(federation), &x_only)
        .is_ok()
}

/// One guardian's blind signature shares, one per output in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureShares {
    /// Which guardian signed.
    pub peer: PeerId,
    /// The request answered.
    pub request: RequestHash,
    /// The shares.
    pub shares: Vec<BlindedSignatureShare>,
}

/// Which notes are spent (locked to a request) at this guardian.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteStateRequest {
    /// Nonces to look up.
    pub nonces: Vec<PublicKey>,
}

/// One flag per nonce asked about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteStateResponse {
    /// `true` if the guardian has locked the note to a request.
    pub spent: Vec<bool>,
}

/// Ask for signature shares this guardian gave to blinded messages, to
/// recover notes from a wallet seed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverRequest {
    /// Blinded messages re-derived from the seed.
    pub blinded_messages: Vec<BlindedMessage>,
}

/// What this guardian signed for each blinded message, if anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverResponse {
    /// Which guardian answers.
    pub peer: PeerId,
    /// One entry per message asked about.
    pub signed: Vec<Option<(Denomination, BlindedSignatureShare)>>,
}

/// A guardian's health.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Which guardian.
    pub peer: PeerId,
    /// The federation it serves.
    pub federation_id: FederationId,
    /// Requests it has answered since it was set up.
    pub requests_answered: u64,
}

/// What went wrong, for a program to act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed (sizes, duplicates, unknown denominations).
    BadRequest,
    /// A note's federation signature is invalid: a forgery.
    InvalidNote,
    /// A spend or claim proof does not verify.
    InvalidProof,
    /// Inputs and outputs do not sum to the same amount.
    Unbalanced,
    /// An input is already locked to a different request: spent.
    AlreadySpent,
    /// The share's payout was already claimed with different outputs.
    AlreadyClaimed,
    /// The block is unknown to this guardian or not yet deep enough.
    NotConfirmed,
    /// The block's coinbase does not pay the federation.
    NotFederationBlock,
    /// The share is not in the block's PPLNS window.
    NotInWindow,
    /// The guardian cannot answer claims (no chain view configured).
    ClaimsUnavailable,
    /// The guardian's own view is not ready (bitcoind or sharechain down).
    Unavailable,
    /// A fault inside the guardian (database).
    Internal,
}

impl ErrorCode {
    /// The HTTP status for this refusal.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest
            | ErrorCode::InvalidNote
            | ErrorCode::InvalidProof
            | ErrorCode::Unbalanced
            | ErrorCode::NotFederationBlock
            | ErrorCode::NotInWindow => 400,
            ErrorCode::AlreadySpent | ErrorCode::AlreadyClaimed => 409,
            ErrorCode::NotConfirmed => 425,
            ErrorCode::ClaimsUnavailable | ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }
}

/// A refusal as sent over the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message} ({code:?})")]
pub struct ApiError {
    /// What kind of refusal.
    pub code: ErrorCode,
    /// Says what is wrong and what to do.
    pub message: String,
    /// For [`ErrorCode::AlreadySpent`] and [`ErrorCode::AlreadyClaimed`]:
    /// the request holding the input and its proof, so the client can tell
    /// a real conflict from a guardian's lie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<Box<Conflict>>,
}

impl ApiError {
    /// A refusal without conflict evidence.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            conflict: None,
        }
    }
}

/// Evidence that an input is locked to another request: that request's hash
/// and the input key's proof over it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The request holding the input.
    pub request: RequestHash,
    /// The input key's BIP340 signature over the request's proof message.
    pub proof: schnorr::Signature,
}

impl Conflict {
    /// Whether this proves that `key` signed a request other than `ours`
    /// for `federation`: then the input really is spent elsewhere.
    pub fn proves(&self, federation: &FederationId, ours: &RequestHash, key: &PublicKey) -> bool {
        self.request != *ours
            && SECP256K1
                .verify_schnorr(
                    &self.proof,
                    &self.request.proof_message(federation),
                    &key.x_only_public_key().0,
                )
                .is_ok()
    }
}
