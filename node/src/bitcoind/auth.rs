//! How the client proves itself to bitcoind: its cookie file or a user and password.

use std::path::{Path, PathBuf};

use base64::Engine;

use super::RpcError;

/// RPC credentials.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// The `.cookie` file bitcoind writes into its data dir when no `-rpcpassword` is set.
    /// Read on every (re)connect, since bitcoind writes a new one on each start.
    CookieFile(PathBuf),
    /// `-rpcuser`/`-rpcpassword`, or a user from `-rpcauth`.
    UserPass {
        /// The RPC user.
        user: String,
        /// The RPC password.
        password: String,
    },
}

impl Auth {
    /// The cookie file of a bitcoind with data dir `datadir` on `network`.
    pub fn cookie_in(datadir: &Path, network: bitcoin::Network) -> Self {
        let dir = match network {
            bitcoin::Network::Bitcoin => datadir.to_path_buf(),
            bitcoin::Network::Testnet => datadir.join("testnet3"),
            other => datadir.join(other.to_core_arg()),
        };
        Auth::CookieFile(dir.join(".cookie"))
    }

    /// The `user:password` pair, reading the cookie file if that is the method.
    pub fn credentials(&self) -> Result<(String, String), RpcError> {
        match self {
            Auth::UserPass { user, password } => Ok((user.clone(), password.clone())),
            Auth::CookieFile(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| RpcError::Cookie {
                    path: path.clone(),
                    source,
                })?;
                let (user, password) = text
                    .trim_end()
                    .split_once(':')
                    .ok_or_else(|| RpcError::MalformedCookie { path: path.clone() })?;
                Ok((user.to_owned(), password.to_owned()))
            }
        }
    }

    /// The value of the HTTP `Authorization` header.
    pub(crate) fn header_value(&self) -> Result<String, RpcError> {
        let (user, password) = self.credentials()?;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Ok(format!("Basic {token}"))
    }
}

impl std::fmt::Debug for Auth {
    // Never print the password into logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::CookieFile(path) => write!(f, "CookieFile({})", path.display()),
            Auth::UserPass { user, .. } => write!(f, "UserPass({user}, ***)"),
        }
    }
}
