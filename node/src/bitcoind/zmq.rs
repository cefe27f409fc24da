//! ZMQ `hashblock` subscriber, for bitcoinds started with `-zmqpubhashblock=...`.
//!
//! bitcoind publishes three frames per connected block: the topic `hashblock`,
//! the 32-byte block hash (display byte order), and a 4-byte little-endian
//! sequence number. A message is only a trigger for the [`Reporter`].

use std::time::Duration;

use zeromq::{Socket, SocketRecv};

use super::tips::Reporter;

/// The topic bitcoind publishes block hashes under.
pub const HASHBLOCK_TOPIC: &str = "hashblock";
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

pub(crate) async fn hashblock_loop(endpoint: String, reporter: Reporter) {
    loop {
        if let Err(e) = subscribe_and_follow(&endpoint, &reporter).await {
            tracing::warn!("zmq hashblock at {endpoint}: {e}; reconnecting");
        }
        tokio::time::sleep(RECONNECT_PAUSE).await;
    }
}

async fn subscribe_and_follow(endpoint: &str, reporter: &Reporter) -> Result<(), String> {
    let mut socket = zeromq::SubSocket::new();
    socket
        .connect(endpoint)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    socket
        .subscribe(HASHBLOCK_TOPIC)
        .await
        .map_err(|e| format!("cannot subscribe: {e}"))?;
    tracing::info!("following new blocks through zmq at {endpoint}");
    loop {
        let message = socket
            .recv()
            .await
            .map_err(|e| format!("receive failed: {e}"))?;
        let is_hashblock = message
            .get(0)
            .is_some_and(|t| t.as_ref() == HASHBLOCK_TOPIC.as_bytes())
            && message.get(1).is_some_and(|h| h.len() == 32);
        if !is_hashblock {
            tracing::debug!("ignoring a zmq message that is not a hashblock");
            continue;
        }
        if let Err(e) = reporter.check("zmq").await {
            tracing::warn!("after a zmq hashblock: {e}");
        }
    }
}
