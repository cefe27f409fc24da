//! The harness cleans up after itself: no bitcoind and no data dir outlive a test,
//! even one that panics.

use std::path::PathBuf;

use tests::TestBitcoind;

fn process_alive(pid: u32) -> bool {
    // A reaped process has no /proc entry; a zombie would show state Z.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.contains(") Z "),
        Err(_) => false,
    }
}

#[tokio::test]
async fn dropping_the_harness_kills_bitcoind_and_deletes_its_data() {
    let bitcoind = TestBitcoind::regtest().await;
    let pid = bitcoind.pid().expect("running");
    let dir = bitcoind.data_dir().to_path_buf();
    assert!(process_alive(pid) && dir.join(".cookie").exists());
    drop(bitcoind);
    assert!(!process_alive(pid), "bitcoind {pid} survived the drop");
    assert!(!dir.exists(), "{} survived the drop", dir.display());
}

#[tokio::test]
async fn a_panicking_test_still_cleans_up() {
    let (tx, rx) = tokio::sync::oneshot::channel::<(u32, PathBuf)>();
    let failing = tokio::spawn(async move {
        let bitcoind = TestBitcoind::regtest().await;
        let _ = tx.send((
            bitcoind.pid().expect("running"),
            bitcoind.data_dir().to_path_buf(),
        ));
        panic!("a test failing while its bitcoind runs");
    });
    assert!(failing.await.unwrap_err().is_panic());
    let (pid, dir) = rx.await.unwrap();
    assert!(!process_alive(pid), "bitcoind {pid} survived the panic");
    assert!(!dir.exists(), "{} survived the panic", dir.display());
}

#[tokio::test]
async fn regtest_starts_out_of_initial_block_download_and_signet_too() {
    let regtest = TestBitcoind::regtest().await;
    let info = regtest.client().check_ready().await.unwrap();
    assert_eq!(info.blocks, 1);
    let signet = TestBitcoind::signet().await;
    let info = signet.client().check_ready().await.unwrap();
    assert_eq!((info.network, info.blocks), (bitcoin::Network::Signet, 0));
}
