//! The node daemon: connects to bitcoind, waits until it is usable, and keeps a fresh
//! block template.
//!
//! Inputs: a [`NodeConfig`] and a shutdown future. Output: a watch channel of
//! [`TemplateUpdate`]s ([`Daemon::templates`]), refreshed on every new tip and every
//! `template_refresh`. Later parts (Stratum, sharechain) subscribe to that channel
//! before calling [`Daemon::run`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::BlockHash;
use tokio::sync::watch;

use crate::bitcoind::{BitcoindClient, BlockTemplate, ChainInfo, RpcError, TipWatcher};
use crate::config::NodeConfig;

/// How often to say "still waiting" while bitcoind is unreachable or syncing.
const WAIT_LOG_EVERY: Duration = Duration::from_secs(10);
const WAIT_POLL: Duration = Duration::from_millis(500);

/// A new template and whether it builds on a new tip (miners must drop old work).
#[derive(Clone, Debug)]
pub struct TemplateUpdate {
    /// The template.
    pub template: Arc<BlockTemplate>,
    /// True when the tip changed since the previous template (Stratum's `clean_jobs`).
    pub new_tip: bool,
}

/// Why the daemon stopped.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// bitcoind refused or failed in a way waiting does not fix.
    #[error(transparent)]
    Bitcoind(#[from] RpcError),
}

/// The node daemon.
pub struct Daemon {
    config: NodeConfig,
    client: BitcoindClient,
    templates: watch::Sender<Option<TemplateUpdate>>,
}

impl Daemon {
    /// A daemon for `config`; nothing is contacted until [`Daemon::run`].
    pub fn new(config: NodeConfig) -> Result<Self, DaemonError> {
        let client = BitcoindClient::new(
            &config.bitcoind_url,
            config.bitcoind_auth.clone(),
            config.network,
        )?;
        let (templates, _) = watch::channel(None);
        Ok(Daemon {
            config,
            client,
            templates,
        })
    }

    /// The bitcoind client the daemon uses.
    pub fn client(&self) -> &BitcoindClient {
        &self.client
    }

    /// The configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// The latest template; `None` until the first one is fetched.
    pub fn templates(&self) -> watch::Receiver<Option<TemplateUpdate>> {
        self.templates.subscribe()
    }

    /// Runs until `shutdown` completes or bitcoind fails in a way waiting cannot fix.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), DaemonError> {
        tokio::select! {
            result = self.serve() => result,
            () = shutdown => {
                tracing::info!("node stopping");
                Ok(())
            }
        }
    }

    async fn serve(&self) -> Result<(), DaemonError> {
        tracing::info!(
            "node starting on {}: bitcoind at {}, payout {}",
            self.config.network,
            self.config.bitcoind_url,
            self.config.payout
        );
        let info = wait_until_ready(&self.client).await?;
        tracing::info!(
            "bitcoind ready: {} at height {}, tip {}",
            info.network,
            info.blocks,
            info.best_block_hash
        );
        let watcher =
            TipWatcher::start(self.client.clone(), self.config.tip_sources.clone()).await?;
        self.follow(watcher).await
    }

    async fn follow(&self, watcher: TipWatcher) -> Result<(), DaemonError> {
        let mut tips = watcher.subscribe();
        let mut refresh = tokio::time::interval(self.config.template_refresh);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_tip: Option<BlockHash> = None;
        loop {
            tokio::select! {
                changed = tips.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    // A new tip restarts the refresh clock: the template is fresh now.
                    refresh.reset();
                }
                _ = refresh.tick() => {}
            }
            match self.client.get_block_template().await {
                Ok(template) => {
                    let new_tip = last_tip != Some(template.previous_block_hash);
                    last_tip = Some(template.previous_block_hash);
                    log_template(&template, new_tip);
                    self.templates.send_replace(Some(TemplateUpdate {
                        template: Arc::new(template),
                        new_tip,
                    }));
                }
                Err(e) if e.is_transient() => {
                    tracing::warn!("cannot fetch a block template, will retry: {e}")
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Waits until bitcoind answers on the right network and has left initial block download,
/// saying what it waits for. Wrong credentials or network end the wait with an error.
pub async fn wait_until_ready(client: &BitcoindClient) -> Result<ChainInfo, RpcError> {
    let mut last_log: Option<tokio::time::Instant> = None;
    loop {
        let waiting_for = match client.check_ready().await {
            Ok(info) => return Ok(info),
            Err(e @ RpcError::InitialBlockDownload { .. }) => e,
            Err(e) if e.is_transient() => e,
            Err(e) => return Err(e),
        };
        if last_log.is_none_or(|t| t.elapsed() >= WAIT_LOG_EVERY) {
            tracing::info!("waiting for bitcoind: {waiting_for}");
            last_log = Some(tokio::time::Instant::now());
        }
        tokio::time::sleep(WAIT_POLL).await;
    }
}

fn log_template(template: &BlockTemplate, new_tip: bool) {
    tracing::info!(
        "template for height {}: {} transactions, {} fees, coinbase value {}{}",
        template.height,
        template.transactions.len(),
        template
            .total_fees()
            .display_in(bitcoin::Denomination::Bitcoin)
            .show_denomination(),
        template
            .coinbase_value
            .display_in(bitcoin::Denomination::Bitcoin)
            .show_denomination(),
        if new_tip {
            format!(", new tip {}", template.previous_block_hash)
        } else {
            String::new()
        }
    );
}
