//! A throwaway bitcoind for one test: regtest or a trivial-challenge signet, on free
//! loopback ports, in a temporary data dir. Dropping it kills the process and deletes
//! the dir, also when the test panics.

use std::path::PathBuf;

use bitcoin::{Block, BlockHash, Network, OutPoint, Transaction, TxOut, Txid};
use node::bitcoind::process::{self, BitcoindOptions, BitcoindProcess, ProcessError};
use node::bitcoind::{Auth, BitcoindClient};
use tempfile::TempDir;

use crate::keys::TestKey;
use crate::ports::free_ports;

/// Tries when a free port was taken by someone else between choosing and binding.
const START_ATTEMPTS: usize = 3;
/// About 63 years, older than the signet genesis block.
const SIGNET_MAX_TIP_AGE: &str = "-maxtipage=2000000000";
/// Anyone-can-spend (`OP_TRUE`): a payee for blocks whose coins nobody needs.
pub const ANYONE_CAN_SPEND: &str = "raw(51)";

/// The directory with `bitcoind`: `$SHAREMINT_BITCOIN_BIN`, else `~/.cache/sharemint/bitcoind/0.4.1/bin`.
/// Panics, saying how to build it, when `bitcoind` is not there.
pub fn bitcoin_bin_dir() -> PathBuf {
    let dir = process::default_bin_dir().expect("HOME or SHAREMINT_BITCOIN_BIN is set");
    assert!(
        dir.join("bitcoind").is_file(),
        "no bitcoind in {}: run `bash scripts/bitcoind.sh` (builds it once, about 8 minutes) \
         or set SHAREMINT_BITCOIN_BIN to a directory holding bitcoind",
        dir.display()
    );
    dir
}

/// Options for a [`TestBitcoind`] before it starts.
#[derive(Clone, Debug)]
pub struct TestBitcoindBuilder {
    network: Network,
    extra_args: Vec<String>,
    leave_ibd: bool,
}

impl TestBitcoindBuilder {
    /// A trivial-challenge signet (`-signetchallenge=51`) instead of regtest.
    pub fn signet(mut self) -> Self {
        self.network = Network::Signet;
        self
    }

    /// An extra bitcoind argument, e.g. `-maxtipage=1`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra_args.push(arg.into());
        self
    }

    /// Leave the chain at genesis and in initial block download (regtest: mine no block;
    /// signet: no `-maxtipage`).
    pub fn fresh_chain(mut self) -> Self {
        self.leave_ibd = false;
        self
    }

    /// Starts bitcoind and waits until it answers RPC. Panics with bitcoind's own words if it cannot start.
    pub async fn start(self) -> TestBitcoind {
        let bin_dir = bitcoin_bin_dir();
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            let dir = tempfile::Builder::new()
                .prefix("sharemint-bitcoind-")
                .tempdir()
                .expect("create a temp dir");
            let ports = free_ports(2);
            let mut options = match self.network {
                Network::Signet => {
                    BitcoindOptions::trivial_signet(&bin_dir, dir.path(), ports[0], ports[1])
                }
                _ => BitcoindOptions::regtest(&bin_dir, dir.path(), ports[0], ports[1]),
            };
            if self.network == Network::Signet && self.leave_ibd {
                // The custom signet's genesis is from 2020: accepting a tip that old takes the
                // node out of initial block download at once, with no slow CPU-mined block.
                options.extra_args.push(SIGNET_MAX_TIP_AGE.to_owned());
            }
            options.extra_args.extend(self.extra_args.iter().cloned());
            match BitcoindProcess::start(options).await {
                Ok(process) => {
                    let options = process.options().clone();
                    let client = process.client().clone();
                    let bitcoind = TestBitcoind {
                        process: Some(process),
                        options,
                        client,
                        dir,
                    };
                    if self.leave_ibd && self.network == Network::Regtest {
                        bitcoind.generate_to(1, ANYONE_CAN_SPEND).await;
                    }
                    return bitcoind;
                }
                // Most likely a port taken in the meantime: try other ports.
                Err(e @ ProcessError::ExitedEarly { .. }) => last_error = Some(e),
                Err(e) => panic!("cannot start bitcoind: {e}"),
            }
        }
        panic!(
            "cannot start bitcoind after {START_ATTEMPTS} attempts: {}",
            last_error.expect("set on every failure")
        );
    }
}

/// A running bitcoind owned by one test.
pub struct TestBitcoind {
    // Declared before `dir`: the process dies before its data dir is deleted.
    process: Option<BitcoindProcess>,
    options: BitcoindOptions,
    client: BitcoindClient,
    dir: TempDir,
}

impl TestBitcoind {
    /// Regtest with one block mined (to `OP_TRUE`), so it has left initial block download.
    pub async fn regtest() -> Self {
        Self::builder().start().await
    }

    /// A trivial-challenge signet at genesis, out of initial block download (`-maxtipage`).
    /// Its blocks take bitcoind some seconds of CPU each (difficulty about 0.001).
    pub async fn signet() -> Self {
        Self::builder().signet().start().await
    }

    /// Regtest by default; see [`TestBitcoindBuilder`].
    pub fn builder() -> TestBitcoindBuilder {
        TestBitcoindBuilder {
            network: Network::Regtest,
            extra_args: Vec::new(),
            leave_ibd: true,
        }
    }

    /// A client authenticating with user and password.
    pub fn client(&self) -> &BitcoindClient {
        &self.client
    }

    /// A new client with other credentials or an other expected network.
    pub fn client_with(&self, auth: Auth, network: Network) -> BitcoindClient {
        BitcoindClient::new(&self.rpc_url(), auth, network).expect("the harness URL is valid")
    }

    /// `http://127.0.0.1:<port>`.
    pub fn rpc_url(&self) -> String {
        self.options().rpc_url()
    }

    /// User-and-password credentials.
    pub fn user_pass(&self) -> Auth {
        self.options().user_pass()
    }

    /// Cookie-file credentials.
    pub fn cookie(&self) -> Auth {
        Auth::CookieFile(self.options().cookie_file())
    }

    /// Regtest or signet.
    pub fn network(&self) -> Network {
        self.options().network
    }

    /// The P2P port, for connecting bitcoinds to each other.
    pub fn p2p_port(&self) -> u16 {
        self.options().p2p_port
    }

    /// The data dir (deleted on drop).
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The options it was started with.
    pub fn options(&self) -> &BitcoindOptions {
        &self.options
    }

    /// Mines `count` blocks paying `descriptor` (`wpkh(...)`, `raw(...)`, `addr(...)`).
    pub async fn generate_to(&self, count: u32, descriptor: &str) -> Vec<BlockHash> {
        let hashes = self
            .client()
            .generate_to_descriptor(count, descriptor)
            .await
            .unwrap_or_else(|e| panic!("generatetodescriptor {count} to {descriptor}: {e}"));
        assert_eq!(
            hashes.len(),
            count as usize,
            "bitcoind mined fewer blocks than asked"
        );
        hashes
    }

    /// Mines `count` blocks paying `key`.
    pub async fn generate_to_key(&self, count: u32, key: &TestKey) -> Vec<BlockHash> {
        self.generate_to(count, &key.descriptor()).await
    }

    /// Mines `count` blocks nobody cares about.
    pub async fn generate(&self, count: u32) -> Vec<BlockHash> {
        self.generate_to(count, ANYONE_CAN_SPEND).await
    }

    /// Mines 100 + `coins` blocks to `key` and returns its `coins` matured coinbase outputs.
    pub async fn mature_coins(&self, key: &TestKey, coins: u32) -> Vec<(OutPoint, TxOut)> {
        let hashes = self.generate_to_key(coins, key).await;
        self.generate(100).await;
        let mut out = Vec::new();
        for hash in hashes {
            let block = self.block(&hash).await;
            let coinbase = &block.txdata[0];
            let vout = coinbase
                .output
                .iter()
                .position(|o| o.script_pubkey == key.script_pubkey())
                .expect("the coinbase pays the key it was mined to");
            out.push((
                OutPoint::new(coinbase.compute_txid(), vout as u32),
                coinbase.output[vout].clone(),
            ));
        }
        out
    }

    /// `getblock`, panicking on error.
    pub async fn block(&self, hash: &BlockHash) -> Block {
        self.client()
            .get_block(hash)
            .await
            .unwrap_or_else(|e| panic!("getblock {hash}: {e}"))
    }

    /// The current height.
    pub async fn height(&self) -> u64 {
        self.client()
            .get_blockchain_info()
            .await
            .expect("getblockchaininfo")
            .blocks
    }

    /// `sendrawtransaction`, panicking with bitcoind's reason on refusal.
    pub async fn send(&self, tx: &Transaction) -> Txid {
        self.client()
            .send_raw_transaction(tx)
            .await
            .unwrap_or_else(|e| panic!("sendrawtransaction: {e}"))
    }

    /// Kills bitcoind now (the data dir stays until drop); for testing what happens when it is gone.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }
}
