//! What can go wrong talking to bitcoind, in words a person can act on.

use std::path::PathBuf;

use bitcoin::Network;

/// An error from the bitcoind client.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// Nothing answers at the URL, or the connection broke.
    #[error("bitcoind is unreachable at {url}: {reason}; is it running, with -server and the right -rpcport?")]
    Unreachable {
        /// The RPC URL we tried.
        url: String,
        /// What the HTTP layer said.
        reason: String,
    },
    /// bitcoind answered 401: user/password or cookie do not match.
    #[error("bitcoind at {url} rejected our credentials; check the RPC user and password or the cookie file")]
    WrongCredentials {
        /// The RPC URL we tried.
        url: String,
    },
    /// bitcoind answered with an HTTP status other than 401 (403: -rpcallowip does not allow us).
    #[error("bitcoind at {url} answered HTTP {status}; check -rpcallowip and the URL")]
    HttpStatus {
        /// The RPC URL we tried.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The cookie file could not be read.
    #[error("cannot read the bitcoind cookie file {path}: {source}; is bitcoind running with this data dir and network?")]
    Cookie {
        /// The cookie file path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The cookie file does not hold `user:password`.
    #[error("the bitcoind cookie file {path} is not `user:password`")]
    MalformedCookie {
        /// The cookie file path.
        path: PathBuf,
    },
    /// bitcoind runs on another chain than the one we were told to use.
    #[error("bitcoind at {url} runs on {actual}, but this node is configured for {expected}; point it at a {expected} bitcoind or change --network")]
    WrongNetwork {
        /// The RPC URL.
        url: String,
        /// The network we expect.
        expected: Network,
        /// The network bitcoind reports.
        actual: Network,
    },
    /// bitcoind still syncs the chain; templates would build on a stale tip.
    #[error("bitcoind is still in initial block download (height {blocks} of {headers} headers known); wait until it has synced")]
    InitialBlockDownload {
        /// Blocks validated so far.
        blocks: u64,
        /// Headers known.
        headers: u64,
    },
    /// bitcoind executed the call and returned a JSON-RPC error.
    #[error("bitcoind rejected `{method}`: {message} (code {code})")]
    Rpc {
        /// The RPC method.
        method: String,
        /// bitcoind's error code (e.g. -5 not found, -28 warming up).
        code: i32,
        /// bitcoind's message.
        message: String,
    },
    /// The call did not answer within its timeout.
    #[error("bitcoind at {url} did not answer `{method}` within {seconds} s")]
    Timeout {
        /// The RPC URL.
        url: String,
        /// The RPC method.
        method: String,
        /// The timeout.
        seconds: u64,
    },
    /// bitcoind's answer did not have the shape we expect.
    #[error("unexpected answer from bitcoind to `{method}`: {reason}")]
    BadResponse {
        /// The RPC method.
        method: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The RPC URL cannot be used.
    #[error("invalid bitcoind RPC URL {url}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// Why it is invalid.
        reason: String,
    },
}

/// bitcoind's code for "still loading the block index"; the call may be retried.
pub const RPC_IN_WARMUP: i32 = -28;
/// bitcoind's code for an unknown block or transaction.
pub const RPC_INVALID_ADDRESS_OR_KEY: i32 = -5;

impl RpcError {
    /// True when waiting and retrying may help: bitcoind is not up yet or still warming up.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            RpcError::Unreachable { .. }
                | RpcError::Timeout { .. }
                | RpcError::Rpc {
                    code: RPC_IN_WARMUP,
                    ..
                }
        )
    }

    pub(crate) fn bad_response(method: &str, reason: impl std::fmt::Display) -> Self {
        RpcError::BadResponse {
            method: method.to_owned(),
            reason: reason.to_string(),
        }
    }
}
