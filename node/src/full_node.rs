//! `sharemint node` assembled: bitcoind templates, the sharechain on
//! RocksDB, the libp2p network, the Stratum server, the jobs and
//! submissions between them, and the JSON API.
//!
//! Data flow: bitcoind → [`Daemon`] templates → [`mining::run_jobs`] (with
//! the best share tip from [`NodeChain`] and the network's sync status) →
//! Stratum jobs → miners → [`Solution`]s → [`mining::Submissions`] →
//! `submitblock` and [`NodeChain::accept`] → gossip. Peers' shares come in
//! through [`NodeChain`] as the network's [`crate::p2p::ShareSink`].

use std::future::Future;
use std::sync::Arc;

use sharechain::{ConsensusParams, SharechainConfig};

use crate::api::{ApiError, ApiServer, ApiState, NodeCounters};
use crate::bitcoin_view::BitcoindView;
use crate::claim_keys::{ClaimKeyError, ClaimKeys, CLAIM_KEY_PATH};
use crate::config::NodeConfig;
use crate::daemon::{Daemon, DaemonError, TemplateUpdate};
use crate::jobs::JobBuilder;
use crate::mining::{run_jobs, JobSource, Submissions};
use crate::p2p::{self, P2pConfig, P2pError};
use crate::share_chain::{NodeChain, OpenError};
use crate::stratum::extranonce::EXTRANONCE1_SIZE;
use crate::stratum::{job_channel, ServerError, Solution, StratumConfig, StratumServer};

/// Directory of the network's key, saved peers and bans inside the data dir.
pub const P2P_DIR: &str = "p2p";

/// Why the node could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// bitcoind failed in a way waiting does not fix.
    #[error(transparent)]
    Daemon(#[from] DaemonError),
    /// The wallet seed or claim-key index.
    #[error(transparent)]
    ClaimKeys(#[from] ClaimKeyError),
    /// The share store.
    #[error(transparent)]
    Chain(#[from] OpenError),
    /// The network.
    #[error(transparent)]
    P2p(#[from] P2pError),
    /// The Stratum server.
    #[error(transparent)]
    Stratum(#[from] ServerError),
    /// The API.
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// Runs the node until `shutdown` completes.
pub async fn run(config: NodeConfig, shutdown: impl Future<Output = ()>) -> Result<(), NodeError> {
    let daemon = Daemon::new(config.clone())?;
    let counters = Arc::new(NodeCounters::default());
    let keys = Arc::new(ClaimKeys::open(&config.data_dir, config.network)?);
    tracing::info!(
        "wallet seed in {}; claim keys from {CLAIM_KEY_PATH}, next index {}",
        config.data_dir.join(crate::claim_keys::SEED_FILE).display(),
        keys.next_index()
    );
    counters.set_claim_key_index(keys.next_index());

    let sharechain = SharechainConfig::new(
        ConsensusParams::for_network(config.network, None),
        config.payout.script_pubkey().clone(),
    );
    tracing::info!(id = %sharechain.id(), "sharechain of federation {}", config.payout);
    let bitcoin = Arc::new(BitcoindView::new(daemon.client().clone()));
    let chain = Arc::new(NodeChain::open(
        &config.data_dir,
        sharechain.clone(),
        bitcoin.clone(),
        counters.clone(),
    )?);

    let mut p2p_config = P2pConfig::new(&config.network.to_string());
    p2p_config.listen = config.p2p_listen.clone();
    p2p_config.bootstrap = config.bootstrap.clone();
    p2p_config.data_dir = Some(config.data_dir.join(P2P_DIR));
    let (p2p, p2p_task) = p2p::start(p2p_config, sharechain.id(), chain.clone()).await?;

    let mut stratum_config = StratumConfig::new(config.stratum_listen);
    stratum_config.session.vardiff.share_interval = config.vardiff_interval;
    let extranonce_len = EXTRANONCE1_SIZE + stratum_config.session.extranonce2_size;
    let (jobs, jobs_rx) = job_channel();
    let (solutions, solutions_rx) = tokio::sync::mpsc::unbounded_channel::<Solution>();
    let stratum = StratumServer::start(stratum_config, jobs_rx, Arc::new(solutions)).await?;
    let api = ApiServer::start(
        config.api_listen,
        ApiState {
            stratum: stratum.stats(),
            node: counters.clone(),
            shares: Some(chain.clone()),
        },
    )
    .await?;
    tracing::info!(
        "miners connect to stratum+tcp://{} (user: any name, e.g. alice.rig1); stats at http://{}/api/stats",
        stratum.local_addr(),
        api.local_addr()
    );

    let tips = tokio::spawn(follow_bitcoin_tip(daemon.templates(), bitcoin.clone()));
    let job_task = tokio::spawn(run_jobs(
        JobSource {
            chain: chain.clone(),
            keys,
            payout_script: sharechain.payout_script.clone(),
            builder: JobBuilder::new(extranonce_len),
            jobs,
            counters: counters.clone(),
        },
        daemon.templates(),
        chain.watch_tip(),
        p2p.watch_status(),
    ));
    let submissions = tokio::spawn(
        Submissions {
            chain,
            bitcoin,
            client: daemon.client().clone(),
            p2p: Some(p2p.clone()),
            counters,
        }
        .run(solutions_rx),
    );

    let result = daemon.run(shutdown).await;
    job_task.abort();
    tips.abort();
    stratum.shutdown().await;
    // The Stratum server held the solution sender: the queue drains, then ends.
    let _ = submissions.await;
    api.shutdown().await;
    p2p.shutdown().await;
    let _ = p2p_task.await;
    tracing::info!("node stopped");
    Ok(result?)
}

/// Keeps the bitcoin view's tip at the templates' parent.
async fn follow_bitcoin_tip(
    mut templates: tokio::sync::watch::Receiver<Option<TemplateUpdate>>,
    bitcoin: Arc<BitcoindView>,
) {
    loop {
        if let Some(update) = templates.borrow_and_update().clone() {
            let template = &update.template;
            bitcoin.set_tip(
                template.height.saturating_sub(1),
                template.previous_block_hash,
            );
        }
        if templates.changed().await.is_err() {
            return;
        }
    }
}
