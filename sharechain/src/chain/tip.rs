//! How the best chain moved: what a caller needs to re-issue Stratum jobs and
//! to tell which shares stopped (or started) counting.

use crate::types::ShareId;

/// A change of the best chain's tip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TipChange {
    /// The tip before; `None` when the chain was empty.
    pub old_tip: Option<ShareId>,
    /// The tip now.
    pub new_tip: ShareId,
    /// Shares that left the best chain, from the old tip downwards. Empty
    /// when the new tip simply extends the old one.
    pub disconnected: Vec<ShareId>,
    /// Shares that joined the best chain, upwards, ending with the new tip.
    pub connected: Vec<ShareId>,
}

impl TipChange {
    /// True when shares left the best chain, not just a plain extension.
    pub fn is_reorg(&self) -> bool {
        !self.disconnected.is_empty()
    }
}
