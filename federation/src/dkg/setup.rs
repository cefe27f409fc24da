//! A guardian's setup: the public setup string it hands the other guardians
//! before the key generation, and the private keys `federation init` keeps
//! on its disk.
//!
//! Setup string: `sharemint-guardian1:` followed by the unpadded base64url
//! of the JSON object `{"name", "peer_id", "p2p_addr", "api_url",
//! "bitcoin_key"}` (libp2p peer id, libp2p multiaddr without `/p2p`, HTTP
//! URL of its API, compressed secp256k1 key in hex). The `1` is the version.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use libp2p::identity;
use libp2p::multiaddr::Protocol;
pub use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};

/// Prefix of every setup string; the trailing `1` is the format version.
pub const SETUP_PREFIX: &str = "sharemint-guardian1:";
/// Longest setup string accepted: a real one is about 400 characters.
pub const MAX_SETUP_LEN: usize = 4096;
/// Longest guardian name.
pub const MAX_NAME_LEN: usize = 64;
/// File in the guardian's directory that `federation init` writes (0600).
pub const INIT_FILE: &str = "guardian-init.json";

/// What a guardian tells the others about itself (all public).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardianSetup {
    /// A name for people and logs.
    pub name: String,
    /// Its libp2p identity: the only key its connections are accepted from.
    #[serde(with = "peer_id_text")]
    pub peer_id: PeerId,
    /// Where the other guardians reach it over libp2p.
    pub p2p_addr: Multiaddr,
    /// Its HTTP JSON API for nodes and wallets.
    pub api_url: String,
    /// Its key in the federation's `wsh(sortedmulti(t, ...))` descriptor.
    pub bitcoin_key: secp256k1::PublicKey,
}

/// Why a setup string or an init directory is refused.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Not a setup string at all.
    #[error("not a guardian setup string: it must start with {SETUP_PREFIX}")]
    Prefix,
    /// Too long to be one.
    #[error("setup string of {0} characters is longer than {MAX_SETUP_LEN}")]
    TooLong(usize),
    /// Broken base64 or JSON.
    #[error("setup string is corrupted: {0}")]
    Encoding(String),
    /// Decodes, but a field is unusable.
    #[error("setup string of {name:?} is invalid: {reason}")]
    Invalid {
        /// The guardian's name as given.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// Two setup strings share a peer id, bitcoin key or name.
    #[error("guardians {first:?} and {second:?} have the same {what}")]
    Duplicate {
        /// One guardian.
        first: String,
        /// The other.
        second: String,
        /// Which field.
        what: &'static str,
    },
    /// `init` would overwrite an existing guardian's keys.
    #[error("{0} already exists: this directory already holds a guardian; choose another --dir")]
    AlreadyInitialised(PathBuf),
    /// The directory holds no `init` output.
    #[error("{0} not found: run `sharemint federation init` with this --dir first")]
    NotInitialised(PathBuf),
    /// The init file is corrupted.
    #[error("{path} is corrupted: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing the directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl GuardianSetup {
    /// The setup string.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("a setup always serialises");
        format!("{SETUP_PREFIX}{}", URL_SAFE_NO_PAD.encode(json))
    }

    /// Parses and checks a setup string.
    pub fn decode(text: &str) -> Result<Self, SetupError> {
        let text = text.trim();
        if text.len() > MAX_SETUP_LEN {
            return Err(SetupError::TooLong(text.len()));
        }
        let body = text.strip_prefix(SETUP_PREFIX).ok_or(SetupError::Prefix)?;
        let json = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|e| SetupError::Encoding(e.to_string()))?;
        let setup: GuardianSetup =
            serde_json::from_slice(&json).map_err(|e| SetupError::Encoding(e.to_string()))?;
        setup.check()?;
        Ok(setup)
    }

    /// Semantic checks: a usable name, a dialable address, an HTTP URL.
    pub fn check(&self) -> Result<(), SetupError> {
        let invalid = |reason: String| SetupError::Invalid {
            name: self.name.clone(),
            reason,
        };
        if self.name.is_empty()
            || self.name.len() > MAX_NAME_LEN
            || self.name.chars().any(char::is_control)
        {
            return Err(invalid(format!(
                "name must be 1 to {MAX_NAME_LEN} printable characters"
            )));
        }
        if !(self.api_url.starts_with("http://") || self.api_url.starts_with("https://")) {
            return Err(invalid(format!(
                "api url {:?} is not http(s)",
                self.api_url
            )));
        }
        check_dialable(&self.p2p_addr).map_err(invalid)
    }

    /// The address to dial, with the `/p2p/<peer id>` that makes the noise
    /// handshake fail unless the remote holds this guardian's key.
    pub fn dial_addr(&self) -> Multiaddr {
        self.p2p_addr.clone().with(Protocol::P2p(self.peer_id))
    }
}

/// A p2p address others can dial: a concrete TCP port, no `/p2p` part.
pub fn check_dialable(addr: &Multiaddr) -> Result<(), String> {
    let mut has_port = false;
    for protocol in addr.iter() {
        match protocol {
            Protocol::Tcp(0) => {
                return Err(format!("p2p address {addr} has port 0: give a fixed port"))
            }
            Protocol::Tcp(_) => has_port = true,
            Protocol::P2p(_) => return Err(format!("p2p address {addr} must not contain /p2p")),
            _ => {}
        }
    }
    if has_port {
        Ok(())
    } else {
        Err(format!("p2p address {addr} has no /tcp/PORT"))
    }
}

/// Orders guardians canonically (by peer id) and refuses duplicates: every
/// guardian then agrees on each one's index whatever the order of `--peer`.
pub fn roster(mut guardians: Vec<GuardianSetup>) -> Result<Vec<GuardianSetup>, SetupError> {
    guardians.sort_by_key(|g| g.peer_id.to_bytes());
    for (i, a) in guardians.iter().enumerate() {
        for b in &guardians[i + 1..] {
            let duplicate = |what| SetupError::Duplicate {
                first: a.name.clone(),
                second: b.name.clone(),
                what,
            };
            if a.peer_id == b.peer_id {
                return Err(duplicate("libp2p peer id"));
            }
            if a.bitcoin_key == b.bitcoin_key {
                return Err(duplicate("bitcoin key"));
            }
            if a.name == b.name {
                return Err(duplicate("name"));
            }
        }
    }
    Ok(guardians)
}

/// What `federation init` keeps private: the guardian's libp2p key and its
/// bitcoin key, with the public setup they belong to.
#[derive(Clone, Serialize, Deserialize)]
pub struct GuardianInit {
    /// The public part.
    pub setup: GuardianSetup,
    /// The libp2p ed25519 keypair, protobuf-encoded, hex.
    pub libp2p_key: String,
    /// The secp256k1 secret key of `setup.bitcoin_key`, hex.
    pub bitcoin_secret: String,
}

impl GuardianInit {
    /// Fresh keys for a guardian.
    pub fn generate(
        name: String,
        api_url: String,
        p2p_addr: Multiaddr,
    ) -> Result<Self, SetupError> {
        let keypair = identity::Keypair::generate_ed25519();
        let secp = secp256k1::Secp256k1::new();
        let (secret, public) = secp.generate_keypair(&mut rand::thread_rng());
        let setup = GuardianSetup {
            name,
            peer_id: keypair.public().to_peer_id(),
            p2p_addr,
            api_url,
            bitcoin_key: public,
        };
        setup.check()?;
        Ok(GuardianInit {
            setup,
            libp2p_key: hex::encode(keypair.to_protobuf_encoding().expect("ed25519 keys encode")),
            bitcoin_secret: hex::encode(secret.secret_bytes()),
        })
    }

    /// The libp2p keypair.
    pub fn keypair(&self) -> Result<identity::Keypair, String> {
        let bytes = hex::decode(&self.libp2p_key).map_err(|e| e.to_string())?;
        let keypair =
            identity::Keypair::from_protobuf_encoding(&bytes).map_err(|e| e.to_string())?;
        if keypair.public().to_peer_id() != self.setup.peer_id {
            return Err("libp2p key does not match the peer id".into());
        }
        Ok(keypair)
    }

    /// The bitcoin secret key.
    pub fn bitcoin_secret(&self) -> Result<secp256k1::SecretKey, String> {
        let bytes = hex::decode(&self.bitcoin_secret).map_err(|e| e.to_string())?;
        let secret = secp256k1::SecretKey::from_slice(&bytes).map_err(|e| e.to_string())?;
        let secp = secp256k1::Secp256k1::new();
        if secret.public_key(&secp) != self.setup.bitcoin_key {
            return Err("bitcoin secret does not match the bitcoin key".into());
        }
        Ok(secret)
    }

    /// Creates `dir` (0700) and writes the init file (0600); refuses to
    /// overwrite an existing guardian.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, SetupError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SetupError::Io { path, source }
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir))?;
        let path = dir.join(INIT_FILE);
        if path.exists() {
            return Err(SetupError::AlreadyInitialised(path));
        }
        let json = serde_json::to_vec_pretty(self).expect("init always serialises");
        write_new(&path, &json, 0o600).map_err(io(&path))?;
        Ok(path)
    }

    /// Reads and checks the init file in `dir`.
    pub fn read(dir: &Path) -> Result<Self, SetupError> {
        let path = dir.join(INIT_FILE);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SetupError::NotInitialised(path))
            }
            Err(source) => return Err(SetupError::Io { path, source }),
        };
        let corrupt = |reason: String| SetupError::Corrupt {
            path: path.clone(),
            reason,
        };
        let init: GuardianInit =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        init.keypair().map_err(corrupt)?;
        init.bitcoin_secret().map_err(corrupt)?;
        Ok(init)
    }
}

/// A peer id as its base58 text.
mod peer_id_text {
    use libp2p::PeerId;
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(peer: &PeerId, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(peer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PeerId, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// Writes a new file with permissions `mode` (0600 for secrets), synced to
/// disk; fails if the file exists.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init(name: &str, port: u16) -> GuardianInit {
        GuardianInit::generate(
            name.into(),
            format!("http://127.0.0.1:{}", port + 1),
            format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn a_setup_string_round_trips_and_garbage_is_refused() {
        let setup = init("alice", 4000).setup;
        let text = setup.encode();
        assert!(text.starts_with(SETUP_PREFIX));
        assert_eq!(GuardianSetup::decode(&text).unwrap(), setup);
        assert!(matches!(
            GuardianSetup::decode("hello"),
            Err(SetupError::Prefix)
        ));
        assert!(matches!(
            GuardianSetup::decode(&format!("{SETUP_PREFIX}!!!")),
            Err(SetupError::Encoding(_))
        ));
        let long = format!("{SETUP_PREFIX}{}", "A".repeat(MAX_SETUP_LEN));
        assert!(matches!(
            GuardianSetup::decode(&long),
            Err(SetupError::TooLong(_))
        ));
    }

    #[test]
    fn an_undialable_address_or_bad_url_is_refused() {
        let mut setup = init("bob", 4010).setup;
        setup.p2p_addr = "/ip4/127.0.0.1/tcp/0".parse().unwrap();
        assert!(matches!(
            GuardianSetup::decode(&setup.encode()),
            Err(SetupError::Invalid { .. })
        ));
        let mut setup = init("bob", 4010).setup;
        setup.api_url = "ftp://x".into();
        assert!(matches!(
            GuardianSetup::decode(&setup.encode()),
            Err(SetupError::Invalid { .. })
        ));
    }

    #[test]
    fn roster_order_ignores_input_order_and_refuses_duplicates() {
        let guardians: Vec<GuardianSetup> = (0..4)
            .map(|i| init(&format!("g{i}"), 4100 + i * 2).setup)
            .collect();
        let mut reversed = guardians.clone();
        reversed.reverse();
        assert_eq!(
            roster(guardians.clone()).unwrap(),
            roster(reversed).unwrap()
        );
        let mut doubled = guardians.clone();
        doubled.push(guardians[2].clone());
        assert!(matches!(roster(doubled), Err(SetupError::Duplicate { .. })));
        let mut same_name = guardians;
        same_name[1].name = "g0".into();
        assert!(matches!(
            roster(same_name),
            Err(SetupError::Duplicate { what: "name", .. })
        ));
    }

    #[test]
    fn init_is_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let guardian_dir = dir.path().join("g");
        let written = init("carol", 4200);
        let path = written.write(&guardian_dir).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&guardian_dir), 0o700);
        assert_eq!(
            GuardianInit::read(&guardian_dir).unwrap().setup,
            written.setup
        );
        assert!(matches!(
            init("carol", 4200).write(&guardian_dir),
            Err(SetupError::AlreadyInitialised(_))
        ));
    }
}
