//! The network task: owns the swarm, hands every received share to the
//! [`ShareSink`], relays or rejects gossip by its verdict, serves and drives
//! sync, fetches missing parents, polices peers, and keeps the saved peer
//! list. Inputs: swarm events, [`P2pHandle`] commands, a timer. Outputs:
//! sink calls, the [`SyncStatus`] watch channel, tracing lines.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance};
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::{identify, identity::Keypair, kad, multiaddr::Protocol, Multiaddr, PeerId, Swarm};
use sharechain::{PeerAction, Share, ShareId, SharechainId};
use tokio::sync::{mpsc, oneshot, watch};

use super::behaviour::{build_swarm, Behaviour, BehaviourEvent, BuildError};
use super::config::P2pConfig;
use super::peer_store::{self, KeyError, BANS_FILE};
use super::protocol::{Names, SyncRequest, SyncResponse, MAX_HEADERS};
use super::scoring::{Offense, PeerScores};
use super::sink::{Origin, ShareSink, Verdict};
use super::sync::{progress_line, SyncState, SyncStatus};

/// How often peers are asked for their tip.
const TIP_INTERVAL: Duration = Duration::from_secs(2);
/// Body batches out at once per peer.
const BATCHES_PER_PEER: usize = 2;
/// Shares waiting for missing parents, at most.
const MAX_WAITING: usize = 2_000;
/// Missing ancestors fetched one by one before leaving it to headers sync.
const MAX_FETCH_DEPTH: u8 = 16;
/// How often Kademlia looks for more peers.
const KAD_INTERVAL: Duration = Duration::from_secs(60);
/// How long a node with no peers waits before calling itself synced.
const ALONE_GRACE: Duration = Duration::from_secs(2);

/// Errors starting the network.
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// The swarm could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The node key could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A listen address is unusable.
    #[error("cannot listen on {addr}: {reason}; pick another port or address")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
    /// The network task has stopped.
    #[error("the p2p network task has stopped")]
    Stopped,
    /// Gossip refused the share.
    #[error("cannot publish the share: {0}")]
    Publish(String),
}

enum Command {
    Publish(Vec<u8>, oneshot::Sender<Result<(), P2pError>>),
    Dial(Multiaddr),
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    Peers(oneshot::Sender<Vec<PeerId>>),
    Banned(oneshot::Sender<Vec<PeerId>>),
    Shutdown,
}

/// The daemon's handle on the running network.
#[derive(Clone)]
pub struct P2pHandle {
    peer_id: PeerId,
    commands: mpsc::Sender<Command>,
    status: watch::Receiver<SyncStatus>,
}

impl P2pHandle {
    /// Our peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Pushes a share this node found (already accepted by its own sink) to peers.
    pub async fn publish(&self, share: &Share) -> Result<(), P2pError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Publish(share.encode(), tx)).await?;
        rx.await.map_err(|_| P2pError::Stopped)?
    }

    /// Dials a peer address.
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), P2pError> {
        self.send(Command::Dial(addr)).await
    }

    /// Addresses we listen on, each ending in `/p2p/<our peer id>`.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, P2pError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::ListenAddrs(tx)).await?;
        rx.await.map_err(|_| P2pError::Stopped)
    }

    /// Connected peers on our sharechain.
    pub async fn peers(&self) -> Result<Vec<PeerId>, P2pError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Peers(tx)).await?;
        rx.await.map_err(|_| P2pError::Stopped)
    }

    /// Peers banned now.
    pub async fn banned(&self) -> Result<Vec<PeerId>, P2pError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Banned(tx)).await?;
        rx.await.map_err(|_| P2pError::Stopped)
    }

    /// Sync progress now; `synced` gates mining jobs.
    pub fn status(&self) -> SyncStatus {
        *self.status.borrow()
    }

    /// A receiver that sees every change of the sync status.
    pub fn watch_status(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }

    /// Stops the network task.
    pub async fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown).await;
    }

    async fn send(&self, command: Command) -> Result<(), P2pError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| P2pError::Stopped)
    }
}

enum Outbound {
    Tip,
    Headers { max: usize },
    Batch(Vec<ShareId>),
    Fetch(Vec<ShareId>, u8),
}

struct Waiting {
    share: Share,
    origin: Origin,
    depth: u8,
}

/// Starts the network for sharechain `id` with `config`, handing shares to `sink`.
pub async fn start(
    config: P2pConfig,
    id: SharechainId,
    sink: Arc<dyn ShareSink>,
) -> Result<(P2pHandle, tokio::task::JoinHandle<()>), P2pError> {
    let key = match &config.data_dir {
        Some(dir) => peer_store::load_or_create_key(dir)?,
        None => Keypair::generate_ed25519(),
    };
    start_with_key(config, id, sink, key).await
}

/// As [`start`] with a given node key.
pub async fn start_with_key(
    config: P2pConfig,
    id: SharechainId,
    sink: Arc<dyn ShareSink>,
    key: Keypair,
) -> Result<(P2pHandle, tokio::task::JoinHandle<()>), P2pError> {
    let names = Names::new(&config.network, id);
    let peer_id = key.public().to_peer_id();
    let mut swarm = build_swarm(key, &names, &config)?;
    for addr in &config.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|e| P2pError::Listen {
                addr: addr.clone(),
                reason: e.to_string(),
            })?;
    }
    let topic = IdentTopic::new(names.topic.clone());
    swarm
        .behaviour_mut()
        .gossipsub
        .subscribe(&topic)
        .map_err(|e| P2pError::Build(BuildError::Gossipsub(e.to_string())))?;
    let bans_path = config.data_dir.as_ref().map(|d| d.join(BANS_FILE));
    let scores = PeerScores::new(config.ban_duration, config.rate_limit, bans_path);
    for peer in scores.banned() {
        swarm.behaviour_mut().blocked.block_peer(peer);
    }
    let mut dial = config.bootstrap.clone();
    if let Some(dir) = &config.data_dir {
        dial.extend(peer_store::load_peers(dir));
    }
    for addr in dial {
        if let Some(Protocol::P2p(peer)) = addr.iter().last() {
            swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
        }
        if let Err(err) = swarm.dial(addr.clone()) {
            tracing::warn!(%addr, %err, "cannot dial peer");
        }
    }
    let (commands, rx) = mpsc::channel(256);
    let (status_tx, status) = watch::channel(SyncStatus::default());
    tracing::info!(%peer_id, topic = %names.topic, "sharechain network started");
    let service = Service {
        swarm,
        sink,
        topic,
        names,
        scores,
        sync: SyncState::default(),
        peers: HashSet::new(),
        requests: HashMap::new(),
        tips_out: HashSet::new(),
        batches_out: HashMap::new(),
        waiting: HashMap::new(),
        waiting_count: 0,
        fetching: HashSet::new(),
        headers_complete: false,
        known_addrs: BTreeSet::new(),
        addrs_dirty: false,
        data_dir: config.data_dir.clone(),
        config,
        status: status_tx,
        started: Instant::now(),
        last_tips: ago(TIP_INTERVAL),
        last_progress: Instant::now(),
        last_save: Instant::now(),
        last_kad: ago(KAD_INTERVAL - Duration::from_secs(5)),
    };
    let task = tokio::spawn(service.run(rx));
    Ok((
        P2pHandle {
            peer_id,
            commands,
            status,
        },
        task,
    ))
}

struct Service {
    swarm: Swarm<Behaviour>,
    sink: Arc<dyn ShareSink>,
    topic: IdentTopic,
    names: Names,
    scores: PeerScores,
    sync: SyncState,
    /// Connected peers that identified as being on our sharechain.
    peers: HashSet<PeerId>,
    requests: HashMap<OutboundRequestId, (PeerId, Outbound)>,
    tips_out: HashSet<PeerId>,
    batches_out: HashMap<PeerId, usize>,
    waiting: HashMap<ShareId, Vec<Waiting>>,
    waiting_count: usize,
    fetching: HashSet<ShareId>,
    headers_complete: bool,
    known_addrs: BTreeSet<Multiaddr>,
    addrs_dirty: bool,
    data_dir: Option<PathBuf>,
    config: P2pConfig,
    status: watch::Sender<SyncStatus>,
    started: Instant,
    last_tips: Instant,
    last_progress: Instant,
    last_save: Instant,
    last_kad: Instant,
}

impl Service {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = commands.recv() => match command {
                    Some(Command::Shutdown) | None => break,
                    Some(command) => self.on_command(command),
                },
                _ = tick.tick() => self.on_tick(),
            }
        }
        self.save_peers();
        tracing::info!("sharechain network stopped");
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish(bytes, reply) => {
                let result = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(self.topic.clone(), bytes)
                    .map(|_| ())
                    .map_err(|e| P2pError::Publish(e.to_string()));
                let _ = reply.send(result);
            }
            Command::Dial(addr) => {
                if let Err(err) = self.swarm.dial(addr.clone()) {
                    tracing::warn!(%addr, %err, "cannot dial peer");
                }
            }
            Command::ListenAddrs(reply) => {
                let me = *self.swarm.local_peer_id();
                let addrs = self
                    .swarm
                    .listeners()
                    .map(|a| a.clone().with(Protocol::P2p(me)))
                    .collect();
                let _ = reply.send(addrs);
            }
            Command::Peers(reply) => {
                let _ = reply.send(self.peers.iter().copied().collect());
            }
            Command::Banned(reply) => {
                let _ = reply.send(self.scores.banned());
            }
            Command::Shutdown => {}
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.on_gossip(propagation_source, message_id, message.data),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => self.on_identify(peer_id, info),
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.peers.remove(&peer_id);
                self.sync.remove_peer(&peer_id);
                self.scores.forget(&peer_id);
                self.tips_out.remove(&peer_id);
                self.batches_out.remove(&peer_id);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer, ..
            })) => {
                let connected = self.swarm.is_connected(&peer);
                if !connected
                    && !self.scores.is_banned(&peer)
                    && (self.peers.len() as u32) < self.config.max_connections / 2
                {
                    tracing::debug!(%peer, "dialing a peer found through kademlia");
                    let _ = self.swarm.dial(peer);
                }
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening for sharechain peers");
            }
            _ => {}
        }
    }

    fn on_identify(&mut self, peer: PeerId, info: identify::Info) {
        if info.protocol_version != self.names.identify {
            tracing::warn!(
                %peer,
                theirs = %info.protocol_version,
                ours = %self.names.identify,
                "peer is on another sharechain; disconnecting"
            );
            self.scores.ban(peer);
            self.swarm.behaviour_mut().blocked.block_peer(peer);
            return;
        }
        if self.peers.insert(peer) {
            tracing::info!(%peer, "sharechain peer connected");
            self.send(peer, SyncRequest::Tip, Outbound::Tip);
            self.tips_out.insert(peer);
        }
        for addr in info.listen_addrs {
            if is_dialable(&addr) {
                self.swarm
                    .behaviour_mut()
                    .kad
                    .add_address(&peer, addr.clone());
                self.known_addrs.insert(addr.with(Protocol::P2p(peer)));
                self.addrs_dirty = true;
            }
        }
    }

    fn punish(&mut self, peer: PeerId, offense: Offense, why: &str) {
        tracing::info!(%peer, ?offense, why, "peer misbehaved");
        if self.scores.punish(peer, offense) {
            tracing::warn!(%peer, why, secs = self.config.ban_duration.as_secs(), "banning peer");
            self.swarm.behaviour_mut().blocked.block_peer(peer);
            // Ids it announced may not exist: start the download over from honest peers.
            self.sync.reset();
            self.headers_complete = false;
            self.known_addrs
                .retain(|a| !matches!(a.iter().last(), Some(Protocol::P2p(p)) if p == peer));
        }
    }

    fn on_gossip(&mut self, source: PeerId, message_id: gossipsub::MessageId, data: Vec<u8>) {
        let acceptance = match Share::decode(&data) {
            Err(err) => {
                self.punish(
                    source,
                    Offense::Malformed,
                    &format!("gossiped share does not decode: {err}"),
                );
                MessageAcceptance::Reject
            }
            Ok(share) => self.offer(share, Origin::Gossip(source), 0),
        };
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(&message_id, &source, acceptance);
    }

    /// Offers a share and everything that waited for it; returns what to
    /// tell gossip about the first one.
    fn offer(&mut self, share: Share, origin: Origin, depth: u8) -> MessageAcceptance {
        let mut work = vec![Waiting {
            share,
            origin,
            depth,
        }];
        let mut first = None;
        while let Some(Waiting {
            share,
            origin,
            depth,
        }) = work.pop()
        {
            let id = share.id();
            let verdict = self.sink.offer(share.clone(), origin);
            let acceptance = match verdict {
                Verdict::Accepted => {
                    tracing::debug!(share = %id, peer = %origin.peer(), "share accepted");
                    if first.is_some() && matches!(origin, Origin::Gossip(_)) {
                        // Waited for its parents, so gossip did not relay it: relay it now.
                        let _ = self
                            .swarm
                            .behaviour_mut()
                            .gossipsub
                            .publish(self.topic.clone(), share.encode());
                    }
                    if let Some(children) = self.waiting.remove(&id) {
                        self.waiting_count -= children.len();
                        work.extend(children);
                    }
                    MessageAcceptance::Accept
                }
                Verdict::Duplicate => MessageAcceptance::Ignore,
                Verdict::Failed(why) => {
                    tracing::warn!(share = %id, "cannot judge a share from a peer: {why}");
                    MessageAcceptance::Ignore
                }
                Verdict::Missing(ids) => {
                    self.wait_for(
                        ids,
                        Waiting {
                            share,
                            origin,
                            depth,
                        },
                    );
                    MessageAcceptance::Ignore
                }
                Verdict::Rejected(err) => match err.action() {
                    PeerAction::Ban => {
                        self.punish(
                            origin.peer(),
                            Offense::InvalidShare,
                            &format!("invalid share {id}: {err}"),
                        );
                        MessageAcceptance::Reject
                    }
                    PeerAction::FetchShares(ids) => {
                        self.wait_for(
                            ids,
                            Waiting {
                                share,
                                origin,
                                depth,
                            },
                        );
                        MessageAcceptance::Ignore
                    }
                    PeerAction::RetryLater | PeerAction::Ignore => {
                        tracing::debug!(share = %id, %err, "share not used now");
                        MessageAcceptance::Ignore
                    }
                },
            };
            first.get_or_insert(acceptance);
        }
        first.unwrap_or(MessageAcceptance::Ignore)
    }

    fn wait_for(&mut self, missing: Vec<ShareId>, waiting: Waiting) {
        let peer = waiting.origin.peer();
        let depth = waiting.depth;
        if depth >= MAX_FETCH_DEPTH || self.waiting_count >= MAX_WAITING {
            // Far behind: headers-first sync catches up instead.
            self.ask_tip(peer);
            return;
        }
        let Some(&key) = missing.first() else { return };
        self.waiting.entry(key).or_default().push(waiting);
        self.waiting_count += 1;
        let wanted: Vec<ShareId> = missing
            .into_iter()
            .filter(|id| !self.fetching.contains(id) && !self.sink.contains(id))
            .collect();
        if wanted.is_empty() {
            return;
        }
        self.fetching.extend(wanted.iter().copied());
        self.send(
            peer,
            SyncRequest::Shares(wanted.clone()),
            Outbound::Fetch(wanted, depth + 1),
        );
    }

    fn send(&mut self, peer: PeerId, request: SyncRequest, kind: Outbound) {
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
        self.requests.insert(id, (peer, kind));
    }

    fn ask_tip(&mut self, peer: PeerId) {
        if self.peers.contains(&peer) && self.tips_out.insert(peer) {
            self.send(peer, SyncRequest::Tip, Outbound::Tip);
        }
    }

    fn on_sync_event(&mut self, event: request_response::Event<SyncRequest, SyncResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => self.serve(peer, request, channel),
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some((from, kind)) = self.requests.remove(&request_id) {
                        self.on_response(from, kind, response);
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some((_, kind)) = self.requests.remove(&request_id) {
                    tracing::debug!(%peer, %error, "sync request failed");
                    self.on_failed(peer, kind);
                    if matches!(error, request_response::OutboundFailure::Io(_)) {
                        // The answer did not decode (or broke a cap).
                        self.punish(peer, Offense::Malformed, "sync answer does not decode");
                    } else {
                        self.punish(peer, Offense::Unresponsive, "sync request failed");
                    }
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                if matches!(error, request_response::InboundFailure::Io(_)) {
                    self.punish(peer, Offense::Malformed, "sync request does not decode");
                }
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn serve(
        &mut self,
        peer: PeerId,
        request: SyncRequest,
        channel: ResponseChannel<SyncResponse>,
    ) {
        let response = if !self.scores.allow_request(peer) {
            self.punish(
                peer,
                Offense::RequestFlood,
                "sync requests over the rate limit",
            );
            SyncResponse::Busy
        } else {
            match request {
                SyncRequest::Tip => SyncResponse::Tip(self.sink.tip()),
                SyncRequest::Headers { locator, max } => SyncResponse::Headers(
                    self.sink
                        .ids_after(&locator, (max as usize).min(MAX_HEADERS)),
                ),
                SyncRequest::Shares(ids) => SyncResponse::Shares(
                    ids.iter()
                        .filter_map(|id| self.sink.share_bytes(id))
                        .collect(),
                ),
            }
        };
        let _ = self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(channel, response);
    }

    fn on_failed(&mut self, peer: PeerId, kind: Outbound) {
        match kind {
            Outbound::Tip => {
                self.tips_out.remove(&peer);
            }
            Outbound::Headers { .. } => {
                self.sync.headers_in_flight = false;
                self.sync.headers_from = None;
            }
            Outbound::Batch(ids) => {
                self.batch_done(peer);
                self.sync.requeue(&ids);
            }
            Outbound::Fetch(ids, _) => {
                for id in ids {
                    self.fetching.remove(&id);
                }
            }
        }
    }

    fn batch_done(&mut self, peer: PeerId) {
        if let Some(n) = self.batches_out.get_mut(&peer) {
            *n = n.saturating_sub(1);
        }
    }

    fn on_response(&mut self, peer: PeerId, kind: Outbound, response: SyncResponse) {
        match (kind, response) {
            (kind, SyncResponse::Busy) => self.on_failed(peer, kind),
            (Outbound::Tip, SyncResponse::Tip(tip)) => {
                self.tips_out.remove(&peer);
                self.sync.set_tip(peer, tip);
            }
            (Outbound::Headers { max }, SyncResponse::Headers(ids)) => {
                self.on_headers(peer, max, ids)
            }
            (Outbound::Batch(asked), SyncResponse::Shares(bodies)) => {
                self.batch_done(peer);
                self.on_batch(peer, asked, bodies);
            }
            (Outbound::Fetch(asked, depth), SyncResponse::Shares(bodies)) => {
                for id in &asked {
                    self.fetching.remove(id);
                }
                for bytes in bodies {
                    match Share::decode(&bytes) {
                        Ok(share) if asked.contains(&share.id()) => {
                            self.offer(share, Origin::Sync(peer), depth);
                        }
                        Ok(_) => self.punish(
                            peer,
                            Offense::BogusAnswer,
                            "sent a share it was not asked for",
                        ),
                        Err(err) => self.punish(
                            peer,
                            Offense::Malformed,
                            &format!("fetched share does not decode: {err}"),
                        ),
                    }
                }
            }
            (kind, _) => {
                self.on_failed(peer, kind);
                self.punish(
                    peer,
                    Offense::BogusAnswer,
                    "answered a sync request with the wrong message",
                );
            }
        }
    }

    fn on_headers(&mut self, peer: PeerId, max: usize, ids: Vec<ShareId>) {
        self.sync.headers_in_flight = false;
        if ids.len() > max {
            self.punish(peer, Offense::BogusAnswer, "sent more ids than asked");
            return;
        }
        if ids.len() < max {
            self.headers_complete = true;
        }
        let Some(&last) = ids.last() else {
            self.sync.headers_from = None;
            return;
        };
        self.sync.headers_from = Some((peer, last));
        let new: Vec<ShareId> = ids
            .into_iter()
            .filter(|id| !self.sink.contains(id))
            .collect();
        self.sync.queue_ids(new);
    }

    fn on_batch(&mut self, peer: PeerId, asked: Vec<ShareId>, bodies: Vec<Vec<u8>>) {
        let mut got = 0;
        for bytes in bodies {
            match Share::decode(&bytes) {
                Ok(share) => {
                    if self.sync.receive(share, peer) {
                        got += 1;
                    } else {
                        self.punish(
                            peer,
                            Offense::BogusAnswer,
                            "sent a share it was not asked for",
                        );
                    }
                }
                Err(err) => self.punish(
                    peer,
                    Offense::Malformed,
                    &format!("synced share does not decode: {err}"),
                ),
            }
        }
        if got == 0 && !asked.is_empty() {
            self.punish(
                peer,
                Offense::BogusAnswer,
                "announced shares it does not serve",
            );
        }
        self.sync.requeue(&asked);
        self.drain();
    }

    /// Offers downloaded shares in chain order.
    fn drain(&mut self) {
        while let Some((share, from)) = self.sync.next_ready() {
            let id = share.id();
            match self.sink.offer(share.clone(), Origin::Sync(from)) {
                Verdict::Accepted | Verdict::Duplicate => {
                    if let Some(children) = self.waiting.remove(&id) {
                        self.waiting_count -= children.len();
                        for child in children {
                            self.offer(child.share, child.origin, child.depth);
                        }
                    }
                }
                Verdict::Failed(why) => {
                    tracing::warn!(share = %id, "cannot judge a synced share, will retry: {why}");
                    self.sync.put_back(share, from);
                    return;
                }
                Verdict::Missing(ids) => {
                    // Uncles are off the best chain, so headers do not list them.
                    self.fetch_for_sync(from, ids);
                    self.sync.put_back(share, from);
                    return;
                }
                Verdict::Rejected(err) => match err.action() {
                    PeerAction::Ban => {
                        self.punish(
                            from,
                            Offense::InvalidShare,
                            &format!("synced an invalid share {id}: {err}"),
                        );
                        self.sync.reset();
                        self.headers_complete = false;
                        return;
                    }
                    PeerAction::FetchShares(ids) => {
                        self.fetch_for_sync(from, ids);
                        self.sync.put_back(share, from);
                        return;
                    }
                    PeerAction::RetryLater => {
                        self.sync.put_back(share, from);
                        return;
                    }
                    PeerAction::Ignore => {
                        tracing::debug!(share = %id, %err, "synced share not used")
                    }
                },
            }
        }
    }

    fn fetch_for_sync(&mut self, peer: PeerId, ids: Vec<ShareId>) {
        let wanted: Vec<ShareId> = ids
            .into_iter()
            .filter(|id| self.fetching.insert(*id))
            .collect();
        if !wanted.is_empty() {
            self.send(
                peer,
                SyncRequest::Shares(wanted.clone()),
                Outbound::Fetch(wanted, 0),
            );
        }
    }

    fn on_tick(&mut self) {
        for peer in self.scores.expire() {
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
        }
        if self.last_tips.elapsed() >= TIP_INTERVAL {
            self.last_tips = Instant::now();
            let peers: Vec<PeerId> = self.peers.iter().copied().collect();
            for peer in peers {
                self.ask_tip(peer);
            }
        }
        self.drain();
        self.drive_sync();
        self.publish_status();
        if self.last_kad.elapsed() >= KAD_INTERVAL && !self.peers.is_empty() {
            self.last_kad = Instant::now();
            let _ = self.swarm.behaviour_mut().kad.bootstrap();
        }
        if self.last_save.elapsed() >= Duration::from_secs(10) && self.addrs_dirty {
            self.save_peers();
        }
    }

    fn drive_sync(&mut self) {
        let local = self.sink.tip();
        if self.sync.queued_len() == 0 {
            self.headers_complete = false;
        }
        if let Some((best_peer, best)) = self.sync.best_tip() {
            let behind = local.is_none_or(|l| best.work > l.work) && !self.sink.contains(&best.id);
            if behind && !self.headers_complete && self.sync.wants_headers() {
                let (peer, locator) = match self.sync.headers_from {
                    Some((peer, last)) if self.peers.contains(&peer) => (peer, vec![last]),
                    _ => (best_peer, self.sink.locator()),
                };
                self.sync.headers_in_flight = true;
                self.send(
                    peer,
                    SyncRequest::Headers {
                        locator,
                        max: MAX_HEADERS as u16,
                    },
                    Outbound::Headers { max: MAX_HEADERS },
                );
            }
        }
        let next_height = local.map_or(0, |t| t.height + 1);
        let servers = self.sync.peers_at_least(next_height);
        let batches_out: usize = self.batches_out.values().sum();
        if servers.is_empty() && batches_out == 0 && self.sync.queued_len() > 0 {
            // Nobody left who has what is queued (the peer went away).
            self.sync.reset();
            self.headers_complete = false;
            return;
        }
        'dispatch: while self.sync.has_pending() {
            let mut sent = false;
            for &peer in &servers {
                if self.batches_out.get(&peer).copied().unwrap_or(0) >= BATCHES_PER_PEER {
                    continue;
                }
                let batch = self.sync.next_batch(self.config.batch_size);
                if batch.is_empty() {
                    break 'dispatch;
                }
                *self.batches_out.entry(peer).or_default() += 1;
                self.send(
                    peer,
                    SyncRequest::Shares(batch.clone()),
                    Outbound::Batch(batch),
                );
                sent = true;
            }
            if !sent {
                break;
            }
        }
    }

    fn publish_status(&mut self) {
        let local_height = self.sink.tip().map_or(0, |t| t.height);
        let best_peer_height = self.sync.best_height();
        let synced = if self.peers.is_empty() {
            self.started.elapsed() >= ALONE_GRACE
        } else {
            self.sync.heard_from_peers()
                && (local_height + self.config.synced_slack >= best_peer_height
                    || self
                        .sync
                        .best_tip()
                        .is_some_and(|(_, t)| self.sink.contains(&t.id)))
        };
        let status = SyncStatus {
            synced,
            local_height,
            best_peer_height,
            peers: self.peers.len(),
        };
        if !synced
            && self.sync.queued_len() > 0
            && self.last_progress.elapsed() >= Duration::from_secs(2)
        {
            self.last_progress = Instant::now();
            tracing::info!("{}", progress_line(local_height, best_peer_height));
        }
        let previous = *self.status.borrow();
        if previous != status {
            if synced && !previous.synced {
                tracing::info!(
                    height = local_height,
                    peers = status.peers,
                    "sharechain synced"
                );
            }
            self.status.send_replace(status);
        }
    }

    fn save_peers(&mut self) {
        self.last_save = Instant::now();
        self.addrs_dirty = false;
        if let Some(dir) = &self.data_dir {
            peer_store::save_peers(dir, &self.known_addrs);
        }
    }
}

/// Whether an address another peer reported is worth dialing and saving.
fn is_dialable(addr: &Multiaddr) -> bool {
    !addr
        .iter()
        .any(|p| matches!(p, Protocol::Ip4(ip) if ip.is_unspecified()))
}

/// An instant `d` in the past (now, if the clock started less than `d` ago).
fn ago(d: Duration) -> Instant {
    Instant::now().checked_sub(d).unwrap_or_else(Instant::now)
}
