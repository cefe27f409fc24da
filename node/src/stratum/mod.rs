//! Stratum V1 server for real miners (ASICs, CPU miners): subscribe with
//! session resume, authorize, BIP 310 version rolling, suggest_difficulty,
//! extranonce subscribe, vardiff (difficulties below 1 allowed), submit
//! validation, and accepted shares handed to a [`SolutionSink`].
//!
//! Jobs come in through a `tokio::sync::watch` channel (see [`job_channel`]).

pub mod connection;
pub mod difficulty;
pub mod error;
pub mod extranonce;
pub mod job;
pub mod line;
pub mod protocol;
pub mod server;
pub mod session;
pub mod sink;
pub mod stats;
pub mod submit;
pub mod vardiff;

use std::sync::Arc;

use tokio::sync::watch;

pub use connection::Limits;
pub use difficulty::Difficulty;
pub use error::{ServerError, StratumError};
pub use job::{Job, JobId, JobParts};
pub use server::{StratumConfig, StratumServer};
pub use session::SessionConfig;
pub use sink::{DiscardSink, Solution, SolutionSink};
pub use stats::{StratumSnapshot, StratumStats, WorkerSnapshot};
pub use vardiff::VardiffConfig;

/// The sending side of the job channel.
pub type JobSender = watch::Sender<Option<Arc<Job>>>;
/// The receiving side of the job channel, given to [`StratumServer::start`].
pub type JobReceiver = watch::Receiver<Option<Arc<Job>>>;

/// A job channel with no job yet.
pub fn job_channel() -> (JobSender, JobReceiver) {
    watch::channel(None)
}
