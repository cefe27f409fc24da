//! `sharemint mine HOST:PORT --user NAME --threads N`: the CPU Stratum miner.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use node::miner::{MinerConfig, MinerStats};
use node::stratum::Difficulty;

#[derive(Args)]
pub struct MineArgs {
    /// The node's Stratum address, HOST:PORT.
    pub server: String,
    /// Worker name, `name.worker`.
    #[arg(long, short = 'u', default_value = "sharemint.cpu")]
    pub user: String,
    /// Password sent with `mining.authorize` (ignored by sharemint nodes).
    #[arg(long, default_value = "x")]
    pub password: String,
    /// Hashing threads.
    #[arg(long, short = 't', default_value_t = 1)]
    pub threads: usize,
    /// Do not ask for BIP 310 version rolling (submit 5 params, like cpuminer).
    #[arg(long)]
    pub no_version_rolling: bool,
    /// Difficulty to suggest to the pool (default: measured, about one share every 5 s).
    #[arg(long)]
    pub difficulty: Option<f64>,
    /// Seconds between hashrate reports.
    #[arg(long, default_value_t = 10.0)]
    pub report_every: f64,
    /// Exit after this many accepted shares.
    #[arg(long)]
    pub shares: Option<u64>,
    /// Exit after this many seconds.
    #[arg(long)]
    pub seconds: Option<f64>,
}

pub async fn run(args: MineArgs) -> anyhow::Result<()> {
    let suggest_difficulty = args
        .difficulty
        .map(Difficulty::new)
        .transpose()
        .context("--difficulty must be a positive number")?;
    anyhow::ensure!(args.report_every > 0.0, "--report-every must be positive");
    let config = MinerConfig {
        server: args.server,
        user: args.user,
        password: args.password,
        threads: args.threads,
        version_rolling: !args.no_version_rolling,
        suggest_difficulty,
        report_every: Duration::from_secs_f64(args.report_every),
        max_shares: args.shares,
        duration: args.seconds.map(Duration::from_secs_f64),
    };
    let stats = Arc::new(MinerStats::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop_tx.send(true);
        }
    });
    node::miner::run(config, stats.clone(), stop_rx).await?;
    println!(
        "accepted {} rejected {} blocks {} hashrate {}",
        stats.accepted(),
        stats.rejected(),
        stats.blocks(),
        node::miner::format_hashrate(stats.hashrate())
    );
    Ok(())
}
