//! Merkle branches for the coinbase (always leaf 0), in Stratum order, and
//! folding a branch back to the header's merkle root.

use bitcoin::hashes::{sha256d, Hash, HashEngine};
use bitcoin::{TxMerkleNode, Txid};

/// Stratum-order merkle branch for the coinbase at index 0, given the txids of the other
/// transactions in block order.
pub fn coinbase_branch(txids: &[bitcoin::Txid]) -> Vec<bitcoin::TxMerkleNode> {
    // Level nodes except the leftmost one, which is the (unknown) coinbase path.
    let mut level: Vec<TxMerkleNode> = txids
        .iter()
        .map(|txid| TxMerkleNode::from_raw_hash(txid.to_raw_hash()))
        .collect();
    let mut branch = Vec::new();
    while !level.is_empty() {
        branch.push(level[0]);
        // The rest pairs up from index 1; an odd tail pairs with itself, as in bitcoin.
        let rest = &level[1..];
        level = rest
            .chunks(2)
            .map(|pair| hash_pair(&pair[0], pair.get(1).unwrap_or(&pair[0])))
            .collect();
    }
    branch
}

/// Folds a branch from the coinbase txid up to the merkle root (sha256d, coinbase always left).
pub fn root_from_coinbase(
    coinbase_txid: bitcoin::Txid,
    branch: &[bitcoin::TxMerkleNode],
) -> bitcoin::TxMerkleNode {
    let start = TxMerkleNode::from_raw_hash(coinbase_txid.to_raw_hash());
    branch
        .iter()
        .fold(start, |acc, sibling| hash_pair(&acc, sibling))
}

fn hash_pair(left: &TxMerkleNode, right: &TxMerkleNode) -> TxMerkleNode {
    let mut engine = sha256d::Hash::engine();
    engine.input(left.as_byte_array());
    engine.input(right.as_byte_array());
    TxMerkleNode::from_raw_hash(sha256d::Hash::from_engine(engine))
}

/// The txid as a merkle leaf, for callers that mix both.
pub fn leaf(txid: Txid) -> TxMerkleNode {
    TxMerkleNode::from_raw_hash(txid.to_raw_hash())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::merkle_tree::calculate_root;

    fn txid(i: u32) -> Txid {
        Txid::hash(&i.to_le_bytes())
    }

    #[test]
    fn branch_reaches_bitcoins_own_root_for_1_to_20_transactions() {
        for n in 1u32..=20 {
            let all: Vec<Txid> = (0..n).map(txid).collect();
            let expected = calculate_root(all.iter().map(|t| leaf(*t))).unwrap();
            let branch = coinbase_branch(&all[1..]);
            assert_eq!(root_from_coinbase(all[0], &branch), expected, "{n} txs");
            // Depth is ceil(log2(n)).
            let depth = (32 - (n - 1).leading_zeros()) as usize;
            assert_eq!(branch.len(), depth, "{n} txs");
        }
    }

    #[test]
    fn branch_is_independent_of_the_coinbase() {
        let others: Vec<Txid> = (1..7).map(txid).collect();
        let branch = coinbase_branch(&others);
        for cb in [txid(100), txid(200)] {
            let all: Vec<Txid> = std::iter::once(cb).chain(others.iter().copied()).collect();
            let expected = calculate_root(all.iter().map(|t| leaf(*t))).unwrap();
            assert_eq!(root_from_coinbase(cb, &branch), expected);
        }
    }

    #[test]
    fn lone_coinbase_is_its_own_root() {
        assert!(coinbase_branch(&[]).is_empty());
        assert_eq!(root_from_coinbase(txid(5), &[]), leaf(txid(5)));
    }
}
