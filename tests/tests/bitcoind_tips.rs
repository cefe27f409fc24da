//! New tips reach the node quickly through each source: long-poll, polling, ZMQ.

use std::time::{Duration, Instant};

use bitcoin::BlockHash;
use node::bitcoind::{TipSources, TipWatcher, HASHBLOCK_TOPIC};
use tests::TestBitcoind;
use tokio::sync::watch;
use zeromq::{Socket, SocketSend, ZmqMessage};

/// The promise to the user: a new block is known within a second.
const MAX_LATENCY: Duration = Duration::from_secs(1);

async fn next_tip(rx: &mut watch::Receiver<BlockHash>, within: Duration) -> Option<BlockHash> {
    match tokio::time::timeout(within, rx.changed()).await {
        Ok(Ok(())) => Some(*rx.borrow_and_update()),
        _ => None,
    }
}

/// Mines one block and returns how long the watcher took to report it.
async fn latency_of_one_block(
    bitcoind: &TestBitcoind,
    rx: &mut watch::Receiver<BlockHash>,
) -> Duration {
    let hash = bitcoind.generate(1).await[0];
    let mined = Instant::now();
    let seen = next_tip(rx, Duration::from_secs(5))
        .await
        .expect("the new tip is reported");
    assert_eq!(seen, hash, "the watcher reports the block just mined");
    mined.elapsed()
}

#[tokio::test]
async fn long_poll_reports_a_new_tip_within_a_second() {
    let bitcoind = TestBitcoind::regtest().await;
    let watcher = TipWatcher::start(bitcoind.client().clone(), TipSources::longpoll_only())
        .await
        .unwrap();
    let mut rx = watcher.subscribe();
    for _ in 0..3 {
        // Let the long-poll reach bitcoind and wait there: that is the path under test.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let latency = latency_of_one_block(&bitcoind, &mut rx).await;
        assert!(latency < MAX_LATENCY, "long-poll took {latency:?}");
    }
    assert_eq!(
        watcher.current(),
        bitcoind.client().get_best_block_hash().await.unwrap()
    );
}

#[tokio::test]
async fn polling_reports_a_new_tip_within_a_second() {
    let bitcoind = TestBitcoind::regtest().await;
    let sources = TipSources::polling_only(Duration::from_millis(200));
    let watcher = TipWatcher::start(bitcoind.client().clone(), sources)
        .await
        .unwrap();
    let mut rx = watcher.subscribe();
    for _ in 0..3 {
        let latency = latency_of_one_block(&bitcoind, &mut rx).await;
        assert!(latency < MAX_LATENCY, "polling took {latency:?}");
    }
}

#[tokio::test]
async fn one_notification_per_tip_with_every_source_on() {
    let bitcoind = TestBitcoind::regtest().await;
    let watcher = TipWatcher::start(bitcoind.client().clone(), TipSources::default())
        .await
        .unwrap();
    let mut rx = watcher.subscribe();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let latency = latency_of_one_block(&bitcoind, &mut rx).await;
    assert!(latency < MAX_LATENCY, "took {latency:?}");
    // Long-poll and polling both see the block; the channel must announce it only once.
    assert_eq!(
        next_tip(&mut rx, Duration::from_millis(600)).await,
        None,
        "a tip was announced twice"
    );
}

/// Our bitcoind build has no ZMQ, so this test plays bitcoind's ZMQ side itself: a
/// pure-Rust PUB socket sending exactly what `-zmqpubhashblock` sends (topic, 32-byte
/// hash in display order, 4-byte little-endian sequence) for blocks the real regtest
/// bitcoind mined. The watcher subscribes as it would to bitcoind.
#[tokio::test]
async fn zmq_hashblock_reports_a_new_tip() {
    let bitcoind = TestBitcoind::regtest().await;
    let mut publisher = zeromq::PubSocket::new();
    let endpoint = publisher
        .bind("tcp://127.0.0.1:0")
        .await
        .expect("bind a zmq pub socket");
    let watcher = TipWatcher::start(
        bitcoind.client().clone(),
        TipSources::zmq_only(endpoint.to_string()),
    )
    .await
    .unwrap();
    let mut rx = watcher.subscribe();

    for sequence in 0u32..2 {
        let hash = bitcoind.generate(1).await[0];
        // With ZMQ the only source, nothing reports the block until it is published.
        assert_eq!(
            next_tip(&mut rx, Duration::from_millis(400)).await,
            None,
            "reported without zmq"
        );
        // PUB drops messages until the subscription has arrived (ZMQ's slow joiner), so
        // publish until the watcher reacts, as bitcoind would on the next block.
        let published = Instant::now();
        let mut seen = None;
        while seen.is_none() && published.elapsed() < Duration::from_secs(5) {
            publisher
                .send(hashblock_message(hash, sequence))
                .await
                .expect("publish");
            seen = next_tip(&mut rx, Duration::from_millis(100)).await;
        }
        assert_eq!(
            seen,
            Some(hash),
            "the zmq hashblock message made the watcher report the tip"
        );
    }
}

fn hashblock_message(hash: BlockHash, sequence: u32) -> ZmqMessage {
    // BlockHash's Display is the reversed (display) byte order, which is what bitcoind sends.
    let display_order: Vec<u8> =
        bitcoin::hex::FromHex::from_hex(&hash.to_string()).expect("hash hex");
    let mut message = ZmqMessage::from(HASHBLOCK_TOPIC);
    message.push_back(display_order.into());
    message.push_back(sequence.to_le_bytes().to_vec().into());
    message
}
