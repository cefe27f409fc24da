//! Blocks built by our code from bitcoind's template are valid: bitcoind accepts them
//! and they carry our coinbase and the mempool's segwit transactions.

use bitcoin::{Amount, Network};
use node::bitcoind::{BlockTemplate, SubmitOutcome};
use sharechain::coinbase::{parse_share_commitment, share_commitment_script};
use sharechain::ShareCommitment;
use tests::blocks::{build_block, coinbase_spec, grind, pays_whole_value, EXTRANONCE_LEN};
use tests::{TestBitcoind, TestKey};

/// Builds, grinds and submits a block for `template`; returns it once bitcoind accepted it.
async fn mine_template(
    bitcoind: &TestBitcoind,
    template: &BlockTemplate,
    payout: &TestKey,
) -> bitcoin::Block {
    let commitment = ShareCommitment::from_byte_array([0x5a; 32]);
    let spec = coinbase_spec(template, payout.script_pubkey(), commitment);
    let mut block = build_block(template, &spec, &[0x01; EXTRANONCE_LEN]);
    // Independent checks by rust-bitcoin of what sharechain built.
    assert!(
        block.check_merkle_root(),
        "merkle root from sharechain::merkle matches the transactions"
    );
    if template.default_witness_commitment.is_some() {
        assert!(
            block.check_witness_commitment(),
            "witness commitment matches the witnesses"
        );
    }
    grind(&mut block.header, template.target);
    let outcome = bitcoind.client().submit_block(&block).await.unwrap();
    assert_eq!(outcome, SubmitOutcome::Accepted);
    assert_eq!(
        bitcoind.client().get_best_block_hash().await.unwrap(),
        block.block_hash()
    );
    block
}

/// What a user would check with `getblock`: our outputs are in the chain.
async fn assert_chain_has_our_coinbase(
    bitcoind: &TestBitcoind,
    mined: &bitcoin::Block,
    payout: &TestKey,
    value: Amount,
) {
    let stored = bitcoind.block(&mined.block_hash()).await;
    let coinbase = &stored.txdata[0];
    assert!(
        pays_whole_value(&stored, &payout.script_pubkey(), value),
        "coinbase outputs: {:?}",
        coinbase.output
    );
    let commitment = ShareCommitment::from_byte_array([0x5a; 32]);
    assert!(
        coinbase
            .output
            .iter()
            .any(|o| o.script_pubkey == share_commitment_script(&commitment)
                && parse_share_commitment(o.script_pubkey.as_bytes()) == Some(commitment)),
        "the share commitment output is in the coinbase"
    );
}

#[tokio::test]
async fn an_empty_template_becomes_an_accepted_block_paying_our_script() {
    let bitcoind = TestBitcoind::regtest().await;
    let payout = TestKey::new();
    let template = bitcoind.client().get_block_template().await.unwrap();
    assert!(template.transactions.is_empty());
    let block = mine_template(&bitcoind, &template, &payout).await;
    assert_eq!(bitcoind.height().await, template.height as u64);
    assert_chain_has_our_coinbase(&bitcoind, &block, &payout, template.coinbase_value).await;
}

#[tokio::test]
async fn a_template_with_segwit_spends_becomes_an_accepted_block_with_them() {
    let bitcoind = TestBitcoind::regtest().await;
    let owner = TestKey::new();
    let coins = bitcoind.mature_coins(&owner, 3).await;
    let recipient = TestKey::new();
    let fee = Amount::from_sat(1_000);
    let mut sent = Vec::new();
    for coin in coins {
        let tx = owner.spend_one(coin, recipient.script_pubkey(), fee);
        sent.push(bitcoind.send(&tx).await);
    }
    // A child spending an unconfirmed parent: the template must order them.
    let parent = bitcoind
        .client()
        .call::<String>("getrawtransaction", &[sent[0].to_string().into()])
        .await
        .unwrap();
    let parent: bitcoin::Transaction =
        bitcoin::consensus::encode::deserialize_hex(&parent).unwrap();
    let child = recipient.spend_one(
        (bitcoin::OutPoint::new(sent[0], 0), parent.output[0].clone()),
        owner.script_pubkey(),
        fee,
    );
    sent.push(bitcoind.send(&child).await);

    let template = bitcoind.client().get_block_template().await.unwrap();
    let in_template: Vec<_> = template.txids();
    for txid in &sent {
        assert!(in_template.contains(txid), "{txid} is in the template");
    }
    assert_eq!(template.total_fees(), fee * 4);
    assert!(
        template.default_witness_commitment.is_some(),
        "segwit spends need a witness commitment"
    );
    assert!(template
        .transactions
        .iter()
        .all(|t| t.tx.input.iter().all(|i| !i.witness.is_empty())));

    let payout = TestKey::new();
    let block = mine_template(&bitcoind, &template, &payout).await;
    let stored = bitcoind.block(&block.block_hash()).await;
    let in_block: Vec<_> = stored.txdata.iter().map(|tx| tx.compute_txid()).collect();
    for txid in &sent {
        assert!(in_block.contains(txid), "{txid} is in the mined block");
    }
    assert_chain_has_our_coinbase(&bitcoind, &block, &payout, template.coinbase_value).await;
    let mempool: Vec<String> = bitcoind.client().call("getrawmempool", &[]).await.unwrap();
    assert!(
        mempool.is_empty(),
        "the block confirmed everything: {mempool:?}"
    );
}

/// Signet blocks always need a witness commitment; the trivial challenge needs no signature.
#[tokio::test]
async fn a_signet_template_becomes_an_accepted_block() {
    let bitcoind = TestBitcoind::signet().await;
    assert_eq!(bitcoind.network(), Network::Signet);
    let payout = TestKey::new();
    let template = bitcoind.client().get_block_template().await.unwrap();
    assert!(
        template.default_witness_commitment.is_some(),
        "signet templates carry a witness commitment"
    );
    let block = mine_template(&bitcoind, &template, &payout).await;
    assert_chain_has_our_coinbase(&bitcoind, &block, &payout, template.coinbase_value).await;
}

#[tokio::test]
async fn a_block_that_misses_the_target_is_rejected_with_bitcoinds_reason() {
    let bitcoind = TestBitcoind::regtest().await;
    let template = bitcoind.client().get_block_template().await.unwrap();
    let spec = coinbase_spec(
        &template,
        TestKey::new().script_pubkey(),
        ShareCommitment::from_byte_array([1; 32]),
    );
    let mut block = build_block(&template, &spec, &[0; EXTRANONCE_LEN]);
    // Find a nonce whose hash does NOT meet the (very easy) regtest target.
    while template.target.is_met_by(block.block_hash()) {
        block.header.nonce += 1;
    }
    let outcome = bitcoind.client().submit_block(&block).await.unwrap();
    assert_eq!(outcome, SubmitOutcome::Rejected("high-hash".into()));
}
