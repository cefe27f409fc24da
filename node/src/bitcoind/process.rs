//! Starting and stopping a local bitcoind: for `sharemint devnet` and the integration tests.
//!
//! The process listens on loopback only, writes its cookie to `<data dir>/.cookie`
//! and also accepts a user and password (`-rpcauth`), so callers may use either.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bitcoin::hashes::{hmac, sha256, Hash, HashEngine};
use bitcoin::Network;

use super::{Auth, BitcoindClient, RpcError};

/// The cache key scripts/bitcoind.sh builds under (its KERNEL_CRATE_VERSION); keep the two equal.
pub const BITCOIN_BUILD_KEY: &str = "0.4.1";

/// Where scripts/bitcoind.sh puts `bitcoind`: `$SHAREMINT_BITCOIN_BIN` if set, else
/// `${SHAREMINT_CACHE:-~/.cache/sharemint}/bitcoind/<key>/bin`. `None` without a home directory.
pub fn default_bin_dir() -> Option<PathBuf> {
    let non_empty = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = non_empty("SHAREMINT_BITCOIN_BIN") {
        return Some(dir);
    }
    let cache = non_empty("SHAREMINT_CACHE")
        .or_else(|| non_empty("HOME").map(|h| h.join(".cache/sharemint")))?;
    Some(cache.join("bitcoind").join(BITCOIN_BUILD_KEY).join("bin"))
}

/// How long bitcoind may take to answer RPC after start.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a clean `stop` may take before the process is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
const STATUS_POLL: Duration = Duration::from_millis(50);

/// How to start bitcoind.
#[derive(Clone, Debug)]
pub struct BitcoindOptions {
    /// Directory holding the `bitcoind` binary.
    pub bin_dir: PathBuf,
    /// Its data directory (created if missing).
    pub data_dir: PathBuf,
    /// The chain; regtest and signet are what this is for.
    pub network: Network,
    /// For a custom signet: the challenge script in hex (`51` is OP_TRUE: anyone may sign).
    pub signet_challenge: Option<String>,
    /// RPC port on 127.0.0.1.
    pub rpc_port: u16,
    /// P2P port on 127.0.0.1.
    pub p2p_port: u16,
    /// RPC user accepted besides the cookie.
    pub rpc_user: String,
    /// Its password.
    pub rpc_password: String,
    /// Further `-flag=value` arguments.
    pub extra_args: Vec<String>,
}

impl BitcoindOptions {
    /// Regtest on the given ports with a random RPC password.
    pub fn regtest(
        bin_dir: impl Into<PathBuf>,
        data_dir: impl Into<PathBuf>,
        rpc_port: u16,
        p2p_port: u16,
    ) -> Self {
        BitcoindOptions {
            bin_dir: bin_dir.into(),
            data_dir: data_dir.into(),
            network: Network::Regtest,
            signet_challenge: None,
            rpc_port,
            p2p_port,
            rpc_user: "sharemint".to_owned(),
            rpc_password: hex::encode(secp256k1_random_bytes()),
            extra_args: Vec::new(),
        }
    }

    /// A custom signet with the trivial challenge `OP_TRUE`: blocks need no signature.
    pub fn trivial_signet(
        bin_dir: impl Into<PathBuf>,
        data_dir: impl Into<PathBuf>,
        rpc_port: u16,
        p2p_port: u16,
    ) -> Self {
        BitcoindOptions {
            network: Network::Signet,
            signet_challenge: Some("51".to_owned()),
            ..Self::regtest(bin_dir, data_dir, rpc_port, p2p_port)
        }
    }

    /// `bin_dir/bitcoind`.
    pub fn bitcoind_path(&self) -> PathBuf {
        self.bin_dir.join("bitcoind")
    }

    /// `http://127.0.0.1:<rpc_port>`.
    pub fn rpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rpc_port)
    }

    /// The cookie file the process writes.
    pub fn cookie_file(&self) -> PathBuf {
        self.data_dir.join(".cookie")
    }

    /// User-and-password credentials.
    pub fn user_pass(&self) -> Auth {
        Auth::UserPass {
            user: self.rpc_user.clone(),
            password: self.rpc_password.clone(),
        }
    }

    fn args(&self) -> Vec<String> {
        let mut args = vec![
            format!("-datadir={}", self.data_dir.display()),
            format!("-chain={}", chain_arg(self.network)),
            "-server=1".to_owned(),
            "-printtoconsole=0".to_owned(),
            format!("-rpccookiefile={}", self.cookie_file().display()),
            format!("-rpcauth={}", rpcauth(&self.rpc_user, &self.rpc_password)),
            "-rpcbind=127.0.0.1".to_owned(),
            "-rpcallowip=127.0.0.1".to_owned(),
            format!("-rpcport={}", self.rpc_port),
            // Each waiting long-poll holds a thread; several nodes may share one bitcoind.
            "-rpcthreads=32".to_owned(),
            format!("-bind=127.0.0.1:{}", self.p2p_port),
            format!("-port={}", self.p2p_port),
            "-dnsseed=0".to_owned(),
            "-fixedseeds=0".to_owned(),
            "-listenonion=0".to_owned(),
            "-discover=0".to_owned(),
            "-natpmp=0".to_owned(),
        ];
        if let Some(challenge) = &self.signet_challenge {
            args.push(format!("-signetchallenge={challenge}"));
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }
}

/// Errors starting or stopping bitcoind.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The binary is not where we looked.
    #[error("no bitcoind binary at {path}; run `bash scripts/bitcoind.sh` to build it (it prints the bin directory)")]
    MissingBinary {
        /// Where we looked.
        path: PathBuf,
    },
    /// Creating the data dir or spawning failed.
    #[error("cannot start bitcoind ({path}): {source}")]
    Spawn {
        /// The binary.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// bitcoind exited before it answered RPC.
    #[error("bitcoind exited during start-up ({status}); its last words: {stderr}; see {data_dir}/debug.log")]
    ExitedEarly {
        /// Exit status.
        status: String,
        /// Tail of its stderr.
        stderr: String,
        /// Its data dir.
        data_dir: PathBuf,
    },
    /// bitcoind did not answer RPC in time.
    #[error("bitcoind did not answer RPC within {0:?}: {1}")]
    StartTimeout(Duration, RpcError),
    /// A non-transient RPC error during start-up.
    #[error(transparent)]
    Rpc(#[from] RpcError),
}

/// A bitcoind we started. Dropping it kills the process (a clean stop is [`BitcoindProcess::stop`]).
pub struct BitcoindProcess {
    child: Option<Child>,
    options: BitcoindOptions,
    client: BitcoindClient,
}

impl BitcoindProcess {
    /// Starts bitcoind and waits until it answers RPC.
    pub async fn start(options: BitcoindOptions) -> Result<Self, ProcessError> {
        let binary = options.bitcoind_path();
        if !binary.is_file() {
            return Err(ProcessError::MissingBinary { path: binary });
        }
        let spawn_err = |source| ProcessError::Spawn {
            path: binary.clone(),
            source,
        };
        std::fs::create_dir_all(&options.data_dir).map_err(spawn_err)?;
        let stderr = File::create(stderr_path(&options.data_dir)).map_err(spawn_err)?;
        let child = Command::new(&binary)
            .args(options.args())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(spawn_err)?;
        let client = BitcoindClient::new(&options.rpc_url(), options.user_pass(), options.network)?;
        let mut process = BitcoindProcess {
            child: Some(child),
            options,
            client,
        };
        process.wait_until_ready().await?;
        tracing::debug!(url = %process.options.rpc_url(), pid = process.pid(), "bitcoind started");
        Ok(process)
    }

    async fn wait_until_ready(&mut self) -> Result<(), ProcessError> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.try_exit_status() {
                let stderr = std::fs::read_to_string(stderr_path(&self.options.data_dir))
                    .unwrap_or_default();
                return Err(ProcessError::ExitedEarly {
                    status,
                    stderr: stderr.trim().to_owned(),
                    data_dir: self.options.data_dir.clone(),
                });
            }
            match self.client.get_blockchain_info().await {
                Ok(_) => return Ok(()),
                Err(e) if e.is_transient() && started.elapsed() < START_TIMEOUT => {}
                Err(e) if e.is_transient() => {
                    return Err(ProcessError::StartTimeout(START_TIMEOUT, e))
                }
                Err(e) => return Err(e.into()),
            }
            tokio::time::sleep(STATUS_POLL).await;
        }
    }

    fn try_exit_status(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown status: {e}")),
        }
    }

    /// A client using the user and password.
    pub fn client(&self) -> &BitcoindClient {
        &self.client
    }

    /// The options it was started with (URL, credentials, data dir).
    pub fn options(&self) -> &BitcoindOptions {
        &self.options
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Asks bitcoind to stop, waits for it to exit, and kills it if it takes too long.
    pub async fn stop(mut self) -> Result<(), ProcessError> {
        let asked = self.client.stop().await;
        let started = Instant::now();
        while started.elapsed() < STOP_TIMEOUT {
            if self.try_exit_status().is_some() {
                self.child = None;
                return Ok(());
            }
            tokio::time::sleep(STATUS_POLL).await;
        }
        tracing::warn!("bitcoind did not stop within {STOP_TIMEOUT:?}; killing it");
        self.kill();
        asked.map_err(ProcessError::from)
    }

    /// Kills the process at once and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for BitcoindProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn stderr_path(data_dir: &Path) -> PathBuf {
    data_dir.join("bitcoind.stderr")
}

fn chain_arg(network: Network) -> &'static str {
    match network {
        Network::Bitcoin => "main",
        other => other.to_core_arg(),
    }
}

/// The `-rpcauth` value: `user:salt$hex(HMAC-SHA256(key = salt, password))`, as share/rpcauth does.
fn rpcauth(user: &str, password: &str) -> String {
    let salt = hex::encode(secp256k1_random_bytes());
    let mut engine = hmac::HmacEngine::<sha256::Hash>::new(salt.as_bytes());
    engine.input(password.as_bytes());
    let mac = hmac::Hmac::<sha256::Hash>::from_engine(engine);
    format!("{user}:{salt}${}", hex::encode(mac.to_byte_array()))
}

fn secp256k1_random_bytes() -> [u8; 16] {
    bitcoin::secp256k1::rand::random()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpcauth_matches_bitcoin_cores_format() {
        let line = rpcauth("alice", "secret");
        let (user, rest) = line.split_once(':').expect("user:salt$hash");
        let (salt, mac) = rest.split_once('$').expect("salt$hash");
        assert_eq!(user, "alice");
        assert_eq!(salt.len(), 32);
        assert_eq!(mac.len(), 64);
    }

    #[test]
    fn missing_binary_says_how_to_build_it() {
        let options = BitcoindOptions::regtest("/nonexistent/bin", "/tmp/unused", 1, 2);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let err = rt
            .block_on(BitcoindProcess::start(options))
            .err()
            .expect("must fail");
        assert!(err.to_string().contains("scripts/bitcoind.sh"), "{err}");
    }
}
