//! Setting up a federation: each guardian's public setup string, and the
//! distributed key generation (Joint-Feldman on BLS12-381, one key per
//! denomination, for `federation::tbs`) the guardians run over authenticated
//! libp2p connections. No machine ever holds a whole signing key.
//!
//! [`session`] is the protocol as a pure state machine; [`transport`] moves
//! its messages between the guardians; [`run`] drives one to completion.

pub mod feldman;
pub mod files;
pub mod message;
pub mod run;
pub mod session;
pub mod setup;
pub mod transport;

#[cfg(test)]
mod session_tests;

use bls12_381::Scalar;
use serde::{Deserialize, Serialize};

pub use run::{run_dkg, DkgRunError, RunOptions};
pub use session::{Dkg, DkgOutput, DkgParams, JointKeys, Round};
pub use setup::{GuardianInit, GuardianSetup, SetupError};

/// A guardian's position in the federation (0-based, in the order of the
/// sorted setup strings). `federation::tbs` evaluates keys at `index + 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GuardianIndex(pub u16);

impl GuardianIndex {
    /// The polynomial evaluation point of this guardian, `index + 1`.
    pub fn point(self) -> Scalar {
        Scalar::from(u64::from(self.0) + 1)
    }
}

/// A guardian as errors name it: index and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardianRef {
    /// Its index.
    pub index: GuardianIndex,
    /// The name from its setup string.
    pub name: String,
}

impl std::fmt::Display for GuardianRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "guardian {} ({})", self.index.0, self.name)
    }
}

/// Identifies one DKG run: a hash of the roster and every parameter, so
/// guardians with different inputs notice at their first message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionId(pub [u8; 32]);

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// The federation threshold for `n` guardians: `t = n - floor((n - 1) / 3)`,
/// so up to `f = floor((n - 1) / 3)` guardians may fail or lie.
pub fn threshold(n: usize) -> usize {
    n - n.saturating_sub(1) / 3
}

/// A protocol fault that ends a run. Every variant names the guardian at
/// fault; the operator's next step is to contact that guardian and rerun.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum DkgError {
    /// Its messages carry another session id while its guardian list is
    /// ours: its parameters differ.
    #[error("{guardian} runs with other parameters (network, sharechain, denominations or confirmations): all guardians must pass the same options")]
    WrongSession {
        /// The guardian.
        guardian: GuardianRef,
    },
    /// Its list of guardians differs from ours.
    #[error("{guardian} was given other guardian setup strings than we were: it lists [{}] which we do not, and lacks [{}] which we list; one of us has a wrong --peer string", .only_theirs.join(", "), .only_ours.join(", "))]
    RosterMismatch {
        /// The guardian.
        guardian: GuardianRef,
        /// Guardians (name and peer id) it lists and we do not.
        only_theirs: Vec<String>,
        /// Guardians we list and it does not.
        only_ours: Vec<String>,
    },
    /// It sent a message the protocol does not allow here.
    #[error("{guardian} sent {what}")]
    UnexpectedMessage {
        /// The guardian.
        guardian: GuardianRef,
        /// What it sent.
        what: String,
    },
    /// Its deal has the wrong number of commitments or shares.
    #[error("{guardian} sent a malformed deal: {reason}")]
    MalformedDeal {
        /// The dealer.
        guardian: GuardianRef,
        /// What is wrong.
        reason: String,
    },
    /// The share it sent us does not match its own commitments.
    #[error("{dealer} sent us a share for denomination {denomination} that does not match its commitments")]
    BadShare {
        /// The dealer.
        dealer: GuardianRef,
        /// Which denomination's share is wrong.
        denomination: usize,
    },
    /// It showed `witness` other commitments than it showed us.
    #[error("{dealer} broadcast different commitments to {witness} than to us")]
    InconsistentBroadcast {
        /// The equivocating dealer.
        dealer: GuardianRef,
        /// The guardian whose echo revealed it.
        witness: GuardianRef,
    },
    /// It echoed commitments from us that we never sent.
    #[error("{guardian} echoed commitments we never sent")]
    FalseEcho {
        /// The lying guardian.
        guardian: GuardianRef,
    },
    /// Another guardian stopped the run, accusing `accused`.
    #[error("{by} aborted the key generation, accusing {accused}: {reason}")]
    PeerAborted {
        /// Who stopped.
        by: GuardianRef,
        /// Whom it accuses.
        accused: GuardianRef,
        /// Its reason.
        reason: String,
    },
}

impl DkgError {
    /// The guardian this error holds responsible, if we saw the fault
    /// ourselves (not for [`DkgError::PeerAborted`], which is hearsay).
    pub fn culprit(&self) -> Option<&GuardianRef> {
        match self {
            DkgError::WrongSession { guardian }
            | DkgError::RosterMismatch { guardian, .. }
            | DkgError::UnexpectedMessage { guardian, .. }
            | DkgError::MalformedDeal { guardian, .. }
            | DkgError::FalseEcho { guardian } => Some(guardian),
            DkgError::BadShare { dealer, .. } | DkgError::InconsistentBroadcast { dealer, .. } => {
                Some(dealer)
            }
            DkgError::PeerAborted { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn threshold_tolerates_a_third_minus_one() {
        let table = [
            (1, 1),
            (2, 2),
            (3, 3),
            (4, 3),
            (5, 4),
            (7, 5),
            (10, 7),
            (100, 67),
        ];
        for (n, t) in table {
            assert_eq!(super::threshold(n), t, "n = {n}");
        }
    }
}
