//! The miner's Stratum V1 client: one connection's handshake (configure,
//! subscribe, authorize, suggest_difficulty), turning notifications into
//! [`Work`], and submitting what the hashing threads find.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin::block::{Header, Version};
use bitcoin::hashes::Hash;
use bitcoin::pow::Target;
use bitcoin::{BlockHash, CompactTarget, TxMerkleNode};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedReceiver;
use tracing::{debug, info, warn};

use super::hasher::Shared;
use super::work::{Found, Work};
use super::{MinerConfig, MinerError, MinerStats};
use crate::stratum::line::LineReader;
use crate::stratum::protocol::parse_hex_u32;
use crate::stratum::Difficulty;

#[derive(Debug, Clone, Copy)]
enum Pending {
    Configure,
    Subscribe,
    Authorize,
    Suggest,
    Submit { network_block: bool },
}

/// State of one connection to the pool.
pub(crate) struct Connection<'a> {
    config: &'a MinerConfig,
    stats: &'a MinerStats,
    shared: &'a Shared,
    write: OwnedWriteHalf,
    next_id: u64,
    pending: HashMap<u64, Pending>,
    extranonce1: Option<Vec<u8>>,
    extranonce2_size: usize,
    version_mask: u32,
    difficulty: Difficulty,
    authorized: bool,
    /// The session id to resume after a reconnect.
    pub(crate) session_id: Option<String>,
}

/// How a connection ended.
pub(crate) enum End {
    /// The caller asked to stop (or the share goal was reached).
    Stop,
    /// The pool went away; reconnect.
    Lost(String),
}

impl<'a> Connection<'a> {
    /// Connects and sends the handshake.
    pub(crate) async fn open(
        config: &'a MinerConfig,
        stats: &'a MinerStats,
        shared: &'a Shared,
        session_id: Option<String>,
    ) -> Result<(Self, LineReader<tokio::net::tcp::OwnedReadHalf>), MinerError> {
        let stream =
            tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(&config.server))
                .await
                .map_err(|_| MinerError::Connect {
                    server: config.server.clone(),
                    reason: "timed out".into(),
                })?
                .map_err(|e| MinerError::Connect {
                    server: config.server.clone(),
                    reason: e.to_string(),
                })?;
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        let mut conn = Connection {
            config,
            stats,
            shared,
            write,
            next_id: 1,
            pending: HashMap::new(),
            extranonce1: None,
            extranonce2_size: 0,
            version_mask: 0,
            difficulty: Difficulty::ONE,
            authorized: false,
            session_id,
        };
        if config.version_rolling {
            let params = json!([["version-rolling"], {"version-rolling.mask": "ffffffff", "version-rolling.min-bit-count": 2}]);
            conn.request("mining.configure", params, Pending::Configure)
                .await?;
        }
        let mut subscribe = vec![json!(concat!("sharemint-mine/", env!("CARGO_PKG_VERSION")))];
        if let Some(id) = &conn.session_id {
            subscribe.push(json!(id));
        }
        conn.request(
            "mining.subscribe",
            Value::Array(subscribe),
            Pending::Subscribe,
        )
        .await?;
        let authorize = json!([config.user, config.password]);
        conn.request("mining.authorize", authorize, Pending::Authorize)
            .await?;
        if let Some(d) = config.suggest_difficulty {
            conn.request(
                "mining.suggest_difficulty",
                json!([d.as_f64()]),
                Pending::Suggest,
            )
            .await?;
        }
        Ok((conn, LineReader::new(read, 1 << 20)))
    }

    async fn request(
        &mut self,
        method: &str,
        params: Value,
        kind: Pending,
    ) -> Result<(), MinerError> {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(id, kind);
        let mut line = json!({"id": id, "method": method, "params": params}).to_string();
        line.push('\n');
        self.write
            .write_all(line.as_bytes())
            .await
            .map_err(|e| MinerError::Lost(format!("write failed: {e}")))
    }

    /// Runs the connection until it is lost or the miner stops.
    pub(crate) async fn run(
        &mut self,
        mut reader: LineReader<tokio::net::tcp::OwnedReadHalf>,
        found: &mut UnboundedReceiver<Found>,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Result<End, MinerError> {
        let mut report = tokio::time::interval(self.config.report_every);
        report.tick().await;
        let mut last_report = (Instant::now(), self.shared.hashes());
        loop {
            tokio::select! {
                line = reader.next_line() => match line {
                    Ok(Some(bytes)) => {
                        let value: Value = match serde_json::from_slice(bytes) {
                            Ok(v) => v,
                            Err(e) => {
                                warn!("pool sent a line that is not JSON ({e}); ignoring it");
                                continue;
                            }
                        };
                        self.handle(value).await?;
                    }
                    Ok(None) => return Ok(End::Lost("pool closed the connection".into())),
                    Err(e) => return Ok(End::Lost(e.to_string())),
                },
                Some(share) = found.recv() => self.submit(share).await?,
                _ = report.tick() => {
                    let now = (Instant::now(), self.shared.hashes());
                    let rate = (now.1 - last_report.1) as f64 / now.0.duration_since(last_report.0).as_secs_f64();
                    last_report = now;
                    self.stats.set_hashrate(rate);
                    info!(
                        "hashrate {}, accepted {}, rejected {}, blocks {}, difficulty {}",
                        format_hashrate(rate), self.stats.accepted(), self.stats.rejected(),
                        self.stats.blocks(), self.difficulty
                    );
                }
                _ = stop.changed() => return Ok(End::Stop),
            }
            if self
                .config
                .max_shares
                .is_some_and(|max| self.stats.accepted() >= max)
            {
                return Ok(End::Stop);
            }
        }
    }

    async fn handle(&mut self, value: Value) -> Result<(), MinerError> {
        if let Some(method) = value.get("method").and_then(Value::as_str) {
            let params = value.get("params").cloned().unwrap_or(Value::Null);
            return self.notification(method, &params);
        }
        let Some(kind) = value
            .get("id")
            .and_then(Value::as_u64)
            .and_then(|id| self.pending.remove(&id))
        else {
            debug!("pool answered an unknown request: {value}");
            return Ok(());
        };
        let result = &value["result"];
        let error = &value["error"];
        match kind {
            Pending::Configure => {
                if let Some(mask) = result.get("version-rolling.mask").and_then(Value::as_str) {
                    self.version_mask = parse_hex_u32(mask).map_err(MinerError::Protocol)?;
                    info!("version rolling on, mask {:08x}", self.version_mask);
                }
            }
            Pending::Subscribe => {
                let en1 = result
                    .get(1)
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("subscribe result"))?;
                self.extranonce1 = Some(hex::decode(en1).map_err(|_| bad("extranonce1"))?);
                self.extranonce2_size = result
                    .get(2)
                    .and_then(Value::as_u64)
                    .ok_or_else(|| bad("extranonce2 size"))?
                    as usize;
                if !(1..=16).contains(&self.extranonce2_size) {
                    return Err(bad("extranonce2 size"));
                }
                self.session_id = Some(en1.to_owned());
                info!(
                    "subscribed: extranonce1 {en1}, extranonce2 {} bytes",
                    self.extranonce2_size
                );
            }
            Pending::Authorize => {
                if result != &Value::Bool(true) {
                    return Err(MinerError::Refused(format!(
                        "pool refused worker {}: {error}",
                        self.config.user
                    )));
                }
                self.authorized = true;
                info!("authorized as {}", self.config.user);
            }
            Pending::Suggest => {}
            Pending::Submit { network_block } => {
                if result == &Value::Bool(true) {
                    self.stats.record_accepted(network_block);
                    debug!("share accepted");
                } else {
                    let reason = error
                        .get(1)
                        .and_then(Value::as_str)
                        .unwrap_or("no reason given")
                        .to_owned();
                    warn!("share rejected: {reason}");
                    self.stats.record_rejected(reason);
                }
            }
        }
        Ok(())
    }

    fn notification(&mut self, method: &str, params: &Value) -> Result<(), MinerError> {
        match method {
            "mining.set_difficulty" => {
                let d = params
                    .get(0)
                    .and_then(Value::as_f64)
                    .ok_or_else(|| bad("set_difficulty"))?;
                self.difficulty =
                    Difficulty::new(d).map_err(|e| MinerError::Protocol(e.to_string()))?;
                debug!("difficulty {}", self.difficulty);
            }
            "mining.notify" => {
                let work = self.work_from_notify(params)?;
                self.shared.set_work(Some(Arc::new(work)));
            }
            "mining.set_version_mask" => {
                if let Some(mask) = params.get(0).and_then(Value::as_str) {
                    self.version_mask = parse_hex_u32(mask).map_err(MinerError::Protocol)?;
                }
            }
            other => debug!("ignoring pool notification {other}"),
        }
        Ok(())
    }

    fn work_from_notify(&self, p: &Value) -> Result<Work, MinerError> {
        let text = |i: usize| {
            p.get(i)
                .and_then(Value::as_str)
                .ok_or_else(|| bad("notify params"))
        };
        let hex_u32 =
            |i: usize| text(i).and_then(|s| parse_hex_u32(s).map_err(MinerError::Protocol));
        let extranonce1 = self
            .extranonce1
            .clone()
            .ok_or_else(|| bad("notify before subscribe"))?;
        let mut prev = <[u8; 32]>::try_from(hex::decode(text(1)?).map_err(|_| bad("prevhash"))?)
            .map_err(|_| bad("prevhash length"))?;
        for word in prev.chunks_exact_mut(4) {
            word.reverse();
        }
        let branch = p
            .get(4)
            .and_then(Value::as_array)
            .ok_or_else(|| bad("merkle branch"))?
            .iter()
            .map(|v| {
                let bytes = hex::decode(v.as_str().unwrap_or_default())
                    .map_err(|_| bad("merkle branch"))?;
                let bytes = <[u8; 32]>::try_from(bytes).map_err(|_| bad("merkle branch"))?;
                Ok(TxMerkleNode::from_byte_array(bytes))
            })
            .collect::<Result<Vec<_>, MinerError>>()?;
        Ok(Work {
            job_id: text(0)?.to_owned(),
            header: Header {
                version: Version::from_consensus(hex_u32(5)? as i32),
                prev_blockhash: BlockHash::from_byte_array(prev),
                merkle_root: TxMerkleNode::all_zeros(),
                time: hex_u32(7)?,
                bits: CompactTarget::from_consensus(hex_u32(6)?),
                nonce: 0,
            },
            coinb1: hex::decode(text(2)?).map_err(|_| bad("coinb1"))?,
            coinb2: hex::decode(text(3)?).map_err(|_| bad("coinb2"))?,
            branch,
            extranonce1,
            extranonce2_size: self.extranonce2_size,
            target: self.difficulty.to_target(),
            version_mask: self.version_mask,
        })
    }

    async fn submit(&mut self, share: Found) -> Result<(), MinerError> {
        let mut params = vec![
            json!(self.config.user),
            json!(share.job_id),
            json!(share.extranonce2),
            json!(format!("{:08x}", share.ntime)),
            json!(format!("{:08x}", share.nonce)),
        ];
        if let Some(bits) = share.version_bits {
            params.push(json!(format!("{bits:08x}")));
        }
        let network_block = self
            .network_target()
            .is_some_and(|t| t.is_met_by(share.hash));
        self.request(
            "mining.submit",
            Value::Array(params),
            Pending::Submit { network_block },
        )
        .await
    }

    fn network_target(&self) -> Option<Target> {
        let work = self.shared_work()?;
        Some(Target::from_compact(work.header.bits))
    }

    fn shared_work(&self) -> Option<Arc<Work>> {
        self.shared.current_work()
    }
}

fn bad(what: &str) -> MinerError {
    MinerError::Protocol(format!("pool sent an invalid {what}"))
}

/// Hashes per second in readable units.
pub fn format_hashrate(rate: f64) -> String {
    let units = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s"];
    let mut value = rate;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.2} {}", units[unit])
}
