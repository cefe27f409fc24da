//! `sharemint bench ...`: benchmarks that need real sockets or processes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use node::loadgen::{LoadConfig, LoadReport};
use node::stratum::{
    job_channel, Difficulty, DiscardSink, StratumConfig, StratumServer, VardiffConfig,
};
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Load a Stratum server with many connections and submits; report
    /// connections held, submits/s and latency. Starts its own server in a
    /// child process unless --server is given.
    Stratum(StratumBenchArgs),
    /// The server side of `bench stratum` (a child process; prints its address).
    #[command(hide = true)]
    StratumServer(StratumServerArgs),
}

#[derive(Args)]
pub struct StratumBenchArgs {
    /// Concurrent miner connections.
    #[arg(long, default_value_t = 10_000)]
    pub connections: usize,
    /// Submits per second offered, all connections together.
    #[arg(long, default_value_t = 20_000.0)]
    pub rate: f64,
    /// Seconds of submitting once every connection is up.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// An existing server to load instead of starting one.
    #[arg(long)]
    pub server: Option<SocketAddr>,
}

#[derive(Args)]
pub struct StratumServerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
}

pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Stratum(args) => bench_stratum(args).await,
        BenchCommand::StratumServer(args) => serve(args).await,
    }
}

async fn bench_stratum(args: StratumBenchArgs) -> anyhow::Result<()> {
    let fds = node::fdlimit::raise_fd_limit().context("cannot raise the open-file limit")?;
    anyhow::ensure!(
        fds as usize > args.connections + 64,
        "open-file limit {fds} is too low for {} connections; raise the hard limit (ulimit -Hn)",
        args.connections
    );
    // The server runs in its own process: its sockets count against its own
    // file limit, and its CPU use is the server's alone.
    let mut child = None;
    let server = match args.server {
        Some(addr) => addr,
        None => {
            let exe = std::env::current_exe()
                .context("cannot find this executable to start the server")?;
            let mut process = tokio::process::Command::new(exe)
                .args(["bench", "stratum-server"])
                .stdout(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .context("cannot start the benchmark server process")?;
            let stdout = process.stdout.take().context("server stdout")?;
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).await?;
            child = Some(process);
            line.trim()
                .strip_prefix("listening ")
                .context("server did not report its address")?
                .parse()?
        }
    };
    println!(
        "bench stratum: {} connections, {} submits/s offered for {} s against {server}",
        args.connections, args.rate, args.seconds
    );
    let report = node::loadgen::run(LoadConfig {
        server,
        connections: args.connections,
        rate: args.rate,
        duration: Duration::from_secs_f64(args.seconds),
    })
    .await?;
    print_report(&report);
    if let Some(mut child) = child {
        let _ = child.kill().await;
    }
    Ok(())
}

fn print_report(r: &LoadReport) {
    println!(
        "connections: {} connected in {:.1} s, {} held to the end",
        r.connected,
        r.connect_time.as_secs_f64(),
        r.held
    );
    println!(
        "submits: {} sent, {} accepted, {} rejected",
        r.sent, r.accepted, r.rejected
    );
    println!(
        "throughput: {:.0} submits/s answered",
        r.answered_per_second
    );
    println!(
        "latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        r.p50.as_secs_f64() * 1e3,
        r.p99.as_secs_f64() * 1e3,
        r.max.as_secs_f64() * 1e3
    );
}

async fn serve(args: StratumServerArgs) -> anyhow::Result<()> {
    node::fdlimit::raise_fd_limit().context("cannot raise the open-file limit")?;
    let mut config = StratumConfig::new(args.listen);
    // Every submit is checked in full (coinbase, merkle root, header hash) and
    // accepted: the tiny fixed difficulty keeps vardiff and low-difficulty
    // rejections out of the measurement.
    let tiny = Difficulty::new(1e-12).expect("positive");
    config.session.vardiff = VardiffConfig {
        start: tiny,
        min: tiny,
        enabled: false,
        ..VardiffConfig::default()
    };
    config.limits.handshake_timeout = Duration::from_secs(120);
    let extranonce_len = 4 + config.session.extranonce2_size;
    let (jobs, jobs_rx) = job_channel();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as u32;
    let prev = bitcoin::BlockHash::from_raw_hash(bitcoin::hashes::Hash::all_zeros());
    jobs.send_replace(Some(Arc::new(node::jobs::synthetic_job(
        1,
        prev,
        now,
        extranonce_len,
        true,
    ))));
    let server = StratumServer::start(config, jobs_rx, Arc::new(DiscardSink)).await?;
    println!("listening {}", server.local_addr());
    std::future::pending::<()>().await;
    drop(jobs);
    Ok(())
}
