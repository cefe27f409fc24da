//! The node daemon and `sharemint devnet` against a real regtest bitcoind.

use std::time::Duration;

use bitcoin::Network;
use node::bitcoind::TipSources;
use node::config::NodeConfig;
use node::devnet::{DevnetOptions, MATURE_CHAIN_HEIGHT};
use node::{Daemon, PayoutScript, TemplateUpdate};
use tests::{bitcoin_bin_dir, ports::free_ports, TestBitcoind, TestKey};
use tokio::sync::{oneshot, watch};

async fn next_template(
    rx: &mut watch::Receiver<Option<TemplateUpdate>>,
    within: Duration,
) -> TemplateUpdate {
    tokio::time::timeout(within, rx.changed())
        .await
        .expect("a template in time")
        .expect("daemon alive");
    rx.borrow_and_update()
        .clone()
        .expect("a template, not None")
}

#[tokio::test]
async fn the_daemon_fetches_a_template_on_start_and_on_every_new_tip() {
    tests::init_logging();
    let bitcoind = TestBitcoind::regtest().await;
    let key = TestKey::new();
    let config = NodeConfig {
        network: Network::Regtest,
        bitcoind_url: bitcoind.rpc_url(),
        bitcoind_auth: bitcoind.cookie(),
        tip_sources: TipSources::default(),
        data_dir: bitcoind.data_dir().join("node"),
        payout: PayoutScript::from_script(key.script_pubkey()),
        template_refresh: Duration::from_secs(30),
        stratum_listen: "127.0.0.1:0".parse().unwrap(),
        api_listen: "127.0.0.1:0".parse().unwrap(),
        p2p_listen: Vec::new(),
        bootstrap: Vec::new(),
        vardiff_interval: node::config::DEFAULT_VARDIFF_INTERVAL,
    };
    let daemon = Daemon::new(config).unwrap();
    let mut templates = daemon.templates();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(daemon.run(async move {
        let _ = stopped.await;
    }));

    let first = next_template(&mut templates, Duration::from_secs(10)).await;
    assert_eq!(
        first.template.height, 2,
        "the harness mined block 1, so the template is for 2"
    );
    assert!(first.new_tip);

    let hash = bitcoind.generate(1).await[0];
    let second = next_template(&mut templates, Duration::from_secs(1)).await;
    assert_eq!(second.template.previous_block_hash, hash);
    assert_eq!(second.template.height, 3);
    assert!(second.new_tip);

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("stops")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn without_a_new_tip_the_template_is_refreshed_on_schedule() {
    let bitcoind = TestBitcoind::regtest().await;
    let config = NodeConfig {
        network: Network::Regtest,
        bitcoind_url: bitcoind.rpc_url(),
        bitcoind_auth: bitcoind.user_pass(),
        tip_sources: TipSources::default(),
        data_dir: bitcoind.data_dir().join("node"),
        payout: PayoutScript::from_script(TestKey::new().script_pubkey()),
        template_refresh: Duration::from_millis(300),
        stratum_listen: "127.0.0.1:0".parse().unwrap(),
        api_listen: "127.0.0.1:0".parse().unwrap(),
        p2p_listen: Vec::new(),
        bootstrap: Vec::new(),
        vardiff_interval: node::config::DEFAULT_VARDIFF_INTERVAL,
    };
    let daemon = Daemon::new(config).unwrap();
    let mut templates = daemon.templates();
    let running = tokio::spawn(daemon.run(std::future::pending()));
    let first = next_template(&mut templates, Duration::from_secs(10)).await;
    let refreshed = next_template(&mut templates, Duration::from_secs(2)).await;
    assert!(first.new_tip);
    assert!(!refreshed.new_tip, "a refresh is not a new tip");
    assert_eq!(
        refreshed.template.previous_block_hash,
        first.template.previous_block_hash
    );
    running.abort();
}

#[tokio::test]
async fn devnet_mines_a_mature_chain_runs_a_node_and_stops_bitcoind() {
    tests::init_logging();
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports(2);
    let options = DevnetOptions {
        bitcoin_bin: bitcoin_bin_dir(),
        data_dir: dir.path().to_path_buf(),
        rpc_port: ports[0],
        p2p_port: ports[1],
    };

    for run in 0..2 {
        let (stop, stopped) = oneshot::channel::<()>();
        let (give, mut take) = oneshot::channel();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let devnet = tokio::spawn(node::devnet::run(
            options.clone(),
            shutdown,
            move |daemon| {
                let _ = give.send(daemon.templates());
            },
        ));
        let mut templates = tokio::time::timeout(Duration::from_secs(30), &mut take)
            .await
            .expect("the node starts")
            .expect("devnet hands out the template channel");
        let update = next_template(&mut templates, Duration::from_secs(10)).await;
        // The second run reuses the chain instead of mining again.
        assert_eq!(
            update.template.height as u64,
            MATURE_CHAIN_HEIGHT + 1,
            "run {run}"
        );
        assert!(update.template.default_witness_commitment.is_some());

        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(30), devnet)
            .await
            .expect("devnet stops")
            .unwrap()
            .unwrap();
        let gone = std::net::TcpStream::connect(("127.0.0.1", options.rpc_port));
        assert!(gone.is_err(), "bitcoind still listens after devnet stopped");
    }
}
