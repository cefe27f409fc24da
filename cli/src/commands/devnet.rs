//! `sharemint devnet`: a regtest bitcoind and a node on this machine, until Ctrl-C.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use node::devnet::DevnetOptions;

#[derive(Args)]
pub struct DevnetArgs {
    /// Where the devnet keeps bitcoind's and the node's data [default: ~/.local/share/sharemint/devnet].
    #[arg(long, env = "SHAREMINT_DEVNET_DIR")]
    data_dir: Option<PathBuf>,
    /// Directory with the bitcoind binary (`bash scripts/bitcoind.sh` prints it)
    /// [default: ${SHAREMINT_CACHE:-~/.cache/sharemint}/bitcoind/0.4.1/bin].
    #[arg(long, env = "SHAREMINT_BITCOIN_BIN")]
    bitcoin_bin: Option<PathBuf>,
    /// bitcoind's RPC port on 127.0.0.1.
    #[arg(long, default_value_t = 18443)]
    rpc_port: u16,
    /// bitcoind's P2P port on 127.0.0.1.
    #[arg(long, default_value_t = 18444)]
    p2p_port: u16,
}

pub async fn run(args: DevnetArgs) -> anyhow::Result<()> {
    let no_home = "HOME is not set; give --data-dir and --bitcoin-bin";
    let bitcoin_bin = match args.bitcoin_bin {
        Some(dir) => dir,
        None => node::bitcoind::process::default_bin_dir().context(no_home)?,
    };
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => PathBuf::from(std::env::var_os("HOME").context(no_home)?)
            .join(".local/share/sharemint/devnet"),
    };
    let options = DevnetOptions {
        bitcoin_bin,
        data_dir,
        rpc_port: args.rpc_port,
        p2p_port: args.p2p_port,
    };
    tracing::info!("devnet in {}; Ctrl-C stops it", options.data_dir.display());
    node::devnet::run(options, node::shutdown::signal(), |_| {}).await?;
    Ok(())
}
