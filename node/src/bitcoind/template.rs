//! `getblocktemplate`'s answer, decoded into bitcoin types once, at the edge.

use bitcoin::consensus::encode::deserialize_hex;
use bitcoin::{
    Amount, BlockHash, CompactTarget, ScriptBuf, Target, Transaction, Txid, Weight, Wtxid,
};
use serde::Deserialize;

use super::RpcError;

/// Opaque token naming the state a template was built from; passed back to long-poll for a change.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LongPollId(pub String);

/// A transaction bitcoind proposes for the next block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateTransaction {
    /// The transaction (with witness).
    pub tx: Transaction,
    /// Its txid (what the block's merkle root commits to).
    pub txid: Txid,
    /// Its wtxid (bitcoind's `hash`; what the witness commitment commits to).
    pub wtxid: Wtxid,
    /// Fee it pays.
    pub fee: Amount,
    /// Its weight.
    pub weight: Weight,
}

/// A block template: what the next block should build on and contain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockTemplate {
    /// Block version to put in the header (before any version rolling).
    pub version: i32,
    /// Compact target of the next block.
    pub bits: CompactTarget,
    /// The target a block hash must meet.
    pub target: Target,
    /// bitcoind's current time for the header.
    pub curtime: u32,
    /// The earliest header time bitcoind accepts.
    pub mintime: u32,
    /// The tip this template builds on.
    pub previous_block_hash: BlockHash,
    /// Height of the block being built.
    pub height: u32,
    /// Subsidy plus all fees: what the coinbase may pay out.
    pub coinbase_value: Amount,
    /// Transactions in block order, coinbase excluded.
    pub transactions: Vec<TemplateTransaction>,
    /// The coinbase output committing to the witnesses, when the block needs one.
    pub default_witness_commitment: Option<ScriptBuf>,
    /// Token for long-polling on this template.
    pub longpoll_id: Option<LongPollId>,
}

impl BlockTemplate {
    /// Sum of the fees of the template's transactions.
    pub fn total_fees(&self) -> Amount {
        self.transactions.iter().map(|t| t.fee).sum()
    }

    /// Txids in block order, as the coinbase merkle branch needs them.
    pub fn txids(&self) -> Vec<Txid> {
        self.transactions.iter().map(|t| t.txid).collect()
    }

    /// Decodes bitcoind's JSON answer.
    pub fn from_json(value: serde_json::Value) -> Result<Self, RpcError> {
        let raw: RawTemplate =
            serde_json::from_value(value).map_err(|e| RpcError::bad_response(METHOD, e))?;
        raw.decode()
    }
}

const METHOD: &str = "getblocktemplate";

fn bad(reason: impl std::fmt::Display) -> RpcError {
    RpcError::bad_response(METHOD, reason)
}

#[derive(Deserialize)]
struct RawTemplate {
    version: i32,
    bits: String,
    target: String,
    curtime: u32,
    mintime: u32,
    previousblockhash: String,
    height: u32,
    coinbasevalue: u64,
    transactions: Vec<RawTransaction>,
    default_witness_commitment: Option<String>,
    longpollid: Option<String>,
}

#[derive(Deserialize)]
struct RawTransaction {
    data: String,
    txid: String,
    hash: String,
    fee: u64,
    weight: u64,
}

impl RawTemplate {
    fn decode(self) -> Result<BlockTemplate, RpcError> {
        let bits = u32::from_str_radix(&self.bits, 16)
            .map_err(|e| bad(format!("bits {:?}: {e}", self.bits)))?;
        let target = Target::from_unprefixed_hex(&self.target)
            .map_err(|e| bad(format!("target {:?}: {e}", self.target)))?;
        let previous_block_hash = self.previousblockhash.parse().map_err(|e| {
            bad(format!(
                "previousblockhash {:?}: {e}",
                self.previousblockhash
            ))
        })?;
        let default_witness_commitment = self
            .default_witness_commitment
            .map(|hex| {
                ScriptBuf::from_hex(&hex)
                    .map_err(|e| bad(format!("default_witness_commitment: {e}")))
            })
            .transpose()?;
        let transactions = self
            .transactions
            .into_iter()
            .map(RawTransaction::decode)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BlockTemplate {
            version: self.version,
            bits: CompactTarget::from_consensus(bits),
            target,
            curtime: self.curtime,
            mintime: self.mintime,
            previous_block_hash,
            height: self.height,
            coinbase_value: Amount::from_sat(self.coinbasevalue),
            transactions,
            default_witness_commitment,
            longpoll_id: self.longpollid.map(LongPollId),
        })
    }
}

impl RawTransaction {
    fn decode(self) -> Result<TemplateTransaction, RpcError> {
        let tx: Transaction = deserialize_hex(&self.data)
            .map_err(|e| bad(format!("transaction {}: {e}", self.txid)))?;
        let txid: Txid = self
            .txid
            .parse()
            .map_err(|e| bad(format!("txid {:?}: {e}", self.txid)))?;
        let wtxid: Wtxid = self
            .hash
            .parse()
            .map_err(|e| bad(format!("hash {:?}: {e}", self.hash)))?;
        // The data is the source of truth; ids that disagree mean a corrupt answer.
        if tx.compute_txid() != txid || tx.compute_wtxid() != wtxid {
            return Err(bad(format!(
                "transaction {txid}: data does not hash to its txid/hash"
            )));
        }
        Ok(TemplateTransaction {
            tx,
            txid,
            wtxid,
            fee: Amount::from_sat(self.fee),
            weight: Weight::from_wu(self.weight),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regtest_answer() -> serde_json::Value {
        serde_json::json!({
            "version": 536870912,
            "bits": "207fffff",
            "target": "7fffff0000000000000000000000000000000000000000000000000000000000",
            "curtime": 1700000000u32,
            "mintime": 1699999000u32,
            "previousblockhash": "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
            "height": 1,
            "coinbasevalue": 5000000000u64,
            "transactions": [],
            "default_witness_commitment": "6a24aa21a9ede2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf9",
            "longpollid": "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e22060"
        })
    }

    #[test]
    fn decodes_a_regtest_template() {
        let t = BlockTemplate::from_json(regtest_answer()).expect("valid template");
        assert_eq!(t.bits, CompactTarget::from_consensus(0x207fffff));
        assert_eq!(Target::from_compact(t.bits), t.target);
        assert_eq!(t.coinbase_value, Amount::from_int_btc(50));
        assert_eq!(t.height, 1);
        assert!(t
            .default_witness_commitment
            .as_ref()
            .is_some_and(|s| s.is_op_return()));
    }

    #[test]
    fn rejects_a_bad_hash_with_a_clear_error() {
        let mut v = regtest_answer();
        v["previousblockhash"] = "zz".into();
        let err = BlockTemplate::from_json(v).unwrap_err();
        assert!(matches!(err, RpcError::BadResponse { .. }), "{err}");
        assert!(err.to_string().contains("previousblockhash"), "{err}");
    }

    #[test]
    fn rejects_transaction_data_that_does_not_match_its_txid() {
        let mut v = regtest_answer();
        let tx = Transaction {
            version: bitcoin::transaction::Version::TWO,
            lock_time: bitcoin::absolute::LockTime::ZERO,
            input: vec![bitcoin::TxIn::default()],
            output: vec![bitcoin::TxOut {
                value: Amount::from_sat(1),
                script_pubkey: ScriptBuf::new(),
            }],
        };
        let data = bitcoin::consensus::encode::serialize_hex(&tx);
        v["transactions"] = serde_json::json!([{
            "data": data, "txid": "11".repeat(32), "hash": tx.compute_wtxid().to_string(), "fee": 0, "weight": 400
        }]);
        let err = BlockTemplate::from_json(v).unwrap_err();
        assert!(err.to_string().contains("does not hash"), "{err}");
    }
}
