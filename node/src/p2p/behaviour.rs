//! The libp2p stack: TCP and QUIC transports with noise and yamux, and the
//! behaviours (identify, ping, gossipsub with manual validation, the sync
//! request-response protocol, Kademlia, connection limits, block list).

use std::time::Duration;

use bitcoin::hashes::{sha256, Hash};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    allow_block_list, connection_limits, gossipsub, identify, identity::Keypair, kad, noise, ping,
    request_response, tcp, yamux, StreamProtocol, Swarm,
};

use super::config::P2pConfig;
use super::protocol::{Names, SyncCodec, MAX_GOSSIP_BYTES};

/// All behaviours of a sharechain node.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Refuses connections over the configured limits.
    pub limits: connection_limits::Behaviour,
    /// Banned peers.
    pub blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    /// Exchanges protocol versions (sharechain id) and listen addresses.
    pub identify: identify::Behaviour,
    /// Keeps connections alive and measures round trips.
    pub ping: ping::Behaviour,
    /// New shares, pushed whole.
    pub gossipsub: gossipsub::Behaviour,
    /// Headers-first sync and on-demand share fetches.
    pub sync: request_response::Behaviour<SyncCodec>,
    /// Peer discovery, one DHT per sharechain.
    pub kad: kad::Behaviour<kad::store::MemoryStore>,
}

/// Errors building the swarm.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The transport could not be set up.
    #[error("cannot set up the p2p transport: {0}")]
    Transport(String),
    /// Gossipsub rejected its configuration.
    #[error("bad gossipsub configuration: {0}")]
    Gossipsub(String),
}

fn message_id(message: &gossipsub::Message) -> gossipsub::MessageId {
    // Content addressed, so the same share relayed by two peers is one message.
    gossipsub::MessageId::from(sha256::Hash::hash(&message.data).to_byte_array().to_vec())
}

fn gossipsub(key: &Keypair) -> Result<gossipsub::Behaviour, BuildError> {
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Strict)
        .validate_messages()
        .message_id_fn(message_id)
        .max_transmit_size(MAX_GOSSIP_BYTES)
        .heartbeat_interval(Duration::from_millis(500))
        .duplicate_cache_time(Duration::from_secs(120))
        .build()
        .map_err(|e| BuildError::Gossipsub(e.to_string()))?;
    gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Signed(key.clone()), config)
        .map_err(|e| BuildError::Gossipsub(e.to_string()))
}

fn behaviour(key: &Keypair, names: &Names, config: &P2pConfig) -> Result<Behaviour, BuildError> {
    let peer_id = key.public().to_peer_id();
    let limits = connection_limits::ConnectionLimits::default()
        .with_max_established(Some(config.max_connections))
        .with_max_established_per_peer(Some(2))
        .with_max_pending_incoming(Some(config.max_connections));
    let mut kad_config = kad::Config::new(names.kad.clone());
    kad_config.set_query_timeout(Duration::from_secs(30));
    let mut kad =
        kad::Behaviour::with_config(peer_id, kad::store::MemoryStore::new(peer_id), kad_config);
    kad.set_mode(Some(kad::Mode::Server));
    let sync = request_response::Behaviour::with_codec(
        SyncCodec,
        [(names.sync.clone(), request_response::ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(config.request_timeout)
            .with_max_concurrent_streams(64),
    );
    Ok(Behaviour {
        limits: connection_limits::Behaviour::new(limits),
        blocked: allow_block_list::Behaviour::default(),
        identify: identify::Behaviour::new(
            identify::Config::new(names.identify.clone(), key.public())
                .with_agent_version(format!("sharemint/{}", env!("CARGO_PKG_VERSION"))),
        ),
        ping: ping::Behaviour::new(ping::Config::new()),
        gossipsub: gossipsub(key)?,
        sync,
        kad,
    })
}

/// A swarm for `key` speaking the sharechain's protocols `names`.
pub fn build_swarm(
    key: Keypair,
    names: &Names,
    config: &P2pConfig,
) -> Result<Swarm<Behaviour>, BuildError> {
    let swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| BuildError::Transport(e.to_string()))?
        .with_quic()
        .with_behaviour(|key| behaviour(key, names, config).map_err(Into::into))
        .map_err(|e| BuildError::Transport(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    Ok(swarm)
}

/// The protocol name of the sync protocol, for a peer that wants to speak it directly.
pub fn sync_protocol(names: &Names) -> StreamProtocol {
    names.sync.clone()
}
