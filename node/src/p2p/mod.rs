//! The sharechain network (decision 8): libp2p with TCP and QUIC, noise,
//! yamux, identify and ping; gossipsub for new shares (one topic per
//! sharechain id) with manual validation; a request-response protocol for
//! headers-first sync in bounded batches; Kademlia, bootstrap peers and a
//! saved peer list for discovery; peer scores and bans. Consensus stays
//! outside: every share goes through one [`ShareSink::offer`] call.

pub mod behaviour;
pub mod config;
pub mod peer_store;
pub mod protocol;
pub mod scoring;
pub mod service;
pub mod sink;
pub mod sync;
pub mod testing;

pub use config::P2pConfig;
pub use scoring::{Offense, RateLimit};
pub use service::{start, start_with_key, P2pError, P2pHandle};
pub use sink::{ChainTip, Origin, ShareSink, Verdict};
pub use sync::SyncStatus;
