//! What a node keeps in its data dir to come back as itself and find its
//! peers without bootstrap: the node key and the addresses of peers it was
//! connected to.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use libp2p::identity::Keypair;
use libp2p::Multiaddr;

/// File name of the node key (protobuf-encoded ed25519 keypair).
pub const KEY_FILE: &str = "p2p_key";
/// File name of the saved peer addresses, one multiaddr with `/p2p/` per line.
pub const PEERS_FILE: &str = "p2p_peers";
/// File name of the ban list.
pub const BANS_FILE: &str = "p2p_bans";
/// Most peer addresses kept.
pub const MAX_SAVED_PEERS: usize = 256;

/// Errors reading or writing the node key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file cannot be read or written.
    #[error("cannot access the p2p key at {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: io::Error,
    },
    /// The key file holds no valid key.
    #[error("the p2p key at {0} is corrupt; move it away to get a new peer id")]
    Corrupt(String),
}

/// The node key in `dir`, created on first use.
pub fn load_or_create_key(dir: &Path) -> Result<Keypair, KeyError> {
    let path = dir.join(KEY_FILE);
    let io_err = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read(&path) {
        Ok(bytes) => Keypair::from_protobuf_encoding(&bytes)
            .map_err(|_| KeyError::Corrupt(path.display().to_string())),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            let key = Keypair::generate_ed25519();
            let bytes = key.to_protobuf_encoding().expect("ed25519 keys encode");
            std::fs::create_dir_all(dir).map_err(io_err)?;
            std::fs::write(&path, bytes).map_err(io_err)?;
            Ok(key)
        }
        Err(err) => Err(io_err(err)),
    }
}

/// The saved peer addresses (unreadable lines are skipped).
pub fn load_peers(dir: &Path) -> Vec<Multiaddr> {
    std::fs::read_to_string(dir.join(PEERS_FILE))
        .map(|text| text.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

/// Saves peer addresses, newest set replacing the old one.
pub fn save_peers(dir: &Path, peers: &BTreeSet<Multiaddr>) {
    let text: String = peers
        .iter()
        .take(MAX_SAVED_PEERS)
        .map(|a| format!("{a}\n"))
        .collect();
    if let Err(err) = std::fs::write(dir.join(PEERS_FILE), text) {
        tracing::warn!(%err, "cannot save the peer list; a restart will need bootstrap peers");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_and_peers_survive_a_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = load_or_create_key(dir.path()).expect("new key");
        let again = load_or_create_key(dir.path()).expect("saved key");
        assert_eq!(first.public(), again.public());
        let addr: Multiaddr = format!("/ip4/127.0.0.1/tcp/1/p2p/{}", first.public().to_peer_id())
            .parse()
            .expect("multiaddr");
        save_peers(dir.path(), &BTreeSet::from([addr.clone()]));
        assert_eq!(load_peers(dir.path()), vec![addr]);
    }

    #[test]
    fn a_corrupt_key_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(KEY_FILE), b"junk").expect("write");
        assert!(matches!(
            load_or_create_key(dir.path()),
            Err(KeyError::Corrupt(_))
        ));
    }
}
