//! Extranonce1 allocation: a distinct 4-byte prefix per live connection, so no
//! two miners ever search the same coinbase, and session resume (a reconnecting
//! miner gets its previous extranonce1 back when it is free).

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};

/// Bytes of extranonce1; the common size, enough for 4 billion live sessions.
pub const EXTRANONCE1_SIZE: usize = 4;

/// A connection's extranonce1; its hex form doubles as the session id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Extranonce1(u32);

impl Extranonce1 {
    /// The bytes placed in the coinbase.
    pub fn to_bytes(self) -> [u8; EXTRANONCE1_SIZE] {
        self.0.to_be_bytes()
    }

    /// Parses a session id sent back in `mining.subscribe`.
    pub fn parse(session_id: &str) -> Option<Extranonce1> {
        if session_id.len() != EXTRANONCE1_SIZE * 2 {
            return None;
        }
        u32::from_str_radix(session_id, 16).ok().map(Extranonce1)
    }
}

impl fmt::Display for Extranonce1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for Extranonce1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Extranonce1({:08x})", self.0)
    }
}

#[derive(Debug)]
struct State {
    in_use: HashSet<u32>,
    next: u32,
}

/// Hands out extranonce1 values; cheap to clone and share between connections.
#[derive(Debug, Clone)]
pub struct ExtranonceAllocator {
    state: Arc<Mutex<State>>,
}

impl Default for ExtranonceAllocator {
    fn default() -> Self {
        Self::new()
    }
}

impl ExtranonceAllocator {
    /// Starts at a random point so restarts do not reuse the same sequence.
    pub fn new() -> Self {
        let state = State {
            in_use: HashSet::new(),
            next: rand::random(),
        };
        ExtranonceAllocator {
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// Allocates `requested` if it is free, otherwise the next free value.
    /// The value is released when the returned lease is dropped.
    pub fn allocate(&self, requested: Option<Extranonce1>) -> ExtranonceLease {
        let mut state = self.state.lock().expect("extranonce lock poisoned");
        let value = match requested {
            Some(Extranonce1(v)) if !state.in_use.contains(&v) => v,
            _ => loop {
                let v = state.next;
                state.next = state.next.wrapping_add(1);
                if !state.in_use.contains(&v) {
                    break v;
                }
            },
        };
        state.in_use.insert(value);
        ExtranonceLease {
            value: Extranonce1(value),
            allocator: self.clone(),
        }
    }

    /// Number of extranonce1 values held by live sessions.
    pub fn in_use(&self) -> usize {
        self.state
            .lock()
            .expect("extranonce lock poisoned")
            .in_use
            .len()
    }

    fn release(&self, value: Extranonce1) {
        self.state
            .lock()
            .expect("extranonce lock poisoned")
            .in_use
            .remove(&value.0);
    }
}

/// An extranonce1 held by a session; released on drop.
#[derive(Debug)]
pub struct ExtranonceLease {
    value: Extranonce1,
    allocator: ExtranonceAllocator,
}

impl ExtranonceLease {
    /// The leased value.
    pub fn value(&self) -> Extranonce1 {
        self.value
    }
}

impl Drop for ExtranonceLease {
    fn drop(&mut self) {
        self.allocator.release(self.value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_distinct_while_held_and_resumable_after() {
        let allocator = ExtranonceAllocator::new();
        let a = allocator.allocate(None);
        let b = allocator.allocate(None);
        assert_ne!(a.value(), b.value());
        let id = a.value();
        // Asking for a held value gives another one.
        let c = allocator.allocate(Some(id));
        assert_ne!(c.value(), id);
        drop(a);
        let resumed = allocator.allocate(Some(id));
        assert_eq!(resumed.value(), id);
        assert_eq!(allocator.in_use(), 3);
        assert_eq!(Extranonce1::parse(&id.to_string()), Some(id));
    }
}
