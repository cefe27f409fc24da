//! The uncle rules: which recent orphan shares a share may reference. One
//! copy, used by share validation ([`crate::validation`]) and by the chain
//! index (for orphans that connect later, for a reload, and to pick uncle
//! candidates for a new job). The numbers are [`ConsensusParams::max_uncles`]
//! and [`ConsensusParams::max_uncle_depth`]; what uncles earn is
//! [`ConsensusParams::uncle_weight_percent`] (see [`crate::pplns`]).
//!
//! A share at height `h` whose parent is `P` may list an uncle `U` when:
//! - it lists at most `max_uncles`, each once, and none is `P`; a share
//!   without parent lists none;
//! - `U` is not an ancestor of the share (it is paid already as part of the chain);
//! - `h - max_uncle_depth <= height(U) < h`: recent, and not a sibling of
//!   the share itself (whose miner should have built on it instead);
//! - no ancestor of the share within that depth listed `U` already;
//! - `U`'s parent is an ancestor of the share (`U` branched off this very
//!   chain). An uncle without a parent (a competing first share) is refused.

use std::collections::HashSet;

use crate::params::ConsensusParams;
use crate::types::ShareId;
use crate::validation::ShareError;
use crate::view::{ChainView, ShareSummary};

/// Checks on the uncle list alone (count, duplicates, the parent listed as
/// an uncle, uncles of a first share): no chain needed.
pub fn check_uncle_list(
    uncles: &[ShareId],
    prev: Option<ShareId>,
    params: &ConsensusParams,
) -> Result<(), ShareError> {
    if uncles.len() > params.max_uncles {
        return Err(ShareError::TooManyUncles {
            count: uncles.len(),
            max: params.max_uncles,
        });
    }
    for (i, id) in uncles.iter().enumerate() {
        if uncles[..i].contains(id) {
            return Err(ShareError::DuplicateUncle(*id));
        }
        if Some(*id) == prev {
            return Err(ShareError::UncleInChain(*id));
        }
    }
    if prev.is_none() && !uncles.is_empty() {
        return Err(ShareError::GenesisUncles);
    }
    Ok(())
}

/// The last few ancestors of a new share and the uncles they referenced:
/// everything the per-uncle rules look at.
pub struct Ancestry {
    /// Ancestor ids, parent first.
    ids: Vec<ShareId>,
    referenced: HashSet<ShareId>,
    /// Height of the share being checked (parent + 1).
    height: u32,
    max_depth: u32,
}

impl Ancestry {
    /// Walks `max_uncle_depth + 1` ancestors down from the parent (fewer
    /// near a first share). An ancestor missing from `chain` is reported as
    /// [`ShareError::MissingShares`].
    pub fn walk(
        chain: &impl ChainView,
        parent_id: ShareId,
        parent: &ShareSummary,
        params: &ConsensusParams,
    ) -> Result<Ancestry, ShareError> {
        let count = params.max_uncle_depth.saturating_add(1) as usize;
        let mut ids = vec![parent_id];
        let mut referenced: HashSet<ShareId> = parent.uncles.iter().copied().collect();
        let mut next = parent.prev;
        while ids.len() < count {
            let Some(id) = next else { break };
            let summary = chain
                .share(&id)
                .ok_or_else(|| ShareError::MissingShares(vec![id]))?;
            referenced.extend(summary.uncles.iter().copied());
            ids.push(id);
            next = summary.prev;
        }
        Ok(Ancestry {
            ids,
            referenced,
            height: parent.height.saturating_add(1),
            max_depth: params.max_uncle_depth,
        })
    }

    /// The rules for one uncle `uncle` (known to the chain as `summary`).
    pub fn check_uncle(&self, uncle: ShareId, summary: &ShareSummary) -> Result<(), ShareError> {
        if self.ids.contains(&uncle) {
            return Err(ShareError::UncleInChain(uncle));
        }
        if summary.height >= self.height
            || summary.height.saturating_add(self.max_depth) < self.height
        {
            return Err(ShareError::UncleTooDeep {
                uncle,
                uncle_height: summary.height,
                height: self.height,
            });
        }
        if self.referenced.contains(&uncle) {
            return Err(ShareError::UncleAlreadyReferenced(uncle));
        }
        // Its parent must be one of our ancestors: an uncle is a sibling
        // that lost a race, not a share of some other fork.
        match summary.prev {
            Some(prev) if self.ids.contains(&prev) => Ok(()),
            _ => Err(ShareError::UncleNotSibling(uncle)),
        }
    }
}

/// Every uncle rule for a share with parent `parent_id` (known to `chain` as
/// `parent`) listing `uncles`, each known to `chain`. The list checks of
/// [`check_uncle_list`] are the caller's (they need no chain).
pub fn check_uncles(
    chain: &impl ChainView,
    params: &ConsensusParams,
    parent_id: ShareId,
    parent: &ShareSummary,
    uncles: &[(ShareId, ShareSummary)],
) -> Result<(), ShareError> {
    if uncles.is_empty() {
        return Ok(());
    }
    let ancestry = Ancestry::walk(chain, parent_id, parent, params)?;
    for (id, summary) in uncles {
        ancestry.check_uncle(*id, summary)?;
    }
    Ok(())
}
