//! `sharemint federation`: set up a federation. `init` makes a guardian's
//! keys and prints its setup string; `dkg` runs the distributed key
//! generation with the other guardians and writes the federation config.

use std::path::PathBuf;
use std::time::Duration;

use bitcoin::{Network, ScriptBuf};
use clap::{Args, Subcommand};
use federation::dkg::files::{create_federation, FederationParams};
use federation::dkg::setup::Multiaddr;
use federation::dkg::{GuardianInit, RunOptions};

/// Setting up a federation of guardians.
#[derive(Subcommand)]
pub enum FederationCommand {
    /// Create this guardian's keys and print its public setup string.
    Init(InitArgs),
    /// Run the key generation with the other guardians and write the
    /// federation config (`federation.json`) and this guardian's secrets.
    Dkg(DkgArgs),
}

/// Arguments of `federation init`.
#[derive(Args)]
pub struct InitArgs {
    /// The guardian's private directory (created with mode 0700).
    #[arg(long)]
    dir: PathBuf,
    /// A name for this guardian, shown to the others.
    #[arg(long)]
    name: String,
    /// The URL where this guardian's HTTP API will be reachable.
    #[arg(long)]
    api_url: String,
    /// The libp2p address the other guardians dial, e.g. /ip4/203.0.113.5/tcp/7100.
    #[arg(long)]
    p2p_listen: Multiaddr,
}

/// Arguments of `federation dkg`.
#[derive(Args)]
pub struct DkgArgs {
    /// The directory `federation init` created.
    #[arg(long)]
    dir: PathBuf,
    /// Another guardian's setup string (repeat for each; ours may be included).
    #[arg(long = "peer", required = true)]
    peers: Vec<String>,
    /// The bitcoin network.
    #[arg(long, default_value = "regtest")]
    network: Network,
    /// The challenge script (hex) of a custom signet.
    #[arg(long)]
    signet_challenge: Option<String>,
    /// Largest denomination is 2^N msat.
    #[arg(long, default_value_t = 40)]
    max_exponent: u8,
    /// Confirmations before a found block's shares can be claimed
    /// [default: 100 on mainnet, 2 elsewhere].
    #[arg(long)]
    claim_confirmations: Option<u32>,
    /// Seconds to wait for every guardian to become reachable.
    #[arg(long, default_value_t = 600)]
    connect_timeout: u64,
    /// Seconds one round may take once everyone is connected.
    #[arg(long, default_value_t = 120)]
    round_timeout: u64,
}

/// Runs a `federation` subcommand; `json` prints a JSON object on stdout.
pub async fn run(command: FederationCommand, json: bool) -> anyhow::Result<()> {
    match command {
        FederationCommand::Init(args) => init(args, json),
        FederationCommand::Dkg(args) => dkg(args, json).await,
    }
}

fn init(args: InitArgs, json: bool) -> anyhow::Result<()> {
    let init = GuardianInit::generate(args.name, args.api_url, args.p2p_listen)?;
    let path = init.write(&args.dir)?;
    tracing::info!(file = %path.display(), peer_id = %init.setup.peer_id, "guardian keys written");
    let setup = init.setup.encode();
    if json {
        let out = serde_json::json!({
            "setup": setup,
            "name": init.setup.name,
            "peer_id": init.setup.peer_id.to_string(),
            "dir": args.dir,
        });
        println!("{out}");
    } else {
        println!("{setup}");
    }
    Ok(())
}

async fn dkg(args: DkgArgs, json: bool) -> anyhow::Result<()> {
    let signet_challenge = args
        .signet_challenge
        .map(|hex| ScriptBuf::from_hex(&hex))
        .transpose()
        .map_err(|e| anyhow::anyhow!("--signet-challenge is not hex: {e}"))?;
    let params = FederationParams {
        network: args.network,
        signet_challenge,
        max_exponent: args.max_exponent,
        claim_confirmations: args
            .claim_confirmations
            .unwrap_or_else(|| FederationParams::default_claim_confirmations(args.network)),
    };
    let options = RunOptions {
        connect_timeout: Duration::from_secs(args.connect_timeout),
        round_timeout: Duration::from_secs(args.round_timeout),
        ..RunOptions::default()
    };
    let created = create_federation(&args.dir, &args.peers, &params, &options).await?;
    if json {
        println!("{}", serde_json::to_string(&created)?);
    } else {
        println!("{}", created.federation_id);
    }
    Ok(())
}
