//! Millisatoshis: the unit payouts are computed in, as ecash notes count them.

use std::fmt;

/// An amount in millisatoshis (1/1000 of a satoshi). In JSON (the
/// federation's API, wallets) it is a plain integer of millisatoshis.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Msat(u64);

impl Msat {
    /// Nothing.
    pub const ZERO: Msat = Msat(0);

    /// An amount of `msat` millisatoshis.
    pub const fn from_msat(msat: u64) -> Self {
        Msat(msat)
    }

    /// `sat` satoshis, or `None` when that overflows (above 18 million BTC).
    pub const fn from_sat(sat: u64) -> Option<Self> {
        match sat.checked_mul(1000) {
            Some(msat) => Some(Msat(msat)),
            None => None,
        }
    }

    /// The amount in millisatoshis.
    pub const fn msat(self) -> u64 {
        self.0
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Msat) -> Option<Msat> {
        self.0.checked_add(other.0).map(Msat)
    }
}

impl From<bitcoin::Amount> for Msat {
    /// Exact for every bitcoin amount (at most 21 million BTC = 2.1e18 msat < 2^64).
    fn from(amount: bitcoin::Amount) -> Self {
        Msat(amount.to_sat().saturating_mul(1000))
    }
}

impl fmt::Display for Msat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} msat", self.0)
    }
}

impl fmt::Debug for Msat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Msat({})", self.0)
    }
}
