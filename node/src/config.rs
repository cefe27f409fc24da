//! The node's configuration: a file, environment and flags merged into one checked [`NodeConfig`].
//!
//! Every source fills a [`ConfigLayer`] (all fields optional); layers are merged with
//! [`ConfigLayer::over`] (flags over environment over file), then [`NodeConfig::resolve`]
//! applies defaults and checks the values.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bitcoin::Network;
use libp2p::Multiaddr;
use serde::Deserialize;

use crate::bitcoind::{Auth, TipSources, DEFAULT_POLL_INTERVAL};
use crate::payout::{PayoutError, PayoutScript};

/// How often a fresh template is fetched even without a new tip (picks up new transactions).
pub const DEFAULT_TEMPLATE_REFRESH: Duration = Duration::from_secs(30);

/// A checked node configuration.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The bitcoin network.
    pub network: Network,
    /// bitcoind's RPC URL.
    pub bitcoind_url: String,
    /// bitcoind's RPC credentials.
    pub bitcoind_auth: Auth,
    /// How the node learns of new tips.
    pub tip_sources: TipSources,
    /// Where the node keeps its state.
    pub data_dir: PathBuf,
    /// The federation's payout script.
    pub payout: PayoutScript,
    /// Template refresh interval without a new tip.
    pub template_refresh: Duration,
    /// Where miners connect (Stratum V1).
    pub stratum_listen: SocketAddr,
    /// Where the JSON API listens.
    pub api_listen: SocketAddr,
    /// Sharechain network addresses to listen on.
    pub p2p_listen: Vec<Multiaddr>,
    /// Sharechain peers to dial at start.
    pub bootstrap: Vec<Multiaddr>,
    /// Seconds between shares vardiff aims at per miner connection.
    pub vardiff_interval: Duration,
}

/// Default Stratum port (the usual one for pools).
pub const DEFAULT_STRATUM_LISTEN: &str = "0.0.0.0:3333";
/// Default API address: local only, it shows per-worker statistics.
pub const DEFAULT_API_LISTEN: &str = "127.0.0.1:3380";
/// Default sharechain network port, TCP and QUIC.
pub const DEFAULT_P2P_PORT: u16 = 3390;
/// Default time between a miner's Stratum shares.
pub const DEFAULT_VARDIFF_INTERVAL: Duration = Duration::from_secs(10);

/// One source of settings; unset fields come from lower layers or defaults.
/// The TOML file uses the same names in kebab-case.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigLayer {
    /// `bitcoin`/`mainnet`, `testnet`, `testnet4`, `signet`, `regtest`.
    pub network: Option<String>,
    /// bitcoind's RPC URL, e.g. `http://127.0.0.1:8332`.
    pub bitcoind_url: Option<String>,
    /// Path of bitcoind's `.cookie` file.
    pub bitcoind_cookie: Option<PathBuf>,
    /// RPC user (with `bitcoind-password`, instead of the cookie).
    pub bitcoind_user: Option<String>,
    /// RPC password.
    pub bitcoind_password: Option<String>,
    /// bitcoind's `-zmqpubhashblock` endpoint, if it has ZMQ.
    pub zmq_hashblock: Option<String>,
    /// Tip polling interval in milliseconds (0 turns polling off).
    pub poll_interval_ms: Option<u64>,
    /// The node's data directory.
    pub data_dir: Option<PathBuf>,
    /// The federation's payout address or descriptor.
    pub payout: Option<String>,
    /// Seconds between template refreshes without a new tip.
    pub template_refresh_secs: Option<u64>,
    /// Stratum listen address, e.g. `0.0.0.0:3333`.
    pub stratum_listen: Option<String>,
    /// API listen address, e.g. `127.0.0.1:3380`.
    pub api_listen: Option<String>,
    /// Sharechain network listen multiaddrs.
    pub p2p_listen: Option<Vec<String>>,
    /// Sharechain peers to dial at start (multiaddrs, with `/p2p/<peer id>` if known).
    pub bootstrap: Option<Vec<String>>,
    /// Milliseconds between a miner's Stratum shares that vardiff aims at.
    pub vardiff_interval_ms: Option<u64>,
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for a node config.
    #[error("config file {path} is invalid: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        source: toml::de::Error,
    },
    /// Unknown network name.
    #[error("unknown network {0:?}; use bitcoin, testnet, testnet4, signet or regtest")]
    Network(String),
    /// A required setting is missing.
    #[error(
        "missing setting `{0}`; give it as a flag, environment variable or in the config file"
    )]
    Missing(&'static str),
    /// Only one of user and password was given.
    #[error("give both the bitcoind RPC user and password, or neither (to use the cookie file)")]
    HalfCredentials,
    /// The payout string is invalid.
    #[error(transparent)]
    Payout(#[from] PayoutError),
    /// An address setting does not parse.
    #[error("setting `{setting}`: {value:?} is not a valid address ({expected})")]
    Address {
        /// The setting.
        setting: &'static str,
        /// The value given.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// No home directory for the defaults.
    #[error(
        "cannot find a home directory for default paths; set HOME or give the paths explicitly"
    )]
    NoHome,
}

impl ConfigLayer {
    /// Reads a TOML config file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// This layer's settings, with `lower`'s where this one has none.
    pub fn over(self, lower: ConfigLayer) -> ConfigLayer {
        ConfigLayer {
            network: self.network.or(lower.network),
            bitcoind_url: self.bitcoind_url.or(lower.bitcoind_url),
            bitcoind_cookie: self.bitcoind_cookie.or(lower.bitcoind_cookie),
            bitcoind_user: self.bitcoind_user.or(lower.bitcoind_user),
            bitcoind_password: self.bitcoind_password.or(lower.bitcoind_password),
            zmq_hashblock: self.zmq_hashblock.or(lower.zmq_hashblock),
            poll_interval_ms: self.poll_interval_ms.or(lower.poll_interval_ms),
            data_dir: self.data_dir.or(lower.data_dir),
            payout: self.payout.or(lower.payout),
            template_refresh_secs: self.template_refresh_secs.or(lower.template_refresh_secs),
            stratum_listen: self.stratum_listen.or(lower.stratum_listen),
            api_listen: self.api_listen.or(lower.api_listen),
            p2p_listen: self.p2p_listen.or(lower.p2p_listen),
            bootstrap: self.bootstrap.or(lower.bootstrap),
            vardiff_interval_ms: self.vardiff_interval_ms.or(lower.vardiff_interval_ms),
        }
    }
}

impl NodeConfig {
    /// Applies defaults and checks every value.
    pub fn resolve(layer: ConfigLayer) -> Result<Self, ConfigError> {
        let network = parse_network(layer.network.as_deref().unwrap_or("bitcoin"))?;
        let bitcoind_url = match layer.bitcoind_url {
            Some(url) if url.contains("://") => url,
            Some(host_port) => format!("http://{host_port}"),
            None => format!("http://127.0.0.1:{}", default_rpc_port(network)),
        };
        let bitcoind_auth = match (
            layer.bitcoind_user,
            layer.bitcoind_password,
            layer.bitcoind_cookie,
        ) {
            (Some(user), Some(password), _) => Auth::UserPass { user, password },
            (None, None, Some(cookie)) => Auth::CookieFile(cookie),
            (None, None, None) => Auth::cookie_in(&home()?.join(".bitcoin"), network),
            _ => return Err(ConfigError::HalfCredentials),
        };
        let poll_interval = match layer.poll_interval_ms {
            Some(0) => None,
            Some(ms) => Some(Duration::from_millis(ms)),
            None => Some(DEFAULT_POLL_INTERVAL),
        };
        let tip_sources = TipSources {
            longpoll: true,
            poll_interval,
            zmq_hashblock: layer.zmq_hashblock,
        };
        let data_dir = match layer.data_dir {
            Some(dir) => dir,
            None => home()?.join(".local/share/sharemint/node"),
        };
        let payout = PayoutScript::parse(
            &layer.payout.ok_or(ConfigError::Missing("payout"))?,
            network,
        )?;
        let template_refresh = layer
            .template_refresh_secs
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TEMPLATE_REFRESH);
        let stratum_listen = socket_addr(
            "stratum-listen",
            layer
                .stratum_listen
                .as_deref()
                .unwrap_or(DEFAULT_STRATUM_LISTEN),
        )?;
        let api_listen = socket_addr(
            "api-listen",
            layer.api_listen.as_deref().unwrap_or(DEFAULT_API_LISTEN),
        )?;
        let p2p_listen = match layer.p2p_listen {
            Some(addrs) => multiaddrs("p2p-listen", &addrs)?,
            None => vec![
                format!("/ip4/0.0.0.0/tcp/{DEFAULT_P2P_PORT}")
                    .parse()
                    .expect("a valid multiaddr"),
                format!("/ip4/0.0.0.0/udp/{DEFAULT_P2P_PORT}/quic-v1")
                    .parse()
                    .expect("a valid multiaddr"),
            ],
        };
        let bootstrap = multiaddrs("bootstrap", &layer.bootstrap.unwrap_or_default())?;
        let vardiff_interval = layer
            .vardiff_interval_ms
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_VARDIFF_INTERVAL);
        Ok(NodeConfig {
            network,
            bitcoind_url,
            bitcoind_auth,
            tip_sources,
            data_dir,
            payout,
            template_refresh,
            stratum_listen,
            api_listen,
            p2p_listen,
            bootstrap,
            vardiff_interval,
        })
    }
}

fn socket_addr(setting: &'static str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| ConfigError::Address {
        setting,
        value: value.to_owned(),
        expected: "IP:PORT, e.g. 0.0.0.0:3333",
    })
}

fn multiaddrs(setting: &'static str, values: &[String]) -> Result<Vec<Multiaddr>, ConfigError> {
    values
        .iter()
        .map(|v| {
            v.parse().map_err(|_| ConfigError::Address {
                setting,
                value: v.clone(),
                expected: "a multiaddr, e.g. /ip4/192.0.2.1/tcp/3390/p2p/12D3Koo...",
            })
        })
        .collect()
}

/// Parses a network name as users write it (`mainnet` and `main` mean bitcoin).
pub fn parse_network(name: &str) -> Result<Network, ConfigError> {
    match name {
        "mainnet" | "main" => Ok(Network::Bitcoin),
        "testnet3" => Ok(Network::Testnet),
        other => other
            .parse()
            .map_err(|_| ConfigError::Network(other.to_owned())),
    }
}

/// bitcoind's default RPC port on each network.
pub fn default_rpc_port(network: Network) -> u16 {
    match network {
        Network::Bitcoin => 8332,
        Network::Testnet => 18332,
        Network::Testnet4 => 48332,
        Network::Signet => 38332,
        _ => 18443,
    }
}

fn home() -> Result<PathBuf, ConfigError> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .ok_or(ConfigError::NoHome)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WPKH: &str = "wpkh(02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5)";

    fn layer(toml_text: &str) -> ConfigLayer {
        toml::from_str(toml_text).expect("valid toml")
    }

    #[test]
    fn flags_override_the_file_and_defaults_fill_the_rest() {
        let file = layer(&format!(
            "network = \"regtest\"\nbitcoind-url = \"127.0.0.1:1\"\npayout = \"{WPKH}\""
        ));
        let flags = ConfigLayer {
            bitcoind_url: Some("http://10.0.0.1:18443".into()),
            ..Default::default()
        };
        let config = NodeConfig::resolve(flags.over(file)).unwrap();
        assert_eq!(config.network, Network::Regtest);
        assert_eq!(config.bitcoind_url, "http://10.0.0.1:18443");
        assert!(
            matches!(config.bitcoind_auth, Auth::CookieFile(ref p) if p.ends_with("regtest/.cookie"))
        );
        assert_eq!(config.template_refresh, DEFAULT_TEMPLATE_REFRESH);
        assert!(config.payout.script_pubkey().is_p2wpkh());
    }

    #[test]
    fn a_missing_payout_or_half_credentials_are_refused() {
        let err = NodeConfig::resolve(layer("network = \"regtest\"")).unwrap_err();
        assert!(matches!(err, ConfigError::Missing("payout")), "{err}");
        let err = NodeConfig::resolve(layer(&format!(
            "payout = \"{WPKH}\"\nbitcoind-user = \"u\""
        )))
        .unwrap_err();
        assert!(matches!(err, ConfigError::HalfCredentials), "{err}");
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        assert!(toml::from_str::<ConfigLayer>("bitcoind-ulr = \"x\"").is_err());
    }
}
