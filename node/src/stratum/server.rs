//! The Stratum V1 listener: accepts miners, spawns one connection task each,
//! and shares the job channel, the sink and the statistics between them.
//!
//! Inputs: a `watch` channel of the current job (the node's job builder, or a
//! test, sends into it) and a [`SolutionSink`]. Outputs: accepted shares to
//! the sink, counters in [`StratumStats`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::connection::{serve, Limits};
use super::error::ServerError;
use super::extranonce::ExtranonceAllocator;
use super::job::Job;
use super::session::{SessionConfig, SessionDeps};
use super::sink::SolutionSink;
use super::stats::StratumStats;

/// Everything a Stratum server is configured with.
#[derive(Debug, Clone)]
pub struct StratumConfig {
    /// Address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Protocol settings (extranonce2 size, version mask, vardiff).
    pub session: SessionConfig,
    /// Per-connection limits.
    pub limits: Limits,
}

impl StratumConfig {
    /// Defaults on the given address.
    pub fn new(listen: SocketAddr) -> Self {
        StratumConfig {
            listen,
            session: SessionConfig::default(),
            limits: Limits::default(),
        }
    }

    fn check(&self) -> Result<(), ServerError> {
        let s = &self.session;
        if !(1..=16).contains(&s.extranonce2_size) {
            return Err(ServerError::Config(format!(
                "extranonce2 size must be 1 to 16 bytes, got {}",
                s.extranonce2_size
            )));
        }
        if s.vardiff.min > s.vardiff.max {
            return Err(ServerError::Config("vardiff minimum above maximum".into()));
        }
        if self.limits.max_line < 1024 || self.limits.write_queue < 4 {
            return Err(ServerError::Config(
                "max line under 1 KiB or write queue under 4 lines".into(),
            ));
        }
        Ok(())
    }
}

/// A running Stratum server. Dropping it does not stop it; call [`StratumServer::shutdown`].
pub struct StratumServer {
    local_addr: SocketAddr,
    stats: StratumStats,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl StratumServer {
    /// Binds the listener and starts accepting miners.
    pub async fn start(
        config: StratumConfig,
        jobs: watch::Receiver<Option<Arc<Job>>>,
        sink: Arc<dyn SolutionSink>,
    ) -> Result<StratumServer, ServerError> {
        config.check()?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
        let stats = StratumStats::new();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let deps = SessionDeps {
            config: Arc::new(config.session.clone()),
            allocator: ExtranonceAllocator::new(),
            stats: stats.clone(),
            sink,
        };
        info!(%local_addr, "stratum server listening");
        let task = tokio::spawn(accept_loop(listener, config, deps, jobs, shutdown_rx));
        Ok(StratumServer {
            local_addr,
            stats,
            shutdown,
            task,
        })
    }

    /// The address miners connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Live statistics.
    pub fn stats(&self) -> StratumStats {
        self.stats.clone()
    }

    /// Stops accepting, closes every connection, and waits for the listener to end.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    config: StratumConfig,
    deps: SessionDeps,
    jobs: watch::Receiver<Option<Arc<Job>>>,
    mut shutdown: watch::Receiver<bool>,
) {
    // Vardiff of quiet miners and idle checks run on this tick; a coarse one
    // keeps 10,000 idle connections cheap.
    let tick_every = (config.session.vardiff.share_interval / 2)
        .clamp(Duration::from_millis(250), Duration::from_secs(5));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Usually out of file descriptors; back off instead of spinning.
                warn!("stratum accept failed: {e}; raise the open-file limit if this repeats");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if deps.stats.connections() >= config.limits.max_connections {
            warn!(%peer, "stratum connection refused: {} connections open (the limit)", config.limits.max_connections);
            drop(stream);
            continue;
        }
        let deps = deps.clone();
        let limits = config.limits.clone();
        let jobs = jobs.clone();
        let shutdown = shutdown.clone();
        deps.stats.connection_opened();
        tokio::spawn(async move {
            let stats = deps.stats.clone();
            serve(stream, peer, deps, limits, jobs, shutdown, tick_every).await;
            stats.connection_closed();
        });
    }
    info!("stratum server stopped accepting");
}
