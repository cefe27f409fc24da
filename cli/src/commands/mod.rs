//! One file per subcommand: its arguments and the call into the crates.

pub mod bench;
pub mod devnet;
pub mod federation;
pub mod guardian;
pub mod mine;
pub mod node;
pub mod wallet;
