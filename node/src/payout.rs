//! The federation's payout script, given as an address or an output descriptor.

use std::str::FromStr;

use bitcoin::{Address, Network, ScriptBuf};
use miniscript::descriptor::{Descriptor, DescriptorPublicKey};

/// Where every coinbase pays: the federation's script, with the text it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayoutScript {
    text: String,
    script: ScriptBuf,
}

/// Why a payout string was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum PayoutError {
    /// Neither an address nor a descriptor.
    #[error("payout {text:?} is neither a bitcoin address nor an output descriptor: {reason}")]
    Unparsable {
        /// What was given.
        text: String,
        /// The descriptor parser's complaint.
        reason: String,
    },
    /// An address for another network.
    #[error("payout address {text} is not a {network} address")]
    WrongNetwork {
        /// What was given.
        text: String,
        /// The node's network.
        network: Network,
    },
    /// A descriptor with `*`: it names many scripts, the payout must be one.
    #[error("payout descriptor {text} is ranged (has a `*`); give one fixed script, e.g. with the index filled in")]
    Ranged {
        /// What was given.
        text: String,
    },
    /// A descriptor miniscript could parse but not turn into a script.
    #[error("payout descriptor {text} has no single script: {reason}")]
    NoScript {
        /// What was given.
        text: String,
        /// Why.
        reason: String,
    },
}

impl PayoutScript {
    /// Parses an address (checked against `network`) or a descriptor such as
    /// `wsh(sortedmulti(2,KEY1,KEY2,KEY3))`.
    pub fn parse(text: &str, network: Network) -> Result<Self, PayoutError> {
        let text = text.trim();
        if let Ok(address) = Address::from_str(text) {
            let address =
                address
                    .require_network(network)
                    .map_err(|_| PayoutError::WrongNetwork {
                        text: text.to_owned(),
                        network,
                    })?;
            return Ok(PayoutScript {
                text: text.to_owned(),
                script: address.script_pubkey(),
            });
        }
        let descriptor = Descriptor::<DescriptorPublicKey>::from_str(text).map_err(|e| {
            PayoutError::Unparsable {
                text: text.to_owned(),
                reason: e.to_string(),
            }
        })?;
        if descriptor.has_wildcard() {
            return Err(PayoutError::Ranged {
                text: text.to_owned(),
            });
        }
        let definite = descriptor
            .at_derivation_index(0)
            .map_err(|e| PayoutError::NoScript {
                text: text.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(PayoutScript {
            text: text.to_owned(),
            script: definite.script_pubkey(),
        })
    }

    /// A payout to a script given directly (tests, devnet).
    pub fn from_script(script: ScriptBuf) -> Self {
        PayoutScript {
            text: format!("raw({})", script.to_hex_string()),
            script,
        }
    }

    /// The scriptPubKey the coinbase pays.
    pub fn script_pubkey(&self) -> &ScriptBuf {
        &self.script
    }

    /// A descriptor bitcoind accepts for this script (`generatetodescriptor`, `scantxoutset`).
    pub fn bitcoind_descriptor(&self) -> String {
        format!("raw({})", self.script.to_hex_string())
    }
}

impl std::fmt::Display for PayoutScript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5";
    const K2: &str = "02f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9";
    const K3: &str = "03e60fce93b59e9ec53011aabc21c23e97b2a31369b87a5ae9c44ee89e2a6dec0a";

    #[test]
    fn a_sortedmulti_descriptor_becomes_a_p2wsh_script() {
        let payout = PayoutScript::parse(
            &format!("wsh(sortedmulti(2,{K1},{K2},{K3}))"),
            Network::Regtest,
        )
        .unwrap();
        assert!(payout.script_pubkey().is_p2wsh());
        // sortedmulti: the key order must not matter.
        let other = PayoutScript::parse(
            &format!("wsh(sortedmulti(2,{K3},{K1},{K2}))"),
            Network::Regtest,
        )
        .unwrap();
        assert_eq!(payout.script_pubkey(), other.script_pubkey());
    }

    #[test]
    fn an_address_must_match_the_network() {
        let key = bitcoin::CompressedPublicKey::from_str(K1).unwrap();
        let addr = Address::p2wpkh(&key, Network::Regtest).to_string();
        assert!(addr.starts_with("bcrt1q"));
        assert!(PayoutScript::parse(&addr, Network::Regtest)
            .unwrap()
            .script_pubkey()
            .is_p2wpkh());
        let err = PayoutScript::parse(&addr, Network::Bitcoin).unwrap_err();
        assert!(matches!(err, PayoutError::WrongNetwork { .. }), "{err}");
    }

    #[test]
    fn ranged_and_garbage_are_refused_with_reasons() {
        let xpub = "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8";
        let err = PayoutScript::parse(&format!("wpkh({xpub}/0/*)"), Network::Bitcoin).unwrap_err();
        assert!(matches!(err, PayoutError::Ranged { .. }), "{err}");
        let err = PayoutScript::parse("pay me please", Network::Bitcoin).unwrap_err();
        assert!(matches!(err, PayoutError::Unparsable { .. }), "{err}");
    }
}
