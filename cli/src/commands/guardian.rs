//! `sharemint guardian`: run one guardian of a federation.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use federation::guardian::{GuardianOptions, Malice};

/// A guardian's files and address.
#[derive(Args)]
pub struct GuardianArgs {
    /// The public federation config (JSON).
    #[arg(long, env = "SHAREMINT_FEDERATION_CONFIG")]
    config: PathBuf,
    /// This guardian's secrets file (must be mode 0600).
    #[arg(long, env = "SHAREMINT_GUARDIAN_SECRETS")]
    secrets: PathBuf,
    /// Data directory for the guardian's database.
    #[arg(long, env = "SHAREMINT_DATA_DIR")]
    data_dir: PathBuf,
    /// Listen address [default: host and port of this guardian's api_url].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// TEST ONLY: misbehave on purpose, to test clients and the safety argument.
    #[arg(long, hide = true)]
    test_malice: Option<MaliceArg>,
}

#[derive(Clone, Copy, ValueEnum)]
enum MaliceArg {
    WrongShares,
    DoubleSpend,
}

/// Runs the guardian until it is stopped. Claims need the node's chain views,
/// which this command does not wire yet: it reissues only.
pub async fn run(args: GuardianArgs) -> anyhow::Result<()> {
    let options = GuardianOptions {
        config: args.config,
        secrets: args.secrets,
        data_dir: args.data_dir,
        listen: args.listen,
        malice: args.test_malice.map(|m| match m {
            MaliceArg::WrongShares => Malice::WrongShares,
            MaliceArg::DoubleSpend => Malice::DoubleSpend,
        }),
    };
    federation::guardian::run(options, None).await?;
    Ok(())
}
