//! The guardian's rules for claims and reissues (decision 5): verify the
//! request against the guardian's own view (pure checks first), sign, then
//! lock every input to the request in one synced write, and only then answer.
//! A retried request gets the stored answer; a different request for a locked
//! input is refused.

use std::collections::HashSet;
use std::path::Path;

use secp256k1::schnorr;

use crate::tbs::{sign_message, BlindedSignatureShare, SecretKeyShare};
use bls12_381::Scalar;
use group::ff::Field;
use sharechain::pplns::Msat;
use tracing::{info, warn};

use crate::api::{
    verify_proof, ApiError, ClaimRequest, Conflict, ErrorCode, Health, NoteStateRequest,
    NoteStateResponse, RecoverRequest, RecoverResponse, ReissueRequest, RequestHash,
    SignatureShares, MAX_REQUEST_ITEMS,
};
use crate::config::{FederationConfig, FederationId};
use crate::crypto::{batch_check, failing_checks, PairingCheck};
use crate::denomination::total;
use crate::guardian::db::{Committed, DbError, GuardianDb, Lock, LockKey};
use crate::guardian::sources::{ChainSources, SourceError};
use crate::note::{BlindedOutput, Note};
use crate::secrets::{GuardianSecrets, SecretsError};

/// A deliberately broken guardian, for tests of the client and of the
/// safety argument. Never use outside tests: it logs a warning on start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malice {
    /// Answer every request with signature shares under a wrong key.
    WrongShares,
    /// Sign requests whose inputs are locked to other requests.
    DoubleSpend,
}

/// Why a request is refused.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// Malformed request.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Input `index` carries an invalid federation signature.
    #[error("input {index} ({nonce}) is not a valid note of this federation")]
    InvalidNote {
        /// Its position in the request.
        index: usize,
        /// Its nonce.
        nonce: secp256k1::PublicKey,
    },
    /// A spend or claim proof does not verify.
    #[error("proof {0} does not verify: sign the request hash with the note's or share's key")]
    InvalidProof(usize),
    /// Inputs and outputs differ.
    #[error("outputs sum to {outputs} msat but must equal {inputs} msat")]
    Unbalanced {
        /// What comes in.
        inputs: u64,
        /// What is asked for.
        outputs: u64,
    },
    /// A note is locked to another request.
    #[error("note {nonce} is already spent (locked to request {})", holder.request)]
    AlreadySpent {
        /// The note.
        nonce: secp256k1::PublicKey,
        /// The request it is locked to, with the note key's proof.
        holder: Box<Lock>,
    },
    /// The payout was claimed with other outputs.
    #[error("share {share} of block {block} was already claimed (request {})", holder.request)]
    AlreadyClaimed {
        /// The block share.
        block: sharechain::ShareId,
        /// The paid share.
        share: sharechain::ShareId,
        /// The claim holding it, with the claim key's proof.
        holder: Box<Lock>,
    },
    /// Too few confirmations.
    #[error("block {block} has {confirmations} confirmations here; claims need {needed}")]
    NotConfirmed {
        /// The block.
        block: bitcoin::BlockHash,
        /// Seen by this guardian (0: unknown or not in the best chain).
        confirmations: u32,
        /// Configured depth.
        needed: u32,
    },
    /// The coinbase pays someone else.
    #[error("block {0}'s coinbase does not pay the federation")]
    NotFederationBlock(bitcoin::BlockHash),
    /// The share is not paid by this block.
    #[error("share {share} is not in the PPLNS window of block {block}")]
    NotInWindow {
        /// The block share.
        block: sharechain::ShareId,
        /// The share asked about.
        share: sharechain::ShareId,
    },
    /// No chain view configured.
    #[error("this guardian runs without a chain view and cannot answer claims")]
    ClaimsUnavailable,
    /// The chain view failed.
    #[error("{0}")]
    Source(#[from] SourceError),
    /// The database failed.
    #[error("{0}")]
    Db(DbError),
}

impl RequestError {
    /// The wire code.
    pub fn code(&self) -> ErrorCode {
        match self {
            RequestError::BadRequest(_) => ErrorCode::BadRequest,
            RequestError::InvalidNote { .. } => ErrorCode::InvalidNote,
            RequestError::InvalidProof(_) => ErrorCode::InvalidProof,
            RequestError::Unbalanced { .. } => ErrorCode::Unbalanced,
            RequestError::AlreadySpent { .. } => ErrorCode::AlreadySpent,
            RequestError::AlreadyClaimed { .. } => ErrorCode::AlreadyClaimed,
            RequestError::NotConfirmed { .. } => ErrorCode::NotConfirmed,
            RequestError::NotFederationBlock(_) => ErrorCode::NotFederationBlock,
            RequestError::NotInWindow { .. } => ErrorCode::NotInWindow,
            RequestError::ClaimsUnavailable => ErrorCode::ClaimsUnavailable,
            RequestError::Source(SourceError::Unavailable(_)) => ErrorCode::Unavailable,
            RequestError::Source(SourceError::UnknownShare(_)) => ErrorCode::NotInWindow,
            RequestError::Db(_) => ErrorCode::Internal,
        }
    }

    /// As sent to the client.
    pub fn to_api(&self) -> ApiError {
        let conflict = match self {
            RequestError::AlreadySpent { holder, .. }
            | RequestError::AlreadyClaimed { holder, .. } => Some(Conflict {
                request: holder.request,
                proof: holder.proof,
            }),
            _ => None,
        };
        ApiError {
            code: self.code(),
            message: self.to_string(),
            conflict: conflict.map(Box::new),
        }
    }
}

/// Why a guardian cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Config invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Secrets invalid or not this federation's.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// Database cannot open.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// One guardian: its keys, its database and its view of the chains.
pub struct Guardian {
    config: FederationConfig,
    federation_id: FederationId,
    secrets: GuardianSecrets,
    db: GuardianDb,
    sources: Option<ChainSources>,
    malice: Option<Malice>,
}

impl Guardian {
    /// A guardian over the database in `data_dir`. Without `sources` it
    /// reissues but refuses claims.
    pub fn open(
        config: FederationConfig,
        secrets: GuardianSecrets,
        data_dir: &Path,
        sources: Option<ChainSources>,
        malice: Option<Malice>,
    ) -> Result<Self, StartError> {
        config.validate()?;
        secrets.check_against(&config)?;
        let db = GuardianDb::open(&data_dir.join("guardian.db"))?;
        if let Some(malice) = malice {
            warn!(
                ?malice,
                "this guardian is deliberately malicious: test mode only"
            );
        }
        Ok(Guardian {
            federation_id: config.id(),
            config,
            secrets,
            db,
            sources,
            malice,
        })
    }

    /// The public config.
    pub fn config(&self) -> &FederationConfig {
        &self.config
    }

    /// Health and counters.
    pub fn health(&self) -> Result<Health, RequestError> {
        Ok(Health {
            peer: self.secrets.peer,
            federation_id: self.federation_id,
            requests_answered: self.db.requests_answered().map_err(RequestError::Db)?,
        })
    }

    /// Spend notes for new blinded notes. CPU-bound: call off the async runtime.
    pub fn reissue(&self, request: &ReissueRequest) -> Result<SignatureShares, RequestError> {
        self.check_outputs(&request.outputs)?;
        self.check_inputs(&request.inputs)?;
        if request.proofs.len() != request.inputs.len() {
            return Err(RequestError::BadRequest(
                "one proof per input is required".into(),
            ));
        }
        let inputs = sum(request.inputs.iter().map(|n| &n.denomination))?;
        let outputs = sum(request.outputs.iter().map(|o| &o.denomination))?;
        if inputs != outputs {
            return Err(RequestError::Unbalanced { inputs, outputs });
        }
        let hash = request.hash();
        for (index, (note, proof)) in request.inputs.iter().zip(&request.proofs).enumerate() {
            if !verify_proof(&self.federation_id, &hash, &note.nonce, proof) {
                return Err(RequestError::InvalidProof(index));
            }
        }
        self.check_note_signatures(&request.inputs)?;
        let locks: Vec<(LockKey, schnorr::Signature)> = request
            .inputs
            .iter()
            .zip(&request.proofs)
            .map(|(note, proof)| (LockKey::Nonce(note.nonce), *proof))
            .collect();
        self.sign_and_commit(hash, &locks, &request.outputs)
    }

    /// Claim a share's payout from a found, confirmed block.
    pub async fn claim(&self, request: &ClaimRequest) -> Result<SignatureShares, RequestError> {
        self.check_outputs(&request.outputs)?;
        let sources = self
            .sources
            .as_ref()
            .ok_or(RequestError::ClaimsUnavailable)?;
        let block = request.block.block_hash();
        let status = sources.bitcoin.block_status(block).await?;
        let needed = self.config.claim_confirmations.max(1);
        let status = match status {
            Some(status) if status.confirmations >= needed => status,
            other => {
                return Err(RequestError::NotConfirmed {
                    block,
                    confirmations: other.map_or(0, |s| s.confirmations),
                    needed,
                })
            }
        };
        let script = self.config.payout_script();
        let reward: bitcoin::Amount = status
            .coinbase_outputs
            .iter()
            .filter(|(s, _)| *s == script)
            .map(|(_, value)| *value)
            .sum();
        if reward == bitcoin::Amount::ZERO {
            return Err(RequestError::NotFederationBlock(block));
        }
        let payouts = sources
            .sharechain
            .payouts(request.block, Msat::from(reward))
            .await?;
        let payout =
            payouts
                .iter()
                .find(|p| p.share == request.share)
                .ok_or(RequestError::NotInWindow {
                    block: request.block,
                    share: request.share,
                })?;
        let hash = request.hash();
        if !verify_proof(
            &self.federation_id,
            &hash,
            &payout.claim_key.public_key(),
            &request.proof,
        ) {
            return Err(RequestError::InvalidProof(0));
        }
        let outputs = sum(request.outputs.iter().map(|o| &o.denomination))?;
        if outputs != payout.amount.msat() {
            return Err(RequestError::Unbalanced {
                inputs: payout.amount.msat(),
                outputs,
            });
        }
        let lock = LockKey::Claim {
            block: request.block,
            share: request.share,
        };
        let shares = self.sign_and_commit(hash, &[(lock, request.proof)], &request.outputs)?;
        info!(block = %request.block, share = %request.share, amount = outputs, "claim signed");
        Ok(shares)
    }

    /// Which of these notes are locked here.
    pub fn note_state(
        &self,
        request: &NoteStateRequest,
    ) -> Result<NoteStateResponse, RequestError> {
        if request.nonces.len() > MAX_REQUEST_ITEMS {
            return Err(RequestError::BadRequest(format!(
                "at most {MAX_REQUEST_ITEMS} nonces"
            )));
        }
        let spent = request
            .nonces
            .iter()
            .map(|n| {
                self.db
                    .lock_holder(&LockKey::Nonce(*n))
                    .map(|h| h.is_some())
            })
            .collect::<Result<_, _>>()
            .map_err(RequestError::Db)?;
        Ok(NoteStateResponse { spent })
    }

    /// Signature shares given to these blinded messages.
    pub fn recover(&self, request: &RecoverRequest) -> Result<RecoverResponse, RequestError> {
        if request.blinded_messages.len() > MAX_REQUEST_ITEMS {
            return Err(RequestError::BadRequest(format!(
                "at most {MAX_REQUEST_ITEMS} messages"
            )));
        }
        let signed = request
            .blinded_messages
            .iter()
            .map(|m| self.db.blind_signature(m))
            .collect::<Result<_, _>>()
            .map_err(RequestError::Db)?;
        Ok(RecoverResponse {
            peer: self.secrets.peer,
            signed,
        })
    }

    fn check_outputs(&self, outputs: &[BlindedOutput]) -> Result<(), RequestError> {
        if outputs.is_empty() || outputs.len() > MAX_REQUEST_ITEMS {
            return Err(RequestError::BadRequest(format!(
                "a request needs 1 to {MAX_REQUEST_ITEMS} outputs"
            )));
        }
        for output in outputs {
            if self.config.keys(output.denomination).is_none() {
                return Err(RequestError::BadRequest(format!(
                    "the federation does not issue {}",
                    output.denomination
                )));
            }
        }
        Ok(())
    }

    fn check_inputs(&self, inputs: &[Note]) -> Result<(), RequestError> {
        if inputs.is_empty() || inputs.len() > MAX_REQUEST_ITEMS {
            return Err(RequestError::BadRequest(format!(
                "a reissue needs 1 to {MAX_REQUEST_ITEMS} inputs"
            )));
        }
        let mut seen = HashSet::new();
        for (index, note) in inputs.iter().enumerate() {
            if !seen.insert(note.nonce) {
                return Err(RequestError::BadRequest(format!(
                    "input {index} repeats a note"
                )));
            }
            if self.config.keys(note.denomination).is_none() {
                return Err(RequestError::InvalidNote {
                    index,
                    nonce: note.nonce,
                });
            }
        }
        Ok(())
    }

    /// All note signatures in one batch; one by one only to name a forgery.
    fn check_note_signatures(&self, notes: &[Note]) -> Result<(), RequestError> {
        let checks: Vec<PairingCheck> = notes
            .iter()
            .map(|note| PairingCheck {
                message: note.message().0,
                signature: note.signature.0,
                key: self
                    .config
                    .keys(note.denomination)
                    .expect("checked")
                    .aggregate
                    .0,
            })
            .collect();
        if batch_check(&checks) {
            return Ok(());
        }
        let index = failing_checks(&checks).first().copied().unwrap_or(0);
        Err(RequestError::InvalidNote {
            index,
            nonce: notes[index].nonce,
        })
    }

    fn sign_and_commit(
        &self,
        hash: RequestHash,
        locks: &[(LockKey, schnorr::Signature)],
        outputs: &[BlindedOutput],
    ) -> Result<SignatureShares, RequestError> {
        let shares: Vec<BlindedSignatureShare> = outputs.iter().map(|o| self.sign(o)).collect();
        let check_locks = self.malice != Some(Malice::DoubleSpend);
        let shares = match self.db.commit(hash, locks, outputs, &shares, check_locks) {
            Ok(Committed::New) => shares,
            Ok(Committed::Retry(stored)) => stored,
            Err(DbError::Locked { key, holder }) => return Err(locked_error(key, holder)),
            Err(other) => return Err(RequestError::Db(other)),
        };
        Ok(SignatureShares {
            peer: self.secrets.peer,
            request: hash,
            shares,
        })
    }

    fn sign(&self, output: &BlindedOutput) -> BlindedSignatureShare {
        if self.malice == Some(Malice::WrongShares) {
            let wrong = SecretKeyShare(Scalar::random(rand::thread_rng()));
            return sign_message(output.blinded_message, wrong);
        }
        let key = self.secrets.key_shares[&output.denomination];
        sign_message(output.blinded_message, key)
    }
}

fn locked_error(key: LockKey, holder: Box<Lock>) -> RequestError {
    match key {
        LockKey::Nonce(nonce) => RequestError::AlreadySpent { nonce, holder },
        LockKey::Claim { block, share } => RequestError::AlreadyClaimed {
            block,
            share,
            holder,
        },
    }
}

fn sum<'a>(
    denominations: impl IntoIterator<Item = &'a crate::denomination::Denomination>,
) -> Result<u64, RequestError> {
    total(denominations)
        .map(|a| a.msat())
        .ok_or_else(|| RequestError::BadRequest("amounts overflow".into()))
}
