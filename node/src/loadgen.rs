//! A Stratum load generator (`sharemint bench stratum`): many concurrent miner
//! connections submitting at a fixed total rate, measuring how many
//! connections are held, submits answered per second, and answer latency.
//!
//! Open loop: each connection submits on its own timer whatever the answers
//! do, so latency is measured under the offered load rather than hidden by it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use crate::stratum::line::LineReader;

/// What to offer.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The Stratum server.
    pub server: SocketAddr,
    /// Concurrent connections.
    pub connections: usize,
    /// Submits per second, all connections together.
    pub rate: f64,
    /// How long to submit after every connection is up.
    pub duration: Duration,
}

/// What was measured.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Connections subscribed, authorized and given a job.
    pub connected: usize,
    /// Of those, still open at the end.
    pub held: usize,
    /// Time to open and handshake every connection.
    pub connect_time: Duration,
    /// Submits sent.
    pub sent: u64,
    /// Submits answered `true`.
    pub accepted: u64,
    /// Submits answered with an error.
    pub rejected: u64,
    /// Answers per second over the measured duration.
    pub answered_per_second: f64,
    /// Median answer latency.
    pub p50: Duration,
    /// 99th percentile answer latency.
    pub p99: Duration,
    /// Slowest answer.
    pub max: Duration,
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    accepted: AtomicU64,
    rejected: AtomicU64,
    open: AtomicUsize,
    latencies: Mutex<Vec<u32>>,
}

/// Runs the load and reports. Connections that fail to open are not counted as held.
pub async fn run(config: LoadConfig) -> std::io::Result<LoadReport> {
    let counters = Arc::new(Counters::default());
    let connect_started = Instant::now();
    // Opening 10,000 sockets at once overflows the listen backlog; a few hundred in flight is plenty.
    let opening = Arc::new(Semaphore::new(256));
    let period = Duration::from_secs_f64(config.connections as f64 / config.rate.max(1e-3));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel();
    let (go_tx, go_rx) = tokio::sync::watch::channel(None::<Instant>);
    let mut tasks = Vec::with_capacity(config.connections);
    for index in 0..config.connections {
        let counters = counters.clone();
        let opening = opening.clone();
        let ready_tx = ready_tx.clone();
        let mut go_rx = go_rx.clone();
        let server = config.server;
        tasks.push(tokio::spawn(async move {
            let permit = opening.acquire_owned().await.expect("semaphore open");
            let Ok(conn) = open(server, index).await else {
                let _ = ready_tx.send(false);
                return;
            };
            drop(permit);
            counters.open.fetch_add(1, Ordering::Relaxed);
            let _ = ready_tx.send(true);
            let start = loop {
                if let Some(start) = *go_rx.borrow_and_update() {
                    break start;
                }
                if go_rx.changed().await.is_err() {
                    return;
                }
            };
            // Spread the connections' submits evenly over one period.
            let offset = period.mul_f64((index as f64 * 0.618_033_988_7).fract());
            let end = start + offset + config.duration;
            submit_loop(conn, start + offset, end, period, &counters).await;
            counters.open.fetch_sub(1, Ordering::Relaxed);
        }));
    }
    drop(ready_tx);
    let mut connected = 0;
    for _ in 0..config.connections {
        match ready_rx.recv().await {
            Some(true) => connected += 1,
            Some(false) => {}
            None => break,
        }
    }
    let connect_time = connect_started.elapsed();
    let start = Instant::now() + Duration::from_millis(200);
    let _ = go_tx.send(Some(start));
    tokio::time::sleep_until((start + config.duration).into()).await;
    let held = counters.open.load(Ordering::Relaxed);
    let answered_at_end =
        counters.accepted.load(Ordering::Relaxed) + counters.rejected.load(Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    let mut latencies = std::mem::take(&mut *counters.latencies.lock().expect("lock"));
    latencies.sort_unstable();
    let pick = |q: f64| -> Duration {
        if latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((latencies.len() - 1) as f64 * q).round() as usize;
        Duration::from_micros(u64::from(latencies[i]))
    };
    Ok(LoadReport {
        connected,
        held,
        connect_time,
        sent: counters.sent.load(Ordering::Relaxed),
        accepted: counters.accepted.load(Ordering::Relaxed),
        rejected: counters.rejected.load(Ordering::Relaxed),
        answered_per_second: answered_at_end as f64 / config.duration.as_secs_f64(),
        p50: pick(0.5),
        p99: pick(0.99),
        max: pick(1.0),
    })
}

struct Conn {
    stream_reader: LineReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
    job_id: String,
    extranonce2: String,
    ntime: String,
    worker: String,
}

async fn open(server: SocketAddr, index: usize) -> std::io::Result<Conn> {
    let stream = TcpStream::connect(server).await?;
    stream.set_nodelay(true)?;
    let (read, mut writer) = stream.into_split();
    let mut reader = LineReader::new(read, 1 << 20);
    let worker = format!("bench.w{index}");
    let hello = format!(
        "{{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"bench\"]}}\n\
         {{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"{worker}\",\"x\"]}}\n"
    );
    writer.write_all(hello.as_bytes()).await?;
    let mut extranonce2_size = 0;
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    loop {
        let line = tokio::time::timeout(Duration::from_secs(30), reader.next_line())
            .await
            .map_err(|_| invalid("no job within 30 s"))?
            .map_err(|e| invalid(&e.to_string()))?
            .ok_or_else(|| invalid("closed during handshake"))?;
        let v: Value = serde_json::from_slice(line).map_err(|e| invalid(&e.to_string()))?;
        if v["id"] == 1 {
            extranonce2_size = v["result"][2].as_u64().unwrap_or(0) as usize;
        }
        if v["method"] == "mining.notify" {
            let p = &v["params"];
            return Ok(Conn {
                stream_reader: reader,
                writer,
                job_id: p[0].as_str().unwrap_or_default().to_owned(),
                extranonce2: "00".repeat(extranonce2_size),
                ntime: p[7].as_str().unwrap_or_default().to_owned(),
                worker,
            });
        }
    }
}

async fn submit_loop(
    mut conn: Conn,
    first: Instant,
    end: Instant,
    period: Duration,
    counters: &Counters,
) {
    let mut tick = tokio::time::interval_at(first.into(), period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut in_flight: std::collections::VecDeque<(u64, Instant)> = Default::default();
    let mut latencies = Vec::new();
    let mut next_id: u64 = 10;
    let mut sending = true;
    loop {
        tokio::select! {
            _ = tick.tick(), if sending => {
                let now = Instant::now();
                if now >= end {
                    sending = false;
                    if in_flight.is_empty() { break; }
                    continue;
                }
                let line = format!(
                    "{{\"id\":{next_id},\"method\":\"mining.submit\",\"params\":[\"{}\",\"{}\",\"{}\",\"{}\",\"{:08x}\"]}}\n",
                    conn.worker, conn.job_id, conn.extranonce2, conn.ntime, next_id as u32
                );
                if conn.writer.write_all(line.as_bytes()).await.is_err() {
                    break;
                }
                in_flight.push_back((next_id, now));
                next_id += 1;
                counters.sent.fetch_add(1, Ordering::Relaxed);
            }
            line = conn.stream_reader.next_line() => {
                let Ok(Some(line)) = line else { break };
                let Ok(v) = serde_json::from_slice::<Value>(line) else { continue };
                let Some(id) = v["id"].as_u64() else { continue };
                while let Some(&(sent_id, at)) = in_flight.front() {
                    if sent_id > id { break; }
                    in_flight.pop_front();
                    if sent_id == id {
                        latencies.push(at.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                        if v["result"] == true {
                            counters.accepted.fetch_add(1, Ordering::Relaxed);
                        } else {
                            counters.rejected.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                if !sending && in_flight.is_empty() { break; }
            }
            _ = tokio::time::sleep_until((end + Duration::from_secs(5)).into()), if !sending => break,
        }
    }
    counters.latencies.lock().expect("lock").extend(latencies);
}
