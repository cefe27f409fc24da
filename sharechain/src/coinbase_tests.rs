use super::*;
use bitcoin::consensus::deserialize;
use bitcoin::hashes::Hash;

fn spec(height: u32, extranonce_len: usize, witness: bool) -> CoinbaseSpec {
    let mut wc = WITNESS_COMMITMENT_PREFIX.to_vec();
    wc.extend_from_slice(&[0x5a; 32]);
    CoinbaseSpec {
        height,
        value: Amount::from_sat(312_500_000),
        payout_script: ScriptBuf::from_bytes(
            [&[0x00, 0x20][..], &[0x11; 32][..]].concat(), // a P2WSH script
        ),
        share_commitment: ShareCommitment::from_byte_array([0xab; 32]),
        witness_commitment: witness.then(|| ScriptBuf::from_bytes(wc)),
        extranonce_len,
    }
}

#[test]
fn split_and_build_agree_for_many_heights_and_extranonce_sizes() {
    for height in [
        1,
        2,
        16,
        17,
        127,
        128,
        255,
        256,
        0xffff,
        0x1_0000,
        840_000,
        u32::MAX,
    ] {
        for len in [0, 1, 4, 8, 12, MAX_EXTRANONCE_LEN] {
            for witness in [false, true] {
                let spec = spec(height, len, witness);
                let parts = spec.split().unwrap();
                let extranonce: Vec<u8> =
                    (0..len as u8).map(|i| i.wrapping_mul(37) ^ 0x5c).collect();
                let tx = spec.build(&extranonce).unwrap();
                let joined = [&parts.coinb1[..], &extranonce[..], &parts.coinb2[..]].concat();
                assert_eq!(
                    joined,
                    serialize_no_witness(&tx),
                    "height {height} len {len}"
                );
                // The joined bytes are the legacy serialization: same txid.
                let parsed: Transaction = deserialize(&joined).unwrap();
                assert_eq!(parsed.compute_txid(), tx.compute_txid());
                let sig_len = tx.input[0].script_sig.len();
                assert!((MIN_SCRIPT_SIG_LEN..=MAX_SCRIPT_SIG_LEN).contains(&sig_len));
            }
        }
    }
}

#[test]
fn built_coinbase_follows_decision_one() {
    let spec = spec(1000, 8, true);
    let tx = spec.build(&[7; 8]).unwrap();
    assert!(tx.is_coinbase());
    assert_eq!(tx.output.len(), 3);
    assert_eq!(tx.output[0].value, spec.value);
    assert_eq!(tx.output[0].script_pubkey, spec.payout_script);
    assert_eq!(tx.output[1].value, Amount::ZERO);
    assert_eq!(
        parse_share_commitment(tx.output[1].script_pubkey.as_bytes()),
        Some(spec.share_commitment)
    );
    assert!(is_witness_commitment(tx.output[2].script_pubkey.as_bytes()));
    assert_eq!(tx.input[0].witness.len(), 1);
    assert_eq!(tx.input[0].witness.nth(0).unwrap(), &[0u8; 32]);
    // Without a witness commitment there is no witness at all.
    let plain = self::spec(1000, 8, false).build(&[7; 8]).unwrap();
    assert_eq!(plain.output.len(), 2);
    assert!(plain.input[0].witness.is_empty());
}

#[test]
fn bip34_height_pushes_match_bitcoin_core() {
    // Heights 1..=16 are OP_1..OP_16 (0x51..0x60), as `CScript() << nHeight` writes them.
    for h in 1u32..=16 {
        assert_eq!(bip34_height_push(h).as_bytes(), &[0x50 + h as u8]);
    }
    let cases: &[(u32, &[u8])] = &[
        (17, &[0x01, 0x11]),
        (127, &[0x01, 0x7f]),
        (128, &[0x02, 0x80, 0x00]), // sign bit forces an extra byte
        (255, &[0x02, 0xff, 0x00]),
        (256, &[0x02, 0x00, 0x01]),
        (0x7fff, &[0x02, 0xff, 0x7f]),
        (0x8000, &[0x03, 0x00, 0x80, 0x00]),
        (0xffff, &[0x03, 0xff, 0xff, 0x00]),
        (0x1_0000, &[0x03, 0x00, 0x00, 0x01]),
        (227_931, &[0x03, 0x5b, 0x7a, 0x03]), // mainnet's BIP 34 activation height
        (840_000, &[0x03, 0x40, 0xd1, 0x0c]),
        (0x80_0000, &[0x04, 0x00, 0x00, 0x80, 0x00]),
        (u32::MAX, &[0x05, 0xff, 0xff, 0xff, 0xff, 0x00]),
    ];
    for (height, bytes) in cases {
        assert_eq!(
            bip34_height_push(*height).as_bytes(),
            *bytes,
            "height {height}"
        );
        let tx = spec(*height, 4, false).build(&[1, 2, 3, 4]).unwrap();
        assert!(tx.input[0].script_sig.as_bytes().starts_with(bytes));
    }
}

#[test]
fn bad_specs_and_extranonces_are_typed_errors() {
    assert_eq!(
        spec(5, 4, false).build(&[0; 3]),
        Err(CoinbaseError::ExtranonceLength {
            expected: 4,
            got: 3
        })
    );
    assert_eq!(
        spec(5, MAX_EXTRANONCE_LEN + 1, false).split(),
        Err(CoinbaseError::ExtranonceTooLong(MAX_EXTRANONCE_LEN + 1))
    );
    assert_eq!(spec(0, 4, false).split(), Err(CoinbaseError::HeightZero));
    let mut bad = spec(5, 4, true);
    bad.witness_commitment = Some(ScriptBuf::from_bytes(vec![0x6a, 0x01, 0x00]));
    assert_eq!(bad.split(), Err(CoinbaseError::BadWitnessCommitment));
    let mut empty = spec(5, 4, false);
    empty.payout_script = ScriptBuf::new();
    assert_eq!(empty.split(), Err(CoinbaseError::EmptyPayoutScript));
    let mut long = spec(5, 4, false);
    long.payout_script = ScriptBuf::from_bytes(vec![0x51; 521]);
    assert_eq!(long.split(), Err(CoinbaseError::PayoutScriptTooLong(521)));
}

#[test]
fn commitment_parser_rejects_near_misses() {
    let c = ShareCommitment::from_byte_array([3; 32]);
    let good = share_commitment_script(&c).into_bytes();
    assert_eq!(parse_share_commitment(&good), Some(c));
    let mut wrong_tag = good.clone();
    wrong_tag[2] ^= 1;
    assert_eq!(parse_share_commitment(&wrong_tag), None);
    assert_eq!(parse_share_commitment(&good[..good.len() - 1]), None);
    let mut longer = good.clone();
    longer.push(0);
    assert_eq!(parse_share_commitment(&longer), None);
    // The txid of a coinbase changes with the commitment: the PoW covers it.
    let a = spec(9, 4, false);
    let mut b = a.clone();
    b.share_commitment = c;
    assert_ne!(
        a.build(&[0; 4]).unwrap().compute_txid().to_byte_array(),
        b.build(&[0; 4]).unwrap().compute_txid().to_byte_array()
    );
}
