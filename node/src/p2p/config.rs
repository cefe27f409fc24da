//! Settings of the sharechain network: addresses, limits, timeouts, where to
//! keep the node key, the saved peers and the bans.

use std::path::PathBuf;
use std::time::Duration;

use libp2p::Multiaddr;

use super::scoring::RateLimit;

/// How a node joins and polices the network.
#[derive(Clone, Debug)]
pub struct P2pConfig {
    /// Bitcoin network name for the gossip topic ("regtest", "signet", ...).
    pub network: String,
    /// Addresses to listen on, e.g. `/ip4/0.0.0.0/tcp/7777` and `/ip4/0.0.0.0/udp/7777/quic-v1`.
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start (with `/p2p/<peer id>` if known).
    pub bootstrap: Vec<Multiaddr>,
    /// Where the node key, saved peers and bans live; `None` keeps all in memory.
    pub data_dir: Option<PathBuf>,
    /// Most established connections.
    pub max_connections: u32,
    /// How long a ban lasts.
    pub ban_duration: Duration,
    /// Inbound sync request budget per peer.
    pub rate_limit: RateLimit,
    /// Timeout of one sync request.
    pub request_timeout: Duration,
    /// Shares per body request during sync.
    pub batch_size: usize,
    /// How many shares behind the best peer tip still counts as synced.
    pub synced_slack: u32,
}

impl P2pConfig {
    /// Defaults for `network`, listening nowhere and keeping state in memory.
    pub fn new(network: &str) -> Self {
        P2pConfig {
            network: network.to_string(),
            listen: Vec::new(),
            bootstrap: Vec::new(),
            data_dir: None,
            max_connections: 64,
            ban_duration: Duration::from_secs(3600),
            rate_limit: RateLimit {
                burst: 200,
                per_second: 100,
            },
            request_timeout: Duration::from_secs(20),
            batch_size: super::protocol::MAX_SHARES_PER_REQUEST,
            synced_slack: 3,
        }
    }
}
