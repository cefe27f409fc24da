use super::*;
use crate::params::{ConsensusParams, SharechainConfig};
use crate::share::write_compact_size;
use crate::testkit::{assemble, test_block_hash, test_claim_key, ShareRecipe};
use bitcoin::{ScriptBuf, Txid};
use proptest::prelude::*;

fn config() -> SharechainConfig {
    SharechainConfig::new(
        ConsensusParams::regtest(),
        ScriptBuf::from_bytes(vec![0x51]),
    )
}

fn sample(uncles: usize, txs: u32) -> Share {
    let mut recipe = ShareRecipe::new(
        test_block_hash(1),
        2,
        1_700_000_000,
        CompactTarget::from_consensus(0x1f00_ffff),
    );
    recipe.prev_share = Some(ShareId::from_byte_array([9; 32]));
    recipe.uncles = (0..uncles as u8)
        .map(|i| ShareId::from_byte_array([i + 1; 32]))
        .collect();
    recipe.other_txids = (0..txs)
        .map(|i| Txid::from_byte_array([i as u8; 32]))
        .collect();
    recipe.claim_key = test_claim_key(7);
    assemble(&config(), &recipe, 42)
}

#[test]
fn encode_decode_round_trips() {
    for (uncles, txs) in [(0, 0), (1, 1), (3, 5), (DECODE_MAX_UNCLES, 100)] {
        let share = sample(uncles, txs);
        let bytes = share.encode();
        let back = Share::decode(&bytes).unwrap();
        assert_eq!(back, share);
        assert_eq!(back.id(), share.id());
        assert_eq!(ShareData::decode(&share.data.encode()).unwrap(), share.data);
    }
    let mut genesis = sample(0, 0);
    genesis.data.prev_share = None;
    assert_eq!(
        Share::decode(&genesis.encode()).unwrap().data.prev_share,
        None
    );
}

#[test]
fn every_truncation_is_a_typed_error() {
    let bytes = sample(2, 3).encode();
    for len in 0..bytes.len() {
        assert!(
            matches!(
                Share::decode(&bytes[..len]),
                Err(DecodeError::Truncated { .. })
            ),
            "length {len}"
        );
    }
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut bytes = sample(1, 1).encode();
    bytes.push(0);
    assert!(matches!(
        Share::decode(&bytes),
        Err(DecodeError::TrailingBytes { count: 1 })
    ));
}

#[test]
fn oversize_input_and_counts_are_rejected_before_allocation() {
    assert!(matches!(
        Share::decode(&vec![0u8; MAX_SHARE_SIZE + 1]),
        Err(DecodeError::TooLarge { .. })
    ));
    // A coinbase length of 2^32 - 1 must not be trusted.
    let mut bytes = vec![0u8; 80];
    bytes.extend_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0xff]);
    assert!(matches!(
        Share::decode(&bytes),
        Err(DecodeError::TooMany {
            field: "coinbase",
            ..
        })
    ));
    // Too many uncles.
    let share = sample(0, 0);
    let mut data = share.data.encode();
    data[68] = (DECODE_MAX_UNCLES + 1) as u8;
    assert!(matches!(
        ShareData::decode(&data),
        Err(DecodeError::TooMany {
            field: "uncles",
            ..
        })
    ));
    // Too long a merkle branch.
    let mut bytes = share.encode();
    let cb_len = bytes[80] as usize;
    bytes[81 + cb_len] = (MAX_MERKLE_BRANCH_LEN + 1) as u8;
    assert!(matches!(
        Share::decode(&bytes),
        Err(DecodeError::TooMany {
            field: "merkle branch",
            ..
        })
    ));
}

#[test]
fn non_canonical_lengths_are_rejected() {
    let share = sample(0, 0);
    let bytes = share.encode();
    let cb_len = bytes[80];
    let mut long_form = bytes[..80].to_vec();
    long_form.extend_from_slice(&[0xfd, cb_len, 0]);
    long_form.extend_from_slice(&bytes[81..]);
    assert!(matches!(
        Share::decode(&long_form),
        Err(DecodeError::NonCanonicalLength { field: "coinbase" })
    ));
}

#[test]
fn bad_claim_keys_versions_and_zero_uncles_are_rejected() {
    let share = sample(1, 0);
    let data = share.data.encode();
    let key_at = data.len() - 33;
    for bad_key in [[0u8; 33], [0x04; 33], [0xff; 33]] {
        let mut d = data.clone();
        d[key_at..].copy_from_slice(&bad_key);
        assert!(matches!(
            ShareData::decode(&d),
            Err(DecodeError::BadClaimKey)
        ));
    }
    // x coordinate not on the curve (x = 5 has no square root of x^3 + 7).
    let mut d = data.clone();
    d[key_at..].copy_from_slice(&[[0x02].as_slice(), &[0; 31], &[5]].concat());
    assert!(matches!(
        ShareData::decode(&d),
        Err(DecodeError::BadClaimKey)
    ));
    let mut d = data.clone();
    d[0] = 2;
    assert!(matches!(
        ShareData::decode(&d),
        Err(DecodeError::UnsupportedVersion(2))
    ));
    let mut d = data.clone();
    d[69..101].copy_from_slice(&[0; 32]);
    assert!(matches!(ShareData::decode(&d), Err(DecodeError::ZeroUncle)));
}

#[test]
fn coinbases_with_witness_or_garbage_are_rejected() {
    let share = sample(0, 0);
    let mut with_witness = share.coinbase.clone();
    with_witness.input[0].witness.push([0u8; 32]);
    let cb = bitcoin::consensus::serialize(&with_witness);
    let mut bytes = share.header_bytes();
    write_compact_size(&mut bytes, cb.len() as u64);
    bytes.extend_from_slice(&cb);
    bytes.push(0);
    bytes.extend_from_slice(&share.data.encode());
    assert!(matches!(
        Share::decode(&bytes),
        Err(DecodeError::CoinbaseWitness)
    ));

    let mut bytes = share.header_bytes();
    bytes.extend_from_slice(&[3, 1, 2, 3, 0]);
    bytes.extend_from_slice(&share.data.encode());
    assert!(matches!(
        Share::decode(&bytes),
        Err(DecodeError::Coinbase(_))
    ));
}

impl Share {
    fn header_bytes(&self) -> Vec<u8> {
        bitcoin::consensus::serialize(&self.header)
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Share::decode(&bytes);
        let _ = ShareData::decode(&bytes);
    }

    #[test]
    fn mutated_shares_never_panic_and_decode_canonically(
        uncles in 0usize..4,
        txs in 0u32..9,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = sample(uncles, txs).encode();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        if let Ok(share) = Share::decode(&bytes) {
            // Whatever decodes has exactly one encoding.
            prop_assert_eq!(share.encode(), bytes);
        }
    }

    #[test]
    fn generated_shares_round_trip(
        uncles in proptest::collection::vec(any::<[u8; 32]>(), 0..DECODE_MAX_UNCLES),
        prev in any::<[u8; 32]>(),
        bits in any::<u32>(),
        txs in 0u32..40,
        nonce in any::<u32>(),
        key in 1u8..255,
    ) {
        let mut recipe = ShareRecipe::new(test_block_hash(3), 500, 1_700_000_000, CompactTarget::from_consensus(bits));
        recipe.prev_share = (prev != [0; 32]).then(|| ShareId::from_byte_array(prev));
        recipe.uncles = uncles.into_iter().filter(|u| *u != [0; 32]).map(ShareId::from_byte_array).collect();
        recipe.other_txids = (0..txs).map(|i| Txid::from_byte_array([i as u8; 32])).collect();
        recipe.claim_key = test_claim_key(key);
        let share = assemble(&config(), &recipe, nonce);
        prop_assert_eq!(Share::decode(&share.encode()).unwrap(), share);
    }
}
