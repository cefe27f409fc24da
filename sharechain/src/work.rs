//! Work: the expected number of hashes behind a share, the unit in which the
//! best chain is chosen and PPLNS payouts are weighted.

use std::fmt;

use bitcoin::Target;

/// Expected hashes to meet a target, `2^256 / (target + 1)`, as bitcoin counts it.
///
/// Held in a `u128`: a share's work exceeds `2^128` only if its target is below
/// `2^128`, a difficulty no hardware reaches (`2^128` hashes per share), so
/// [`Work::from_target`] saturates there instead of carrying 256 bits through
/// every sum. Sums are checked: a chain whose cumulative work would overflow
/// is rejected, never wrapped.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Work(u128);

impl Work {
    /// No work at all: the cumulative work before the first share.
    pub const ZERO: Work = Work(0);

    /// Work from a raw count of expected hashes.
    pub const fn from_u128(hashes: u128) -> Self {
        Work(hashes)
    }

    /// The expected hashes as a number.
    pub const fn to_u128(self) -> u128 {
        self.0
    }

    /// The work of one share whose hash had to meet `target`, saturating at
    /// `u128::MAX` for targets below `2^128` (see the type's docs).
    pub fn from_target(target: Target) -> Self {
        let bytes = target.to_work().to_le_bytes();
        let (low, high) = bytes.split_at(16);
        if high.iter().any(|b| *b != 0) {
            return Work(u128::MAX);
        }
        let low: [u8; 16] = low.try_into().expect("split_at(16) of 32 bytes leaves 16");
        Work(u128::from_le_bytes(low))
    }

    /// `self + other`, or `None` when the sum does not fit.
    pub fn checked_add(self, other: Work) -> Option<Work> {
        self.0.checked_add(other.0).map(Work)
    }

    /// `self - other`, or `None` when `other` is larger.
    pub fn checked_sub(self, other: Work) -> Option<Work> {
        self.0.checked_sub(other.0).map(Work)
    }
}

impl fmt::Display for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Work({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_of_difficulty_one_is_about_two_to_the_32() {
        let work = Work::from_target(Target::MAX_ATTAINABLE_MAINNET);
        // 2^256 / (0xffff * 2^208 + 1) = 2^32 * 65536/65535, just above 2^32.
        assert_eq!(work.to_u128(), 0x1_0001_0001);
    }

    #[test]
    fn tiny_target_saturates_instead_of_wrapping() {
        let mut bytes = [0u8; 32];
        bytes[15] = 1; // 2^120: below 2^128
        let target = Target::from_le_bytes(bytes);
        assert_eq!(Work::from_target(target), Work::from_u128(u128::MAX));
    }

    #[test]
    fn harder_target_means_more_work() {
        let easy = Work::from_target(Target::MAX_ATTAINABLE_REGTEST);
        let hard = Work::from_target(Target::MAX_ATTAINABLE_MAINNET);
        assert!(hard > easy);
        assert_eq!(easy.to_u128(), 2);
    }

    #[test]
    fn sums_are_checked() {
        assert_eq!(
            Work::from_u128(u128::MAX).checked_add(Work::from_u128(1)),
            None
        );
        assert_eq!(Work::from_u128(1).checked_sub(Work::from_u128(2)), None);
        assert_eq!(
            Work::from_u128(2).checked_add(Work::from_u128(3)),
            Some(Work::from_u128(5))
        );
    }
}
