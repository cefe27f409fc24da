//! Hashes that name requests, the messages spend proofs sign, and batched
//! pairing checks.
//!
//! A BLS check `e(m, pk) == e(sig, g2)` costs two pairings. For many
//! signatures we check one random linear combination instead:
//! `e(Σ r_i·sig_i, -g2) · Π_pk e(Σ_{i: pk_i = pk} r_i·m_i, pk) == 1`, with
//! independent random 128-bit `r_i`. One multi-Miller loop with one pair per
//! distinct key plus one, and one final exponentiation; a forged signature
//! passes with probability about 2^-128. On failure the caller checks one by
//! one to name the culprit.

use std::collections::HashMap;

use bitcoin::hashes::{sha256, Hash, HashEngine};
use bls12_381::{multi_miller_loop, G1Affine, G1Projective, G2Affine, G2Prepared, Gt, Scalar};
use group::Curve;
use rand::RngCore;

/// `sha256(sha256(tag) ‖ sha256(tag) ‖ parts...)`, the BIP340 tagged hash.
pub fn tagged_hash(tag: &str, parts: &[&[u8]]) -> [u8; 32] {
    let tag_hash = sha256::Hash::hash(tag.as_bytes());
    let mut engine = sha256::Hash::engine();
    engine.input(tag_hash.as_ref());
    engine.input(tag_hash.as_ref());
    for part in parts {
        engine.input(part);
    }
    sha256::Hash::from_engine(engine).to_byte_array()
}

/// One pairing equation `e(message, key) == e(signature, g2)` to check.
#[derive(Clone, Copy, Debug)]
pub struct PairingCheck {
    /// The (blinded) message in G1.
    pub message: G1Affine,
    /// The signature (share) in G1.
    pub signature: G1Affine,
    /// The public key (share) in G2.
    pub key: G2Affine,
}

/// Whether every equation holds, checked as one random linear combination.
/// An empty batch holds.
pub fn batch_check(checks: &[PairingCheck]) -> bool {
    match checks {
        [] => return true,
        [one] => return single_check(one),
        _ => {}
    }
    let mut rng = rand::thread_rng();
    let mut signature_sum = G1Projective::identity();
    // Group by key: messages signed under the same key share one pairing.
    let mut by_key: HashMap<[u8; 96], (G2Affine, G1Projective)> = HashMap::new();
    for check in checks {
        let r = random_scalar(&mut rng);
        signature_sum += check.signature * r;
        let entry = by_key
            .entry(check.key.to_compressed())
            .or_insert((check.key, G1Projective::identity()));
        entry.1 += check.message * r;
    }
    let neg_g2 = G2Prepared::from(-G2Affine::generator());
    let signature_sum = signature_sum.to_affine();
    let grouped: Vec<(G1Affine, G2Prepared)> = by_key
        .into_values()
        .map(|(key, messages)| (messages.to_affine(), G2Prepared::from(key)))
        .collect();
    let mut terms: Vec<(&G1Affine, &G2Prepared)> = vec![(&signature_sum, &neg_g2)];
    terms.extend(grouped.iter().map(|(m, k)| (m, k)));
    multi_miller_loop(&terms).final_exponentiation() == Gt::identity()
}

/// One equation with one multi-Miller loop (cheaper than two full pairings).
pub fn single_check(check: &PairingCheck) -> bool {
    let neg_g2 = G2Prepared::from(-G2Affine::generator());
    let key = G2Prepared::from(check.key);
    multi_miller_loop(&[(&check.signature, &neg_g2), (&check.message, &key)]).final_exponentiation()
        == Gt::identity()
}

/// The indices of the equations that fail: the slow path once a batch failed.
pub fn failing_checks(checks: &[PairingCheck]) -> Vec<usize> {
    checks
        .iter()
        .enumerate()
        .filter(|(_, check)| !single_check(check))
        .map(|(i, _)| i)
        .collect()
}

/// 128 random bits: enough for the batch (forgery odds 2^-128) at half the
/// entropy cost; the scalar multiplication costs the same either way.
fn random_scalar(rng: &mut impl RngCore) -> Scalar {
    let mut wide = [0u8; 64];
    rng.fill_bytes(&mut wide[..16]);
    Scalar::from_bytes_wide(&wide)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tbs::{blind_message, sign_message, BlindingKey, Message, SecretKeyShare};

    fn check(seed: u64, key: &SecretKeyShare) -> PairingCheck {
        let message = blind_message(
            Message::from_bytes(&seed.to_le_bytes()),
            BlindingKey::random(),
        );
        PairingCheck {
            message: message.0,
            signature: sign_message(message, *key).0,
            key: crate::tbs::derive_pk_share(key).0,
        }
    }

    #[test]
    fn batch_accepts_valid_and_rejects_one_bad_signature() {
        let keys = [
            SecretKeyShare(Scalar::from(7u64)),
            SecretKeyShare(Scalar::from(9u64)),
        ];
        let mut checks: Vec<PairingCheck> =
            (0..6).map(|i| check(i, &keys[i as usize % 2])).collect();
        assert!(batch_check(&checks));
        checks[3].signature = checks[2].signature;
        assert!(!batch_check(&checks));
        assert_eq!(failing_checks(&checks), vec![3]);
    }
}
