//! Free loopback ports for processes the tests start.

use std::net::TcpListener;

/// `n` distinct ports that were free a moment ago. Another process may take one
/// before ours binds it; starters retry on a bind failure.
pub fn free_ports(n: usize) -> Vec<u16> {
    // Hold every listener until all are chosen so the kernel hands out distinct ports.
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port on 127.0.0.1"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("bound socket has an address").port())
        .collect()
}
