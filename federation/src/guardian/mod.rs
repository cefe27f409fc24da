//! The guardian service: rules ([`service`]), storage ([`db`]), the HTTP API
//! ([`http`]) and the traits through which it sees the chains ([`sources`]).

pub mod daemon;
pub mod db;
pub mod http;
pub mod service;
pub mod sources;

pub use daemon::{run, DaemonError, GuardianOptions};
pub use service::{Guardian, Malice, RequestError, StartError};
pub use sources::{BitcoinSource, BlockStatus, ChainSources, SharechainSource, SourceError};
