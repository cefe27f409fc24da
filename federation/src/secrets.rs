//! A guardian's private config: its key share per denomination and its
//! multisig key. Written readable by the owner only (mode 0600).

use crate::tbs;
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::tbs::SecretKeyShare;
use serde::{Deserialize, Serialize};

use crate::config::{FederationConfig, FederationId, PeerId};
use crate::denomination::Denomination;

/// What only one guardian knows.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardianSecrets {
    /// Which guardian.
    pub peer: PeerId,
    /// The federation these secrets belong to.
    pub federation_id: FederationId,
    /// Its secret key for the federation descriptor.
    pub multisig_key: secp256k1::SecretKey,
    /// Its share of each denomination's signing key.
    pub key_shares: BTreeMap<Denomination, SecretKeyShare>,
}

impl std::fmt::Debug for GuardianSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "GuardianSecrets({}, federation {})",
            self.peer, self.federation_id
        )
    }
}

/// Why secrets cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// Reading or writing the file failed.
    #[error("guardian secrets file: {0}")]
    Io(#[from] std::io::Error),
    /// Malformed.
    #[error("guardian secrets file is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Others can read it.
    #[error("guardian secrets file {0} is readable by others; run chmod 600 on it")]
    Permissions(String),
    /// Secrets of another federation or guardian, or keys that do not match.
    #[error("guardian secrets do not match the federation config: {0}")]
    Mismatch(String),
}

impl GuardianSecrets {
    /// Writes the secrets with mode 0600, failing if the file exists.
    pub fn write_new(&self, path: &Path) -> Result<(), SecretsError> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(&serde_json::to_vec_pretty(self)?)?;
        file.sync_all()?;
        Ok(())
    }

    /// Reads secrets, refusing a file others may read.
    pub fn read(path: &Path) -> Result<Self, SecretsError> {
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(SecretsError::Permissions(path.display().to_string()));
        }
        Ok(serde_json::from_slice(&std::fs::read(path)?)?)
    }

    /// Checks that these are a guardian's secrets for `config`: same
    /// federation, and every key share matches the public share.
    pub fn check_against(&self, config: &FederationConfig) -> Result<(), SecretsError> {
        if self.federation_id != config.id() {
            return Err(SecretsError::Mismatch(format!(
                "secrets are for federation {}, config is {}",
                self.federation_id,
                config.id()
            )));
        }
        let guardian = config
            .guardians
            .get(&self.peer)
            .ok_or_else(|| SecretsError::Mismatch(format!("no {} in config", self.peer)))?;
        let multisig = bitcoin::PublicKey::new(self.multisig_key.public_key(secp256k1::SECP256K1));
        if multisig != guardian.multisig_key {
            return Err(SecretsError::Mismatch("multisig key".into()));
        }
        for (denomination, keys) in &config.denominations {
            let share = self.key_shares.get(denomination).map(tbs::derive_pk_share);
            if share.as_ref() != keys.shares.get(&self.peer) {
                return Err(SecretsError::Mismatch(format!(
                    "key share of {denomination}"
                )));
            }
        }
        Ok(())
    }
}
