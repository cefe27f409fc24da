//! Full blocks built from a template the way the node builds them (coinbase by
//! `sharechain::coinbase`, merkle root by `sharechain::merkle`), ground on the CPU.

use bitcoin::block::{Header, Version};
use bitcoin::{Amount, Block, ScriptBuf, Target};
use node::bitcoind::BlockTemplate;
use sharechain::coinbase::CoinbaseSpec;
use sharechain::{merkle, ShareCommitment};

/// Extranonce bytes in the coinbase (Stratum's extranonce1 + extranonce2).
pub const EXTRANONCE_LEN: usize = 8;

/// The coinbase the node would build for `template`, paying `payout`.
pub fn coinbase_spec(
    template: &BlockTemplate,
    payout: ScriptBuf,
    commitment: ShareCommitment,
) -> CoinbaseSpec {
    CoinbaseSpec {
        height: template.height,
        value: template.coinbase_value,
        payout_script: payout,
        share_commitment: commitment,
        witness_commitment: template.default_witness_commitment.clone(),
        extranonce_len: EXTRANONCE_LEN,
    }
}

/// An unsolved block: coinbase for `extranonce`, the template's transactions, nonce 0.
pub fn build_block(template: &BlockTemplate, spec: &CoinbaseSpec, extranonce: &[u8]) -> Block {
    let coinbase = spec.build(extranonce).expect("a valid coinbase spec");
    let branch = merkle::coinbase_branch(&template.txids());
    let merkle_root = merkle::root_from_coinbase(coinbase.compute_txid(), &branch);
    let header = Header {
        version: Version::from_consensus(template.version),
        prev_blockhash: template.previous_block_hash,
        merkle_root,
        time: template.curtime.max(template.mintime),
        bits: template.bits,
        nonce: 0,
    };
    let mut txdata = vec![coinbase];
    txdata.extend(template.transactions.iter().map(|t| t.tx.clone()));
    Block { header, txdata }
}

/// Searches nonces (and then times) until the header meets `target`. Returns the hashes tried.
pub fn grind(header: &mut Header, target: Target) -> u64 {
    let mut tries = 0u64;
    loop {
        tries += 1;
        if target.is_met_by(header.block_hash()) {
            return tries;
        }
        if header.nonce == u32::MAX {
            header.nonce = 0;
            header.time += 1;
        } else {
            header.nonce += 1;
        }
    }
}

/// The coinbase outputs that carry value (commitments carry none): a block
/// of ours must have exactly one, paying the federation.
pub fn valued_outputs(block: &Block) -> Vec<&bitcoin::TxOut> {
    block.txdata[0]
        .output
        .iter()
        .filter(|o| o.value > Amount::ZERO)
        .collect()
}

/// The block paid `payout` the whole template value in its first output.
pub fn pays_whole_value(block: &Block, payout: &ScriptBuf, value: Amount) -> bool {
    let coinbase = &block.txdata[0];
    coinbase.output[0].script_pubkey == *payout
        && coinbase.output[0].value == value
        && coinbase.output[1..].iter().all(|o| o.value == Amount::ZERO)
}
