//! Everything the node says to bitcoind: JSON-RPC calls, block templates, new tips,
//! and (for devnet and tests) starting a local bitcoind.

mod auth;
mod chain;
mod client;
mod error;
pub mod process;
mod template;
mod tips;
mod zmq;

pub use auth::Auth;
pub use chain::{network_from_chain_name, BlockPosition, ChainInfo, SubmitOutcome};
pub use client::{BitcoindClient, CALL_TIMEOUT, LONGPOLL_TIMEOUT};
pub use error::{RpcError, RPC_INVALID_ADDRESS_OR_KEY, RPC_IN_WARMUP};
pub use template::{BlockTemplate, LongPollId, TemplateTransaction};
pub use tips::{TipSources, TipWatcher, DEFAULT_POLL_INTERVAL};
pub use zmq::HASHBLOCK_TOPIC;
