//! Work for this node's miners and what comes back from them.
//!
//! - [`run_jobs`]: inputs are bitcoind's templates, the best share tip and
//!   the sync status (watch channels); output is the Stratum job channel.
//!   Each template update and each new best share tip makes a job whose
//!   coinbase (DESIGN decision 1) commits to the share it would make:
//!   previous share = best tip, uncles, the share target the chain demands,
//!   and a fresh claim key. No job is served before the sharechain is synced.
//! - [`Submissions`]: input is every share the Stratum server accepted
//!   (a [`Solution`] channel). A hash meeting the bitcoin target goes to
//!   `submitblock` at once; a hash meeting the share target becomes a
//!   [`Share`] that goes through [`NodeChain::accept`] (validation, durable
//!   insert) and then to the network.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin::consensus::encode;
use bitcoin::ScriptBuf;
use sharechain::params::SHARE_VERSION;
use sharechain::retarget::target_from_bits;
use sharechain::{Share, ShareData};
use tokio::sync::{mpsc, watch};

use crate::api::NodeCounters;
use crate::bitcoin_view::BitcoindView;
use crate::bitcoind::{BitcoindClient, SubmitOutcome};
use crate::claim_keys::ClaimKeys;
use crate::daemon::TemplateUpdate;
use crate::jobs::{JobBuilder, JobInputs};
use crate::p2p::{ChainTip, P2pHandle, SyncStatus, Verdict};
use crate::share_chain::{NodeChain, Source};
use crate::stratum::{JobSender, Solution};

/// How often to repeat why no job is served.
const WAIT_LOG_EVERY: Duration = Duration::from_secs(10);

/// What the job task reads and writes.
pub struct JobSource {
    /// The sharechain (best tip, demanded target, uncles).
    pub chain: Arc<NodeChain>,
    /// Where claim keys come from.
    pub keys: Arc<ClaimKeys>,
    /// The federation's script.
    pub payout_script: ScriptBuf,
    /// Builds Stratum jobs.
    pub builder: JobBuilder,
    /// Where jobs go.
    pub jobs: JobSender,
    /// Counters shown by the API.
    pub counters: Arc<NodeCounters>,
}

/// Makes a job on every template update and every new best share tip,
/// once the sharechain is synced. Returns when an input channel closes.
pub async fn run_jobs(
    mut source: JobSource,
    mut templates: watch::Receiver<Option<TemplateUpdate>>,
    mut tips: watch::Receiver<Option<ChainTip>>,
    mut sync: watch::Receiver<SyncStatus>,
) {
    let mut last_bitcoin_tip = None;
    let mut last_wait_log: Option<Instant> = None;
    loop {
        let template = templates.borrow_and_update().clone();
        tips.borrow_and_update();
        let status = *sync.borrow_and_update();
        let waiting = match (&template, status.synced) {
            (None, _) => Some("bitcoind's first block template".to_owned()),
            (Some(_), false) => Some(format!(
                "the sharechain to sync: {} of {} shares, {} peers",
                status.local_height, status.best_peer_height, status.peers
            )),
            (Some(update), true) => {
                let clean = last_bitcoin_tip != Some(update.template.previous_block_hash);
                last_bitcoin_tip = Some(update.template.previous_block_hash);
                source.publish(update, clean);
                None
            }
        };
        source
            .counters
            .set_readiness(status.synced, waiting.is_none());
        if let Some(why) = waiting {
            if last_wait_log.is_none_or(|t| t.elapsed() >= WAIT_LOG_EVERY) {
                tracing::info!("no mining jobs yet: waiting for {why}");
                last_wait_log = Some(Instant::now());
            }
        }
        let changed = tokio::select! {
            r = templates.changed() => r,
            r = tips.changed() => r,
            r = sync.changed() => r,
        };
        if changed.is_err() {
            return;
        }
    }
}

impl JobSource {
    /// Builds and sends one job on `update` for the current best share tip.
    fn publish(&mut self, update: &TemplateUpdate, clean_jobs: bool) {
        let next = self.chain.next_share();
        let claim = match self.keys.next_key() {
            Ok(claim) => claim,
            Err(e) => {
                tracing::error!("no job: cannot reserve a claim key: {e}");
                return;
            }
        };
        self.counters.set_claim_key_index(self.keys.next_index());
        let share_data = ShareData {
            version: SHARE_VERSION,
            sharechain_id: self.chain.config().id(),
            prev_share: next.prev_share,
            uncles: next.uncles,
            share_bits: next.share_bits,
            claim_key: claim.key,
        };
        let inputs = JobInputs {
            payout_script: self.payout_script.clone(),
            share_data,
            clean_jobs,
        };
        match self.builder.build(&update.template, inputs) {
            Ok(job) => {
                tracing::debug!(
                    job = %job.id(),
                    height = update.template.height,
                    share_height = next.height,
                    claim_key_index = claim.index,
                    "new mining job"
                );
                self.jobs.send_replace(Some(Arc::new(job)));
            }
            Err(e) => tracing::error!("no job: {e}"),
        }
    }
}

/// Handles the shares our miners submit.
pub struct Submissions {
    /// The sharechain.
    pub chain: Arc<NodeChain>,
    /// bitcoind as validation sees it.
    pub bitcoin: Arc<BitcoindView>,
    /// bitcoind, for `submitblock`.
    pub client: BitcoindClient,
    /// The network, once started.
    pub p2p: Option<P2pHandle>,
    /// Counters shown by the API.
    pub counters: Arc<NodeCounters>,
}

impl Submissions {
    /// Handles solutions until the channel closes.
    pub async fn run(self, mut solutions: mpsc::UnboundedReceiver<Solution>) {
        while let Some(solution) = solutions.recv().await {
            self.handle(solution).await;
        }
    }

    async fn handle(&self, solution: Solution) {
        let context = &solution.job.parts().context;
        if context.bitcoin_target.is_met_by(solution.hash) {
            self.submit_block(&solution).await;
        }
        let Some(data) = context.share_data.clone() else {
            return;
        };
        let meets_share_target =
            target_from_bits(data.share_bits).is_some_and(|t| t.is_met_by(solution.hash));
        if !meets_share_target {
            return; // a Stratum share only: counted in the miner's stats
        }
        let share = match build_share(&solution, data) {
            Ok(share) => share,
            Err(e) => {
                tracing::error!(worker = %solution.worker, "cannot decode our own coinbase: {e}");
                return;
            }
        };
        if let Err(e) = self.bitcoin.prepare(&share.header.prev_blockhash).await {
            tracing::warn!("cannot look up the share's bitcoin parent: {e}");
        }
        match self.chain.accept(&share, Source::Local) {
            Verdict::Accepted => {
                self.counters.record_own_share();
                tracing::info!(share = %share.id(), worker = %solution.worker, "share added to the sharechain");
                if let Some(p2p) = &self.p2p {
                    if let Err(e) = p2p.publish(&share).await {
                        // Alone on the network: peers fetch it when they connect.
                        tracing::debug!(share = %share.id(), "share not gossiped: {e}");
                    }
                }
            }
            Verdict::Duplicate => {}
            Verdict::Missing(ids) => {
                // Our jobs build on shares we hold; a reorg may have pruned none, so this is odd.
                tracing::warn!(share = %share.id(), missing = ids.len(), "our share refers to unknown shares");
                self.counters.record_share_rejected("MissingShares");
            }
            Verdict::Rejected(err) => {
                tracing::warn!(share = %share.id(), worker = %solution.worker, "share refused by the sharechain: {err}");
                self.counters.record_share_rejected(&reason_label(&err));
            }
            Verdict::Failed(why) => {
                tracing::error!(share = %share.id(), "share not stored: {why}");
                self.counters.record_share_rejected("StoreFailed");
            }
        }
    }

    async fn submit_block(&self, solution: &Solution) {
        let height = solution.job.parts().context.height;
        let block = match solution.block() {
            Ok(block) => block,
            Err(e) => {
                tracing::error!("cannot assemble the block at height {height}: {e}");
                return;
            }
        };
        self.counters.record_block_submitted();
        match self.client.submit_block(&block).await {
            Ok(SubmitOutcome::Accepted) => {
                tracing::info!(%height, hash = %solution.hash, worker = %solution.worker, "block found and accepted by bitcoind");
                self.counters
                    .record_block(height, solution.hash, &solution.worker);
            }
            Ok(SubmitOutcome::Rejected(reason)) => {
                tracing::warn!(%height, hash = %solution.hash, "bitcoind refused our block: {reason}");
                self.counters.record_block_rejected(&reason);
            }
            Ok(other) => {
                tracing::info!(%height, hash = %solution.hash, "block submitted: {other}")
            }
            Err(e) => {
                tracing::warn!(%height, hash = %solution.hash, "submitblock failed: {e}");
                self.counters.record_block_rejected("rpc-error");
            }
        }
    }
}

/// The share a solved job makes: the header, the coinbase the miner
/// completed, the job's merkle branch and its committed sharechain data.
fn build_share(solution: &Solution, data: ShareData) -> Result<Share, encode::Error> {
    Ok(Share {
        header: solution.header,
        coinbase: encode::deserialize(&solution.coinbase)?,
        merkle_branch: solution.job.parts().merkle_branch.clone(),
        data,
    })
}

/// The error's variant name (`StaleBitcoinParent`, ...): a stable key for counters.
fn reason_label(err: &sharechain::ShareError) -> String {
    let debug = format!("{err:?}");
    debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("Other")
        .to_owned()
}
