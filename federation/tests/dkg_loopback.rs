//! `run_dkg` among four guardians in one process, over real libp2p TCP
//! connections on loopback: all agree on the keys; a guardian whose setup
//! string nobody can reach is named by everyone.

use std::time::Duration;

use federation::dkg::run::{run_dkg, DkgRunError, RunOptions};
use federation::dkg::{DkgError, GuardianInit};

fn inits(names: &[&str]) -> Vec<GuardianInit> {
    let listeners: Vec<std::net::TcpListener> = names
        .iter()
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    names
        .iter()
        .zip(&listeners)
        .map(|(name, l)| {
            let port = l.local_addr().unwrap().port();
            GuardianInit::generate(
                name.to_string(),
                format!("http://127.0.0.1:{port}"),
                format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap(),
            )
            .unwrap()
        })
        .collect()
}

fn options(connect: u64) -> RunOptions {
    RunOptions {
        connect_timeout: Duration::from_secs(connect),
        round_timeout: Duration::from_secs(30),
        retry_interval: Duration::from_millis(200),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_guardians_agree_on_keys_over_libp2p() {
    let guardians = inits(&["alice", "bob", "carol", "dave"]);
    let setups: Vec<_> = guardians.iter().map(|g| g.setup.clone()).collect();
    let runs = guardians.iter().map(|init| {
        let init = init.clone();
        let setups = setups.clone();
        tokio::spawn(async move { run_dkg(&init, setups, 4, b"test", &options(30)).await })
    });
    let results: Vec<_> = futures::future::join_all(runs)
        .await
        .into_iter()
        .map(|r| r.unwrap().expect("dkg succeeds"))
        .collect();
    for r in &results {
        assert_eq!(r.output.public, results[0].output.public);
        assert_eq!(r.session, results[0].session);
        assert!(r.output.is_consistent(r.us));
        assert_eq!(r.output.threshold, 3);
    }
    let mut indices: Vec<u16> = results.iter().map(|r| r.us.0).collect();
    indices.sort();
    assert_eq!(indices, vec![0, 1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_guardian_is_named() {
    let guardians = inits(&["alice", "bob", "erin"]);
    let setups: Vec<_> = guardians.iter().map(|g| g.setup.clone()).collect();
    // Erin never runs.
    let runs = guardians[..2].iter().map(|init| {
        let init = init.clone();
        let setups = setups.clone();
        tokio::spawn(async move { run_dkg(&init, setups, 2, b"test", &options(3)).await })
    });
    for result in futures::future::join_all(runs).await {
        match result.unwrap() {
            Err(DkgRunError::Unreachable(missing)) => {
                let names: Vec<&str> = missing.iter().map(|(g, _)| g.name.as_str()).collect();
                assert_eq!(names, vec!["erin"]);
            }
            // The other gave up first and said why.
            Err(DkgRunError::Protocol(DkgError::PeerAborted { accused, .. })) => {
                assert_eq!(accused.name, "erin");
            }
            other => panic!("expected erin to be unreachable, got {other:?}"),
        }
    }
}
