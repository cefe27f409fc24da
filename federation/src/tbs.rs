//! Threshold blind BLS signatures on BLS12-381: the scheme of `fedimint-tbs`
//! (signatures and messages in G1, keys in G2, shares interpolated at
//! `x = peer + 1`), written against `bls12_381` directly.
//!
//! Why not the `fedimint-tbs` crate itself: it depends on `fedimint-core`,
//! which brings about 200 more crates (iroh, lightning, two builds of
//! aws-lc-sys) into a workspace that must build cold on a 2-core CI machine
//! in well under an hour; this module is the few curve operations we use.
//! Messages are hashed to G1 with RFC 9380 (`hash_to_curve`, SSWU, SHA-256)
//! under a Sharemint domain tag.
//!
//! Blind signing: the owner sends `m·b` for a random blinding scalar `b`;
//! guardian `i` answers `m·b·s_i`; any `t` answers interpolate to `m·b·s`;
//! the owner multiplies by `b⁻¹` and holds `m·s`, a plain BLS signature the
//! guardians never saw. A share verifies alone against the guardian's public
//! key share: `e(σ_i, g2) = e(m·b, pk_i)`.

use std::collections::BTreeMap;

use bls12_381::hash_to_curve::{ExpandMsgXmd, HashToCurve};
use bls12_381::{pairing, G1Affine, G1Projective, G2Affine, G2Projective, Scalar};
use group::Curve;
use rand::RngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Domain separation tag for hashing note nonces to G1 (RFC 9380 §3.1).
const HASH_TO_G1_DST: &[u8] = b"SHAREMINT-V1-TBS_BLS12381G1_XMD:SHA-256_SSWU_RO_";

/// A guardian's share of a denomination's signing key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretKeyShare(pub Scalar);

/// The public key matching a [`SecretKeyShare`]: checks that guardian's
/// signature shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKeyShare(pub G2Affine);

/// The federation's public key for a denomination: checks notes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AggregatePublicKey(pub G2Affine);

/// What a note's signature signs: its nonce, hashed to G1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message(pub G1Affine);

/// The owner's secret factor hiding a [`Message`] from the signers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlindingKey(pub Scalar);

/// A [`Message`] times a [`BlindingKey`]: what guardians see and sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlindedMessage(pub G1Affine);

/// One guardian's signature on a [`BlindedMessage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlindedSignatureShare(pub G1Affine);

/// Threshold many shares combined: the federation's signature, still blinded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlindedSignature(pub G1Affine);

/// The federation's plain BLS signature on a [`Message`]: a note's proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature(pub G1Affine);

impl Message {
    /// Hashes bytes to a point of G1 (RFC 9380, random-oracle variant).
    pub fn from_bytes(bytes: &[u8]) -> Message {
        let point = <G1Projective as HashToCurve<ExpandMsgXmd<sha2_09::Sha256>>>::hash_to_curve(
            bytes,
            HASH_TO_G1_DST,
        );
        Message(point.to_affine())
    }
}

impl BlindingKey {
    /// A fresh blinding key from the thread's CSPRNG.
    pub fn random() -> BlindingKey {
        BlindingKey(random_scalar(&mut rand::thread_rng()))
    }
}

/// A uniformly random scalar (512 bits reduced, so the bias is negligible).
pub fn random_scalar(rng: &mut impl RngCore) -> Scalar {
    let mut wide = [0u8; 64];
    rng.fill_bytes(&mut wide);
    Scalar::from_bytes_wide(&wide)
}

/// The public key share for a secret key share.
pub fn derive_pk_share(sk: &SecretKeyShare) -> PublicKeyShare {
    PublicKeyShare((G2Projective::generator() * sk.0).to_affine())
}

/// Hides a message: `m·b`.
pub fn blind_message(message: Message, blinding_key: BlindingKey) -> BlindedMessage {
    BlindedMessage((message.0 * blinding_key.0).to_affine())
}

/// One guardian's share of the signature on a blinded message.
pub fn sign_message(message: BlindedMessage, key: SecretKeyShare) -> BlindedSignatureShare {
    BlindedSignatureShare((message.0 * key.0).to_affine())
}

/// Whether `share` is the guardian's honest signature on `message`.
pub fn verify_signature_share(
    message: BlindedMessage,
    share: BlindedSignatureShare,
    key: PublicKeyShare,
) -> bool {
    pairing(&share.0, &G2Affine::generator()) == pairing(&message.0, &key.0)
}

/// Combines signature shares keyed by guardian index (`x = index + 1`).
/// The caller passes exactly threshold many verified shares; more shares from
/// the same polynomial give the same result, fewer give garbage.
pub fn aggregate_signature_shares(
    shares: &BTreeMap<u64, BlindedSignatureShare>,
) -> BlindedSignature {
    let points: Vec<(u64, G1Projective)> = shares
        .iter()
        .map(|(peer, share)| (*peer, G1Projective::from(share.0)))
        .collect();
    BlindedSignature(interpolate_at_zero(&points).to_affine())
}

/// The aggregate key from threshold many public key shares, keyed as in
/// [`aggregate_signature_shares`].
pub fn aggregate_public_key_shares(shares: &BTreeMap<u64, PublicKeyShare>) -> AggregatePublicKey {
    let points: Vec<(u64, G2Projective)> = shares
        .iter()
        .map(|(peer, share)| (*peer, G2Projective::from(share.0)))
        .collect();
    AggregatePublicKey(interpolate_at_zero(&points).to_affine())
}

/// Removes the blinding: `(m·b·s)·b⁻¹ = m·s`.
pub fn unblind_signature(blinding_key: BlindingKey, signature: BlindedSignature) -> Signature {
    // A zero blinding key has no inverse; it would also have blinded the
    // message to the identity, which no honest client sends.
    let inverse = blinding_key.0.invert().unwrap_or(Scalar::zero());
    Signature((signature.0 * inverse).to_affine())
}

/// Whether `signature` is the federation's signature on `message`.
pub fn verify(message: Message, signature: Signature, key: AggregatePublicKey) -> bool {
    pairing(&signature.0, &G2Affine::generator()) == pairing(&message.0, &key.0)
}

/// Lagrange interpolation of group elements at zero, for points
/// `x = index + 1`.
fn interpolate_at_zero<G>(points: &[(u64, G)]) -> G
where
    G: group::Group<Scalar = Scalar>,
{
    let xs: Vec<Scalar> = points
        .iter()
        .map(|(index, _)| Scalar::from(index + 1))
        .collect();
    points
        .iter()
        .zip(&xs)
        .fold(G::identity(), |sum, ((_, point), x_i)| {
            let (numerator, denominator) = xs
                .iter()
                .filter(|x_j| *x_j != x_i)
                .fold((Scalar::one(), Scalar::one()), |(num, den), x_j| {
                    (num * x_j, den * (x_j - x_i))
                });
            // Distinct indices make every denominator non-zero.
            let coefficient = numerator * denominator.invert().unwrap_or(Scalar::zero());
            sum + *point * coefficient
        })
}

/// Serde as lowercase hex of the canonical encoding; decoding rejects bytes
/// that are not a valid element, so a forged point is an error, not a panic.
macro_rules! hex_serde {
    ($ty:ident, $inner:ty, $len:expr, $to:ident, $from:ident) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&hex::encode(self.0.$to()))
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                use serde::de::Error;
                let text = String::deserialize(deserializer)?;
                let bytes = hex::decode(&text).map_err(D::Error::custom)?;
                let bytes: [u8; $len] = bytes.try_into().map_err(|_| {
                    D::Error::custom(concat!("expected ", stringify!($len), " bytes"))
                })?;
                Option::<$inner>::from(<$inner>::$from(&bytes))
                    .map($ty)
                    .ok_or_else(|| D::Error::custom(concat!("not a valid ", stringify!($ty))))
            }
        }
    };
}

/// Hash by canonical encoding, so points can key maps (the curve types
/// implement no `Hash`).
macro_rules! hash_by_encoding {
    ($($ty:ident),*) => {$(
        impl std::hash::Hash for $ty {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.0.to_compressed().hash(state);
            }
        }
    )*};
}

hash_by_encoding!(
    PublicKeyShare,
    AggregatePublicKey,
    Message,
    BlindedMessage,
    BlindedSignatureShare,
    BlindedSignature,
    Signature
);

hex_serde!(SecretKeyShare, Scalar, 32, to_bytes, from_bytes);
hex_serde!(BlindingKey, Scalar, 32, to_bytes, from_bytes);
hex_serde!(PublicKeyShare, G2Affine, 96, to_compressed, from_compressed);
hex_serde!(
    AggregatePublicKey,
    G2Affine,
    96,
    to_compressed,
    from_compressed
);
hex_serde!(Message, G1Affine, 48, to_compressed, from_compressed);
hex_serde!(BlindedMessage, G1Affine, 48, to_compressed, from_compressed);
hex_serde!(
    BlindedSignatureShare,
    G1Affine,
    48,
    to_compressed,
    from_compressed
);
hex_serde!(
    BlindedSignature,
    G1Affine,
    48,
    to_compressed,
    from_compressed
);
hex_serde!(Signature, G1Affine, 48, to_compressed, from_compressed);

#[cfg(test)]
mod tests {
    use super::*;

    /// A t-of-n dealing (the test dealer's): shares and the aggregate key.
    fn deal(threshold: u16, peers: usize) -> (Vec<SecretKeyShare>, AggregatePublicKey) {
        let (aggregate, shares) = crate::dealer::deal_key(threshold, peers);
        (shares, aggregate)
    }

    #[test]
    fn any_threshold_subset_signs_and_the_signature_verifies_unblinded() {
        let (shares, aggregate) = deal(3, 4);
        let message = Message::from_bytes(b"nonce");
        let blinding = BlindingKey::random();
        let blinded = blind_message(message, blinding);
        for skip in 0..4u64 {
            let signed: BTreeMap<u64, BlindedSignatureShare> = (0..4u64)
                .filter(|peer| *peer != skip)
                .map(|peer| (peer, sign_message(blinded, shares[peer as usize])))
                .collect();
            for (peer, share) in &signed {
                let key = derive_pk_share(&shares[*peer as usize]);
                assert!(verify_signature_share(blinded, *share, key));
            }
            let signature = unblind_signature(blinding, aggregate_signature_shares(&signed));
            assert!(
                verify(message, signature, aggregate),
                "subset without peer {skip}"
            );
            assert!(!verify(Message::from_bytes(b"other"), signature, aggregate));
        }
    }

    #[test]
    fn public_key_shares_interpolate_to_the_aggregate_key() {
        let (shares, aggregate) = deal(3, 4);
        let keys: BTreeMap<u64, PublicKeyShare> = (1..4u64)
            .map(|peer| (peer, derive_pk_share(&shares[peer as usize])))
            .collect();
        assert_eq!(aggregate_public_key_shares(&keys), aggregate);
    }

    #[test]
    fn a_share_from_the_wrong_key_fails_its_check() {
        let (shares, _) = deal(3, 4);
        let blinded = blind_message(Message::from_bytes(b"n"), BlindingKey::random());
        let forged = sign_message(blinded, shares[1]);
        assert!(!verify_signature_share(
            blinded,
            forged,
            derive_pk_share(&shares[0])
        ));
    }

    #[test]
    fn hashing_is_deterministic_and_domain_separated() {
        assert_eq!(Message::from_bytes(b"a"), Message::from_bytes(b"a"));
        assert_ne!(Message::from_bytes(b"a"), Message::from_bytes(b"b"));
    }

    #[test]
    fn serde_round_trips_and_rejects_points_off_the_curve() {
        let signature = Signature(Message::from_bytes(b"x").0);
        let json = serde_json::to_string(&signature).unwrap();
        assert_eq!(serde_json::from_str::<Signature>(&json).unwrap(), signature);
        let garbage = format!("\"{}\"", "ab".repeat(48));
        assert!(serde_json::from_str::<Signature>(&garbage).is_err());
        assert!(serde_json::from_str::<Signature>("\"abcd\"").is_err());
    }
}
