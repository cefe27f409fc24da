//! New-tip notification: one watch channel fed by long-poll, polling and ZMQ.
//!
//! Inputs: a [`BitcoindClient`] and the [`TipSources`] to use. Output: a
//! `tokio::sync::watch` channel holding bitcoind's best block hash, changed once
//! per new tip. Every source is only a trigger: on a trigger the watcher asks
//! `getbestblockhash`, so sources that race each other never report an older tip.

use std::time::Duration;

use bitcoin::BlockHash;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{zmq, BitcoindClient, RpcError};

/// Which sources tell the watcher about new tips. Several may run at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TipSources {
    /// Long-poll `getblocktemplate`: bitcoind answers the moment its tip changes.
    pub longpoll: bool,
    /// Poll `getbestblockhash` this often: the fallback that always works.
    pub poll_interval: Option<Duration>,
    /// A bitcoind `-zmqpubhashblock` endpoint, e.g. `tcp://127.0.0.1:28332`.
    pub zmq_hashblock: Option<String>,
}

/// ckpool polls every 100 ms; a little slower costs nothing next to a 10-minute block.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Pause after a failed call before a source tries again.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

impl Default for TipSources {
    fn default() -> Self {
        TipSources {
            longpoll: true,
            poll_interval: Some(DEFAULT_POLL_INTERVAL),
            zmq_hashblock: None,
        }
    }
}

impl TipSources {
    /// Only long-poll.
    pub fn longpoll_only() -> Self {
        TipSources {
            longpoll: true,
            poll_interval: None,
            zmq_hashblock: None,
        }
    }

    /// Only polling at `interval`.
    pub fn polling_only(interval: Duration) -> Self {
        TipSources {
            longpoll: false,
            poll_interval: Some(interval),
            zmq_hashblock: None,
        }
    }

    /// Only ZMQ `hashblock` from `endpoint`.
    pub fn zmq_only(endpoint: impl Into<String>) -> Self {
        TipSources {
            longpoll: false,
            poll_interval: None,
            zmq_hashblock: Some(endpoint.into()),
        }
    }
}

/// Follows bitcoind's tip. Dropping it stops its tasks.
pub struct TipWatcher {
    tip: watch::Receiver<BlockHash>,
    tasks: Vec<JoinHandle<()>>,
}

impl TipWatcher {
    /// Reads the current tip, then starts the sources.
    pub async fn start(client: BitcoindClient, sources: TipSources) -> Result<Self, RpcError> {
        let current = client.get_best_block_hash().await?;
        let (tx, rx) = watch::channel(current);
        let reporter = Reporter {
            client: client.clone(),
            tx,
        };
        let mut tasks = Vec::new();
        if sources.longpoll {
            tasks.push(tokio::spawn(longpoll_loop(
                client.clone(),
                reporter.clone(),
            )));
        }
        if let Some(interval) = sources.poll_interval {
            tasks.push(tokio::spawn(poll_loop(reporter.clone(), interval)));
        }
        if let Some(endpoint) = sources.zmq_hashblock {
            tasks.push(tokio::spawn(zmq::hashblock_loop(
                endpoint,
                reporter.clone(),
            )));
        }
        Ok(TipWatcher { tip: rx, tasks })
    }

    /// A receiver that sees every new tip (`changed().await`, then `borrow_and_update()`).
    pub fn subscribe(&self) -> watch::Receiver<BlockHash> {
        self.tip.clone()
    }

    /// The latest tip seen.
    pub fn current(&self) -> BlockHash {
        *self.tip.borrow()
    }
}

impl Drop for TipWatcher {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What a source calls when it suspects a new tip.
#[derive(Clone)]
pub(crate) struct Reporter {
    client: BitcoindClient,
    tx: watch::Sender<BlockHash>,
}

impl Reporter {
    /// Asks bitcoind for its best block and publishes it if it is new.
    pub(crate) async fn check(&self, source: &str) -> Result<(), RpcError> {
        let best = self.client.get_best_block_hash().await?;
        let changed = self.tx.send_if_modified(|tip| {
            let new = *tip != best;
            *tip = best;
            new
        });
        if changed {
            tracing::debug!(tip = %best, source, "new tip");
        }
        Ok(())
    }
}

async fn poll_loop(reporter: Reporter, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(e) = reporter.check("poll").await {
            tracing::warn!("tip polling: {e}");
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }
}

async fn longpoll_loop(client: BitcoindClient, reporter: Reporter) {
    let mut id = None;
    loop {
        let answer = match &id {
            None => client.get_block_template().await,
            Some(id) => client.wait_block_template(id).await,
        };
        let result = match answer {
            Ok(template) => {
                id = template.longpoll_id;
                reporter.check("longpoll").await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            // A timed-out long-poll is normal on a quiet chain: just ask again.
            if !matches!(e, RpcError::Timeout { .. }) {
                tracing::warn!("tip long-poll: {e}");
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            id = None;
        }
    }
}
