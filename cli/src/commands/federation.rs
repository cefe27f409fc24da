//! `sharemint federation`: set up a federation. `init` makes a guardian's
//! keys and prints its setup string. (`dkg`, which runs the distributed key
//! generation and writes the federation config, lands with the config types.)

use std::path::PathBuf;

use clap::{Args, Subcommand};
use federation::dkg::setup::Multiaddr;
use federation::dkg::GuardianInit;

/// Setting up a federation of guardians.
#[derive(Subcommand)]
pub enum FederationCommand {
    /// Create this guardian's keys and print its public setup string.
    Init(InitArgs),
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

/// Runs a `federation` subcommand; `json` prints a JSON object on stdout.
pub fn run(command: FederationCommand, json: bool) -> anyhow::Result<()> {
    match command {
        FederationCommand::Init(args) => init(args, json),
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
