//! Hostile and broken clients against a real Stratum server on loopback:
//! malformed JSON, unknown methods, a 1 MiB line, 1,000 idle connections,
//! 10,000 garbage submits and a client that never reads. Each gets a clear
//! error or a disconnect, the server stays up, and an honest miner connected
//! at the same time keeps getting shares accepted.

mod stratum_support;

use std::time::Duration;

use node::stratum::Limits;
use stratum_support::{honest_miner, start_pool, wait_for, RawClient};

fn code(v: &serde_json::Value) -> i64 {
    v["error"][0]
        .as_i64()
        .unwrap_or_else(|| panic!("expected an error, got {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_unknown_requests_get_standard_errors() {
    let pool = start_pool(Limits::default()).await;
    let mut client = RawClient::connect(pool.server.local_addr()).await;

    client.send("{this is not json").await;
    let v = client.recv().await.expect("an answer");
    assert!(
        v["id"].is_null() && v["result"].is_null() && v["error"][2].is_null(),
        "{v}"
    );
    assert_eq!(code(&v), 20);

    client
        .send(r#"{"id":7,"method":"mining.teleport","params":[]}"#)
        .await;
    let v = client.recv().await.expect("an answer");
    assert_eq!((v["id"].as_i64(), code(&v)), (Some(7), 20));
    assert!(v["error"][1].as_str().unwrap().contains("mining.teleport"));

    client
        .send(r#"{"id":8,"method":"mining.submit","params":["w","1","00","00","00"]}"#)
        .await;
    assert_eq!(
        code(&client.recv().await.unwrap()),
        25,
        "submit before subscribe"
    );

    client.handshake("alice.rig").await;
    client.send(r#"{"id":9,"method":"mining.submit","params":["mallory.rig","1","0000000000000000","00000000","00000000"]}"#).await;
    assert_eq!(
        code(&client.answer().await.unwrap()),
        24,
        "unauthorized worker"
    );
    client.send(r#"{"id":10,"method":"mining.submit","params":["alice.rig","ffff","0000000000000000","00000000","00000000"]}"#).await;
    assert_eq!(code(&client.answer().await.unwrap()), 21, "unknown job");

    // Sixteen lines of garbage in a row close the connection.
    for _ in 0..16 {
        client.send("\u{1}\u{2}garbage").await;
    }
    assert!(client.closed_within(Duration::from_secs(3)).await);
    pool.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_mebibyte_line_gets_an_error_and_a_disconnect() {
    let pool = start_pool(Limits::default()).await;
    let addr = pool.server.local_addr();
    let mut client = RawClient::connect(addr).await;
    let huge = format!(
        r#"{{"id":1,"method":"mining.subscribe","params":["{}"]}}"#,
        "a".repeat(1 << 20)
    );
    let writer = tokio::spawn(async move {
        // The server may close before taking all of it; that is the point.
        let _ = tokio::io::AsyncWriteExt::write_all(&mut client.writer, huge.as_bytes()).await;
        client.reader
    });
    let mut reader = writer.await.unwrap();
    let mut line = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut reader, &mut line)
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(code(&v), 20);
    assert!(
        v["error"][1]
            .as_str()
            .unwrap()
            .contains("line longer than 16384 bytes"),
        "{v}"
    );
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(
        Duration::from_secs(3),
        tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut rest),
    );
    assert!(closed.await.is_ok(), "server closes the connection");

    // The server is still up for the next miner.
    let mut next = RawClient::connect(addr).await;
    next.handshake("bob.rig").await;
    pool.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_floods_garbage_and_slow_readers_do_not_stop_an_honest_miner() {
    let limits = Limits {
        handshake_timeout: Duration::from_secs(2),
        write_timeout: Duration::from_secs(2),
        write_queue: 16,
        ..Limits::default()
    };
    let pool = start_pool(limits).await;
    let addr = pool.server.local_addr();
    let stats = pool.server.stats();
    let (miner, stop_miner, miner_task) = honest_miner(addr, true);
    wait_for(
        "the honest miner's first share",
        Duration::from_secs(10),
        || miner.accepted() > 0,
    )
    .await;

    // 1,000 connections that never say anything.
    let mut idle = Vec::new();
    for _ in 0..1000 {
        idle.push(RawClient::connect(addr).await);
    }
    wait_for(
        "1,000 idle connections held",
        Duration::from_secs(5),
        || stats.connections() >= 1001,
    )
    .await;

    // 10,000 garbage submits from an authorized client, answers read as they come.
    let mut garbage = RawClient::connect(addr).await;
    garbage.handshake("mallory.rig").await;
    let before = miner.accepted();
    let mut batch = String::new();
    for i in 0..10_000u32 {
        let line = match i % 4 {
            0 => format!(
                r#"{{"id":{i},"method":"mining.submit","params":["mallory.rig","1","zz","00000000","{i:08x}"]}}"#
            ),
            1 => format!(
                r#"{{"id":{i},"method":"mining.submit","params":["mallory.rig","deadbeef","0000000000000000","00000000","{i:08x}"]}}"#
            ),
            2 => format!(
                r#"{{"id":{i},"method":"mining.submit","params":["mallory.rig","1","0000000000000000","00000001","{i:08x}"]}}"#
            ),
            _ => {
                format!(r#"{{"id":{i},"method":"mining.submit","params":[{i},null,[],{{}},true]}}"#)
            }
        };
        batch.push_str(&line);
        batch.push('\n');
    }
    let mut writer = garbage.writer;
    let send = tokio::spawn(async move {
        tokio::io::AsyncWriteExt::write_all(&mut writer, batch.as_bytes())
            .await
            .unwrap();
        writer
    });
    let mut errors = 0;
    while errors < 10_000 {
        let mut line = String::new();
        let n = tokio::io::AsyncBufReadExt::read_line(&mut garbage.reader, &mut line)
            .await
            .unwrap();
        assert!(
            n > 0,
            "server kept the garbage client until it was answered"
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if v.get("method").is_none() {
            assert!((20..=25).contains(&code(&v)), "{v}");
            errors += 1;
        }
    }
    let _writer = send.await.unwrap();

    // A client that sends requests but never reads is dropped once its queue fills.
    let mut slow = RawClient::connect(addr).await;
    slow.handshake("slow.rig").await;
    // Unknown methods with long names: each answer echoes the name, so the
    // unread answers outgrow the socket buffers quickly.
    let method = "x".repeat(64);
    let flood: String = (0..300_000)
        .map(|i| format!(r#"{{"id":{i},"method":"{method}","params":[]}}"#) + "\n")
        .collect();
    let flood_result = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::io::AsyncWriteExt::write_all(&mut slow.writer, flood.as_bytes()),
    )
    .await;
    assert!(
        matches!(flood_result, Ok(Err(_))),
        "the server disconnects a client that does not read its answers"
    );

    // The idle ones are gone after the handshake timeout; the honest miner is not.
    wait_for("idle connections closed", Duration::from_secs(5), || {
        stats.connections() <= 3
    })
    .await;
    for client in idle.iter_mut().take(10) {
        assert!(client.closed_within(Duration::from_secs(1)).await);
    }
    let during = miner.accepted();
    wait_for(
        "more honest shares after the abuse",
        Duration::from_secs(10),
        || miner.accepted() >= during + 3,
    )
    .await;
    assert!(during > before || miner.accepted() > before);
    assert_eq!(
        miner.rejected(),
        0,
        "honest shares are never rejected: {:?}",
        miner.rejection_reasons()
    );
    let snapshot = stats.snapshot(std::time::Instant::now());
    assert!(snapshot.rejected.values().sum::<u64>() >= 10_000);

    stop_miner.send(true).unwrap();
    miner_task.await.unwrap();
    pool.server.shutdown().await;
}
