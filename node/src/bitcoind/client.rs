//! JSON-RPC client for bitcoind: the calls the node makes, with typed answers and errors.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use bitcoin::consensus::encode::{deserialize_hex, serialize_hex};
use bitcoin::{Block, BlockHash, Network, Transaction, Txid};
use jsonrpsee::core::client::{ClientT, Error as ClientError};
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::http_client::{transport, HeaderMap, HeaderValue, HttpClient, HttpClientBuilder};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::chain::{
    network_from_chain_name, BlockPosition, ChainInfo, RawChainInfo, SubmitOutcome,
};
use super::template::{BlockTemplate, LongPollId};
use super::{Auth, RpcError, RPC_INVALID_ADDRESS_OR_KEY};

/// Timeout for ordinary calls.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a long-poll `getblocktemplate` may wait before we ask again.
pub const LONGPOLL_TIMEOUT: Duration = Duration::from_secs(300);
/// Mainnet templates and blocks are a few MB of hex; leave room.
const MAX_RESPONSE_BYTES: u32 = 64 * 1024 * 1024;

/// A bitcoind RPC client for one network. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct BitcoindClient {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    auth: Auth,
    network: Network,
    http: RwLock<Clients>,
}

#[derive(Clone)]
struct Clients {
    short: HttpClient,
    long: HttpClient,
}

impl BitcoindClient {
    /// A client for the bitcoind at `url` (e.g. `http://127.0.0.1:18443`) expected to run `network`.
    /// Does not connect yet; a cookie file is read now and again after bitcoind restarts.
    pub fn new(url: &str, auth: Auth, network: Network) -> Result<Self, RpcError> {
        let http = RwLock::new(build_clients(url, &auth)?);
        Ok(BitcoindClient {
            inner: Arc::new(Inner {
                url: url.to_owned(),
                auth,
                network,
                http,
            }),
        })
    }

    /// The RPC URL.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The network this client expects bitcoind to run.
    pub fn network(&self) -> Network {
        self.inner.network
    }

    /// Any RPC call, for methods without a typed wrapper here.
    pub async fn call<R: DeserializeOwned>(
        &self,
        method: &str,
        params: &[Value],
    ) -> Result<R, RpcError> {
        self.call_with(method, params, false).await
    }

    /// `getblockchaininfo`.
    pub async fn get_blockchain_info(&self) -> Result<ChainInfo, RpcError> {
        let raw: RawChainInfo = self.call("getblockchaininfo", &[]).await?;
        let network = network_from_chain_name(&raw.chain).ok_or_else(|| {
            RpcError::bad_response(
                "getblockchaininfo",
                format!("unknown chain {:?}", raw.chain),
            )
        })?;
        Ok(ChainInfo {
            network,
            blocks: raw.blocks,
            headers: raw.headers,
            best_block_hash: raw.bestblockhash,
            initial_block_download: raw.initialblockdownload,
            verification_progress: raw.verificationprogress,
        })
    }

    /// Checks that bitcoind runs the expected network; returns its chain state.
    pub async fn check_network(&self) -> Result<ChainInfo, RpcError> {
        let info = self.get_blockchain_info().await?;
        if info.network != self.inner.network {
            return Err(RpcError::WrongNetwork {
                url: self.inner.url.clone(),
                expected: self.inner.network,
                actual: info.network,
            });
        }
        Ok(info)
    }

    /// Checks the network and that bitcoind has finished initial block download.
    pub async fn check_ready(&self) -> Result<ChainInfo, RpcError> {
        let info = self.check_network().await?;
        if info.initial_block_download {
            return Err(RpcError::InitialBlockDownload {
                blocks: info.blocks,
                headers: info.headers,
            });
        }
        Ok(info)
    }

    /// `getblocktemplate` with the rules this network needs (segwit; signet on signet).
    pub async fn get_block_template(&self) -> Result<BlockTemplate, RpcError> {
        let value: Value = self
            .call("getblocktemplate", &[self.template_request(None)])
            .await?;
        BlockTemplate::from_json(value)
    }

    /// Long-poll `getblocktemplate`: returns when bitcoind's tip (or, after a while, its mempool)
    /// has changed since the template that carried `id`, or after [`LONGPOLL_TIMEOUT`].
    pub async fn wait_block_template(&self, id: &LongPollId) -> Result<BlockTemplate, RpcError> {
        let value: Value = self
            .call_with("getblocktemplate", &[self.template_request(Some(id))], true)
            .await?;
        BlockTemplate::from_json(value)
    }

    fn template_request(&self, longpoll: Option<&LongPollId>) -> Value {
        let rules: &[&str] = if self.inner.network == Network::Signet {
            &["segwit", "signet"]
        } else {
            &["segwit"]
        };
        match longpoll {
            None => json!({ "rules": rules }),
            Some(id) => json!({ "rules": rules, "longpollid": id.0 }),
        }
    }

    /// `submitblock`: bitcoind's verdict on a full block.
    pub async fn submit_block(&self, block: &Block) -> Result<SubmitOutcome, RpcError> {
        let reason: Option<String> = self
            .call("submitblock", &[json!(serialize_hex(block))])
            .await?;
        Ok(SubmitOutcome::from_reason(reason))
    }

    /// `getbestblockhash`.
    pub async fn get_best_block_hash(&self) -> Result<BlockHash, RpcError> {
        self.call("getbestblockhash", &[]).await
    }

    /// `getblockhash`: the hash of the best chain's block at `height`.
    pub async fn get_block_hash(&self, height: u64) -> Result<BlockHash, RpcError> {
        self.call("getblockhash", &[json!(height)]).await
    }

    /// `getblockheader` (raw), decoded.
    pub async fn get_block_header(
        &self,
        hash: &BlockHash,
    ) -> Result<bitcoin::block::Header, RpcError> {
        let hex: String = self
            .call("getblockheader", &[json!(hash), json!(false)])
            .await?;
        deserialize_hex(&hex).map_err(|e| RpcError::bad_response("getblockheader", e))
    }

    /// `getblockheader` (verbose): where a block sits, or `None` if bitcoind
    /// does not know its header.
    pub async fn get_block_position(
        &self,
        hash: &BlockHash,
    ) -> Result<Option<BlockPosition>, RpcError> {
        match self
            .call::<BlockPosition>("getblockheader", &[json!(hash), json!(true)])
            .await
        {
            Ok(position) => Ok(Some(position)),
            Err(RpcError::Rpc {
                code: RPC_INVALID_ADDRESS_OR_KEY,
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `getblock` (raw), decoded.
    pub async fn get_block(&self, hash: &BlockHash) -> Result<Block, RpcError> {
        let hex: String = self.call("getblock", &[json!(hash), json!(0)]).await?;
        deserialize_hex(&hex).map_err(|e| RpcError::bad_response("getblock", e))
    }

    /// `sendrawtransaction`.
    pub async fn send_raw_transaction(&self, tx: &Transaction) -> Result<Txid, RpcError> {
        self.call("sendrawtransaction", &[json!(serialize_hex(tx))])
            .await
    }

    /// `generatetodescriptor` (regtest and test signets): bitcoind mines `count` blocks paying
    /// `descriptor` on its CPU. Tries up to `u32::MAX` nonces per block, since bitcoind's default
    /// of a million is often too few for a signet block.
    pub async fn generate_to_descriptor(
        &self,
        count: u32,
        descriptor: &str,
    ) -> Result<Vec<BlockHash>, RpcError> {
        self.call(
            "generatetodescriptor",
            &[json!(count), json!(descriptor), json!(u32::MAX)],
        )
        .await
    }

    /// `stop`: asks bitcoind to shut down cleanly.
    pub async fn stop(&self) -> Result<(), RpcError> {
        let _: Value = self.call("stop", &[]).await?;
        Ok(())
    }

    async fn call_with<R: DeserializeOwned>(
        &self,
        method: &str,
        params: &[Value],
        long: bool,
    ) -> Result<R, RpcError> {
        match self.call_once(method, params, long).await {
            // bitcoind writes a new cookie on each start: read it again once, then give up.
            Err(RpcError::WrongCredentials { .. })
                if matches!(self.inner.auth, Auth::CookieFile(_)) =>
            {
                let fresh = build_clients(&self.inner.url, &self.inner.auth)?;
                *self
                    .inner
                    .http
                    .write()
                    .expect("client lock is never poisoned: no panics under it") = fresh;
                self.call_once(method, params, long).await
            }
            other => other,
        }
    }

    async fn call_once<R: DeserializeOwned>(
        &self,
        method: &str,
        params: &[Value],
        long: bool,
    ) -> Result<R, RpcError> {
        let clients = self
            .inner
            .http
            .read()
            .expect("client lock is never poisoned: no panics under it")
            .clone();
        let (client, timeout) = if long {
            (clients.long, LONGPOLL_TIMEOUT)
        } else {
            (clients.short, CALL_TIMEOUT)
        };
        let mut array = ArrayParams::new();
        for p in params {
            array
                .insert(p)
                .map_err(|e| RpcError::bad_response(method, e))?;
        }
        // bitcoind answers `null` for some calls; read a Value first so that `()`/Option work.
        let value: Value = client
            .request(method, array)
            .await
            .map_err(|e| self.classify(method, timeout, e))?;
        serde_json::from_value(value).map_err(|e| RpcError::bad_response(method, e))
    }

    fn classify(&self, method: &str, timeout: Duration, err: ClientError) -> RpcError {
        let url = self.inner.url.clone();
        match err {
            ClientError::Call(obj) => RpcError::Rpc {
                method: method.to_owned(),
                code: obj.code(),
                message: obj.message().to_owned(),
            },
            ClientError::RequestTimeout => RpcError::Timeout {
                url,
                method: method.to_owned(),
                seconds: timeout.as_secs(),
            },
            ClientError::Transport(e) => match e.downcast_ref::<transport::Error>() {
                Some(transport::Error::Rejected { status_code: 401 }) => {
                    RpcError::WrongCredentials { url }
                }
                Some(transport::Error::Rejected { status_code }) => RpcError::HttpStatus {
                    url,
                    status: *status_code,
                },
                _ => RpcError::Unreachable {
                    url,
                    reason: error_chain(&*e),
                },
            },
            ClientError::ParseError(e) => RpcError::bad_response(method, e),
            other => RpcError::bad_response(method, other),
        }
    }
}

impl std::fmt::Debug for BitcoindClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BitcoindClient")
            .field("url", &self.inner.url)
            .field("auth", &self.inner.auth)
            .field("network", &self.inner.network)
            .finish()
    }
}

fn build_clients(url: &str, auth: &Auth) -> Result<Clients, RpcError> {
    let invalid = |reason: String| RpcError::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let mut headers = HeaderMap::new();
    let value = HeaderValue::from_str(&auth.header_value()?).map_err(|e| invalid(e.to_string()))?;
    headers.insert("Authorization", value);
    let build = |timeout: Duration| {
        HttpClientBuilder::default()
            .request_timeout(timeout)
            .max_response_size(MAX_RESPONSE_BYTES)
            .set_headers(headers.clone())
            .build(url)
            .map_err(|e| invalid(e.to_string()))
    };
    Ok(Clients {
        short: build(CALL_TIMEOUT)?,
        long: build(LONGPOLL_TIMEOUT)?,
    })
}

/// "connection refused" lives a few sources deep in hyper's errors; show the whole chain.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}
