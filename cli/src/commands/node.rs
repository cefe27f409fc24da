//! `sharemint node`: run a miner's node against a bitcoind.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use node::{ConfigLayer, NodeConfig};

/// Settings come from flags, then environment variables, then the config file, then defaults.
#[derive(Args)]
pub struct NodeArgs {
    /// TOML config file; its keys are these flags' names (`bitcoind-url = "..."`).
    #[arg(long, env = "SHAREMINT_CONFIG")]
    config: Option<PathBuf>,
    /// bitcoin, testnet, testnet4, signet or regtest [default: bitcoin].
    #[arg(long, env = "SHAREMINT_NETWORK")]
    network: Option<String>,
    /// bitcoind's RPC URL [default: http://127.0.0.1:<the network's RPC port>].
    #[arg(long, env = "SHAREMINT_BITCOIND_URL")]
    bitcoind_url: Option<String>,
    /// bitcoind's cookie file [default: ~/.bitcoin/<network>/.cookie].
    #[arg(long, env = "SHAREMINT_BITCOIND_COOKIE")]
    bitcoind_cookie: Option<PathBuf>,
    /// RPC user, instead of the cookie.
    #[arg(long, env = "SHAREMINT_BITCOIND_USER")]
    bitcoind_user: Option<String>,
    /// RPC password, instead of the cookie.
    #[arg(long, env = "SHAREMINT_BITCOIND_PASSWORD", hide_env_values = true)]
    bitcoind_password: Option<String>,
    /// bitcoind's -zmqpubhashblock endpoint, e.g. tcp://127.0.0.1:28332 (faster new tips).
    #[arg(long, env = "SHAREMINT_ZMQ_HASHBLOCK")]
    zmq_hashblock: Option<String>,
    /// Tip polling interval in ms; 0 turns polling off [default: 200].
    #[arg(long, env = "SHAREMINT_POLL_INTERVAL_MS")]
    poll_interval_ms: Option<u64>,
    /// The node's data directory [default: ~/.local/share/sharemint/node].
    #[arg(long, env = "SHAREMINT_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The federation's payout: an address or a descriptor such as wsh(sortedmulti(2,K1,K2,K3)).
    #[arg(long, env = "SHAREMINT_PAYOUT")]
    payout: Option<String>,
    /// Seconds between template refreshes without a new tip [default: 30].
    #[arg(long, env = "SHAREMINT_TEMPLATE_REFRESH_SECS")]
    template_refresh_secs: Option<u64>,
    /// Where miners connect [default: 0.0.0.0:3333].
    #[arg(long, env = "SHAREMINT_STRATUM_LISTEN")]
    stratum_listen: Option<String>,
    /// Where the JSON API listens [default: 127.0.0.1:3380].
    #[arg(long, env = "SHAREMINT_API_LISTEN")]
    api_listen: Option<String>,
    /// Sharechain network listen address, a multiaddr; repeat for several
    /// [default: /ip4/0.0.0.0/tcp/3390 and /ip4/0.0.0.0/udp/3390/quic-v1].
    #[arg(
        long = "p2p-listen",
        env = "SHAREMINT_P2P_LISTEN",
        value_delimiter = ','
    )]
    p2p_listen: Vec<String>,
    /// A sharechain peer to dial at start, a multiaddr; repeat for several.
    #[arg(long = "bootstrap", env = "SHAREMINT_BOOTSTRAP", value_delimiter = ',')]
    bootstrap: Vec<String>,
    /// Milliseconds between a miner's Stratum shares that vardiff aims at [default: 10000].
    #[arg(long, env = "SHAREMINT_VARDIFF_INTERVAL_MS")]
    vardiff_interval_ms: Option<u64>,
}

impl NodeArgs {
    fn layer(&self) -> ConfigLayer {
        ConfigLayer {
            network: self.network.clone(),
            bitcoind_url: self.bitcoind_url.clone(),
            bitcoind_cookie: self.bitcoind_cookie.clone(),
            bitcoind_user: self.bitcoind_user.clone(),
            bitcoind_password: self.bitcoind_password.clone(),
            zmq_hashblock: self.zmq_hashblock.clone(),
            poll_interval_ms: self.poll_interval_ms,
            data_dir: self.data_dir.clone(),
            payout: self.payout.clone(),
            template_refresh_secs: self.template_refresh_secs,
            stratum_listen: self.stratum_listen.clone(),
            api_listen: self.api_listen.clone(),
            p2p_listen: non_empty(&self.p2p_listen),
            bootstrap: non_empty(&self.bootstrap),
            vardiff_interval_ms: self.vardiff_interval_ms,
        }
    }
}

pub async fn run(args: NodeArgs) -> anyhow::Result<()> {
    let file = match &args.config {
        Some(path) => ConfigLayer::from_file(path)?,
        None => ConfigLayer::default(),
    };
    let config =
        NodeConfig::resolve(args.layer().over(file)).context("invalid node configuration")?;
    node::full_node::run(config, node::shutdown::signal()).await?;
    Ok(())
}

/// An unset list flag leaves the setting to the lower layers.
fn non_empty(values: &[String]) -> Option<Vec<String>> {
    (!values.is_empty()).then(|| values.to_vec())
}
