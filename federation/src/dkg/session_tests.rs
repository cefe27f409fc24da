//! The DKG state machine among in-memory guardians: an honest run yields
//! keys that sign at the threshold, and every fault names its culprit.
//!
//! The faulty dealers here are made by rewriting an honest guardian's
//! messages in flight: a bad share, an equivocating broadcast or a false echo
//! are faults an honest `Dkg` cannot produce, so they can only be injected.

use std::collections::VecDeque;

use bls12_381::{G2Affine, G2Projective, Scalar};
use group::Curve;
use libp2p::identity::Keypair;
use rand::rngs::OsRng;

use super::message::{DkgMessage, Point, SecretScalar};
use super::session::{Dkg, DkgOutput, DkgParams, Outgoing, Round};
use super::{threshold, DkgError, GuardianIndex, SessionId};

const DENOMINATIONS: usize = 3;

struct Net {
    guardians: Vec<Dkg>,
    keys: Vec<Keypair>,
    queue: VecDeque<(GuardianIndex, Outgoing)>,
    errors: Vec<Option<DkgError>>,
}

fn params(n: usize, us: u16, session: SessionId, keys: &[Keypair]) -> DkgParams {
    DkgParams {
        session,
        names: (0..n).map(|i| format!("g{i}")).collect(),
        setups: (0..n).map(|i| format!("setup of g{i}")).collect(),
        keys: keys.iter().map(Keypair::public).collect(),
        us: GuardianIndex(us),
        threshold: threshold(n),
        denominations: DENOMINATIONS,
    }
}

impl Net {
    fn new(n: usize) -> Self {
        let keys: Vec<Keypair> = (0..n).map(|_| Keypair::generate_ed25519()).collect();
        let mut net = Net {
            guardians: Vec::new(),
            queue: VecDeque::new(),
            errors: vec![None; n],
            keys: keys.clone(),
        };
        for us in 0..n as u16 {
            let (dkg, out) = Dkg::start(
                params(n, us, SessionId([7; 32]), &keys),
                &keys[us as usize],
                &mut OsRng,
            );
            net.guardians.push(dkg);
            net.send(GuardianIndex(us), out);
        }
        net
    }

    fn send(&mut self, from: GuardianIndex, out: Vec<Outgoing>) {
        self.queue.extend(out.into_iter().map(|o| (from, o)));
    }

    /// Delivers everything, passing each message through `tamper` first; a
    /// guardian that fails sends its aborts and handles nothing more.
    fn run(&mut self, mut tamper: impl FnMut(GuardianIndex, &mut Outgoing)) {
        while let Some((from, mut out)) = self.queue.pop_front() {
            tamper(from, &mut out);
            let to = usize::from(out.to.0);
            if self.errors[to].is_some() {
                continue;
            }
            match self.guardians[to].handle(from, out.message) {
                Ok(next) => self.send(out.to, next),
                Err(error) => {
                    if let Some(culprit) = error.culprit() {
                        let aborts =
                            self.guardians[to].abort_messages(culprit.index, error.to_string());
                        self.send(out.to, aborts);
                    }
                    self.errors[to] = Some(error);
                }
            }
        }
    }

    fn outputs(&self) -> Vec<&DkgOutput> {
        self.guardians
            .iter()
            .map(|g| g.output().expect("run finished"))
            .collect()
    }

    fn error(&self, g: u16) -> &DkgError {
        self.errors[usize::from(g)]
            .as_ref()
            .expect("guardian failed")
    }
}

fn lagrange_at_zero(indices: &[GuardianIndex]) -> Vec<Scalar> {
    indices
        .iter()
        .map(|i| {
            indices
                .iter()
                .filter(|j| *j != i)
                .map(|j| j.point() * (j.point() - i.point()).invert().unwrap())
                .product()
        })
        .collect()
}

#[test]
fn four_honest_guardians_agree_on_keys_any_three_reconstruct() {
    let mut net = Net::new(4);
    net.run(|_, _| {});
    let outputs = net.outputs();
    for (i, out) in outputs.iter().enumerate() {
        assert_eq!(
            out.public, outputs[0].public,
            "guardian {i} public keys differ"
        );
        assert!(out.is_consistent(GuardianIndex(i as u16)));
        assert_eq!(out.threshold, 3);
    }
    for d in 0..DENOMINATIONS {
        let aggregate = outputs[0].public[d].aggregate;
        for subset in [[0u16, 1, 2], [1, 2, 3], [0, 2, 3]] {
            let indices: Vec<GuardianIndex> = subset.iter().map(|&g| GuardianIndex(g)).collect();
            let secret: Scalar = lagrange_at_zero(&indices)
                .iter()
                .zip(&indices)
                .map(|(l, g)| l * outputs[usize::from(g.0)].secret[d].0)
                .sum();
            assert_eq!((G2Projective::generator() * secret).to_affine(), aggregate);
        }
        // Two shares are not enough: they interpolate to some other key.
        let pair = [GuardianIndex(0), GuardianIndex(1)];
        let guess: Scalar = lagrange_at_zero(&pair)
            .iter()
            .zip(&pair)
            .map(|(l, g)| l * outputs[usize::from(g.0)].secret[d].0)
            .sum();
        assert_ne!((G2Projective::generator() * guess).to_affine(), aggregate);
    }
    // Denominations get independent keys.
    assert_ne!(
        outputs[0].public[0].aggregate,
        outputs[0].public[1].aggregate
    );
}

#[test]
fn a_federation_of_one_finishes_alone() {
    let mut net = Net::new(1);
    net.run(|_, _| {});
    assert_eq!(net.guardians[0].round(), Round::Done);
    assert!(net.outputs()[0].is_consistent(GuardianIndex(0)));
}

#[test]
fn a_bad_share_names_its_dealer_everywhere() {
    let mut net = Net::new(4);
    net.run(|from, out| {
        if let (GuardianIndex(2), GuardianIndex(0), DkgMessage::Deal(deal)) =
            (from, out.to, &mut out.message)
        {
            deal.shares[1] = SecretScalar(deal.shares[1].0 + Scalar::one());
        }
    });
    assert!(
        matches!(net.error(0), DkgError::BadShare { dealer, denomination: 1 } if dealer.index == GuardianIndex(2))
    );
    for g in [1, 2, 3] {
        match net.error(g) {
            DkgError::PeerAborted { by, accused, .. } => {
                assert_eq!(
                    (by.index, accused.index),
                    (GuardianIndex(0), GuardianIndex(2))
                );
            }
            other => panic!("guardian {g}: {other}"),
        }
    }
    assert!(net.guardians.iter().all(|g| g.output().is_none()));
}

#[test]
fn an_equivocating_dealer_is_caught_by_the_echo() {
    let mut net = Net::new(4);
    // Dealer 3 signs a second, different polynomial and shows it to guardian 1
    // (with matching shares, so guardian 1's share check passes).
    let (_, other) = Dkg::start(
        params(4, 3, SessionId([7; 32]), &net.keys),
        &net.keys[3],
        &mut OsRng,
    );
    let other_deal_for_1 = other
        .into_iter()
        .find(|o| o.to == GuardianIndex(1))
        .unwrap();
    net.run(|from, out| {
        if from == GuardianIndex(3)
            && out.to == GuardianIndex(1)
            && matches!(out.message, DkgMessage::Deal(_))
        {
            *out = other_deal_for_1.clone();
        }
    });
    for g in [0, 1, 2] {
        match net.error(g) {
            DkgError::InconsistentBroadcast { dealer, .. } => {
                assert_eq!(dealer.index, GuardianIndex(3))
            }
            DkgError::PeerAborted { accused, .. } => assert_eq!(accused.index, GuardianIndex(3)),
            other => panic!("guardian {g}: {other}"),
        }
    }
    assert!(net.guardians.iter().all(|g| g.output().is_none()));
}

#[test]
fn a_false_echo_names_the_witness_not_the_dealer() {
    let mut net = Net::new(4);
    net.run(|from, out| {
        if let (GuardianIndex(2), DkgMessage::Echo(echo)) = (from, &mut out.message) {
            echo.digests[0].digest[0] ^= 1;
        }
    });
    for g in [0, 1, 3] {
        match net.error(g) {
            DkgError::FalseEcho { guardian } => assert_eq!(guardian.index, GuardianIndex(2)),
            DkgError::PeerAborted { accused, .. } => assert_eq!(accused.index, GuardianIndex(2)),
            other => panic!("guardian {g}: {other}"),
        }
    }
}

#[test]
fn malformed_and_unsigned_deals_name_their_dealer() {
    let mut net = Net::new(4);
    net.run(|from, out| match (from, out.to, &mut out.message) {
        (GuardianIndex(1), GuardianIndex(0), DkgMessage::Deal(deal)) => {
            deal.commitments[2].pop();
        }
        (GuardianIndex(3), GuardianIndex(2), DkgMessage::Deal(deal)) => {
            // Another polynomial's commitments with a share that fits them,
            // but not signed by dealer 3.
            let point = Point(G2Affine::generator());
            deal.commitments = vec![vec![point; 3]; DENOMINATIONS];
            deal.shares = vec![SecretScalar(Scalar::from(3u64)); DENOMINATIONS];
        }
        _ => {}
    });
    assert!(
        matches!(net.error(0), DkgError::MalformedDeal { guardian, .. } if guardian.index == GuardianIndex(1))
    );
    match net.error(2) {
        DkgError::MalformedDeal { guardian, reason } => {
            assert_eq!(guardian.index, GuardianIndex(3));
            assert!(reason.contains("signed"), "{reason}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn another_session_is_refused_and_a_repeated_deal_is_harmless() {
    let keys: Vec<Keypair> = (0..4).map(|_| Keypair::generate_ed25519()).collect();
    let (mut ours, _) = Dkg::start(
        params(4, 0, SessionId([1; 32]), &keys),
        &keys[0],
        &mut OsRng,
    );
    let (_, theirs) = Dkg::start(
        params(4, 1, SessionId([2; 32]), &keys),
        &keys[1],
        &mut OsRng,
    );
    let to_us = theirs
        .into_iter()
        .find(|o| o.to == GuardianIndex(0))
        .unwrap();
    let error = ours.handle(GuardianIndex(1), to_us.message).unwrap_err();
    assert!(
        matches!(error, DkgError::WrongSession { guardian } if guardian.index == GuardianIndex(1))
    );

    let (mut ours, _) = Dkg::start(
        params(4, 0, SessionId([1; 32]), &keys),
        &keys[0],
        &mut OsRng,
    );
    let (_, first) = Dkg::start(
        params(4, 1, SessionId([1; 32]), &keys),
        &keys[1],
        &mut OsRng,
    );
    let (_, second) = Dkg::start(
        params(4, 1, SessionId([1; 32]), &keys),
        &keys[1],
        &mut OsRng,
    );
    let deal = |out: Vec<Outgoing>| {
        out.into_iter()
            .find(|o| o.to == GuardianIndex(0))
            .unwrap()
            .message
    };
    let first = deal(first);
    ours.handle(GuardianIndex(1), first.clone()).unwrap();
    ours.handle(GuardianIndex(1), first).unwrap();
    assert_eq!(ours.waiting_for().len(), 2);
    let error = ours.handle(GuardianIndex(1), deal(second)).unwrap_err();
    assert!(
        matches!(error, DkgError::UnexpectedMessage { guardian, .. } if guardian.index == GuardianIndex(1))
    );
}

#[test]
fn a_different_guardian_list_names_the_differing_setup() {
    let keys: Vec<Keypair> = (0..4).map(|_| Keypair::generate_ed25519()).collect();
    let (mut ours, _) = Dkg::start(
        params(4, 0, SessionId([1; 32]), &keys),
        &keys[0],
        &mut OsRng,
    );
    let mut theirs = params(4, 1, SessionId([2; 32]), &keys);
    theirs.setups[3] = "setup of an impostor".into();
    let (_, out) = Dkg::start(theirs, &keys[1], &mut OsRng);
    let to_us = out.into_iter().find(|o| o.to == GuardianIndex(0)).unwrap();
    match ours.handle(GuardianIndex(1), to_us.message).unwrap_err() {
        DkgError::RosterMismatch {
            guardian,
            only_theirs,
            only_ours,
        } => {
            assert_eq!(guardian.index, GuardianIndex(1));
            assert_eq!((only_theirs.len(), only_ours.len()), (1, 1));
        }
        other => panic!("{other}"),
    }
}
