//! A trusted dealer: one machine draws every key. For tests only; a real
//! federation runs a distributed key generation so no machine ever holds a
//! whole signing key (decision 4). Not compiled without the `testing` feature.

use crate::tbs;
use std::collections::BTreeMap;

use crate::tbs::{AggregatePublicKey, PublicKeyShare, SecretKeyShare};
use bitcoin::Network;
use bls12_381::Scalar;
use group::ff::Field;

use crate::config::{
    federation_descriptor, threshold_for, DenominationKeys, FederationConfig, GuardianConfig,
    PeerId, CONFIG_VERSION,
};
use crate::denomination::powers_of_two;
use crate::secrets::GuardianSecrets;

/// A config for `n` guardians with denominations `2^0 .. 2^max_exponent`
/// msat, and each guardian's secrets. `api_url(i)` names guardian i's endpoint.
pub fn deal(
    n: usize,
    network: Network,
    max_exponent: u8,
    api_url: impl Fn(usize) -> String,
) -> (FederationConfig, Vec<GuardianSecrets>) {
    let threshold = threshold_for(n);
    let peers: Vec<PeerId> = (0..n as u16).map(PeerId).collect();
    let multisig: Vec<secp256k1::SecretKey> = (0..n)
        .map(|_| secp256k1::SecretKey::new(&mut rand::thread_rng()))
        .collect();
    let mut denominations = BTreeMap::new();
    let mut shares: Vec<BTreeMap<_, _>> = vec![BTreeMap::new(); n];
    for denomination in powers_of_two(max_exponent).expect("exponent within range") {
        let (aggregate, secret_shares) = deal_key(threshold, n);
        let public = peers
            .iter()
            .zip(&secret_shares)
            .map(|(peer, sk)| (*peer, tbs::derive_pk_share(sk)))
            .collect::<BTreeMap<PeerId, PublicKeyShare>>();
        for (i, sk) in secret_shares.into_iter().enumerate() {
            shares[i].insert(denomination, sk);
        }
        denominations.insert(
            denomination,
            DenominationKeys {
                aggregate,
                shares: public,
            },
        );
    }
    let guardians = peers
        .iter()
        .zip(&multisig)
        .map(|(peer, key)| {
            let config = GuardianConfig {
                name: format!("guardian-{}", peer.0),
                api_url: api_url(usize::from(peer.0)),
                p2p_peer_id: String::new(),
                multisig_key: bitcoin::PublicKey::new(key.public_key(secp256k1::SECP256K1)),
            };
            (*peer, config)
        })
        .collect::<BTreeMap<_, _>>();
    let keys = guardians
        .values()
        .map(|g: &GuardianConfig| g.multisig_key)
        .collect();
    let descriptor = federation_descriptor(threshold, keys).expect("valid multisig");
    let mut config = FederationConfig {
        version: CONFIG_VERSION,
        network,
        signet_challenge: None,
        guardians,
        threshold,
        descriptor: descriptor.to_string(),
        denominations,
        claim_confirmations: if network == Network::Bitcoin { 100 } else { 2 },
        sharechain_id: [0; 32],
    };
    config.sharechain_id = config.sharechain_config().id().to_byte_array();
    let id = config.id();
    let secrets = peers
        .into_iter()
        .zip(multisig)
        .zip(shares)
        .map(|((peer, multisig_key), key_shares)| GuardianSecrets {
            peer,
            federation_id: id,
            multisig_key,
            key_shares,
        })
        .collect();
    (config, secrets)
}

/// A random polynomial of degree t-1 evaluated at x = 1..=n (Shamir).
pub(crate) fn deal_key(threshold: u16, n: usize) -> (AggregatePublicKey, Vec<SecretKeyShare>) {
    let mut rng = rand::thread_rng();
    let coefficients: Vec<Scalar> = (0..threshold).map(|_| Scalar::random(&mut rng)).collect();
    let aggregate = AggregatePublicKey(tbs::derive_pk_share(&SecretKeyShare(coefficients[0])).0);
    let shares = (0..n as u64)
        .map(|i| {
            let x = Scalar::from(i + 1);
            let y = coefficients
                .iter()
                .rev()
                .fold(Scalar::zero(), |acc, c| acc * x + c);
            SecretKeyShare(y)
        })
        .collect();
    (aggregate, shares)
}

/// Notes worth `amount` signed directly with the first t guardians' key
/// shares, as a test's starting money (real notes come from claims).
pub fn mint(
    config: &FederationConfig,
    secrets: &[GuardianSecrets],
    amount: sharechain::Msat,
) -> Vec<crate::note::SpendableNote> {
    let denominations =
        crate::denomination::split(amount, &config.denomination_list()).expect("amount splits");
    denominations
        .into_iter()
        .map(|denomination| {
            let output = crate::note::PendingOutput::random(denomination);
            let blinded = output.blinded().blinded_message;
            let shares = secrets
                .iter()
                .take(usize::from(config.threshold))
                .map(|s| {
                    let share = tbs::sign_message(blinded, s.key_shares[&denomination]);
                    (s.peer.tbs_index(), share)
                })
                .collect();
            output.finish(tbs::aggregate_signature_shares(&shares))
        })
        .collect()
}
