//! The ecash wallet: notes in RocksDB, keys from a BIP39 seed.
//!
//! Every output's secrets derive from the seed and a counter; the counter is
//! advanced on disk before the outputs are used, so no key is ever reused,
//! and a wallet restored from its words finds its notes by asking the
//! guardians which derived blinded messages they signed. A reissue is
//! written to disk (`pending`) before it is sent and resumed on open, so a
//! crash between sending and storing the new notes loses nothing.

use std::path::Path;

use rocksdb::{ColumnFamilyDescriptor, Options, WriteBatch, WriteOptions, DB};
use secp256k1::Keypair;
use serde::{Deserialize, Serialize};
use sharechain::Msat;
use sharechain::ShareId;
use tracing::{info, warn};

use crate::api::ReissueRequest;
use crate::client::federation::{ClientError, FederationClient, Issued};
use crate::client::note_string::{NoteString, NoteStringError};
use crate::client::seed::{SeedError, WalletSeed};
use crate::config::{FederationConfig, FederationId, PeerId};
use crate::denomination::{split, total, Denomination, DenominationError};
use crate::note::{PendingOutput, SpendableNote};

const NOTES: &str = "notes";
const META: &str = "meta";
const PENDING: &str = "pending";
const SENT: &str = "sent";
const SEED_KEY: &[u8] = b"seed_words";
const CONFIG_KEY: &[u8] = b"federation_config";
const NEXT_INDEX_KEY: &[u8] = b"next_output_index";
/// Recovery stops after this many derived outputs in a row nobody signed.
const RECOVERY_GAP: u64 = 100;

/// Wallet failures.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// The database failed.
    #[error("wallet database: {0}")]
    Db(#[from] rocksdb::Error),
    /// Stored data does not decode.
    #[error("wallet database is corrupt: {0}")]
    Corrupt(String),
    /// Creating over an existing wallet.
    #[error("a wallet already exists in {0}")]
    Exists(String),
    /// Opening where there is none.
    #[error("no wallet in {0}; create one with `sharemint wallet init`")]
    Missing(String),
    /// Bad seed words.
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// The federation refused or failed.
    #[error(transparent)]
    Federation(#[from] ClientError),
    /// Not enough money.
    #[error("balance {balance} msat is less than {wanted} msat")]
    InsufficientFunds {
        /// Held.
        balance: u64,
        /// Asked.
        wanted: u64,
    },
    /// Msat not splittable.
    #[error(transparent)]
    Denomination(#[from] DenominationError),
    /// A malformed note string.
    #[error(transparent)]
    NoteString(#[from] NoteStringError),
    /// Notes from another federation.
    #[error(
        "these notes are from federation {theirs}; this wallet holds notes of federation {ours}"
    )]
    WrongFederation {
        /// The string's.
        theirs: FederationId,
        /// The wallet's.
        ours: FederationId,
    },
    /// A note carries an invalid federation signature.
    #[error("note {0} in the string is forged: its signature is not the federation's")]
    ForgedNote(usize),
}

/// What `info` shows.
#[derive(Clone, Debug, Serialize)]
pub struct WalletInfo {
    /// The federation.
    pub federation_id: FederationId,
    /// Its guardians.
    pub guardians: Vec<String>,
    /// Threshold.
    pub threshold: u16,
    /// Total held.
    pub balance_msat: u64,
    /// Notes held per denomination (msat -> count).
    pub notes: std::collections::BTreeMap<u64, usize>,
}

/// A pending reissue, written before it is sent.
#[derive(Serialize, Deserialize)]
struct PendingReissue {
    request: ReissueRequest,
    outputs: Vec<PendingOutput>,
    /// Inputs of our own wallet to delete once done.
    own_inputs: Vec<SpendableNote>,
}

/// An ecash wallet for one federation.
pub struct Wallet {
    db: DB,
    client: FederationClient,
    seed: WalletSeed,
    /// Serialises output index reservations (read, advance, write).
    reserve: std::sync::Mutex<()>,
}

impl Wallet {
    /// Creates a wallet in `dir` for `config` with `seed`.
    pub fn create(
        dir: &Path,
        config: FederationConfig,
        seed: WalletSeed,
    ) -> Result<Self, WalletError> {
        if dir.join("CURRENT").exists() {
            return Err(WalletError::Exists(dir.display().to_string()));
        }
        let db = open_db(dir)?;
        let mut batch = WriteBatch::default();
        let meta = db.cf_handle(META).expect("created on open");
        batch.put_cf(meta, SEED_KEY, seed.words());
        batch.put_cf(meta, CONFIG_KEY, json(&config));
        batch.put_cf(meta, NEXT_INDEX_KEY, 0u64.to_le_bytes());
        db.write_opt(batch, &synced())?;
        info!(federation = %config.id(), "wallet created");
        Ok(Wallet {
            db,
            client: FederationClient::new(config),
            seed,
            reserve: std::sync::Mutex::new(()),
        })
    }

    /// Opens the wallet in `dir`.
    pub fn open(dir: &Path) -> Result<Self, WalletError> {
        if !dir.join("CURRENT").exists() {
            return Err(WalletError::Missing(dir.display().to_string()));
        }
        let db = open_db(dir)?;
        let meta = db.cf_handle(META).expect("created on open");
        let words = db
            .get_cf(meta, SEED_KEY)?
            .ok_or_else(|| WalletError::Corrupt("no seed".into()))?;
        let words = String::from_utf8(words).map_err(|e| WalletError::Corrupt(e.to_string()))?;
        let config: FederationConfig = parse(
            &db.get_cf(meta, CONFIG_KEY)?
                .ok_or_else(|| WalletError::Corrupt("no federation config".into()))?,
        )?;
        Ok(Wallet {
            db,
            client: FederationClient::new(config),
            seed: WalletSeed::from_words(&words)?,
            reserve: std::sync::Mutex::new(()),
        })
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db.cf_handle(name).expect("created on open")
    }

    /// The federation client.
    pub fn client(&self) -> &FederationClient {
        &self.client
    }

    /// The seed words to back up.
    pub fn seed_words(&self) -> String {
        self.seed.words()
    }

    /// The notes held.
    pub fn notes(&self) -> Result<Vec<SpendableNote>, WalletError> {
        self.db
            .iterator_cf(self.cf(NOTES), rocksdb::IteratorMode::Start)
            .map(|item| parse(&item?.1))
            .collect()
    }

    /// Total held.
    pub fn balance(&self) -> Result<Msat, WalletError> {
        let notes = self.notes()?;
        Ok(total(notes.iter().map(|n| &n.denomination)).unwrap_or(Msat::from_msat(u64::MAX)))
    }

    /// Summary.
    pub fn info(&self) -> Result<WalletInfo, WalletError> {
        let config = self.client.config();
        let mut notes = std::collections::BTreeMap::new();
        for note in self.notes()? {
            *notes.entry(note.denomination.msat()).or_default() += 1;
        }
        Ok(WalletInfo {
            federation_id: self.client.id(),
            guardians: config.api_urls(),
            threshold: config.threshold,
            balance_msat: self.balance()?.msat(),
            notes,
        })
    }

    /// Fresh outputs for `denominations`, reserving their indices on disk first.
    fn fresh_outputs(
        &self,
        denominations: &[Denomination],
    ) -> Result<Vec<PendingOutput>, WalletError> {
        let _reserving = self.reserve.lock().expect("reserve mutex poisoned");
        let start = self.next_index()?;
        let end = start + denominations.len() as u64;
        self.db
            .put_cf_opt(self.cf(META), NEXT_INDEX_KEY, end.to_le_bytes(), &synced())?;
        let id = self.client.id();
        Ok(denominations
            .iter()
            .enumerate()
            .map(|(i, d)| self.seed.output(&id, start + i as u64, *d))
            .collect())
    }

    fn next_index(&self) -> Result<u64, WalletError> {
        let bytes = self
            .db
            .get_cf(self.cf(META), NEXT_INDEX_KEY)?
            .ok_or_else(|| WalletError::Corrupt("no output index".into()))?;
        let bytes: [u8; 8] = bytes
            .try_into()
            .map_err(|_| WalletError::Corrupt("output index".into()))?;
        Ok(u64::from_le_bytes(bytes))
    }

    /// Takes notes worth exactly `amount` out of the wallet and encodes them
    /// as a note string. Splits a larger note with the federation first if
    /// no exact set is held.
    pub async fn send(&self, amount: Msat) -> Result<String, WalletError> {
        let notes = self.select_exact(amount).await?;
        let mut batch = WriteBatch::default();
        for note in &notes {
            let nonce = note.note().nonce.serialize();
            batch.delete_cf(self.cf(NOTES), nonce);
            batch.put_cf(self.cf(SENT), nonce, json(note));
        }
        self.db.write_opt(batch, &synced())?;
        let config = self.client.config();
        Ok(NoteString {
            version: 1,
            federation_id: self.client.id(),
            guardians: config.api_urls(),
            notes,
        }
        .encode())
    }

    /// Held notes summing to exactly `amount`, reissuing to make change if needed.
    async fn select_exact(&self, amount: Msat) -> Result<Vec<SpendableNote>, WalletError> {
        let mut held = self.notes()?;
        let balance = total(held.iter().map(|n| &n.denomination)).map_or(u64::MAX, |a| a.msat());
        if amount.msat() == 0 || balance < amount.msat() {
            return Err(WalletError::InsufficientFunds {
                balance,
                wanted: amount.msat(),
            });
        }
        held.sort_by_key(|n| std::cmp::Reverse(n.denomination));
        // Greedy on powers of two is exact whenever an exact subset exists
        // among the large-first notes that fit.
        let mut left = amount.msat();
        let mut chosen = Vec::new();
        for note in &held {
            if note.denomination.msat() <= left {
                left -= note.denomination.msat();
                chosen.push(*note);
            }
        }
        if left == 0 {
            return Ok(chosen);
        }
        // Split: spend the fewest large notes covering the amount, get the
        // amount and the change as new notes.
        let mut inputs = Vec::new();
        let mut covered = 0u64;
        for note in &held {
            if covered >= amount.msat() {
                break;
            }
            covered += note.denomination.msat();
            inputs.push(*note);
        }
        let denominations = self.client.config().denomination_list();
        let mut wanted = split(amount, &denominations)?;
        let send_count = wanted.len();
        if covered > amount.msat() {
            wanted.extend(split(
                Msat::from_msat(covered - amount.msat()),
                &denominations,
            )?);
        }
        let outputs = self.fresh_outputs(&wanted)?;
        let issued = self.reissue_own(&inputs, &outputs).await?;
        let send: Vec<SpendableNote> = issued.notes[..send_count].to_vec();
        Ok(send)
    }

    /// Reissues our own notes: pending on disk first, then notes swapped.
    async fn reissue_own(
        &self,
        inputs: &[SpendableNote],
        outputs: &[PendingOutput],
    ) -> Result<Issued, WalletError> {
        let request = ReissueRequest::new(
            &self.client.id(),
            inputs.iter().map(|n| (n.note(), n.keypair())).collect(),
            outputs.iter().map(PendingOutput::blinded).collect(),
        );
        self.run_pending(
            PendingReissue {
                request,
                outputs: outputs.to_vec(),
                own_inputs: inputs.to_vec(),
            },
            None,
        )
        .await
    }

    async fn run_pending(
        &self,
        pending: PendingReissue,
        peers: Option<&[PeerId]>,
    ) -> Result<Issued, WalletError> {
        let key = pending.request.hash().0;
        self.db
            .put_cf_opt(self.cf(PENDING), key, json(&pending), &synced())?;
        let result = self
            .client
            .reissue_request(&pending.request, &pending.outputs, peers)
            .await;
        match result {
            Ok(issued) => {
                let mut batch = WriteBatch::default();
                for note in &pending.own_inputs {
                    batch.delete_cf(self.cf(NOTES), note.note().nonce.serialize());
                }
                for note in &issued.notes {
                    batch.put_cf(self.cf(NOTES), note.note().nonce.serialize(), json(note));
                }
                batch.delete_cf(self.cf(PENDING), key);
                self.db.write_opt(batch, &synced())?;
                for peer in issued.failures.misbehaving() {
                    warn!(%peer, "guardian misbehaved during reissue; its answer was ignored");
                }
                Ok(issued)
            }
            Err(error) => {
                // A definitive refusal (spent notes) will not change on retry:
                // forget the request. Anything else stays pending for resume.
                if is_final(&error) {
                    self.db.delete_cf_opt(self.cf(PENDING), key, &synced())?;
                }
                Err(error.into())
            }
        }
    }

    /// Retries reissues interrupted by a crash or an outage. Returns how
    /// many completed.
    pub async fn resume(&self) -> Result<usize, WalletError> {
        let mut pending: Vec<PendingReissue> = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(PENDING), rocksdb::IteratorMode::Start)
        {
            let (key, value) = item?;
            // Claims are retried by calling `claim` again with the same share.
            if !key.starts_with(b"claim") {
                pending.push(parse(&value)?);
            }
        }
        let mut done = 0;
        for item in pending {
            match self.run_pending(item, None).await {
                Ok(_) => done += 1,
                Err(error) => warn!(%error, "pending reissue still fails"),
            }
        }
        Ok(done)
    }

    /// Verifies a note string's notes and reissues them into this wallet.
    pub async fn receive(&self, text: &str) -> Result<Msat, WalletError> {
        self.receive_via(text, None).await
    }

    /// [`Self::receive`], asking only `peers` (tests of concurrent spends).
    pub async fn receive_via(
        &self,
        text: &str,
        peers: Option<&[PeerId]>,
    ) -> Result<Msat, WalletError> {
        let notes = NoteString::decode(text)?;
        if notes.federation_id != self.client.id() {
            return Err(WalletError::WrongFederation {
                theirs: notes.federation_id,
                ours: self.client.id(),
            });
        }
        let public: Vec<_> = notes.notes.iter().map(SpendableNote::note).collect();
        self.client
            .verify_notes(&public)
            .map_err(WalletError::ForgedNote)?;
        let denominations: Vec<Denomination> = notes.notes.iter().map(|n| n.denomination).collect();
        let outputs = self.fresh_outputs(&denominations)?;
        let request = ReissueRequest::new(
            &self.client.id(),
            notes
                .notes
                .iter()
                .map(|n| (n.note(), n.keypair()))
                .collect(),
            outputs.iter().map(PendingOutput::blinded).collect(),
        );
        let pending = PendingReissue {
            request,
            outputs,
            own_inputs: Vec::new(),
        };
        self.run_pending(pending, peers).await?;
        Ok(notes.amount())
    }

    /// Claims a share's payout with its claim key into new notes worth `amount`
    /// (the share's PPLNS amount as the node computed it).
    pub async fn claim(
        &self,
        block: ShareId,
        share: ShareId,
        claim_key: &Keypair,
        amount: Msat,
    ) -> Result<Msat, WalletError> {
        // The outputs of a claim are stored before it is sent: a retry after
        // a crash or a refusal sends the identical request, which guardians
        // answer again instead of refusing it as already claimed.
        let mut key = b"claim".to_vec();
        key.extend_from_slice(&block.to_byte_array());
        key.extend_from_slice(&share.to_byte_array());
        let stored: Option<Vec<PendingOutput>> = match self.db.get_cf(self.cf(PENDING), &key)? {
            Some(bytes) => Some(parse(&bytes)?),
            None => None,
        };
        let outputs = match stored {
            Some(outputs) if total(outputs.iter().map(|o| &o.denomination)) == Some(amount) => {
                outputs
            }
            _ => {
                let denominations = split(amount, &self.client.config().denomination_list())?;
                let outputs = self.fresh_outputs(&denominations)?;
                self.db
                    .put_cf_opt(self.cf(PENDING), &key, json(&outputs), &synced())?;
                outputs
            }
        };
        let issued = self.client.claim(block, share, claim_key, &outputs).await?;
        let mut batch = WriteBatch::default();
        for note in &issued.notes {
            batch.put_cf(self.cf(NOTES), note.note().nonce.serialize(), json(note));
        }
        batch.delete_cf(self.cf(PENDING), &key);
        self.db.write_opt(batch, &synced())?;
        let claimed = total(issued.notes.iter().map(|n| &n.denomination));
        Ok(claimed.unwrap_or(amount))
    }

    /// Finds the notes this seed ever received: derives outputs in batches
    /// and asks the guardians what they signed, until [`RECOVERY_GAP`]
    /// outputs in a row were never signed; keeps the unspent ones.
    pub async fn recover(&self) -> Result<Msat, WalletError> {
        let id = self.client.id();
        let any = Denomination::from_exponent(0).expect("2^0 is a denomination");
        let mut index = 0u64;
        let mut last_found: Option<u64> = None;
        let mut found = Vec::new();
        while index < last_found.map_or(0, |l| l + 1) + RECOVERY_GAP {
            let outputs: Vec<PendingOutput> = (index..index + RECOVERY_GAP)
                .map(|i| self.seed.output(&id, i, any))
                .collect();
            let messages: Vec<_> = outputs
                .iter()
                .map(|o| o.blinded().blinded_message)
                .collect();
            let signed = self.client.recover(&messages).await?;
            for (offset, (output, signature)) in outputs.iter().zip(signed).enumerate() {
                if let Some((denomination, signature)) = signature {
                    let output = PendingOutput {
                        denomination,
                        ..*output
                    };
                    found.push(output.finish(signature));
                    last_found = Some(index + offset as u64);
                }
            }
            index += RECOVERY_GAP;
        }
        let nonces: Vec<_> = found.iter().map(|n| n.note().nonce).collect();
        let spent = if nonces.is_empty() {
            Vec::new()
        } else {
            self.client.spent_count(&nonces).await?
        };
        let mut batch = WriteBatch::default();
        let mut recovered = 0u64;
        for (note, spent_at) in found.iter().zip(spent) {
            if spent_at == 0 {
                recovered += note.denomination.msat();
                batch.put_cf(self.cf(NOTES), note.note().nonce.serialize(), json(note));
            }
        }
        let next = last_found.map_or(0, |l| l + 1).max(self.next_index()?);
        batch.put_cf(self.cf(META), NEXT_INDEX_KEY, next.to_le_bytes());
        self.db.write_opt(batch, &synced())?;
        Ok(Msat::from_msat(recovered))
    }
}

/// Whether a failure is a refusal that retrying cannot change.
fn is_final(error: &ClientError) -> bool {
    use crate::api::ErrorCode;
    error.failures().is_some_and(|f| {
        f.refusals().any(|(_, e)| {
            matches!(
                e.code,
                ErrorCode::AlreadySpent
                    | ErrorCode::InvalidNote
                    | ErrorCode::InvalidProof
                    | ErrorCode::Unbalanced
            )
        })
    })
}

fn open_db(dir: &Path) -> Result<DB, WalletError> {
    let mut options = Options::default();
    options.create_if_missing(true);
    options.create_missing_column_families(true);
    let columns = [NOTES, META, PENDING, SENT]
        .into_iter()
        .map(|name| ColumnFamilyDescriptor::new(name, Options::default()));
    Ok(DB::open_cf_descriptors(&options, dir, columns)?)
}

fn synced() -> WriteOptions {
    let mut options = WriteOptions::default();
    options.set_sync(true);
    options
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("wallet records always serialize")
}

fn parse<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, WalletError> {
    serde_json::from_slice(bytes).map_err(|e| WalletError::Corrupt(e.to_string()))
}
