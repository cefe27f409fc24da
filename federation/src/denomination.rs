//! Denominations: each note is worth a power of two millisatoshis, and the
//! federation holds one signing key per denomination. Splitting an amount
//! into denominations is its binary representation, capped at the largest.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sharechain::Msat;

/// The largest exponent any federation may configure: 2^50 msat is about
/// 11,259 BTC, far above any coinbase, and keeps sums of notes in u64.
pub const MAX_EXPONENT: u8 = 50;

/// A note value of `2^exponent` millisatoshis. Serialized as its value in msat.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Denomination(u8);

/// Why a value is not a usable denomination or an amount cannot be split.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DenominationError {
    /// The value is not a power of two or is above [`MAX_EXPONENT`].
    #[error("{0} msat is not a denomination: denominations are powers of two up to 2^{MAX_EXPONENT} msat")]
    NotPowerOfTwo(u64),
    /// The federation has no key for this denomination.
    #[error("the federation does not issue notes of {0}")]
    Unknown(Denomination),
    /// The amount is zero: there is nothing to split.
    #[error("cannot split an amount of zero into notes")]
    ZeroAmount,
    /// The configured denominations cannot make this amount exactly.
    #[error("{0} msat cannot be made from this federation's denominations")]
    Unrepresentable(u64),
}

impl Denomination {
    /// The denomination worth `2^exponent` msat.
    pub fn from_exponent(exponent: u8) -> Result<Self, DenominationError> {
        if exponent > MAX_EXPONENT {
            return Err(DenominationError::NotPowerOfTwo(u64::MAX));
        }
        Ok(Denomination(exponent))
    }

    /// The denomination worth exactly `msat`, if it is a power of two.
    pub fn from_msat(msat: u64) -> Result<Self, DenominationError> {
        if !msat.is_power_of_two() || msat.trailing_zeros() > u32::from(MAX_EXPONENT) {
            return Err(DenominationError::NotPowerOfTwo(msat));
        }
        Ok(Denomination(msat.trailing_zeros() as u8))
    }

    /// `log2` of the value.
    pub fn exponent(self) -> u8 {
        self.0
    }

    /// The value in millisatoshis.
    pub fn msat(self) -> u64 {
        1u64 << self.0
    }

    /// The value as an [`Msat`].
    pub fn amount(self) -> Msat {
        Msat::from_msat(self.msat())
    }
}

impl fmt::Display for Denomination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} msat", self.msat())
    }
}

impl fmt::Debug for Denomination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Denomination({})", self.msat())
    }
}

impl Serialize for Denomination {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.msat())
    }
}

impl<'de> Deserialize<'de> for Denomination {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let msat = u64::deserialize(deserializer)?;
        Denomination::from_msat(msat).map_err(serde::de::Error::custom)
    }
}

/// The denominations worth `2^0 .. 2^max_exponent` msat.
pub fn powers_of_two(max_exponent: u8) -> Result<Vec<Denomination>, DenominationError> {
    (0..=max_exponent)
        .map(Denomination::from_exponent)
        .collect()
}

/// Sum of denominations, or `None` on overflow.
pub fn total<'a>(denominations: impl IntoIterator<Item = &'a Denomination>) -> Option<Msat> {
    denominations
        .into_iter()
        .try_fold(0u64, |sum, d| sum.checked_add(d.msat()))
        .map(Msat::from_msat)
}

/// Splits `amount` into notes from `available`, largest first: its binary
/// representation, with the largest denomination repeated for anything above
/// it. Fails if the set cannot make the amount exactly (a gap in the set).
pub fn split(
    amount: Msat,
    available: &[Denomination],
) -> Result<Vec<Denomination>, DenominationError> {
    if amount.msat() == 0 {
        return Err(DenominationError::ZeroAmount);
    }
    let mut sorted = available.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    let mut left = amount.msat();
    let mut notes = Vec::new();
    for denomination in sorted {
        while left >= denomination.msat() {
            notes.push(denomination);
            left -= denomination.msat();
        }
    }
    if left != 0 {
        return Err(DenominationError::Unrepresentable(amount.msat()));
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_binary_representation() {
        let all = powers_of_two(10).unwrap();
        let notes = split(Msat::from_msat(0b1011), &all).unwrap();
        let values: Vec<u64> = notes.iter().map(|d| d.msat()).collect();
        assert_eq!(values, vec![8, 2, 1]);
    }

    #[test]
    fn split_repeats_the_largest() {
        let all = powers_of_two(3).unwrap();
        let notes = split(Msat::from_msat(8 * 3 + 1), &all).unwrap();
        assert_eq!(total(&notes), Some(Msat::from_msat(25)));
        assert_eq!(notes.len(), 4);
    }

    #[test]
    fn split_refuses_gaps_and_zero() {
        let gap = vec![Denomination::from_msat(4).unwrap()];
        assert_eq!(
            split(Msat::from_msat(5), &gap),
            Err(DenominationError::Unrepresentable(5))
        );
        assert_eq!(split(Msat::ZERO, &gap), Err(DenominationError::ZeroAmount));
    }

    #[test]
    fn denominations_round_trip_as_msat() {
        let d = Denomination::from_msat(1024).unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), "1024");
        assert!(serde_json::from_str::<Denomination>("1000").is_err());
    }
}
