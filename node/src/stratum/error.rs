//! Errors: the standard Stratum V1 error codes a miner sees, and the server's own failures.

use std::io;
use std::net::SocketAddr;

/// Why a request from a miner was refused. Each maps to one of the standard
/// Stratum error codes 20 to 25 and is sent as `[code, message, null]`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StratumError {
    /// Code 21: the job id is unknown, usually a stale job from before a new tip.
    #[error("job not found (stale or unknown job id)")]
    JobNotFound,
    /// Code 22: the same share was already accepted on this connection.
    #[error("duplicate share")]
    Duplicate,
    /// Code 23: the share's hash does not meet the connection's difficulty.
    #[error("low difficulty share")]
    LowDifficulty,
    /// Code 24: the worker is not authorized on this connection.
    #[error("unauthorized worker: send mining.authorize for it first")]
    Unauthorized,
    /// Code 25: a request that needs `mining.subscribe` came before it.
    #[error("not subscribed: send mining.subscribe first")]
    NotSubscribed,
    /// Code 20: extranonce2 is not hex of exactly the subscribed size.
    #[error("invalid extranonce2: expected {expected} bytes as hex")]
    BadExtranonce2 {
        /// The extranonce2 size announced in `mining.subscribe`.
        expected: usize,
    },
    /// Code 20: ntime below the template's minimum or too far in the future.
    #[error("ntime out of range: must be between {min:08x} and {max:08x}")]
    NtimeOutOfRange {
        /// Lowest acceptable ntime.
        min: u32,
        /// Highest acceptable ntime.
        max: u32,
    },
    /// Code 20: version bits outside the mask negotiated with `mining.configure`.
    #[error("version bits outside the negotiated mask {mask:08x}")]
    BadVersionBits {
        /// The negotiated version-rolling mask (0 without `mining.configure`).
        mask: u32,
    },
    /// Code 20: a known method with parameters of the wrong shape.
    #[error("invalid params for {method}: {detail}")]
    InvalidParams {
        /// The method called.
        method: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// Code 20: a method this server does not implement.
    #[error("unknown method {0:?}")]
    UnknownMethod(String),
    /// Code 20: the line is not a JSON-RPC request.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// Code 20: the line exceeds the maximum length; the connection is closed.
    #[error("line longer than {max} bytes, closing the connection")]
    LineTooLong {
        /// The limit in bytes.
        max: usize,
    },
}

impl StratumError {
    /// The standard Stratum error code.
    pub fn code(&self) -> i32 {
        match self {
            StratumError::JobNotFound => 21,
            StratumError::Duplicate => 22,
            StratumError::LowDifficulty => 23,
            StratumError::Unauthorized => 24,
            StratumError::NotSubscribed => 25,
            _ => 20,
        }
    }

    /// A short stable name for statistics ("rejected shares by reason").
    pub fn reason(&self) -> &'static str {
        match self {
            StratumError::JobNotFound => "job-not-found",
            StratumError::Duplicate => "duplicate",
            StratumError::LowDifficulty => "low-difficulty",
            StratumError::Unauthorized => "unauthorized",
            StratumError::NotSubscribed => "not-subscribed",
            StratumError::BadExtranonce2 { .. } => "bad-extranonce2",
            StratumError::NtimeOutOfRange { .. } => "ntime-out-of-range",
            StratumError::BadVersionBits { .. } => "bad-version-bits",
            StratumError::InvalidParams { .. } => "invalid-params",
            StratumError::UnknownMethod(_) => "unknown-method",
            StratumError::Malformed(_) => "malformed",
            StratumError::LineTooLong { .. } => "line-too-long",
        }
    }
}

/// Failures of the Stratum server itself (not of one miner's request).
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listening socket could not be opened.
    #[error("cannot listen for stratum on {addr}: {source}; is another process using the port?")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The configuration is unusable.
    #[error("invalid stratum configuration: {0}")]
    Config(String),
}
