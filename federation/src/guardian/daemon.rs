//! Starting a guardian: load and check the config and secrets, open the
//! database, bind the API and serve until stopped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{ConfigError, FederationConfig};
use crate::guardian::service::{Guardian, Malice, StartError};
use crate::guardian::sources::ChainSources;
use crate::secrets::{GuardianSecrets, SecretsError};

/// How to run a guardian.
#[derive(Clone, Debug)]
pub struct GuardianOptions {
    /// The public federation config file.
    pub config: PathBuf,
    /// This guardian's secrets file (mode 0600).
    pub secrets: PathBuf,
    /// Where its database lives.
    pub data_dir: PathBuf,
    /// Where to listen; `None`: the host and port of its `api_url`.
    pub listen: Option<SocketAddr>,
    /// Test-only misbehaviour.
    pub malice: Option<Malice>,
}

/// Why a guardian stopped or did not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// Bad config.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Bad secrets.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// Cannot start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The listen address is unusable.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// Where.
        address: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs a guardian until its server stops. `sources` gives it the chain
/// views claims need; without them it reissues only.
pub async fn run(
    options: GuardianOptions,
    sources: Option<ChainSources>,
) -> Result<(), DaemonError> {
    let config = FederationConfig::read(&options.config)?;
    let secrets = GuardianSecrets::read(&options.secrets)?;
    let address = match options.listen {
        Some(address) => address.to_string(),
        None => listen_address(&config, &secrets)?,
    };
    std::fs::create_dir_all(&options.data_dir).map_err(SecretsError::Io)?;
    let guardian = Guardian::open(config, secrets, &options.data_dir, sources, options.malice)?;
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .map_err(|source| DaemonError::Listen {
            address: address.clone(),
            source,
        })?;
    crate::guardian::http::serve(Arc::new(guardian), listener)
        .await
        .map_err(|source| DaemonError::Listen { address, source })
}

/// `host:port` of this guardian's `api_url`.
fn listen_address(
    config: &FederationConfig,
    secrets: &GuardianSecrets,
) -> Result<String, DaemonError> {
    let url = &config
        .guardians
        .get(&secrets.peer)
        .ok_or_else(|| SecretsError::Mismatch(format!("no {} in config", secrets.peer)))?
        .api_url;
    let host_port = url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/');
    Ok(host_port.to_string())
}
