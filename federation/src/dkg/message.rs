//! The DKG's messages between guardians and their wire encoding: JSON with
//! curve points and scalars as hex of their canonical bytes (96-byte
//! compressed G2 points, 32-byte little-endian scalars), each checked on
//! decoding (on the curve, in the prime-order subgroup, below the modulus).

use bls12_381::{G2Affine, Scalar};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use super::{GuardianIndex, SessionId};

/// One message of the DKG, always sent to one guardian over the
/// authenticated, encrypted channel; a "broadcast" is the same content sent
/// to every guardian, made safe by the echo round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DkgMessage {
    /// Round 1: the sender's commitments (the same for everyone) and the
    /// recipient's shares (for the recipient only).
    Deal(Deal),
    /// Round 2: digests of every dealer's commitments as the sender saw them.
    Echo(Echo),
    /// The sender stopped because a guardian misbehaved.
    Abort(Abort),
}

impl DkgMessage {
    /// The session the message belongs to.
    pub fn session(&self) -> &SessionId {
        match self {
            DkgMessage::Deal(deal) => &deal.session,
            DkgMessage::Echo(echo) => &echo.session,
            DkgMessage::Abort(abort) => &abort.session,
        }
    }

    /// Short name for logs and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            DkgMessage::Deal(_) => "deal",
            DkgMessage::Echo(_) => "echo",
            DkgMessage::Abort(_) => "abort",
        }
    }
}

/// A dealer's round-1 message to one guardian.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deal {
    /// The run this deal belongs to.
    pub session: SessionId,
    /// The sender's setup strings of all guardians, in guardian order: when
    /// sessions differ, tells the recipient which guardian's string differs.
    pub roster: Vec<String>,
    /// Per denomination, the `t` Feldman commitments of the dealer's polynomial.
    pub commitments: Vec<Vec<Point>>,
    /// Per denomination, the dealer's polynomial evaluated at the recipient.
    pub shares: Vec<SecretScalar>,
    /// The dealer's libp2p-key signature over the digest of its commitments
    /// ([`super::session::commitment_digest`]): lets echoes prove what it sent.
    #[serde(with = "hex_bytes")]
    pub signature: Vec<u8>,
}

/// A guardian's round-2 message: what it saw every dealer broadcast.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Echo {
    /// The run this echo belongs to.
    pub session: SessionId,
    /// Per dealer, in guardian order, the digest of the commitments the
    /// sender received and the dealer's signature over it.
    pub digests: Vec<SignedDigest>,
}

/// A digest of one dealer's commitments, signed by that dealer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedDigest {
    /// See [`super::session::commitment_digest`].
    #[serde(with = "hex_bytes")]
    pub digest: [u8; 32],
    /// The dealer's libp2p-key signature over `digest`.
    #[serde(with = "hex_bytes")]
    pub signature: Vec<u8>,
}

/// Sent to everyone before a guardian gives up, so the others stop at once
/// and learn whom it accuses instead of waiting for a timeout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Abort {
    /// The run being aborted.
    pub session: SessionId,
    /// The guardian the sender found misbehaving.
    pub accused: GuardianIndex,
    /// What the sender saw, for the operator.
    pub reason: String,
}

/// A G2 point (a Feldman commitment), hex of its 96-byte compressed form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point(pub G2Affine);

impl Serialize for Point {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0.to_compressed()))
    }
}

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes: [u8; 96] = hex_array(d)?;
        Option::from(G2Affine::from_compressed(&bytes))
            .map(Point)
            .ok_or_else(|| de::Error::custom("not a point of the G2 subgroup"))
    }
}

/// A secret share scalar, hex of its 32 canonical bytes; never printed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SecretScalar(pub Scalar);

impl std::fmt::Debug for SecretScalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretScalar(..)")
    }
}

impl Serialize for SecretScalar {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0.to_bytes()))
    }
}

impl<'de> Deserialize<'de> for SecretScalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes: [u8; 32] = hex_array(d)?;
        Option::from(Scalar::from_bytes(&bytes))
            .map(SecretScalar)
            .ok_or_else(|| de::Error::custom("scalar not below the group order"))
    }
}

/// Byte strings as hex in JSON.
mod hex_bytes {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer, T: AsRef<[u8]>>(bytes: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: TryFrom<Vec<u8>>>(
        d: D,
    ) -> Result<T, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bytes = hex::decode(text.as_ref()).map_err(serde::de::Error::custom)?;
        T::try_from(bytes).map_err(|_| serde::de::Error::custom("wrong length"))
    }

    use serde::Deserialize;
}

/// A fixed-length byte array from a hex string.
fn hex_array<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    let bytes = hex::decode(text.as_ref()).map_err(de::Error::custom)?;
    bytes
        .try_into()
        .map_err(|_| de::Error::custom(format!("expected {N} bytes")))
}

/// Largest encoded message accepted off the wire: a deal for 64
/// denominations with `t = 67` (n = 100) is about 1 MiB of JSON.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;

/// Encodes a message for the wire.
pub fn encode(message: &DkgMessage) -> Vec<u8> {
    serde_json::to_vec(message).expect("a DKG message always serialises")
}

/// Decodes a message received from a guardian.
pub fn decode(bytes: &[u8]) -> Result<DkgMessage, serde_json::Error> {
    serde_json::from_slice(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bls12_381::G2Projective;
    use group::Curve;

    #[test]
    fn a_deal_round_trips_and_a_bad_point_is_refused() {
        let point = (G2Projective::generator() * Scalar::from(7u64)).to_affine();
        let deal = DkgMessage::Deal(Deal {
            session: SessionId([3; 32]),
            roster: vec!["x".into()],
            commitments: vec![vec![Point(point)]],
            shares: vec![SecretScalar(Scalar::from(9u64))],
            signature: vec![1, 2, 3],
        });
        let bytes = encode(&deal);
        assert_eq!(decode(&bytes).unwrap(), deal);

        let text = String::from_utf8(bytes).unwrap();
        let hex_point = hex::encode(point.to_compressed());
        let mut broken = hex::decode(&hex_point).unwrap();
        broken[50] ^= 1;
        let forged = text.replace(&hex_point, &hex::encode(broken));
        assert!(decode(forged.as_bytes()).is_err());
    }

    #[test]
    fn a_scalar_above_the_order_is_refused() {
        let json = format!("\"{}\"", "ff".repeat(32));
        assert!(serde_json::from_str::<SecretScalar>(&json).is_err());
    }
}
