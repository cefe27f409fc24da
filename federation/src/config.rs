//! The federation's public config: what nodes, wallets and guardians load.
//!
//! It names the guardians (API endpoints, libp2p identities, multisig keys),
//! the threshold, the coinbase descriptor, each denomination's public keys,
//! the network and the sharechain. Its id is the tagged hash of its JSON
//! encoding (fields in declared order, maps sorted), so everyone holding the
//! same config computes the same id. A DKG produces one; tests use a dealer.

use crate::tbs;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::tbs::{AggregatePublicKey, PublicKeyShare};
use bitcoin::{Network, ScriptBuf};
use miniscript::descriptor::{Descriptor, Wsh};
use serde::{Deserialize, Serialize};
use sharechain::{ConsensusParams, SharechainConfig, SharechainId};

use crate::crypto::tagged_hash;
use crate::denomination::Denomination;

/// The config format this code writes and reads.
pub const CONFIG_VERSION: u32 = 1;

/// A guardian's index, `0..n`; the tbs share of guardian `i` sits at x = i + 1.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Debug)]
#[serde(transparent)]
pub struct PeerId(pub u16);

impl PeerId {
    /// The index `aggregate_signature_shares` expects.
    pub fn tbs_index(self) -> u64 {
        u64::from(self.0)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "guardian {}", self.0)
    }
}

/// The federation id: `tagged_hash("sharemint/federation-id", config JSON)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FederationId(#[serde(with = "crate::hex32")] pub [u8; 32]);

impl fmt::Display for FederationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for FederationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FederationId({self})")
    }
}

/// One guardian's public data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardianConfig {
    /// A name for people.
    pub name: String,
    /// Base URL of its HTTP JSON API, e.g. `http://127.0.0.1:7001`.
    pub api_url: String,
    /// Its libp2p peer id (base58), for guardian-to-guardian links.
    pub p2p_peer_id: String,
    /// Its key in the federation's multisig descriptor.
    pub multisig_key: bitcoin::PublicKey,
}

/// One denomination's keys: the aggregate and every guardian's share.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenominationKeys {
    /// Verifies finished notes.
    pub aggregate: AggregatePublicKey,
    /// Verifies each guardian's signature shares.
    pub shares: BTreeMap<PeerId, PublicKeyShare>,
}

/// The public federation config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationConfig {
    /// [`CONFIG_VERSION`].
    pub version: u32,
    /// The bitcoin network.
    pub network: Network,
    /// The challenge of a custom signet, if the network is one.
    pub signet_challenge: Option<ScriptBuf>,
    /// The guardians by index.
    pub guardians: BTreeMap<PeerId, GuardianConfig>,
    /// Signatures needed: `n - floor((n - 1) / 3)`.
    pub threshold: u16,
    /// `wsh(sortedmulti(threshold, keys...))`: where every coinbase pays.
    pub descriptor: String,
    /// The keys of each denomination the federation issues.
    pub denominations: BTreeMap<Denomination, DenominationKeys>,
    /// Confirmations a found block needs before its shares can be claimed.
    pub claim_confirmations: u32,
    /// The sharechain whose coinbases pay this federation (hex).
    #[serde(with = "crate::hex32")]
    pub sharechain_id: [u8; 32],
}

/// Why a config is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A version this code does not know.
    #[error("config version {0} is not supported (this build reads version {CONFIG_VERSION})")]
    Version(u32),
    /// The threshold does not follow the rule.
    #[error("threshold {threshold} is wrong for {guardians} guardians: it must be {expected}")]
    Threshold {
        /// Configured.
        threshold: u16,
        /// Guardians.
        guardians: usize,
        /// `n - floor((n-1)/3)`.
        expected: u16,
    },
    /// Guardian indices must be `0..n`.
    #[error("guardian indices must be 0..n without gaps")]
    PeerIndices,
    /// A denomination lacks a guardian's key share, or the shares do not
    /// combine to the aggregate key.
    #[error("the keys of denomination {0} do not match the guardians")]
    DenominationKeys(Denomination),
    /// No denominations at all.
    #[error("the federation issues no denominations")]
    NoDenominations,
    /// The descriptor is not the one the guardians' keys give.
    #[error("the descriptor is not wsh(sortedmulti) over the guardians' keys: {0}")]
    Descriptor(String),
    /// The sharechain id does not match the network and descriptor.
    #[error("the sharechain id does not match this network and descriptor")]
    SharechainId,
    /// Reading or parsing failed.
    #[error("cannot read federation config: {0}")]
    Io(#[from] std::io::Error),
    /// The JSON is malformed.
    #[error("federation config is not valid JSON for this version: {0}")]
    Json(#[from] serde_json::Error),
}

/// `n - floor((n - 1) / 3)`: any two sets of that many guardians share at
/// least `floor((n-1)/3) + 1`, so at least one honest guardian.
pub fn threshold_for(guardians: usize) -> u16 {
    let n = guardians as u16;
    n - n.saturating_sub(1) / 3
}

/// The federation descriptor over these keys.
pub fn federation_descriptor(
    threshold: u16,
    keys: Vec<bitcoin::PublicKey>,
) -> Result<Descriptor<bitcoin::PublicKey>, ConfigError> {
    let wsh = Wsh::new_sortedmulti(usize::from(threshold), keys)
        .map_err(|e| ConfigError::Descriptor(e.to_string()))?;
    Ok(Descriptor::Wsh(wsh))
}

impl FederationConfig {
    /// Every guardian's API URL, in guardian order: what a note string and
    /// a wallet's info list.
    pub fn api_urls(&self) -> Vec<String> {
        self.guardians.values().map(|g| g.api_url.clone()).collect()
    }

    /// The id: tagged hash of the canonical JSON.
    pub fn id(&self) -> FederationId {
        let json = serde_json::to_vec(self).expect("a config always serializes");
        FederationId(tagged_hash("sharemint/federation-id", &[&json]))
    }

    /// Parsed descriptor.
    pub fn descriptor(&self) -> Result<Descriptor<bitcoin::PublicKey>, ConfigError> {
        Descriptor::from_str(&self.descriptor).map_err(|e| ConfigError::Descriptor(e.to_string()))
    }

    /// The script every coinbase of the sharechain pays.
    pub fn payout_script(&self) -> ScriptBuf {
        self.descriptor()
            .expect("a validated config has a valid descriptor")
            .script_pubkey()
    }

    /// The sharechain's consensus parameters.
    pub fn sharechain_params(&self) -> ConsensusParams {
        ConsensusParams::for_network(self.network, self.signet_challenge.clone())
    }

    /// The sharechain config (rules plus payout script) of this federation.
    pub fn sharechain_config(&self) -> SharechainConfig {
        SharechainConfig::new(self.sharechain_params(), self.payout_script())
    }

    /// The sharechain id as sharechain types it.
    pub fn sharechain_id(&self) -> SharechainId {
        SharechainId::from_byte_array(self.sharechain_id)
    }

    /// Denominations issued, smallest first.
    pub fn denomination_list(&self) -> Vec<Denomination> {
        self.denominations.keys().copied().collect()
    }

    /// The keys of one denomination.
    pub fn keys(&self, denomination: Denomination) -> Option<&DenominationKeys> {
        self.denominations.get(&denomination)
    }

    /// Number of guardians.
    pub fn guardian_count(&self) -> usize {
        self.guardians.len()
    }

    /// Checks every rule a config must follow; run on every load.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.version != CONFIG_VERSION {
            return Err(ConfigError::Version(self.version));
        }
        let n = self.guardians.len();
        if self
            .guardians
            .keys()
            .enumerate()
            .any(|(i, p)| usize::from(p.0) != i)
            || n == 0
        {
            return Err(ConfigError::PeerIndices);
        }
        let expected = threshold_for(n);
        if self.threshold != expected {
            return Err(ConfigError::Threshold {
                threshold: self.threshold,
                guardians: n,
                expected,
            });
        }
        if self.denominations.is_empty() {
            return Err(ConfigError::NoDenominations);
        }
        for (denomination, keys) in &self.denominations {
            self.check_denomination_keys(*denomination, keys)?;
        }
        let keys = self.guardians.values().map(|g| g.multisig_key).collect();
        let expected = federation_descriptor(self.threshold, keys)?;
        if self.descriptor()? != expected {
            return Err(ConfigError::Descriptor(format!("expected {expected}")));
        }
        if self.sharechain_config().id().to_byte_array() != self.sharechain_id {
            return Err(ConfigError::SharechainId);
        }
        Ok(())
    }

    /// Every guardian has a share and the first t shares give the aggregate.
    fn check_denomination_keys(
        &self,
        denomination: Denomination,
        keys: &DenominationKeys,
    ) -> Result<(), ConfigError> {
        if keys.shares.keys().ne(self.guardians.keys()) {
            return Err(ConfigError::DenominationKeys(denomination));
        }
        let first_t: BTreeMap<u64, PublicKeyShare> = keys
            .shares
            .iter()
            .take(usize::from(self.threshold))
            .map(|(peer, share)| (peer.tbs_index(), *share))
            .collect();
        if tbs::aggregate_public_key_shares(&first_t) != keys.aggregate {
            return Err(ConfigError::DenominationKeys(denomination));
        }
        Ok(())
    }

    /// Reads and validates a config file.
    pub fn read(path: &std::path::Path) -> Result<Self, ConfigError> {
        let config: FederationConfig = serde_json::from_slice(&std::fs::read(path)?)?;
        config.validate()?;
        Ok(config)
    }

    /// Writes the config as pretty JSON (the id does not depend on layout).
    pub fn write(&self, path: &std::path::Path) -> Result<(), ConfigError> {
        std::fs::write(path, serde_json::to_vec_pretty(self)?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_follow_n_minus_f() {
        assert_eq!(threshold_for(1), 1);
        assert_eq!(threshold_for(4), 3);
        assert_eq!(threshold_for(7), 5);
        assert_eq!(threshold_for(10), 7);
    }

    #[test]
    fn dealer_config_validates_and_id_is_stable_across_layout() {
        let (config, _) = crate::dealer::deal(4, Network::Regtest, 10, |i| {
            format!("http://127.0.0.1:{}", 9000 + i)
        });
        config.validate().unwrap();
        let pretty = serde_json::to_string_pretty(&config).unwrap();
        let back: FederationConfig = serde_json::from_str(&pretty).unwrap();
        assert_eq!(back.id(), config.id());
        let mut wrong = config.clone();
        wrong.threshold = 2;
        assert!(matches!(
            wrong.validate(),
            Err(ConfigError::Threshold { .. })
        ));
        let mut swapped = config.clone();
        let keys = swapped.denominations.values_mut().next().unwrap();
        keys.aggregate = config.denominations.values().nth(1).unwrap().aggregate;
        assert!(matches!(
            swapped.validate(),
            Err(ConfigError::DenominationKeys(_))
        ));
    }
}
