//! `sharemint federation dkg` as a library call: checks the guardian's
//! directory, runs the key generation with the other guardians, turns its
//! result into the public [`FederationConfig`] (identical bytes at every
//! guardian) and this guardian's [`GuardianSecrets`], and writes both.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::tbs::{AggregatePublicKey, PublicKeyShare, SecretKeyShare};
use bitcoin::{Network, ScriptBuf};
use serde::Serialize;

use super::run::{run_dkg, DkgResult, DkgRunError, RunOptions};
use super::setup::{write_new, GuardianInit, GuardianSetup, SetupError};
use super::GuardianIndex;
use crate::config::{
    federation_descriptor, ConfigError, DenominationKeys, FederationConfig, FederationId,
    GuardianConfig, PeerId, CONFIG_VERSION,
};
use crate::denomination::{powers_of_two, Denomination, DenominationError};
use crate::secrets::GuardianSecrets;

/// The public config's file in the guardian's directory.
pub const CONFIG_FILE: &str = "federation.json";
/// The guardian's secrets' file in its directory (mode 0600).
pub const SECRETS_FILE: &str = "guardian-secrets.json";

/// The federation's parameters besides its guardians; every guardian must
/// pass the same ones (they are bound into the DKG session).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FederationParams {
    /// The bitcoin network.
    pub network: Network,
    /// The challenge of a custom signet.
    pub signet_challenge: Option<ScriptBuf>,
    /// Denominations are `2^0 .. 2^max_exponent` msat.
    pub max_exponent: u8,
    /// Confirmations before a found block's shares can be claimed.
    pub claim_confirmations: u32,
}

impl FederationParams {
    /// Mainnet waits for coinbase maturity; test networks need little.
    pub fn default_claim_confirmations(network: Network) -> u32 {
        if network == Network::Bitcoin {
            100
        } else {
            2
        }
    }
}

/// What a successful run wrote.
#[derive(Clone, Debug, Serialize)]
pub struct FederationCreated {
    /// The federation id.
    pub federation_id: FederationId,
    /// Our guardian index.
    pub guardian: u16,
    /// Guardians in the federation.
    pub guardians: usize,
    /// Signatures needed.
    pub threshold: u16,
    /// The public config file.
    pub config: PathBuf,
    /// Our secrets file.
    pub secrets: PathBuf,
    /// The federation's coinbase descriptor.
    pub descriptor: String,
}

/// Why `federation dkg` failed.
#[derive(Debug, thiserror::Error)]
pub enum FederationSetupError {
    /// The directory or a setup string is unusable.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The key generation failed.
    #[error(transparent)]
    Run(#[from] DkgRunError),
    /// The parameters are invalid.
    #[error(transparent)]
    Denomination(#[from] DenominationError),
    /// The resulting config does not validate (a bug, never a peer's fault:
    /// the peers' keys were all verified).
    #[error("the generated config is invalid: {0}")]
    Config(#[from] ConfigError),
    /// Our key shares do not match the public keys (a bug, as above).
    #[error("our secrets do not match the generated config: {0}")]
    OwnSecrets(#[from] crate::secrets::SecretsError),
    /// A config or secrets file is already there.
    #[error("{0} already exists: this guardian already belongs to a federation; use a new --dir (or delete the file if the earlier run failed)")]
    AlreadyExists(PathBuf),
    /// Writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Runs the DKG as the guardian in `dir` with the other guardians' setup
/// strings `peers`, and writes the federation config and our secrets there.
pub async fn create_federation(
    dir: &Path,
    peers: &[String],
    params: &FederationParams,
    options: &RunOptions,
) -> Result<FederationCreated, FederationSetupError> {
    let init = GuardianInit::read(dir)?;
    let (config_path, secrets_path) = (dir.join(CONFIG_FILE), dir.join(SECRETS_FILE));
    for path in [&config_path, &secrets_path] {
        if path.exists() {
            return Err(FederationSetupError::AlreadyExists(path.clone()));
        }
    }
    let peers = peers
        .iter()
        .map(|s| GuardianSetup::decode(s))
        .collect::<Result<Vec<_>, _>>()?;
    let denominations = powers_of_two(params.max_exponent)?;
    let context = serde_json::to_vec(params).expect("params serialise");
    let result = run_dkg(&init, peers, denominations.len(), &context, options).await?;
    let config = federation_config(&result, params, &denominations)?;
    config.validate()?;
    let secrets = guardian_secrets(&result, &init, &config, &denominations)?;

    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FederationSetupError::Io { path, source }
    };
    // Secrets first: a config without its secrets is useless, the reverse
    // is recoverable by rerunning nothing (the config is public).
    let secrets_json = serde_json::to_vec_pretty(&secrets).expect("secrets serialise");
    write_new(&secrets_path, &secrets_json, 0o600).map_err(io(&secrets_path))?;
    let config_json = serde_json::to_vec_pretty(&config).expect("config serialises");
    write_new(&config_path, &config_json, 0o644).map_err(io(&config_path))?;
    tracing::info!(id = %config.id(), config = %config_path.display(), secrets = %secrets_path.display(), "federation created");
    Ok(FederationCreated {
        federation_id: config.id(),
        guardian: result.us.0,
        guardians: result.roster.len(),
        threshold: config.threshold,
        config: config_path,
        secrets: secrets_path,
        descriptor: config.descriptor.clone(),
    })
}

fn peer(index: GuardianIndex) -> PeerId {
    PeerId(index.0)
}

/// The public config: the same at every guardian, because every input is
/// (the roster in canonical order, the parameters, the agreed public keys).
fn federation_config(
    result: &DkgResult,
    params: &FederationParams,
    denominations: &[Denomination],
) -> Result<FederationConfig, FederationSetupError> {
    let guardians: BTreeMap<PeerId, GuardianConfig> = result
        .roster
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let config = GuardianConfig {
                name: g.name.clone(),
                api_url: g.api_url.clone(),
                p2p_peer_id: g.peer_id.to_string(),
                multisig_key: bitcoin::PublicKey::new(g.bitcoin_key),
            };
            (PeerId(i as u16), config)
        })
        .collect();
    let threshold = result.output.threshold as u16;
    let keys = guardians.values().map(|g| g.multisig_key).collect();
    let descriptor = federation_descriptor(threshold, keys)?;
    let denomination_keys = denominations
        .iter()
        .zip(&result.output.public)
        .map(|(d, keys)| {
            let shares = keys
                .shares
                .iter()
                .enumerate()
                .map(|(i, share)| (PeerId(i as u16), PublicKeyShare(*share)))
                .collect();
            let keys = DenominationKeys {
                aggregate: AggregatePublicKey(keys.aggregate),
                shares,
            };
            (*d, keys)
        })
        .collect();
    let mut config = FederationConfig {
        version: CONFIG_VERSION,
        network: params.network,
        signet_challenge: params.signet_challenge.clone(),
        guardians,
        threshold,
        descriptor: descriptor.to_string(),
        denominations: denomination_keys,
        claim_confirmations: params.claim_confirmations,
        sharechain_id: [0; 32],
    };
    config.sharechain_id = config.sharechain_config().id().to_byte_array();
    Ok(config)
}

fn guardian_secrets(
    result: &DkgResult,
    init: &GuardianInit,
    config: &FederationConfig,
    denominations: &[Denomination],
) -> Result<GuardianSecrets, FederationSetupError> {
    let multisig_key = init
        .bitcoin_secret()
        .map_err(|reason| SetupError::Corrupt {
            path: super::setup::INIT_FILE.into(),
            reason,
        })?;
    let key_shares = denominations
        .iter()
        .zip(&result.output.secret)
        .map(|(d, secret)| (*d, SecretKeyShare(secret.0)))
        .collect();
    let secrets = GuardianSecrets {
        peer: peer(result.us),
        federation_id: config.id(),
        multisig_key,
        key_shares,
    };
    secrets.check_against(config)?;
    Ok(secrets)
}
