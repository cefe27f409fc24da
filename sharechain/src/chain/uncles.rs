//! The uncle rules: which recent orphan shares a share may reference, and
//! what they are worth. The checks live in [`crate::chain::ChainIndex`], which
//! has the ancestry they need; the numbers and the reasons live here.
//!
//! A share at height `h` whose parent is `P` may list an uncle `U` when:
//! - `1 <= h - height(U) <= MAX_UNCLE_DEPTH`: recent, and not a sibling of
//!   the share itself (whose miner should have built on it instead);
//! - `U` is not an ancestor of the share (it is paid already as part of the chain);
//! - `U`'s parent is an ancestor of the share (`U` branched off this very
//!   chain; for a first share, both have no parent);
//! - no ancestor of the share above `U`'s height listed `U` already, and the
//!   share lists it once.
//!
//! At most [`MAX_UNCLES`] per share. An uncle's work counts in the cumulative
//! work of every chain that includes it, so orphaning a share does not
//! remove its work from the race. In PPLNS an uncle is paid
//! [`UNCLE_WEIGHT_TENTHS`]/10 of its work, and the share that included it
//! earns the other tenth on top of its own work.

/// How far below a share an uncle may be, in shares. Three shares of
/// latency is 30 s at a 10 s share interval: a share that took that long to
/// arrive is late, not merely unlucky, and deeper uncles only give an
/// attacker more room to withhold shares and release them as uncles.
pub const MAX_UNCLE_DEPTH: u32 = 3;

/// How many uncles one share may list. With 10 s shares and gossip latency
/// below a second, more than one orphan per interval is rare; three covers
/// bursts, and more would be a sign of an attack (and lengthens the
/// per-share bookkeeping every node does).
pub const MAX_UNCLES: usize = 3;

/// Tenths of its own work an uncle earns in PPLNS (p2poolv2's 90%). The
/// remaining tenth goes to the share that included it: enough that including
/// uncles pays (no miner leaves them out to look better), small enough that
/// a miner gains nothing by orphaning others' shares on purpose, since the
/// victim still earns nine tenths and the attacker only one.
pub const UNCLE_WEIGHT_TENTHS: u128 = 9;
