//! The guardian's RocksDB: one database, a column family per concern.
//!
//! Safety critical: [`GuardianDb::commit`] is the only writer of locks and
//! answers. It checks that no input is locked to another request and writes
//! the locks, the answer and the signatures given in ONE synced batch, under
//! one mutex, before the caller lets the answer leave. A killed guardian
//! restarts with every lock it ever acknowledged.

use std::path::Path;
use std::sync::Mutex;

use crate::tbs::{BlindedMessage, BlindedSignatureShare};
use rocksdb::{ColumnFamilyDescriptor, Options, WriteBatch, WriteOptions, DB};
use secp256k1::{schnorr, PublicKey};
use sharechain::ShareId;

use crate::api::RequestHash;
use crate::denomination::Denomination;
use crate::note::BlindedOutput;

/// The column families. Their names are on disk: never rename one.
#[derive(Clone, Copy, Debug)]
enum Column {
    /// Note nonce (33 bytes) -> request hash it is locked to. A locked note
    /// is spent: this is the double-spend index.
    SpentNonces,
    /// Block share id ‖ share id -> request hash of the claim.
    Claims,
    /// Request hash -> the signature shares answered (48 bytes each).
    Answers,
    /// Blinded message -> denomination exponent ‖ signature share, for
    /// wallet recovery from a seed.
    BlindSignatures,
    /// Counters.
    Meta,
}

const COLUMNS: [Column; 5] = [
    Column::SpentNonces,
    Column::Claims,
    Column::Answers,
    Column::BlindSignatures,
    Column::Meta,
];

impl Column {
    fn name(self) -> &'static str {
        match self {
            Column::SpentNonces => "spent_nonces",
            Column::Claims => "claims",
            Column::Answers => "answers",
            Column::BlindSignatures => "blind_signatures",
            Column::Meta => "meta",
        }
    }
}

const ANSWERED_KEY: &[u8] = b"requests_answered";

/// An input a request consumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockKey {
    /// A note, by nonce.
    Nonce(PublicKey),
    /// A share's payout from a block.
    Claim {
        /// The block-finding share.
        block: ShareId,
        /// The paid share.
        share: ShareId,
    },
}

impl LockKey {
    fn column(&self) -> Column {
        match self {
            LockKey::Nonce(_) => Column::SpentNonces,
            LockKey::Claim { .. } => Column::Claims,
        }
    }

    fn key(&self) -> Vec<u8> {
        match self {
            LockKey::Nonce(nonce) => nonce.serialize().to_vec(),
            LockKey::Claim { block, share } => {
                let mut key = block.to_byte_array().to_vec();
                key.extend_from_slice(&share.to_byte_array());
                key
            }
        }
    }
}

/// Who holds an input: the request it is locked to, and the spend or claim
/// proof that authorised that request. The proof lets a client that is
/// refused check that the conflict is real (the input's own key signed a
/// different request) rather than a guardian's lie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lock {
    /// The request holding the input.
    pub request: RequestHash,
    /// The input key's BIP340 signature over that request's proof message.
    pub proof: schnorr::Signature,
}

impl Lock {
    const ENCODED_LEN: usize = 32 + 64;

    fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        let mut bytes = [0u8; Self::ENCODED_LEN];
        bytes[..32].copy_from_slice(&self.request.0);
        bytes[32..].copy_from_slice(self.proof.as_ref());
        bytes
    }

    fn decode(bytes: &[u8]) -> Result<Lock, DbError> {
        let corrupt = || DbError::Corrupt("lock value is not a request hash and proof");
        if bytes.len() != Self::ENCODED_LEN {
            return Err(corrupt());
        }
        let request = RequestHash(bytes[..32].try_into().map_err(|_| corrupt())?);
        let proof = schnorr::Signature::from_slice(&bytes[32..]).map_err(|_| corrupt())?;
        Ok(Lock { request, proof })
    }
}

/// Database failures.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// RocksDB failed.
    #[error("guardian database: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// An input is locked to another request.
    #[error("{key:?} is already locked to request {}", holder.request)]
    Locked {
        /// The input.
        key: LockKey,
        /// The request holding it, with its proof (boxed: errors stay small).
        holder: Box<Lock>,
    },
    /// Stored bytes do not decode: the database is damaged.
    #[error("guardian database is corrupt: {0}")]
    Corrupt(&'static str),
}

/// Whether a commit created a new answer or found the stored one.
#[derive(Debug, PartialEq, Eq)]
pub enum Committed {
    /// First time: the given answer is now on disk.
    New,
    /// The same request was answered before: here is what was answered.
    Retry(Vec<BlindedSignatureShare>),
}

/// The guardian's database.
pub struct GuardianDb {
    db: DB,
    /// One writer: lock checks and lock writes must not interleave.
    writer: Mutex<()>,
}

impl GuardianDb {
    /// Opens or creates the database in `path`.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let columns = COLUMNS
            .iter()
            .map(|c| ColumnFamilyDescriptor::new(c.name(), Options::default()));
        let db = DB::open_cf_descriptors(&options, path, columns)?;
        Ok(GuardianDb {
            db,
            writer: Mutex::new(()),
        })
    }

    fn cf(&self, column: Column) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(column.name())
            .expect("every column family is created on open")
    }

    /// Locks `inputs` (each with the proof that authorises `request` to
    /// spend it) to `request` and stores `answer` (the shares for
    /// `outputs`), durably, unless the request was answered before (then its
    /// stored answer is returned). Refuses if an input is locked to another
    /// request, unless `check_locks` is off (the test-only malicious mode).
    pub fn commit(
        &self,
        request: RequestHash,
        inputs: &[(LockKey, schnorr::Signature)],
        outputs: &[BlindedOutput],
        answer: &[BlindedSignatureShare],
        check_locks: bool,
    ) -> Result<Committed, DbError> {
        let _writer = self.writer.lock().expect("writer mutex poisoned");
        if let Some(stored) = self.answer(&request)? {
            return Ok(Committed::Retry(stored));
        }
        if check_locks {
            for (input, _) in inputs {
                if let Some(holder) = self.lock_holder(input)? {
                    return Err(DbError::Locked {
                        key: *input,
                        holder: Box::new(holder),
                    });
                }
            }
        }
        let mut batch = WriteBatch::default();
        for (input, proof) in inputs {
            let lock = Lock {
                request,
                proof: *proof,
            };
            batch.put_cf(self.cf(input.column()), input.key(), lock.encode());
        }
        batch.put_cf(self.cf(Column::Answers), request.0, encode_shares(answer));
        for (output, share) in outputs.iter().zip(answer) {
            let mut value = vec![output.denomination.exponent()];
            value.extend_from_slice(&share.0.to_compressed());
            batch.put_cf(
                self.cf(Column::BlindSignatures),
                output.blinded_message.0.to_compressed(),
                value,
            );
        }
        let answered = self.requests_answered()? + 1;
        batch.put_cf(self.cf(Column::Meta), ANSWERED_KEY, answered.to_le_bytes());
        let mut sync = WriteOptions::default();
        sync.set_sync(true);
        self.db.write_opt(batch, &sync)?;
        Ok(Committed::New)
    }

    /// The request an input is locked to, if any.
    pub fn lock_holder(&self, input: &LockKey) -> Result<Option<Lock>, DbError> {
        match self.db.get_cf(self.cf(input.column()), input.key())? {
            None => Ok(None),
            Some(bytes) => Lock::decode(&bytes).map(Some),
        }
    }

    /// The stored answer to a request.
    pub fn answer(
        &self,
        request: &RequestHash,
    ) -> Result<Option<Vec<BlindedSignatureShare>>, DbError> {
        self.db
            .get_cf(self.cf(Column::Answers), request.0)?
            .map(|bytes| decode_shares(&bytes))
            .transpose()
    }

    /// The share given to a blinded message, if any.
    pub fn blind_signature(
        &self,
        message: &BlindedMessage,
    ) -> Result<Option<(Denomination, BlindedSignatureShare)>, DbError> {
        let Some(bytes) = self
            .db
            .get_cf(self.cf(Column::BlindSignatures), message.0.to_compressed())?
        else {
            return Ok(None);
        };
        let (exponent, share) = bytes
            .split_first()
            .ok_or(DbError::Corrupt("empty blind signature record"))?;
        let denomination = Denomination::from_exponent(*exponent)
            .map_err(|_| DbError::Corrupt("bad denomination in blind signature record"))?;
        let share = decode_shares(share)?
            .pop()
            .ok_or(DbError::Corrupt("missing share in blind signature record"))?;
        Ok(Some((denomination, share)))
    }

    /// Requests answered since creation.
    pub fn requests_answered(&self) -> Result<u64, DbError> {
        match self.db.get_cf(self.cf(Column::Meta), ANSWERED_KEY)? {
            None => Ok(0),
            Some(bytes) => {
                let bytes: [u8; 8] = bytes
                    .try_into()
                    .map_err(|_| DbError::Corrupt("answer counter"))?;
                Ok(u64::from_le_bytes(bytes))
            }
        }
    }
}

fn encode_shares(shares: &[BlindedSignatureShare]) -> Vec<u8> {
    shares.iter().flat_map(|s| s.0.to_compressed()).collect()
}

fn decode_shares(bytes: &[u8]) -> Result<Vec<BlindedSignatureShare>, DbError> {
    if !bytes.len().is_multiple_of(48) {
        return Err(DbError::Corrupt("share list length"));
    }
    bytes
        .chunks_exact(48)
        .map(|chunk| {
            let array: &[u8; 48] = chunk.try_into().expect("chunks are 48 bytes");
            Option::from(bls12_381::G1Affine::from_compressed(array))
                .map(BlindedSignatureShare)
                .ok_or(DbError::Corrupt("share is not a G1 point"))
        })
        .collect()
}
