//! Each way talking to bitcoind can fail gives its own typed error with a useful message.

use std::time::Duration;

use bitcoin::hashes::Hash;
use bitcoin::{BlockHash, Network};
use node::bitcoind::{Auth, RpcError, RPC_INVALID_ADDRESS_OR_KEY};
use tests::TestBitcoind;

#[tokio::test]
async fn cookie_and_password_both_work() {
    let bitcoind = TestBitcoind::regtest().await;
    let by_cookie = bitcoind.client_with(bitcoind.cookie(), Network::Regtest);
    let by_password = bitcoind.client_with(bitcoind.user_pass(), Network::Regtest);
    let a = by_cookie.get_best_block_hash().await.unwrap();
    let b = by_password.get_best_block_hash().await.unwrap();
    assert_eq!(a, b);
}

#[tokio::test]
async fn a_wrong_password_is_wrong_credentials() {
    let bitcoind = TestBitcoind::regtest().await;
    let Auth::UserPass { user, .. } = bitcoind.user_pass() else {
        unreachable!("harness uses a password")
    };
    let client = bitcoind.client_with(
        Auth::UserPass {
            user,
            password: "not-the-password".into(),
        },
        Network::Regtest,
    );
    let err = client.get_best_block_hash().await.unwrap_err();
    assert!(
        matches!(err, RpcError::WrongCredentials { ref url } if *url == bitcoind.rpc_url()),
        "{err:?}"
    );
    assert!(err.to_string().contains("credentials"), "{err}");
}

#[tokio::test]
async fn a_stopped_bitcoind_is_unreachable_with_its_url() {
    let mut bitcoind = TestBitcoind::regtest().await;
    let client = bitcoind.client().clone();
    bitcoind.kill();
    let err = client.get_blockchain_info().await.unwrap_err();
    assert!(matches!(err, RpcError::Unreachable { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(err.to_string().contains(&bitcoind.rpc_url()), "{err}");
}

#[tokio::test]
async fn expecting_mainnet_but_finding_regtest_is_wrong_network() {
    let bitcoind = TestBitcoind::regtest().await;
    let client = bitcoind.client_with(bitcoind.user_pass(), Network::Bitcoin);
    let err = client.check_network().await.unwrap_err();
    assert!(
        matches!(
            err,
            RpcError::WrongNetwork {
                expected: Network::Bitcoin,
                actual: Network::Regtest,
                ..
            }
        ),
        "{err:?}"
    );
    let err = client.check_ready().await.unwrap_err();
    assert!(matches!(err, RpcError::WrongNetwork { .. }), "{err:?}");
}

#[tokio::test]
async fn bitcoinds_own_rpc_errors_come_through_with_code_and_message() {
    let bitcoind = TestBitcoind::regtest().await;
    let unknown = BlockHash::from_byte_array([7; 32]);
    let err = bitcoind
        .client()
        .get_block_header(&unknown)
        .await
        .unwrap_err();
    match &err {
        RpcError::Rpc {
            method,
            code,
            message,
        } => {
            assert_eq!(method, "getblockheader");
            assert_eq!(*code, RPC_INVALID_ADDRESS_OR_KEY);
            assert!(message.contains("not found"), "{message}");
        }
        other => panic!("expected an RPC error, got {other:?}"),
    }
    // A block that does not even decode.
    let err = bitcoind
        .client()
        .call::<serde_json::Value>("submitblock", &["00".into()])
        .await
        .unwrap_err();
    assert!(
        matches!(err, RpcError::Rpc { code: -22, ref message, .. } if message.contains("decode")),
        "{err:?}"
    );
}

/// A fresh regtest chain sits at the 2011 genesis block, older than `-maxtipage`
/// (24 h), so bitcoind is in initial block download until a recent block arrives.
#[tokio::test]
async fn a_fresh_chain_is_in_initial_block_download_until_a_block_is_mined() {
    let bitcoind = TestBitcoind::builder().fresh_chain().start().await;
    let err = bitcoind.client().check_ready().await.unwrap_err();
    assert!(
        matches!(err, RpcError::InitialBlockDownload { blocks: 0, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("initial block download"), "{err}");

    // The daemon's wait ends by itself once bitcoind has caught up.
    let client = bitcoind.client().clone();
    let waiting = tokio::spawn(async move { node::daemon::wait_until_ready(&client).await });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !waiting.is_finished(),
        "stopped waiting while bitcoind was still in IBD"
    );
    bitcoind.generate(1).await;
    let info = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("wait ends")
        .unwrap()
        .unwrap();
    assert_eq!(info.blocks, 1);
    assert!(!info.initial_block_download);
}
