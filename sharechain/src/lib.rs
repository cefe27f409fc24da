//! The sharechain: share format, validation, difficulty, best chain, uncles, PPLNS payouts and storage.
