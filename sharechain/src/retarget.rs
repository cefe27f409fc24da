//! Share difficulty: absolutely scheduled ASERT (aserti3-2d, as Bitcoin Cash
//! and p2poolv2 use it) anchored at the chain's first share, in exact
//! integer arithmetic. Also the checks on a share's claimed target.
//!
//! For a child of parent P (height h_P, time t_P) on a chain whose first
//! share has time t_0:
//!
//! ```text
//! exponent = floor((t_P - t_0 - interval * h_P) * 65536 / half_life)   (16.16 fixed point)
//! target   = initial * 2^(exponent / 65536)
//! ```
//!
//! with 2^frac approximated by the aserti3-2d cubic, then clamped to
//! `[min_share_target, max_share_target]` and encoded as compact bits
//! (rounding down, i.e. slightly harder). Each target is computed from the
//! anchor, never from the previous target, so rounding never accumulates.

use bitcoin::{CompactTarget, Target};

use crate::params::ConsensusParams;

/// The share target demanded of a chain's first share.
pub fn genesis_bits(params: &ConsensusParams) -> CompactTarget {
    params.initial_share_bits
}

/// The share target the retarget rule demands of a child of a share at
/// `parent_height` with time `parent_time`, on a chain whose first share
/// (height 0) has time `anchor_time`.
pub fn expected_bits(
    params: &ConsensusParams,
    anchor_time: u32,
    parent_height: u32,
    parent_time: u32,
) -> CompactTarget {
    let max = params.max_share_target();
    let min = params.min_share_target();
    let time_diff = i128::from(parent_time) - i128::from(anchor_time);
    let ideal = i128::from(params.share_interval_secs) * i128::from(parent_height);
    let half_life = i128::from(params.asert_half_life_secs.max(1));
    // Floor division keeps the rule identical for early and late shares.
    let exponent = ((time_diff - ideal) * 65536).div_euclid(half_life);
    let shifts = exponent.div_euclid(65536);
    let frac = exponent.rem_euclid(65536) as u128;
    // aserti3-2d: 2^(frac/65536) * 65536 within 0.013%, monotone in frac.
    let factor = 65536
        + ((195_766_423_245_049 * frac
            + 971_821_376 * frac * frac
            + 5127 * frac * frac * frac
            + (1u128 << 47))
            >> 48) as u64;

    // target = initial * factor * 2^(shifts - 16)
    let total_shift = shifts - 16;
    let target = if total_shift > 320 {
        max
    } else if total_shift < -320 {
        min
    } else {
        let wide =
            Wide::from_target(Target::from_compact(params.initial_share_bits)).mul_u64(factor);
        let shifted = if total_shift >= 0 {
            wide.shl(total_shift as u32)
        } else {
            Some(wide.shr((-total_shift) as u32))
        };
        match shifted.and_then(Wide::to_target) {
            None => max,
            Some(t) => t.clamp(min, max),
        }
    };
    target.to_compact_lossy()
}

/// Why a share's claimed target is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Bits that no honest encoder writes (negative, overflowing, or not in shortest form).
    #[error("share bits {0:#010x} are not a canonical compact target")]
    NonCanonical(u32),
    /// Easier than the chain's retarget rule demands.
    #[error("share target {got:#010x} is easier than the demanded {expected:#010x}")]
    TooEasy {
        /// Bits in the share.
        got: u32,
        /// Bits demanded.
        expected: u32,
    },
    /// Harder than the demanded target by more than `2^max_harder_shift`.
    #[error("share target {got:#010x} is more than 2^{shift} times harder than the demanded {expected:#010x}")]
    TooHard {
        /// Bits in the share.
        got: u32,
        /// Bits demanded.
        expected: u32,
        /// The allowed shift.
        shift: u8,
    },
}

/// The target for `bits` if they are canonical: mantissa non-negative and
/// non-zero, no overflow past 256 bits, and in the shortest encoding (what
/// `to_compact_lossy` writes), so each target has exactly one encoding.
pub fn target_from_bits(bits: CompactTarget) -> Option<Target> {
    let raw = bits.to_consensus();
    let exponent = raw >> 24;
    let mantissa = raw & 0x00ff_ffff;
    if mantissa == 0 || mantissa > 0x7f_ffff {
        return None;
    }
    // No bits may be shifted past 256.
    let mantissa_bits = 32 - mantissa.leading_zeros();
    if exponent > 3 && mantissa_bits + 8 * (exponent - 3) > 256 {
        return None;
    }
    let target = Target::from_compact(bits);
    (target != Target::ZERO && target.to_compact_lossy() == bits).then_some(target)
}

/// Checks a share's claimed bits against the demanded bits: no easier, and
/// at most `2^max_harder_shift` times harder.
pub fn check_share_bits(
    params: &ConsensusParams,
    claimed: CompactTarget,
    demanded: CompactTarget,
) -> Result<Target, TargetError> {
    let got = target_from_bits(claimed).ok_or(TargetError::NonCanonical(claimed.to_consensus()))?;
    let expected = Target::from_compact(demanded);
    if got > expected {
        return Err(TargetError::TooEasy {
            got: claimed.to_consensus(),
            expected: demanded.to_consensus(),
        });
    }
    let floor = Wide::from_target(expected)
        .shr(u32::from(params.max_harder_shift))
        .to_target()
        .expect("a right shift never overflows");
    if got < floor {
        return Err(TargetError::TooHard {
            got: claimed.to_consensus(),
            expected: demanded.to_consensus(),
            shift: params.max_harder_shift,
        });
    }
    Ok(got)
}

/// A 320-bit unsigned integer (five little-endian u64 limbs): room for a
/// 256-bit target times a 17-bit factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Wide([u64; 5]);

impl Wide {
    fn from_target(t: Target) -> Wide {
        let bytes = t.to_le_bytes();
        let mut limbs = [0u64; 5];
        for (i, limb) in limbs.iter_mut().take(4).enumerate() {
            let mut chunk = [0u8; 8];
            chunk.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            *limb = u64::from_le_bytes(chunk);
        }
        Wide(limbs)
    }

    /// `None` if the value needs more than 256 bits.
    fn to_target(self) -> Option<Target> {
        if self.0[4] != 0 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for i in 0..4 {
            bytes[i * 8..i * 8 + 8].copy_from_slice(&self.0[i].to_le_bytes());
        }
        Some(Target::from_le_bytes(bytes))
    }

    /// Multiplies; the top limb is empty for a target, so a 17-bit factor never overflows.
    fn mul_u64(self, m: u64) -> Wide {
        let mut out = [0u64; 5];
        let mut carry = 0u128;
        for (slot, limb) in out.iter_mut().zip(self.0) {
            let v = u128::from(limb) * u128::from(m) + carry;
            *slot = v as u64;
            carry = v >> 64;
        }
        Wide(out)
    }

    /// `None` when bits would be shifted out of the 320.
    fn shl(self, n: u32) -> Option<Wide> {
        if n >= 320 {
            return (self.0 == [0; 5]).then_some(self);
        }
        let (words, bits) = ((n / 64) as usize, n % 64);
        let mut out = [0u64; 5];
        for i in (0..5).rev() {
            if i < words {
                continue;
            }
            let mut v = self.0[i - words] << bits;
            if bits > 0 && i > words {
                v |= self.0[i - words - 1] >> (64 - bits);
            }
            out[i] = v;
        }
        let back = Wide(out).shr(n);
        (back == self).then_some(Wide(out))
    }

    fn shr(self, n: u32) -> Wide {
        if n >= 320 {
            return Wide([0; 5]);
        }
        let (words, bits) = ((n / 64) as usize, n % 64);
        let mut out = [0u64; 5];
        for (i, slot) in out.iter_mut().enumerate() {
            let src = i + words;
            if src >= 5 {
                break;
            }
            let mut v = self.0[src] >> bits;
            if bits > 0 && src + 1 < 5 {
                v |= self.0[src + 1] << (64 - bits);
            }
            *slot = v;
        }
        Wide(out)
    }
}

#[cfg(test)]
#[path = "retarget_tests.rs"]
mod tests;
