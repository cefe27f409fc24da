//! A federation of real `sharemint guardian` processes on loopback, from a
//! dealer config (tests only), with helpers to mint starting notes and to
//! kill and restart guardians.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bitcoin::Network;
use federation::client::{NoteString, Wallet, WalletSeed};
use federation::{FederationConfig, GuardianSecrets, Msat, PeerId, SpendableNote};
use tempfile::TempDir;

/// One guardian process and its files.
struct GuardianProcess {
    child: Option<Child>,
    secrets: PathBuf,
    data_dir: PathBuf,
    malice: Option<&'static str>,
}

/// n guardians, killed on drop.
pub struct TestFederation {
    pub dir: TempDir,
    pub config: FederationConfig,
    pub secrets: Vec<GuardianSecrets>,
    pub config_path: PathBuf,
    guardians: Vec<GuardianProcess>,
}

impl TestFederation {
    /// Starts `n` guardians; `malice` names guardians running a test mode.
    pub async fn start(n: usize, malice: &[(usize, &'static str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ports = tests::ports::free_ports(n);
        let (config, secrets) = federation::dealer::deal(n, Network::Regtest, 40, |i| {
            format!("http://127.0.0.1:{}", ports[i])
        });
        let config_path = dir.path().join("federation.json");
        config.write(&config_path).unwrap();
        let guardians = secrets
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let path = dir.path().join(format!("guardian-{i}.secrets.json"));
                s.write_new(&path).unwrap();
                GuardianProcess {
                    child: None,
                    secrets: path,
                    data_dir: dir.path().join(format!("guardian-{i}")),
                    malice: malice.iter().find(|(j, _)| *j == i).map(|(_, m)| *m),
                }
            })
            .collect();
        let mut federation = TestFederation {
            dir,
            config,
            secrets,
            config_path,
            guardians,
        };
        for i in 0..n {
            federation.spawn(i);
        }
        for i in 0..n {
            federation.wait_ready(i).await;
        }
        federation
    }

    fn spawn(&mut self, i: usize) {
        let process = &self.guardians[i];
        let mut command = Command::new(env!("CARGO_BIN_EXE_sharemint"));
        command
            .arg("guardian")
            .arg("--config")
            .arg(&self.config_path)
            .arg("--secrets")
            .arg(&process.secrets)
            .arg("--data-dir")
            .arg(&process.data_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(malice) = process.malice {
            command.arg("--test-malice").arg(malice);
        }
        self.guardians[i].child = Some(command.spawn().expect("sharemint guardian starts"));
    }

    /// Waits until guardian `i` answers /v1/health.
    pub async fn wait_ready(&self, i: usize) {
        let url = format!("{}/v1/health", self.url(i));
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(response) = reqwest::get(&url).await {
                if response.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("guardian {i} did not become ready");
    }

    /// Guardian `i`'s API URL.
    pub fn url(&self, i: usize) -> String {
        self.config.guardians[&PeerId(i as u16)].api_url.clone()
    }

    /// SIGKILL guardian `i` and wait for it to die.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.guardians[i].child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Restarts guardian `i` on the same database.
    pub async fn restart(&mut self, i: usize) {
        self.kill(i);
        self.spawn(i);
        self.wait_ready(i).await;
    }

    /// Test money: notes signed by the dealer's shares.
    pub fn mint(&self, msat: u64) -> Vec<SpendableNote> {
        federation::dealer::mint(&self.config, &self.secrets, Msat::from_msat(msat))
    }

    /// A note string carrying `notes`.
    pub fn note_string(&self, notes: Vec<SpendableNote>) -> String {
        NoteString {
            version: 1,
            federation_id: self.config.id(),
            guardians: (0..self.guardians.len()).map(|i| self.url(i)).collect(),
            notes,
        }
        .encode()
    }

    /// A new wallet for this federation in `dir`.
    pub fn wallet(&self, dir: &Path) -> Wallet {
        Wallet::create(dir, self.config.clone(), WalletSeed::generate()).unwrap()
    }
}

impl Drop for TestFederation {
    fn drop(&mut self) {
        for i in 0..self.guardians.len() {
            self.kill(i);
        }
    }
}
