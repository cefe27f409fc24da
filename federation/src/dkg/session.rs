//! The DKG as a pure state machine (no I/O, no clock): Joint-Feldman for a
//! batch of denominations in two rounds.
//!
//! 1. Deal: every guardian deals a random polynomial of degree `t - 1` per
//!    denomination, sends everyone the same commitments and each guardian its
//!    own shares. Each received share is checked against the commitments.
//! 2. Echo: once it holds every deal, a guardian sends everyone a digest of
//!    each dealer's commitments as it received them; all digests must match,
//!    so no dealer can show different polynomials to different guardians.
//!
//! Any deviation stops the run with a [`DkgError`] naming the guardian at
//! fault; [`Dkg::abort_messages`] tells the others whom we accuse.

use std::collections::BTreeMap;

use bls12_381::{G2Affine, G2Projective, Scalar};
use group::Curve;
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

use super::feldman::{evaluate_commitments, sum_commitments, verify_share, Polynomial};
use libp2p::identity::{Keypair, PublicKey};

use super::message::{Abort, Deal, DkgMessage, Echo, Point, SecretScalar, SignedDigest};
use super::{DkgError, GuardianIndex, GuardianRef, SessionId};

/// What one run is about; every guardian must hold identical values except `us`.
#[derive(Clone, Debug)]
pub struct DkgParams {
    /// Binds every message to this run (hash of roster and parameters).
    pub session: SessionId,
    /// Names of all guardians, in guardian-index order.
    pub names: Vec<String>,
    /// Their setup strings, in the same order (sent along with our deal).
    pub setups: Vec<String>,
    /// Their libp2p public keys, in the same order: dealers sign their
    /// commitments with them.
    pub keys: Vec<PublicKey>,
    /// Our own position in `names`.
    pub us: GuardianIndex,
    /// Shares needed to sign.
    pub threshold: usize,
    /// How many keys (one per denomination) to generate.
    pub denominations: usize,
}

impl DkgParams {
    fn guardians(&self) -> impl Iterator<Item = GuardianIndex> {
        (0..self.names.len() as u16).map(GuardianIndex)
    }

    fn peers(&self) -> impl Iterator<Item = GuardianIndex> + '_ {
        let us = self.us;
        self.guardians().filter(move |g| *g != us)
    }

    /// The guardian with its name, for errors.
    pub fn guardian(&self, index: GuardianIndex) -> GuardianRef {
        GuardianRef {
            index,
            name: self
                .names
                .get(usize::from(index.0))
                .cloned()
                .unwrap_or_else(|| "<not a guardian>".to_string()),
        }
    }
}

/// Which round the run is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// Waiting for deals.
    Deal,
    /// Waiting for echoes.
    Echo,
    /// Finished: [`Dkg::output`] holds the keys.
    Done,
}

impl std::fmt::Display for Round {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Round::Deal => "1 (deal)",
            Round::Echo => "2 (echo)",
            Round::Done => "done",
        })
    }
}

/// A message to send to one guardian.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// Recipient.
    pub to: GuardianIndex,
    /// Content.
    pub message: DkgMessage,
}

/// One dealer's verified contribution, as we received it.
struct ReceivedDeal {
    commitments: Vec<Vec<G2Affine>>,
    shares: Vec<Scalar>,
    signed: SignedDigest,
}

impl ReceivedDeal {
    fn matches(&self, deal: &Deal) -> bool {
        points(&self.commitments) == deal.commitments
            && self
                .shares
                .iter()
                .copied()
                .map(SecretScalar)
                .eq(deal.shares.iter().copied())
    }
}

/// The keys a run produced, for one guardian.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkgOutput {
    /// Shares needed to sign.
    pub threshold: usize,
    /// Per denomination, the public keys (identical at every guardian).
    pub public: Vec<JointKeys>,
    /// Per denomination, our secret key share (ours alone).
    pub secret: Vec<SecretScalar>,
}

/// The public keys of one denomination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JointKeys {
    /// The key signatures verify against: the sum of the dealers' constant terms.
    pub aggregate: G2Affine,
    /// Per guardian (in index order), its public key share, to check its
    /// signature shares.
    pub shares: Vec<G2Affine>,
}

/// One guardian's side of a run.
pub struct Dkg {
    params: DkgParams,
    deals: BTreeMap<GuardianIndex, ReceivedDeal>,
    echoes: BTreeMap<GuardianIndex, Vec<SignedDigest>>,
    our_digests: Option<Vec<SignedDigest>>,
    output: Option<DkgOutput>,
}

impl Dkg {
    /// Starts a run: deals our polynomials and returns the deals to send;
    /// `signer` is our libp2p key (the one `params.keys` lists for us).
    pub fn start(
        params: DkgParams,
        signer: &Keypair,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> (Self, Vec<Outgoing>) {
        let polynomials: Vec<Polynomial> = (0..params.denominations)
            .map(|_| Polynomial::random(params.threshold, rng))
            .collect();
        let commitments: Vec<Vec<G2Affine>> = polynomials.iter().map(Polynomial::commit).collect();
        let shares_for = |g: GuardianIndex| -> Vec<Scalar> {
            polynomials.iter().map(|p| p.share_for(g)).collect()
        };
        let digest = commitment_digest(&params.session, params.us, &commitments);
        let signed = SignedDigest {
            digest,
            signature: signer.sign(&digest).expect("ed25519 signing does not fail"),
        };
        let outgoing = params
            .peers()
            .map(|to| Outgoing {
                to,
                message: DkgMessage::Deal(Deal {
                    session: params.session,
                    roster: params.setups.clone(),
                    commitments: points(&commitments),
                    shares: shares_for(to).into_iter().map(SecretScalar).collect(),
                    signature: signed.signature.clone(),
                }),
            })
            .collect();
        let own = ReceivedDeal {
            shares: shares_for(params.us),
            commitments,
            signed,
        };
        let mut dkg = Dkg {
            deals: BTreeMap::from([(params.us, own)]),
            params,
            echoes: BTreeMap::new(),
            our_digests: None,
            output: None,
        };
        // A federation of one needs no peers: the echo round is trivially complete.
        let mut outgoing: Vec<Outgoing> = outgoing;
        outgoing.extend(dkg.advance().expect("our own deal is consistent"));
        (dkg, outgoing)
    }

    /// The run's parameters.
    pub fn params(&self) -> &DkgParams {
        &self.params
    }

    /// The current round.
    pub fn round(&self) -> Round {
        if self.output.is_some() {
            Round::Done
        } else if self.our_digests.is_some() {
            Round::Echo
        } else {
            Round::Deal
        }
    }

    /// The guardians whose message for the current round we still need.
    pub fn waiting_for(&self) -> Vec<GuardianRef> {
        let have: Vec<GuardianIndex> = match self.round() {
            Round::Deal => self.deals.keys().copied().collect(),
            Round::Echo => self.echoes.keys().copied().collect(),
            Round::Done => return Vec::new(),
        };
        self.params
            .peers()
            .filter(|g| !have.contains(g))
            .map(|g| self.params.guardian(g))
            .collect()
    }

    /// The keys, once the run is done.
    pub fn output(&self) -> Option<&DkgOutput> {
        self.output.as_ref()
    }

    /// Handles a message from guardian `from` (authenticated by the
    /// transport); returns the messages to send next, or the fault that ends the run.
    pub fn handle(
        &mut self,
        from: GuardianIndex,
        message: DkgMessage,
    ) -> Result<Vec<Outgoing>, DkgError> {
        let sender = self.params.guardian(from);
        if from == self.params.us || usize::from(from.0) >= self.params.names.len() {
            return Err(DkgError::UnexpectedMessage {
                guardian: sender,
                what: "message from outside the federation".into(),
            });
        }
        if *message.session() != self.params.session {
            return Err(self.session_mismatch(sender, &message));
        }
        match message {
            DkgMessage::Deal(deal) => self.on_deal(from, deal)?,
            DkgMessage::Echo(echo) => self.on_echo(from, echo)?,
            DkgMessage::Abort(abort) => {
                return Err(DkgError::PeerAborted {
                    by: sender,
                    accused: self.params.guardian(abort.accused),
                    reason: abort.reason,
                })
            }
        }
        self.advance()
    }

    /// The messages that tell every other guardian that we stop, accusing
    /// `accused` for `reason`.
    pub fn abort_messages(&self, accused: GuardianIndex, reason: String) -> Vec<Outgoing> {
        self.params
            .peers()
            .map(|to| Outgoing {
                to,
                message: DkgMessage::Abort(Abort {
                    session: self.params.session,
                    accused,
                    reason: reason.clone(),
                }),
            })
            .collect()
    }

    /// Explains a foreign session: which setup strings differ, if any.
    fn session_mismatch(&self, guardian: GuardianRef, message: &DkgMessage) -> DkgError {
        let DkgMessage::Deal(deal) = message else {
            return DkgError::WrongSession { guardian };
        };
        let only_in = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter()
                .filter(|s| !b.contains(s))
                .map(|s| describe_setup(s))
                .collect()
        };
        let only_theirs = only_in(&deal.roster, &self.params.setups);
        let only_ours = only_in(&self.params.setups, &deal.roster);
        if only_theirs.is_empty() && only_ours.is_empty() {
            return DkgError::WrongSession { guardian };
        }
        DkgError::RosterMismatch {
            guardian,
            only_theirs,
            only_ours,
        }
    }

    fn on_deal(&mut self, from: GuardianIndex, deal: Deal) -> Result<(), DkgError> {
        let dealer = self.params.guardian(from);
        if let Some(earlier) = self.deals.get(&from) {
            // A transport retry repeats a deal whose acknowledgement was lost.
            if earlier.matches(&deal) {
                return Ok(());
            }
            return Err(DkgError::UnexpectedMessage {
                guardian: dealer,
                what: "a second, different deal".into(),
            });
        }
        self.check_shape(&deal)
            .map_err(|reason| DkgError::MalformedDeal {
                guardian: dealer.clone(),
                reason,
            })?;
        let commitments: Vec<Vec<G2Affine>> = deal
            .commitments
            .iter()
            .map(|c| c.iter().map(|p| p.0).collect())
            .collect();
        let shares: Vec<Scalar> = deal.shares.iter().map(|s| s.0).collect();
        let digest = commitment_digest(&self.params.session, from, &commitments);
        if !self.params.keys[usize::from(from.0)].verify(&digest, &deal.signature) {
            return Err(DkgError::MalformedDeal {
                guardian: dealer,
                reason: "its commitments are not signed with its libp2p key".into(),
            });
        }
        for (denomination, (c, s)) in commitments.iter().zip(&shares).enumerate() {
            if !verify_share(c, self.params.us, s) {
                return Err(DkgError::BadShare {
                    dealer,
                    denomination,
                });
            }
        }
        tracing::debug!(dealer = %dealer, "deal verified");
        let signed = SignedDigest {
            digest,
            signature: deal.signature,
        };
        self.deals.insert(
            from,
            ReceivedDeal {
                commitments,
                shares,
                signed,
            },
        );
        Ok(())
    }

    /// Syntax of a deal: one commitment vector of length `t` and one share
    /// per denomination.
    fn check_shape(&self, deal: &Deal) -> Result<(), String> {
        let (d, t) = (self.params.denominations, self.params.threshold);
        if deal.commitments.len() != d || deal.shares.len() != d {
            return Err(format!(
                "{} commitment vectors and {} shares for {d} denominations",
                deal.commitments.len(),
                deal.shares.len()
            ));
        }
        match deal.commitments.iter().position(|c| c.len() != t) {
            Some(i) => Err(format!(
                "{} commitments for denomination {i}, expected the threshold {t}",
                deal.commitments[i].len()
            )),
            None => Ok(()),
        }
    }

    fn on_echo(&mut self, from: GuardianIndex, echo: Echo) -> Result<(), DkgError> {
        let guardian = self.params.guardian(from);
        if let Some(earlier) = self.echoes.get(&from) {
            if *earlier == echo.digests {
                return Ok(());
            }
            return Err(DkgError::UnexpectedMessage {
                guardian,
                what: "a second, different echo".into(),
            });
        }
        if echo.digests.len() != self.params.names.len() {
            return Err(DkgError::UnexpectedMessage {
                guardian,
                what: format!("an echo of {} dealers", echo.digests.len()),
            });
        }
        self.echoes.insert(from, echo.digests);
        Ok(())
    }

    /// Moves to the next round when the current one is complete.
    fn advance(&mut self) -> Result<Vec<Outgoing>, DkgError> {
        let mut outgoing = Vec::new();
        let n = self.params.names.len();
        if self.our_digests.is_none() && self.deals.len() == n {
            let digests: Vec<SignedDigest> = self
                .deals
                .values()
                .map(|deal| deal.signed.clone())
                .collect();
            outgoing = self
                .params
                .peers()
                .map(|to| Outgoing {
                    to,
                    message: DkgMessage::Echo(Echo {
                        session: self.params.session,
                        digests: digests.clone(),
                    }),
                })
                .collect();
            self.our_digests = Some(digests);
        }
        if let Some(ours) = &self.our_digests {
            self.check_echoes(ours)?;
            if self.output.is_none() && self.echoes.len() == n - 1 {
                self.output = Some(self.combine());
            }
        }
        Ok(outgoing)
    }

    /// Compares every echo received so far with what we saw. A differing
    /// digest that carries a valid signature of its dealer proves the dealer
    /// signed two different commitment sets; one without is the witness's lie.
    fn check_echoes(&self, ours: &[SignedDigest]) -> Result<(), DkgError> {
        for (witness, theirs) in &self.echoes {
            let differs = ours
                .iter()
                .zip(theirs)
                .position(|(a, b)| a.digest != b.digest);
            if let Some(d) = differs {
                let dealer = GuardianIndex(d as u16);
                let signed = &theirs[d];
                let proven = self.params.keys[d].verify(&signed.digest, &signed.signature);
                return Err(if proven && dealer != self.params.us {
                    DkgError::InconsistentBroadcast {
                        dealer: self.params.guardian(dealer),
                        witness: self.params.guardian(*witness),
                    }
                } else {
                    DkgError::FalseEcho {
                        guardian: self.params.guardian(*witness),
                    }
                });
            }
        }
        Ok(())
    }

    /// The joint keys: our secret is the sum of the shares we received; the
    /// public keys come from the summed commitments.
    fn combine(&self) -> DkgOutput {
        let n = self.params.names.len();
        let public = (0..self.params.denominations)
            .map(|d| {
                let joint = sum_commitments(
                    self.params.threshold,
                    self.deals
                        .values()
                        .map(|deal| deal.commitments[d].as_slice()),
                );
                let shares: Vec<G2Projective> = self
                    .params
                    .guardians()
                    .map(|g| evaluate_commitments(&joint, g))
                    .collect();
                let mut affine = vec![G2Affine::identity(); n];
                G2Projective::batch_normalize(&shares, &mut affine);
                JointKeys {
                    aggregate: joint[0],
                    shares: affine,
                }
            })
            .collect();
        let secret = (0..self.params.denominations)
            .map(|d| SecretScalar(self.deals.values().map(|deal| deal.shares[d]).sum()))
            .collect();
        DkgOutput {
            threshold: self.params.threshold,
            public,
            secret,
        }
    }
}

/// `sha256("sharemint/dkg-echo" ‖ session ‖ dealer ‖ commitments)`: what a
/// guardian echoes for one dealer.
pub fn commitment_digest(
    session: &SessionId,
    dealer: GuardianIndex,
    commitments: &[Vec<G2Affine>],
) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"sharemint/dkg-echo");
    hash.update(session.0);
    hash.update(dealer.0.to_le_bytes());
    for point in commitments.iter().flatten() {
        hash.update(point.to_compressed());
    }
    hash.finalize().into()
}

/// "name (peer id)" of a setup string, or a note that it is unreadable.
fn describe_setup(setup: &str) -> String {
    match super::setup::GuardianSetup::decode(setup) {
        Ok(g) => format!("{} (peer id {})", g.name, g.peer_id),
        Err(e) => format!("an unreadable setup string ({e})"),
    }
}

fn points(commitments: &[Vec<G2Affine>]) -> Vec<Vec<Point>> {
    commitments
        .iter()
        .map(|c| c.iter().copied().map(Point).collect())
        .collect()
}

impl DkgOutput {
    /// Our public key share for each denomination equals `secret * G2`: a
    /// last self-check before anything is written.
    pub fn is_consistent(&self, us: GuardianIndex) -> bool {
        self.public.iter().zip(&self.secret).all(|(keys, secret)| {
            keys.shares
                .get(usize::from(us.0))
                .is_some_and(|share| *share == (G2Projective::generator() * secret.0).to_affine())
        })
    }
}
