//! `sharemint devnet`: a regtest bitcoind and a node on one machine, for trying things out.
//!
//! The payout goes to a placeholder federation, a `wsh(sortedmulti(2,...))` over three
//! keys derived from fixed, public labels: fine for regtest coins, and replaced by a
//! real federation once guardians exist.

use std::future::Future;
use std::path::PathBuf;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bitcoin::Network;

use crate::bitcoind::process::{BitcoindOptions, BitcoindProcess, ProcessError};
use crate::bitcoind::{BitcoindClient, RpcError, TipSources};
use crate::config::{NodeConfig, DEFAULT_TEMPLATE_REFRESH};
use crate::daemon::{Daemon, DaemonError};
use crate::payout::PayoutScript;

/// Coinbase outputs need 100 confirmations: at 101 blocks the first one is spendable.
pub const MATURE_CHAIN_HEIGHT: u64 = 101;

/// Where and how to run the devnet.
#[derive(Clone, Debug)]
pub struct DevnetOptions {
    /// Directory holding `bitcoind`.
    pub bitcoin_bin: PathBuf,
    /// The devnet's directory: bitcoind's data in `bitcoind/`, the node's in `node/`.
    pub data_dir: PathBuf,
    /// bitcoind's RPC port on 127.0.0.1.
    pub rpc_port: u16,
    /// bitcoind's P2P port on 127.0.0.1.
    pub p2p_port: u16,
}

/// Why the devnet stopped.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// bitcoind did not start or stop.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// bitcoind refused a call.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// The node failed.
    #[error(transparent)]
    Daemon(#[from] DaemonError),
}

/// Starts bitcoind, mines a mature chain, runs a node until `shutdown`, then stops
/// bitcoind cleanly. `on_ready` sees the node before it runs (tests subscribe to templates).
pub async fn run(
    options: DevnetOptions,
    shutdown: impl Future<Output = ()>,
    on_ready: impl FnOnce(&Daemon),
) -> Result<(), DevnetError> {
    let bitcoind_options = BitcoindOptions::regtest(
        &options.bitcoin_bin,
        options.data_dir.join("bitcoind"),
        options.rpc_port,
        options.p2p_port,
    );
    let process = BitcoindProcess::start(bitcoind_options).await?;
    let result = run_node(&options, &process, shutdown, on_ready).await;
    tracing::info!("stopping bitcoind");
    let stopped = process.stop().await;
    result?;
    stopped?;
    tracing::info!("devnet stopped");
    Ok(())
}

async fn run_node(
    options: &DevnetOptions,
    process: &BitcoindProcess,
    shutdown: impl Future<Output = ()>,
    on_ready: impl FnOnce(&Daemon),
) -> Result<(), DevnetError> {
    let o = process.options();
    tracing::info!(
        "bitcoind (regtest) running: rpc {}, data dir {}; try `{}/bitcoin-cli -regtest -rpcport={} -rpccookiefile={} getblockchaininfo`",
        o.rpc_url(),
        o.data_dir.display(),
        o.bin_dir.display(),
        o.rpc_port,
        o.cookie_file().display()
    );
    let payout = placeholder_federation();
    mine_mature_chain(process.client(), &payout).await?;
    let config = NodeConfig {
        network: Network::Regtest,
        bitcoind_url: o.rpc_url(),
        bitcoind_auth: o.user_pass(),
        tip_sources: TipSources::default(),
        data_dir: options.data_dir.join("node"),
        payout,
        template_refresh: DEFAULT_TEMPLATE_REFRESH,
        stratum_listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        api_listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        p2p_listen: Vec::new(),
        bootstrap: Vec::new(),
        vardiff_interval: crate::config::DEFAULT_VARDIFF_INTERVAL,
    };
    let daemon = Daemon::new(config)?;
    on_ready(&daemon);
    daemon.run(shutdown).await?;
    Ok(())
}

/// Mines to `payout` until the chain is [`MATURE_CHAIN_HEIGHT`] high (nothing if it already is).
pub async fn mine_mature_chain(
    client: &BitcoindClient,
    payout: &PayoutScript,
) -> Result<u64, RpcError> {
    let height = client.get_blockchain_info().await?.blocks;
    if height < MATURE_CHAIN_HEIGHT {
        let missing = (MATURE_CHAIN_HEIGHT - height) as u32;
        tracing::info!("mining {missing} blocks so the chain has mature coinbases");
        client
            .generate_to_descriptor(missing, &payout.bitcoind_descriptor())
            .await?;
    }
    Ok(height.max(MATURE_CHAIN_HEIGHT))
}

/// The devnet's stand-in federation: 2 of 3 keys derived from public labels.
pub fn placeholder_federation() -> PayoutScript {
    let secp = Secp256k1::new();
    let keys: Vec<String> = (1..=3)
        .map(|i| {
            let seed = sha256::Hash::hash(format!("sharemint devnet guardian {i}").as_bytes());
            let secret = SecretKey::from_slice(seed.as_byte_array())
                .expect("a sha256 output is a valid key");
            PublicKey::from_secret_key(&secp, &secret).to_string()
        })
        .collect();
    let descriptor = format!("wsh(sortedmulti(2,{}))", keys.join(","));
    PayoutScript::parse(&descriptor, Network::Regtest).expect("the placeholder descriptor is valid")
}
