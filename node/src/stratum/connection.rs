//! The task serving one miner connection: reads capped lines into its
//! [`Session`], forwards new jobs and clock ticks, and writes answers through a
//! bounded queue drained by a separate writer task, so a slow or hostile
//! client only ever stalls itself.
//!
//! Inputs: the TCP stream, the job channel, the shutdown signal. Outputs: lines
//! to the miner, accepted shares to the sink (through the session).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc::error::{SendTimeoutError, TrySendError};
use tokio::sync::{mpsc, watch};
use tokio::time::MissedTickBehavior;
use tracing::{debug, info};

use super::error::StratumError;
use super::job::Job;
use super::line::{LineError, LineReader};
use super::protocol::error_line;
use super::session::{Flow, Session, SessionDeps};

/// Per-connection limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest request line in bytes; longer ones get an error and a disconnect.
    pub max_line: usize,
    /// Time a new connection has to subscribe and authorize.
    pub handshake_timeout: Duration,
    /// Time without a valid request before the connection is closed.
    pub idle_timeout: Duration,
    /// Lines queued for a client that does not read before it is disconnected.
    pub write_queue: usize,
    /// Time one write may block before the client is considered gone.
    pub write_timeout: Duration,
    /// Open connections beyond which new ones are closed at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // Real requests are under 1 KiB; 16 KiB leaves room for long worker names.
            max_line: 16 * 1024,
            handshake_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(600),
            write_queue: 64,
            write_timeout: Duration::from_secs(30),
            max_connections: 50_000,
        }
    }
}

/// Input discarded after an error before the socket closes, so the client can read the error.
const DRAIN_BYTES: usize = 4 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(1);
const NOT_READING: &str = "client not reading (write queue full)";

/// Serves one connection until it closes, fails, or the server shuts down.
pub(crate) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    deps: SessionDeps,
    limits: Limits,
    mut jobs: watch::Receiver<Option<Arc<Job>>>,
    mut shutdown: watch::Receiver<bool>,
    tick_every: Duration,
) {
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let (tx, rx) = mpsc::channel::<String>(limits.write_queue);
    let writer = tokio::spawn(write_loop(write, rx, limits.write_timeout));
    let mut reader = LineReader::new(read, limits.max_line);

    let started = Instant::now();
    let latest = jobs.borrow_and_update().clone();
    let mut session = Session::new(deps, latest, started);
    let handshake = tokio::time::sleep(limits.handshake_timeout);
    tokio::pin!(handshake);
    let mut tick = tokio::time::interval(tick_every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut out = Vec::new();

    let reason = loop {
        let mut flow = Flow::Continue;
        let mut reason = None;
        tokio::select! {
            line = reader.next_line() => match line {
                Ok(Some(bytes)) => flow = session.handle_line(bytes, Instant::now(), &mut out),
                Ok(None) => break "client closed the connection",
                Err(LineError::TooLong { max }) => {
                    out.push(error_line("null", &StratumError::LineTooLong { max }));
                    flow = Flow::Close;
                    reason = Some("line too long");
                }
                Err(LineError::Io(_)) => break "read error",
            },
            changed = jobs.changed() => {
                if changed.is_err() {
                    break "job source closed";
                }
                let job = jobs.borrow_and_update().clone();
                if let Some(job) = job {
                    session.on_job(job, &mut out);
                }
            }
            _ = &mut handshake, if !session.is_ready() => {
                flow = Flow::Close;
                reason = Some("no subscribe and authorize in time");
            }
            _ = tick.tick() => {
                let now = Instant::now();
                session.on_tick(now, &mut out);
                if session.idle_for(now) > limits.idle_timeout {
                    flow = Flow::Close;
                    reason = Some("idle");
                }
            }
            _ = shutdown.changed() => break "server shutting down",
        }
        if flow == Flow::Close && reason.is_none() {
            reason = Some("too many malformed lines");
        }
        let mut send_failed = None;
        for line in out.drain(..) {
            let sent = match tx.try_send(line) {
                Ok(()) => Ok(()),
                // A burst of pipelined requests can fill the queue before the writer
                // runs: wait for it, but only as long as a write may take, so a
                // client that does not read is dropped instead of buffered for.
                Err(TrySendError::Full(line)) => tx
                    .send_timeout(line, limits.write_timeout)
                    .await
                    .map_err(|e| match e {
                        SendTimeoutError::Timeout(_) => NOT_READING,
                        SendTimeoutError::Closed(_) => "write failed",
                    }),
                Err(TrySendError::Closed(_)) => Err("write failed"),
            };
            if let Err(reason) = sent {
                send_failed = Some(reason);
                break;
            }
        }
        if let Some(reason) = send_failed {
            break reason;
        }
        if let Some(reason) = reason {
            drop(tx);
            let _ = writer.await;
            reader.drain(DRAIN_BYTES, DRAIN_TIME).await;
            log_close(peer, &session, reason);
            return;
        }
    };
    drop(tx);
    if reason == NOT_READING {
        writer.abort();
    } else {
        let _ = writer.await;
    }
    log_close(peer, &session, reason);
}

fn log_close(peer: SocketAddr, session: &Session, reason: &str) {
    if session.is_ready() {
        info!(%peer, extranonce1 = ?session.extranonce1(), agent = session.user_agent().unwrap_or("-"), "miner disconnected: {reason}");
    } else {
        debug!(%peer, "stratum connection closed before authorizing: {reason}");
    }
}

async fn write_loop(mut write: OwnedWriteHalf, mut rx: mpsc::Receiver<String>, timeout: Duration) {
    let mut buf = Vec::with_capacity(1024);
    while let Some(line) = rx.recv().await {
        buf.clear();
        buf.extend_from_slice(line.as_bytes());
        // Batch whatever else is queued into one write.
        while buf.len() < 64 * 1024 {
            match rx.try_recv() {
                Ok(more) => buf.extend_from_slice(more.as_bytes()),
                Err(_) => break,
            }
        }
        match tokio::time::timeout(timeout, write.write_all(&buf)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
    let _ = write.shutdown().await;
}
