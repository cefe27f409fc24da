//! Stratum share difficulty: the float miners are told with `mining.set_difficulty`,
//! and its conversion to and from a 256-bit target.
//!
//! Stratum difficulty is a float by protocol (and below 1 on test networks). It
//! only decides which shares the local node counts for vardiff and statistics;
//! consensus (share and block targets) never goes through it.

use std::fmt;

use bitcoin::hashes::Hash;
use bitcoin::pow::Target;
use bitcoin::BlockHash;

/// A positive, finite Stratum difficulty. Difficulty 1 is the target
/// `0x00000000ffff0000...` (bitcoin's difficulty-1 target).
#[derive(Clone, Copy, PartialEq, PartialOrd)]
pub struct Difficulty(f64);

/// Why a number is not a usable difficulty.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("difficulty must be a finite number above zero, got {0}")]
pub struct InvalidDifficulty(pub f64);

impl Difficulty {
    /// Difficulty 1.
    pub const ONE: Difficulty = Difficulty(1.0);

    /// A difficulty from a float; rejects zero, negatives, NaN and infinities.
    pub fn new(value: f64) -> Result<Self, InvalidDifficulty> {
        if value.is_finite() && value > 0.0 {
            Ok(Difficulty(value))
        } else {
            Err(InvalidDifficulty(value))
        }
    }

    /// The float, as sent in `mining.set_difficulty`.
    pub fn as_f64(self) -> f64 {
        self.0
    }

    /// The same difficulty limited to `[min, max]`.
    pub fn clamp(self, min: Difficulty, max: Difficulty) -> Difficulty {
        Difficulty(self.0.clamp(min.0, max.0))
    }

    /// The smaller of two difficulties.
    pub fn min(self, other: Difficulty) -> Difficulty {
        if other.0 < self.0 {
            other
        } else {
            self
        }
    }

    /// The target a header hash must not exceed: `diff1_target / difficulty`,
    /// saturating at the largest 256-bit value for tiny difficulties.
    pub fn to_target(self) -> Target {
        // diff1 = 0xffff * 2^208, so target = (65535 / d) * 2^208.
        let quotient = 65535.0 / self.0;
        Target::from_be_bytes(float_times_pow2(quotient, 208))
    }

    /// The difficulty whose target is at least `target` (a hair easier, so
    /// float rounding never makes it stricter); `None` for a zero target.
    pub fn of_target(target: &Target) -> Option<Difficulty> {
        let value = target.difficulty_float() * (1.0 - 1e-9);
        (value.is_finite() && value > 0.0).then_some(Difficulty(value))
    }

    /// The difficulty a hash actually achieves (`diff1_target / hash`), for
    /// statistics such as the best share.
    pub fn of_hash(hash: BlockHash) -> Difficulty {
        let target = Target::from_le_bytes(hash.to_byte_array());
        let value = target.difficulty_float();
        if value.is_finite() && value > 0.0 {
            Difficulty(value)
        } else {
            // A zero hash: no meaningful float; report the largest one.
            Difficulty(f64::MAX)
        }
    }
}

/// `value * 2^shift` as a big-endian 256-bit integer (fraction dropped),
/// saturating at 2^256 - 1. `value` must be finite and positive.
fn float_times_pow2(value: f64, shift: i32) -> [u8; 32] {
    let bits = value.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    // value = mantissa * 2^(exp2), mantissa a 53-bit integer.
    let (mantissa, exp2) = if exponent == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), exponent - 1075)
    };
    let total = exp2 + shift;
    let mut limbs = [0u64; 4]; // little-endian 64-bit limbs
    if total >= 0 {
        let highest_bit = 64 - mantissa.leading_zeros() as i32 + total;
        if highest_bit > 256 {
            return [0xff; 32];
        }
        let limb = (total / 64) as usize;
        let offset = (total % 64) as u32;
        limbs[limb] = mantissa << offset;
        if offset > 0 && limb + 1 < 4 {
            limbs[limb + 1] = mantissa >> (64 - offset);
        }
    } else if total > -64 {
        limbs[0] = mantissa >> (-total);
    }
    let mut out = [0u8; 32];
    for (i, limb) in limbs.iter().enumerate() {
        out[(3 - i) * 8..(4 - i) * 8].copy_from_slice(&limb.to_be_bytes());
    }
    out
}

impl fmt::Display for Difficulty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= 1000.0 || self.0 < 0.001 {
            write!(f, "{:.4e}", self.0)
        } else {
            write!(f, "{:.4}", self.0)
        }
    }
}

impl fmt::Debug for Difficulty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Difficulty({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn difficulty_one_is_the_diff1_target() {
        assert_eq!(Difficulty::ONE.to_target(), Target::MAX);
    }

    #[test]
    fn powers_of_two_shift_the_target_exactly() {
        let half = Difficulty::new(0.5).unwrap().to_target();
        let mut expected = [0u8; 32];
        expected[3] = 0x01;
        expected[4] = 0xff;
        expected[5] = 0xfe;
        assert_eq!(half.to_be_bytes(), expected);
        let d1024 = Difficulty::new(1024.0).unwrap().to_target().to_be_bytes();
        assert_eq!(&d1024[..8], &[0, 0, 0, 0, 0, 0x3f, 0xff, 0xc0]);
    }

    #[test]
    fn tiny_difficulties_saturate() {
        let t = Difficulty::new(1e-30).unwrap().to_target();
        assert_eq!(t.to_be_bytes(), [0xff; 32]);
    }

    #[test]
    fn rejects_non_positive_and_non_finite() {
        for v in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Difficulty::new(v).is_err());
        }
    }

    #[test]
    fn hash_difficulty_round_trips_through_target() {
        let d = Difficulty::new(3.5).unwrap();
        let hash = BlockHash::from_byte_array(d.to_target().to_le_bytes());
        let back = Difficulty::of_hash(hash).as_f64();
        assert!((back - 3.5).abs() < 1e-9, "{back}");
    }
}
