//! Talking to the federation: every request goes to all chosen guardians at
//! once; the first t answers whose signature shares verify are combined. A
//! guardian whose shares do not verify is named as misbehaving; one that
//! refuses or does not answer is reported with its reason.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::tbs::{
    aggregate_signature_shares, BlindedMessage, BlindedSignature, BlindedSignatureShare,
};
use futures::stream::{FuturesUnordered, StreamExt};
use secp256k1::{Keypair, PublicKey};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sharechain::ShareId;
use tracing::warn;

use crate::api::{
    ApiError, ClaimRequest, NoteStateRequest, NoteStateResponse, RecoverRequest, RecoverResponse,
    ReissueRequest, RequestHash, SignatureShares,
};
use crate::config::{FederationConfig, FederationId, PeerId};
use crate::crypto::{batch_check, PairingCheck};
use crate::denomination::Denomination;
use crate::note::{BlindedOutput, Note, PendingOutput, SpendableNote};

/// How long one guardian may take to answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why one guardian's answer was not used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GuardianFailure {
    /// It refused, saying why.
    Refused(ApiError),
    /// No answer (down, timeout, connection refused).
    Unreachable(String),
    /// It answered with signature shares that do not verify, or with an
    /// answer that does not fit the request: it misbehaves.
    Misbehaving(String),
}

impl fmt::Display for GuardianFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuardianFailure::Refused(error) => write!(f, "refused: {}", error.message),
            GuardianFailure::Unreachable(why) => write!(f, "unreachable: {why}"),
            GuardianFailure::Misbehaving(why) => write!(f, "MISBEHAVING: {why}"),
        }
    }
}

/// Failures per guardian, printed one per line.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Failures(pub BTreeMap<PeerId, GuardianFailure>);

impl Failures {
    /// The guardians whose answers were invalid.
    pub fn misbehaving(&self) -> Vec<PeerId> {
        self.0
            .iter()
            .filter(|(_, f)| matches!(f, GuardianFailure::Misbehaving(_)))
            .map(|(p, _)| *p)
            .collect()
    }

    /// The refusals, with the guardians' own errors.
    pub fn refusals(&self) -> impl Iterator<Item = (&PeerId, &ApiError)> {
        self.0.iter().filter_map(|(p, f)| match f {
            GuardianFailure::Refused(e) => Some((p, e)),
            _ => None,
        })
    }
}

impl fmt::Display for Failures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (peer, failure) in &self.0 {
            write!(f, "\n  {peer}: {failure}")?;
        }
        Ok(())
    }
}

/// Why a federation request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Fewer than t guardians gave valid answers.
    #[error("only {valid} of the {threshold} needed guardians gave valid answers:{failures}")]
    NotEnoughAnswers {
        /// Valid answers received.
        valid: usize,
        /// Needed.
        threshold: usize,
        /// What the others did.
        failures: Failures,
    },
    /// Fetching a config failed.
    #[error("cannot fetch the federation config from {url}: {why}")]
    Config {
        /// Where.
        url: String,
        /// Why.
        why: String,
    },
}

impl ClientError {
    /// The per-guardian failures, if any.
    pub fn failures(&self) -> Option<&Failures> {
        match self {
            ClientError::NotEnoughAnswers { failures, .. } => Some(failures),
            ClientError::Config { .. } => None,
        }
    }
}

/// Notes the federation issued, and who misbehaved on the way.
#[derive(Debug)]
pub struct Issued {
    /// The new notes, in output order.
    pub notes: Vec<SpendableNote>,
    /// Guardians whose answers were not used, with why (misbehaving ones
    /// included even though the request succeeded).
    pub failures: Failures,
}

/// A signing request as [`FederationClient::issue`] sends it: where to, what,
/// and how to judge a refusal.
struct Signing<'a, R> {
    path: &'static str,
    request: &'a R,
    /// The request's hash: a proven conflict names a different one.
    own: RequestHash,
    /// Keys whose signature over another request proves that request holds
    /// our inputs (note nonces, or the claim key).
    input_keys: &'a [PublicKey],
    blinded: &'a [BlindedOutput],
}

/// A client of one federation.
#[derive(Clone)]
pub struct FederationClient {
    config: Arc<FederationConfig>,
    id: FederationId,
    http: reqwest::Client,
}

impl FederationClient {
    /// A client for a validated config.
    pub fn new(config: FederationConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("an HTTP client without TLS always builds");
        FederationClient {
            id: config.id(),
            config: Arc::new(config),
            http,
        }
    }

    /// Fetches and validates the config from one guardian's API.
    pub async fn fetch_config(url: &str) -> Result<FederationConfig, ClientError> {
        let fail = |why: String| ClientError::Config {
            url: url.to_string(),
            why,
        };
        let response = reqwest::get(format!("{}/v1/config", url.trim_end_matches('/')))
            .await
            .map_err(|e| fail(e.to_string()))?;
        let config: FederationConfig = response.json().await.map_err(|e| fail(e.to_string()))?;
        config.validate().map_err(|e| fail(e.to_string()))?;
        Ok(config)
    }

    /// The config.
    pub fn config(&self) -> &FederationConfig {
        &self.config
    }

    /// The federation id.
    pub fn id(&self) -> FederationId {
        self.id
    }

    fn threshold(&self) -> usize {
        usize::from(self.config.threshold)
    }

    fn all_peers(&self) -> Vec<PeerId> {
        self.config.guardians.keys().copied().collect()
    }

    /// Spends `inputs` for new notes `outputs` (same total), asking `peers`
    /// (all guardians when `None`).
    pub async fn reissue(
        &self,
        inputs: &[SpendableNote],
        outputs: &[PendingOutput],
        peers: Option<&[PeerId]>,
    ) -> Result<Issued, ClientError> {
        let request = ReissueRequest::new(
            &self.id,
            inputs.iter().map(|n| (n.note(), n.keypair())).collect(),
            outputs.iter().map(PendingOutput::blinded).collect(),
        );
        self.reissue_request(&request, outputs, peers).await
    }

    /// Sends an already built (e.g. persisted before a crash) reissue.
    pub async fn reissue_request(
        &self,
        request: &ReissueRequest,
        outputs: &[PendingOutput],
        peers: Option<&[PeerId]>,
    ) -> Result<Issued, ClientError> {
        let peers = peers.map_or_else(|| self.all_peers(), <[PeerId]>::to_vec);
        let input_keys: Vec<PublicKey> = request.inputs.iter().map(|n| n.nonce).collect();
        let signing = Signing {
            path: "v1/reissue",
            request,
            own: request.hash(),
            input_keys: &input_keys,
            blinded: &request.outputs,
        };
        self.issue(signing, outputs, &peers).await
    }

    /// Claims the payout of `share` in the block found by `block`, signed by
    /// the share's claim key, as new notes `outputs`.
    pub async fn claim(
        &self,
        block: ShareId,
        share: ShareId,
        claim_key: &Keypair,
        outputs: &[PendingOutput],
    ) -> Result<Issued, ClientError> {
        let blinded = outputs.iter().map(PendingOutput::blinded).collect();
        let request = ClaimRequest::new(&self.id, block, share, blinded, claim_key);
        let peers = self.all_peers();
        let signing = Signing {
            path: "v1/claim",
            request: &request,
            own: request.hash(),
            input_keys: &[claim_key.public_key()],
            blinded: &request.outputs,
        };
        self.issue(signing, outputs, &peers).await
    }

    /// Per nonce, how many guardians hold it as spent.
    pub async fn spent_count(&self, nonces: &[PublicKey]) -> Result<Vec<usize>, ClientError> {
        let request = NoteStateRequest {
            nonces: nonces.to_vec(),
        };
        let answers: Vec<(PeerId, Result<NoteStateResponse, GuardianFailure>)> = self
            .ask_all("v1/note_state", &request, &self.all_peers())
            .await;
        let mut counts = vec![0; nonces.len()];
        let mut failures = Failures::default();
        let mut valid = 0;
        for (peer, answer) in answers {
            match answer {
                Ok(state) if state.spent.len() == nonces.len() => {
                    valid += 1;
                    for (count, spent) in counts.iter_mut().zip(state.spent) {
                        *count += usize::from(spent);
                    }
                }
                Ok(_) => {
                    failures.0.insert(
                        peer,
                        GuardianFailure::Misbehaving("wrong answer length".into()),
                    );
                }
                Err(failure) => {
                    failures.0.insert(peer, failure);
                }
            }
        }
        if valid < self.threshold() {
            return Err(self.not_enough(valid, failures));
        }
        Ok(counts)
    }

    /// The federation's blind signature on each message, if t guardians
    /// signed it (wallet recovery).
    pub async fn recover(
        &self,
        messages: &[BlindedMessage],
    ) -> Result<Vec<Option<(Denomination, BlindedSignature)>>, ClientError> {
        let request = RecoverRequest {
            blinded_messages: messages.to_vec(),
        };
        let answers: Vec<(PeerId, Result<RecoverResponse, GuardianFailure>)> = self
            .ask_all("v1/recover", &request, &self.all_peers())
            .await;
        let mut per_message: Vec<BTreeMap<u64, (Denomination, BlindedSignatureShare)>> =
            vec![BTreeMap::new(); messages.len()];
        let mut failures = Failures::default();
        let mut valid = 0;
        for (peer, answer) in answers {
            let answer = answer.and_then(|a| self.check_recovered(peer, messages, a));
            match answer {
                Ok(signed) => {
                    valid += 1;
                    for (slot, share) in per_message.iter_mut().zip(signed) {
                        if let Some(share) = share {
                            slot.insert(peer.tbs_index(), share);
                        }
                    }
                }
                Err(failure) => {
                    warn!(%peer, %failure, "guardian answer not used for recovery");
                    failures.0.insert(peer, failure);
                }
            }
        }
        if valid < self.threshold() {
            return Err(self.not_enough(valid, failures));
        }
        Ok(per_message
            .into_iter()
            .map(|shares| self.combine_recovered(shares))
            .collect())
    }

    fn combine_recovered(
        &self,
        shares: BTreeMap<u64, (Denomination, BlindedSignatureShare)>,
    ) -> Option<(Denomination, BlindedSignature)> {
        let denomination = shares.values().next()?.0;
        let same: BTreeMap<u64, BlindedSignatureShare> = shares
            .into_iter()
            .filter(|(_, (d, _))| *d == denomination)
            .map(|(peer, (_, share))| (peer, share))
            .take(self.threshold())
            .collect();
        (same.len() == self.threshold()).then(|| (denomination, aggregate_signature_shares(&same)))
    }

    /// Drops recovered shares that do not verify; a guardian with any
    /// invalid share is misbehaving.
    fn check_recovered(
        &self,
        peer: PeerId,
        messages: &[BlindedMessage],
        answer: RecoverResponse,
    ) -> Result<Vec<Option<(Denomination, BlindedSignatureShare)>>, GuardianFailure> {
        if answer.signed.len() != messages.len() || answer.peer != peer {
            return Err(GuardianFailure::Misbehaving(
                "answer does not fit the request".into(),
            ));
        }
        let mut checks = Vec::new();
        for (message, signed) in messages.iter().zip(&answer.signed) {
            if let Some((denomination, share)) = signed {
                checks.push(self.share_check(peer, *denomination, *message, *share)?);
            }
        }
        if !batch_check(&checks) {
            return Err(GuardianFailure::Misbehaving(
                "recovered signature shares do not verify".into(),
            ));
        }
        Ok(answer.signed)
    }

    fn share_check(
        &self,
        peer: PeerId,
        denomination: Denomination,
        message: BlindedMessage,
        share: BlindedSignatureShare,
    ) -> Result<PairingCheck, GuardianFailure> {
        let key = self
            .config
            .keys(denomination)
            .and_then(|k| k.shares.get(&peer))
            .ok_or_else(|| GuardianFailure::Misbehaving(format!("no key for {denomination}")))?;
        Ok(PairingCheck {
            message: message.0,
            signature: share.0,
            key: key.0,
        })
    }

    /// Asks `peers` one at a time, in ascending id order, until t of them
    /// gave valid signature shares, combines those into notes, and sends the
    /// request to the remaining peers in the background.
    ///
    /// Why one at a time and in one global order: two clients spending the
    /// same input in parallel through different guardians could each lock
    /// some guardians and both end short of t, the input stuck for good.
    /// Walking guardians in the same order, the first guardian both reach
    /// decides, and the loser stops there, refused with proof that the
    /// input's own key signed the other request. After that point the loser
    /// locks nothing more, so the winner meets no guardian the loser holds:
    /// exactly one of them completes. A refusal without such proof is a
    /// guardian's lie: it is named and the walk goes on.
    async fn issue<R: Serialize + Sync>(
        &self,
        signing: Signing<'_, R>,
        outputs: &[PendingOutput],
        peers: &[PeerId],
    ) -> Result<Issued, ClientError> {
        let Signing {
            path,
            request,
            own,
            input_keys,
            blinded,
        } = signing;
        let threshold = self.threshold();
        let mut peers = peers.to_vec();
        peers.sort();
        peers.dedup();
        let body = serde_json::to_vec(request).expect("requests always serialize");
        let mut valid: BTreeMap<u64, Vec<BlindedSignatureShare>> = BTreeMap::new();
        let mut failures = Failures::default();
        for (asked, peer) in peers.iter().enumerate() {
            if valid.len() == threshold {
                self.send_in_background(path, &body, &peers[asked..]);
                break;
            }
            if valid.len() + (peers.len() - asked) < threshold {
                break;
            }
            let answer =
                post::<SignatureShares>(self.http.clone(), self.url(*peer, path), body.clone())
                    .await
                    .and_then(|a| self.check_shares(*peer, blinded, a));
            match answer {
                Ok(shares) => {
                    valid.insert(peer.tbs_index(), shares);
                }
                Err(GuardianFailure::Refused(error)) if error.conflict.is_some() => {
                    let proven = error.conflict.as_ref().is_some_and(|c| {
                        input_keys.iter().any(|key| c.proves(&self.id, &own, key))
                    });
                    if proven {
                        failures.0.insert(*peer, GuardianFailure::Refused(error));
                        return Err(self.not_enough(valid.len(), failures));
                    }
                    let why = "it refused with a conflict that no input key signed".to_string();
                    warn!(%peer, why, "guardian misbehaves");
                    failures.0.insert(*peer, GuardianFailure::Misbehaving(why));
                }
                Err(failure) => {
                    if let GuardianFailure::Misbehaving(why) = &failure {
                        warn!(%peer, why, "guardian misbehaves: its signature shares were not used");
                    }
                    failures.0.insert(*peer, failure);
                }
            }
        }
        if valid.len() < threshold {
            return Err(self.not_enough(valid.len(), failures));
        }
        Ok(Issued {
            notes: combine(outputs, &valid),
            failures,
        })
    }

    /// Posts an answered request to the guardians not yet asked, so every
    /// honest guardian ends up holding its locks; answers are not needed.
    fn send_in_background(&self, path: &str, body: &[u8], peers: &[PeerId]) {
        for peer in peers {
            let (http, url, body) = (self.http.clone(), self.url(*peer, path), body.to_vec());
            tokio::spawn(async move {
                if let Err(failure) = post::<SignatureShares>(http, url.clone(), body).await {
                    tracing::debug!(url, %failure, "late copy of an answered request");
                }
            });
        }
    }

    /// Verifies all of one guardian's shares in one batch.
    fn check_shares(
        &self,
        peer: PeerId,
        outputs: &[BlindedOutput],
        answer: SignatureShares,
    ) -> Result<Vec<BlindedSignatureShare>, GuardianFailure> {
        if answer.peer != peer || answer.shares.len() != outputs.len() {
            return Err(GuardianFailure::Misbehaving(
                "answer does not fit the request (wrong guardian or share count)".into(),
            ));
        }
        let checks = outputs
            .iter()
            .zip(&answer.shares)
            .map(|(output, share)| {
                self.share_check(peer, output.denomination, output.blinded_message, *share)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !batch_check(&checks) {
            return Err(GuardianFailure::Misbehaving(
                "its blind signature shares do not verify against its public key shares".into(),
            ));
        }
        Ok(answer.shares)
    }

    fn not_enough(&self, valid: usize, failures: Failures) -> ClientError {
        ClientError::NotEnoughAnswers {
            valid,
            threshold: self.threshold(),
            failures,
        }
    }

    /// Posts `request` to each peer in its own task (so a slow guardian still
    /// gets and commits the request after we have enough answers).
    fn send_all<R: Serialize + Sync, T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        request: &R,
        peers: &[PeerId],
    ) -> FuturesUnordered<impl std::future::Future<Output = (PeerId, Result<T, GuardianFailure>)>>
    {
        let body = serde_json::to_vec(request).expect("requests always serialize");
        peers
            .iter()
            .map(|peer| {
                let url = self.url(*peer, path);
                let task = tokio::spawn(post::<T>(self.http.clone(), url, body.clone()));
                let peer = *peer;
                async move {
                    let answer = task
                        .await
                        .unwrap_or_else(|e| Err(GuardianFailure::Unreachable(e.to_string())));
                    (peer, answer)
                }
            })
            .collect()
    }

    async fn ask_all<R: Serialize + Sync, T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        request: &R,
        peers: &[PeerId],
    ) -> Vec<(PeerId, Result<T, GuardianFailure>)> {
        self.send_all(path, request, peers).collect().await
    }

    fn url(&self, peer: PeerId, path: &str) -> String {
        let base = self
            .config
            .guardians
            .get(&peer)
            .map(|g| g.api_url.trim_end_matches('/').to_string())
            .unwrap_or_default();
        format!("{base}/{path}")
    }

    /// Checks notes' federation signatures locally (one batch; one by one
    /// to name the first invalid note).
    pub fn verify_notes(&self, notes: &[Note]) -> Result<(), usize> {
        let mut checks = Vec::with_capacity(notes.len());
        for (index, note) in notes.iter().enumerate() {
            let keys = self.config.keys(note.denomination).ok_or(index)?;
            checks.push(PairingCheck {
                message: note.message().0,
                signature: note.signature.0,
                key: keys.aggregate.0,
            });
        }
        if batch_check(&checks) {
            return Ok(());
        }
        Err(crate::crypto::failing_checks(&checks)
            .first()
            .copied()
            .unwrap_or(0))
    }
}

/// Lagrange-combines t verified shares per output and unblinds.
fn combine(
    outputs: &[PendingOutput],
    valid: &BTreeMap<u64, Vec<BlindedSignatureShare>>,
) -> Vec<SpendableNote> {
    outputs
        .iter()
        .enumerate()
        .map(|(i, output)| {
            let shares: BTreeMap<u64, BlindedSignatureShare> = valid
                .iter()
                .map(|(peer, shares)| (*peer, shares[i]))
                .collect();
            output.finish(aggregate_signature_shares(&shares))
        })
        .collect()
}

async fn post<T: DeserializeOwned>(
    http: reqwest::Client,
    url: String,
    body: Vec<u8>,
) -> Result<T, GuardianFailure> {
    let response = http
        .post(&url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| GuardianFailure::Unreachable(e.to_string()))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| GuardianFailure::Unreachable(e.to_string()))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|e| GuardianFailure::Misbehaving(format!("malformed answer: {e}")));
    }
    match serde_json::from_slice::<ApiError>(&bytes) {
        Ok(error) => Err(GuardianFailure::Refused(error)),
        Err(_) => Err(GuardianFailure::Unreachable(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&bytes)
        ))),
    }
}
