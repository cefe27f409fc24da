//! `sharemint`: the one binary. It parses arguments and calls into the crates;
//! each subcommand lives in its own file under `commands/`.

mod commands;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sharemint",
    version,
    about = "A bitcoin mining pool with no operator"
)]
struct Cli {
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a miner's node: bitcoind client, Stratum server, sharechain.
    // Boxed: parsed once, and it is much larger than the other variants.
    Node(Box<commands::node::NodeArgs>),
    /// A CPU Stratum V1 miner for regtest and test networks.
    Mine(commands::mine::MineArgs),
    /// Everything on one machine on regtest: bitcoind and a node.
    Devnet(commands::devnet::DevnetArgs),
    /// Run one guardian of a federation (reissues and claims over HTTP).
    Guardian(commands::guardian::GuardianArgs),
    /// An ecash wallet: balance, send, receive, seed, restore.
    Wallet(commands::wallet::WalletArgs),
    /// Set up a federation: guardian keys and the distributed key generation.
    #[command(subcommand)]
    Federation(commands::federation::FederationCommand),
    /// Benchmarks that need real processes or sockets.
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.json);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Node(args) => commands::node::run(*args).await,
            Command::Mine(args) => commands::mine::run(args).await,
            Command::Devnet(args) => commands::devnet::run(args).await,
            Command::Guardian(args) => commands::guardian::run(args).await,
            Command::Wallet(args) => commands::wallet::run(args).await,
            Command::Federation(cmd) => commands::federation::run(cmd, cli.json).await,
            Command::Bench(cmd) => commands::bench::run(cmd).await,
        }
    })
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
