//! Drives one guardian's [`Dkg`] over the libp2p [`transport`](super::transport):
//! dials every guardian of the roster until all are connected (retrying,
//! with progress in the log), delivers each message until acknowledged,
//! feeds received ones to the state machine, enforces the timeouts, and on
//! a fault tells the others whom it accuses before returning the error.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use futures::StreamExt;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::SwarmEvent;
use libp2p::{PeerId, Swarm};
use sha2::{Digest, Sha256};
use tokio::time::{interval, sleep_until, Instant, MissedTickBehavior};

use super::message::{decode, encode};
use super::session::{Dkg, DkgOutput, DkgParams, Outgoing, Round};
use super::setup::{roster, GuardianInit, GuardianSetup, SetupError};
use super::transport::{build_swarm, Behaviour, BehaviourEvent, TransportError};
use super::{threshold, DkgError, GuardianIndex, GuardianRef, SessionId};

/// Timeouts and pacing of a run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// How long to wait for every guardian to be reachable: operators start
    /// their runs by hand, minutes apart.
    pub connect_timeout: Duration,
    /// How long one round may take once everyone is connected.
    pub round_timeout: Duration,
    /// Pause between dial attempts and message retries.
    pub retry_interval: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            connect_timeout: Duration::from_secs(600),
            round_timeout: Duration::from_secs(120),
            retry_interval: Duration::from_secs(1),
        }
    }
}

/// How much longer to run after finishing, so our last acknowledgements and
/// echoes reach guardians that are still finishing.
const LINGER: Duration = Duration::from_secs(5);

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum DkgRunError {
    /// Our own or a peer's setup string is unusable.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// A `--peer` string carries our peer id but other data.
    #[error("a --peer string has our own peer id but differs from our setup: is it an old string of ours?")]
    OwnPeerMismatch,
    /// The libp2p transport could not start.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// We cannot listen on our own p2p address.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// Our address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// Some guardians never became reachable.
    #[error("could not reach {}: check their setup strings (address and peer id) and that they are running `sharemint federation dkg`", describe_unreachable(.0))]
    Unreachable(Vec<(GuardianRef, String)>),
    /// A round did not complete in time.
    #[error("round {round} timed out waiting for {}", list(.waiting_for))]
    Timeout {
        /// The round.
        round: Round,
        /// Who did not answer.
        waiting_for: Vec<GuardianRef>,
    },
    /// A guardian misbehaved.
    #[error(transparent)]
    Protocol(#[from] DkgError),
}

fn list(guardians: &[GuardianRef]) -> String {
    guardians
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_unreachable(guardians: &[(GuardianRef, String)]) -> String {
    guardians
        .iter()
        .map(|(g, why)| format!("{g} ({why})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a finished run gives one guardian.
#[derive(Clone, Debug)]
pub struct DkgResult {
    /// The run's session id.
    pub session: SessionId,
    /// Every guardian in index order.
    pub roster: Vec<GuardianSetup>,
    /// Our index in `roster`.
    pub us: GuardianIndex,
    /// The keys.
    pub output: DkgOutput,
}

/// The session id: everything every guardian must agree on. `context` is
/// the caller's canonical encoding of the rest of the federation's public
/// parameters (network, sharechain, denomination amounts).
pub fn session_id(roster: &[GuardianSetup], denominations: usize, context: &[u8]) -> SessionId {
    let mut hash = Sha256::new();
    hash.update(b"sharemint/dkg-session/1");
    for guardian in roster {
        let encoded = guardian.encode();
        hash.update((encoded.len() as u64).to_le_bytes());
        hash.update(encoded.as_bytes());
    }
    hash.update((threshold(roster.len()) as u64).to_le_bytes());
    hash.update((denominations as u64).to_le_bytes());
    hash.update((context.len() as u64).to_le_bytes());
    hash.update(context);
    SessionId(hash.finalize().into())
}

/// Runs the key generation as the guardian `init` with the other guardians
/// `peers`, generating `denominations` keys bound to `context`.
pub async fn run_dkg(
    init: &GuardianInit,
    peers: Vec<GuardianSetup>,
    denominations: usize,
    context: &[u8],
    options: &RunOptions,
) -> Result<DkgResult, DkgRunError> {
    let guardians = full_roster(init, peers)?;
    let us = GuardianIndex(
        guardians
            .iter()
            .position(|g| g.peer_id == init.setup.peer_id)
            .expect("we are in our roster") as u16,
    );
    let session = session_id(&guardians, denominations, context);
    let keypair = init.keypair().map_err(|reason| SetupError::Corrupt {
        path: super::setup::INIT_FILE.into(),
        reason,
    })?;
    let keys = guardians
        .iter()
        .map(|g| public_key(&g.peer_id).ok_or_else(|| invalid_peer_id(g)))
        .collect::<Result<Vec<_>, _>>()?;
    let params = DkgParams {
        session,
        names: guardians.iter().map(|g| g.name.clone()).collect(),
        setups: guardians.iter().map(GuardianSetup::encode).collect(),
        keys,
        us,
        threshold: threshold(guardians.len()),
        denominations,
    };
    tracing::info!(
        session = %session,
        guardians = guardians.len(),
        threshold = params.threshold,
        us = %params.guardian(us),
        "starting the key generation"
    );
    let swarm = build_swarm(
        keypair.clone(),
        guardians.iter().map(|g| g.peer_id),
        options.round_timeout,
    )?;
    let (dkg, outgoing) = Dkg::start(params, &keypair, &mut rand::rngs::OsRng);
    let mut runner = Runner::new(swarm, guardians.clone(), dkg, options.clone());
    runner.listen(&init.setup)?;
    runner.queue(outgoing);
    let output = runner.run().await?;
    Ok(DkgResult {
        session,
        roster: guardians,
        us,
        output,
    })
}

/// Our setup plus the peers', canonically ordered; our own string may be
/// among the peers (everyone can pass the same list).
fn full_roster(
    init: &GuardianInit,
    peers: Vec<GuardianSetup>,
) -> Result<Vec<GuardianSetup>, DkgRunError> {
    let mut all = vec![init.setup.clone()];
    for peer in peers {
        if peer.peer_id == init.setup.peer_id {
            if peer != init.setup {
                return Err(DkgRunError::OwnPeerMismatch);
            }
            continue;
        }
        all.push(peer);
    }
    Ok(roster(all)?)
}

/// The public key inside an ed25519 peer id (which inlines it).
fn public_key(peer_id: &PeerId) -> Option<libp2p::identity::PublicKey> {
    let multihash: &libp2p::multihash::Multihash<64> = peer_id.as_ref();
    // Code 0 is the identity hash: the digest is the protobuf-encoded key.
    (multihash.code() == 0)
        .then(|| libp2p::identity::PublicKey::try_decode_protobuf(multihash.digest()).ok())
        .flatten()
}

fn invalid_peer_id(guardian: &GuardianSetup) -> SetupError {
    SetupError::Invalid {
        name: guardian.name.clone(),
        reason: format!(
            "peer id {} does not contain an ed25519 key",
            guardian.peer_id
        ),
    }
}

/// One message on its way to one guardian.
struct Pending {
    to: GuardianIndex,
    bytes: Vec<u8>,
}

/// The event loop's state.
struct Runner {
    swarm: Swarm<Behaviour>,
    roster: Vec<GuardianSetup>,
    dkg: Dkg,
    options: RunOptions,
    /// Messages not yet sent (peer not connected) or to be retried.
    outbox: VecDeque<Pending>,
    /// Messages sent and not yet acknowledged.
    in_flight: HashMap<OutboundRequestId, Pending>,
    connected: BTreeSet<GuardianIndex>,
    /// Every guardian that was connected at some point.
    ever_connected: BTreeSet<GuardianIndex>,
    /// The last reason a dial to each guardian failed.
    dial_errors: BTreeMap<GuardianIndex, String>,
    deadline: Instant,
    round: Round,
}

impl Runner {
    fn new(
        swarm: Swarm<Behaviour>,
        roster: Vec<GuardianSetup>,
        dkg: Dkg,
        options: RunOptions,
    ) -> Self {
        Runner {
            deadline: Instant::now() + options.connect_timeout,
            round: dkg.round(),
            swarm,
            roster,
            dkg,
            options,
            outbox: VecDeque::new(),
            in_flight: HashMap::new(),
            connected: BTreeSet::new(),
            ever_connected: BTreeSet::new(),
            dial_errors: BTreeMap::new(),
        }
    }

    fn us(&self) -> GuardianIndex {
        self.dkg.params().us
    }

    fn guardian(&self, index: GuardianIndex) -> GuardianRef {
        self.dkg.params().guardian(index)
    }

    fn index_of(&self, peer: &PeerId) -> Option<GuardianIndex> {
        self.roster
            .iter()
            .position(|g| g.peer_id == *peer)
            .map(|i| GuardianIndex(i as u16))
    }

    fn listen(&mut self, setup: &GuardianSetup) -> Result<(), DkgRunError> {
        self.swarm
            .listen_on(setup.p2p_addr.clone())
            .map(|_| ())
            .map_err(|e| DkgRunError::Listen {
                addr: setup.p2p_addr.to_string(),
                reason: e.to_string(),
            })
    }

    fn queue(&mut self, outgoing: Vec<Outgoing>) {
        for Outgoing { to, message } in outgoing {
            self.outbox.push_back(Pending {
                to,
                bytes: encode(&message),
            });
        }
    }

    fn all_connected(&self) -> bool {
        self.connected.len() + 1 == self.roster.len()
    }

    async fn run(&mut self) -> Result<DkgOutput, DkgRunError> {
        let mut tick = interval(self.options.retry_interval);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_report = Instant::now();
        loop {
            if let Some(output) = self.dkg.output().cloned() {
                self.flush(LINGER).await;
                tracing::info!("key generation complete");
                return Ok(output);
            }
            tokio::select! {
                event = self.swarm.select_next_some() => {
                    if let Err(error) = self.on_event(event) {
                        return Err(self.abort(error.into()).await);
                    }
                }
                _ = tick.tick() => {
                    self.dial_missing();
                    self.send_ready();
                    if last_report.elapsed() >= Duration::from_secs(5) {
                        self.report_waiting();
                        last_report = Instant::now();
                    }
                }
                _ = sleep_until(self.deadline) => {
                    let error = self.timeout();
                    return Err(self.abort(error).await);
                }
            }
            self.note_round();
        }
    }

    /// Logs a round change and restarts the round clock.
    fn note_round(&mut self) {
        let round = self.dkg.round();
        if round != self.round {
            self.round = round;
            self.deadline = Instant::now() + self.options.round_timeout;
            tracing::info!(round = %round, "round complete, next round");
        }
    }

    fn report_waiting(&self) {
        if !self.all_connected() {
            let missing: Vec<String> = self
                .missing_peers()
                .map(|g| self.guardian(g).to_string())
                .collect();
            tracing::info!(waiting_for = %missing.join(", "), "waiting for guardians to connect");
        } else {
            let waiting = list(&self.dkg.waiting_for());
            tracing::info!(round = %self.dkg.round(), waiting_for = %waiting, "waiting for messages");
        }
    }

    fn missing_peers(&self) -> impl Iterator<Item = GuardianIndex> + '_ {
        (0..self.roster.len() as u16)
            .map(GuardianIndex)
            .filter(|g| *g != self.us() && !self.connected.contains(g))
    }

    fn dial_missing(&mut self) {
        let missing: Vec<GuardianIndex> = self.missing_peers().collect();
        for g in missing {
            let addr = self.roster[usize::from(g.0)].dial_addr();
            if let Err(e) = self.swarm.dial(addr) {
                self.dial_errors.insert(g, e.to_string());
            }
        }
    }

    /// Sends every queued message whose recipient is connected.
    fn send_ready(&mut self) {
        let mut later = VecDeque::new();
        while let Some(pending) = self.outbox.pop_front() {
            if !self.connected.contains(&pending.to) {
                later.push_back(pending);
                continue;
            }
            let peer = self.roster[usize::from(pending.to.0)].peer_id;
            let id = self
                .swarm
                .behaviour_mut()
                .messages
                .send_request(&peer, pending.bytes.clone());
            self.in_flight.insert(id, pending);
        }
        self.outbox = later;
    }

    fn on_event(&mut self, event: SwarmEvent<BehaviourEvent>) -> Result<(), DkgError> {
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                if let Some(g) = self.index_of(&peer_id) {
                    self.ever_connected.insert(g);
                    if self.connected.insert(g) {
                        tracing::info!(
                            guardian = %self.guardian(g),
                            connected = self.connected.len(),
                            of = self.roster.len() - 1,
                            "guardian connected"
                        );
                        if self.all_connected() {
                            tracing::info!(round = %self.dkg.round(), "all guardians connected");
                            self.deadline = Instant::now() + self.options.round_timeout;
                        }
                    }
                    self.dial_errors.remove(&g);
                    self.send_ready();
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                if let Some(g) = self.index_of(&peer_id) {
                    if self.connected.remove(&g) && self.dkg.round() != Round::Done {
                        tracing::warn!(guardian = %self.guardian(g), "guardian disconnected; redialling");
                    }
                }
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer_id),
                error,
                ..
            } => {
                if let Some(g) = self.index_of(&peer_id) {
                    tracing::debug!(guardian = %self.guardian(g), %error, "dial failed; will retry");
                    self.dial_errors.insert(g, error.to_string());
                }
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                ..
            } => {
                tracing::warn!(from = %send_back_addr, %error, "refused an incoming connection (not a guardian of this roster?)");
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening for guardians");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Messages(event)) => {
                self.on_message_event(event)?
            }
            _ => {}
        }
        Ok(())
    }

    fn on_message_event(
        &mut self,
        event: request_response::Event<Vec<u8>, ()>,
    ) -> Result<(), DkgError> {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                // Acknowledge first: the ack means "received", not "accepted".
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .messages
                    .send_response(channel, ());
                let Some(from) = self.index_of(&peer) else {
                    return Ok(());
                };
                let message = decode(&request).map_err(|e| DkgError::UnexpectedMessage {
                    guardian: self.guardian(from),
                    what: format!("an undecodable message ({e})"),
                })?;
                tracing::debug!(guardian = %self.guardian(from), kind = message.kind(), "message received");
                let next = self.dkg.handle(from, message)?;
                self.queue(next);
                self.send_ready();
            }
            request_response::Event::Message {
                message: request_response::Message::Response { request_id, .. },
                ..
            } => {
                self.in_flight.remove(&request_id);
            }
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(pending) = self.in_flight.remove(&request_id) {
                    tracing::debug!(guardian = %self.guardian(pending.to), %error, "send failed; will retry");
                    self.outbox.push_back(pending);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Keeps the swarm running until everything we sent is acknowledged or
    /// `limit` passes, so the others receive our last messages.
    async fn flush(&mut self, limit: Duration) {
        let until = Instant::now() + limit;
        let mut tick = interval(self.options.retry_interval.min(Duration::from_millis(200)));
        while !(self.outbox.is_empty() && self.in_flight.is_empty()) {
            tokio::select! {
                event = self.swarm.select_next_some() => {
                    // A fault after we finished (or aborted) changes nothing here.
                    if let Err(error) = self.on_event(event) {
                        tracing::debug!(%error, "ignored while finishing");
                    }
                }
                _ = tick.tick() => {
                    self.dial_missing();
                    self.send_ready();
                }
                _ = sleep_until(until) => {
                    tracing::warn!(unacknowledged = self.outbox.len() + self.in_flight.len(), "stopped before every guardian acknowledged our last messages");
                    return;
                }
            }
        }
    }

    /// Tells every guardian whom we accuse, then returns the error.
    async fn abort(&mut self, error: DkgRunError) -> DkgRunError {
        tracing::error!(%error, "key generation failed");
        self.outbox.clear();
        if let Some(accused) = self.accused(&error) {
            let aborts = self.dkg.abort_messages(accused, error.to_string());
            self.queue(aborts);
            self.send_ready();
            self.flush(Duration::from_secs(2)).await;
        }
        error
    }

    /// Whom a failure blames, for the abort messages.
    fn accused(&self, error: &DkgRunError) -> Option<GuardianIndex> {
        match error {
            DkgRunError::Protocol(e) => e.culprit().map(|g| g.index),
            DkgRunError::Unreachable(missing) => missing.first().map(|(g, _)| g.index),
            DkgRunError::Timeout { waiting_for, .. } => waiting_for.first().map(|g| g.index),
            _ => None,
        }
    }

    /// The error for a missed deadline. Guardians we never reached come
    /// first: one that connected and left has likely given up on them too.
    fn timeout(&self) -> DkgRunError {
        if !self.all_connected() {
            let missing: Vec<GuardianIndex> = self.missing_peers().collect();
            let never: Vec<GuardianIndex> = missing
                .iter()
                .copied()
                .filter(|g| !self.ever_connected.contains(g))
                .collect();
            let blamed = if never.is_empty() { missing } else { never };
            let unreachable = blamed
                .into_iter()
                .map(|g| {
                    let why = match self.dial_errors.get(&g) {
                        Some(e) => e.clone(),
                        None if self.ever_connected.contains(&g) => "disconnected".into(),
                        None => "no answer".into(),
                    };
                    (self.guardian(g), why)
                })
                .collect();
            return DkgRunError::Unreachable(unreachable);
        }
        DkgRunError::Timeout {
            round: self.dkg.round(),
            waiting_for: self.dkg.waiting_for(),
        }
    }
}
