//! A misbehaving sharechain peer for the ban tests: it speaks the real
//! libp2p stack and protocols of the easy test chain, connects to `--connect`,
//! and misbehaves as `--mode` says until killed (or 60 s):
//! `invalid-share` (gossips shares whose hash misses their target),
//! `oversize` (gossips 10 KB of garbage), `flood` (hundreds of sync requests
//! a second), `bogus-sync` (claims a huge tip, answers with ids and shares
//! that do not exist). Prints `peer-id <id>` first.

use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic};
use libp2p::request_response;
use libp2p::swarm::SwarmEvent;
use libp2p::{identity::Keypair, Multiaddr};
use node::p2p::behaviour::{build_swarm, BehaviourEvent};
use node::p2p::protocol::{Names, SyncRequest, SyncResponse};
use node::p2p::testing::{build_chain, easy_config, unix_now};
use node::p2p::{ChainTip, P2pConfig};
use sharechain::ShareId;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "missing {name}; usage: p2p_bad_peer --connect MULTIADDR --mode MODE"
                )
            })
    };
    let connect: Multiaddr = arg("--connect")?.parse()?;
    let mode = arg("--mode")?;
    tokio::runtime::Runtime::new()?.block_on(run(connect, mode))
}

async fn run(connect: Multiaddr, mode: String) -> anyhow::Result<()> {
    let config = easy_config();
    let names = Names::new("regtest", config.id());
    let key = Keypair::generate_ed25519();
    println!("peer-id {}", key.public().to_peer_id());
    let mut swarm = build_swarm(key, &names, &P2pConfig::new("regtest"))?;
    let topic = IdentTopic::new(names.topic.clone());
    swarm.behaviour_mut().gossipsub.subscribe(&topic)?;
    swarm.dial(connect.clone())?;
    let mut share = build_chain(&config, None, 1, unix_now(), 9).remove(0);
    let target = bitcoin::Target::from_compact(share.data.share_bits);
    let mut target_peer = None;
    let mut subscribed = false;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        tokio::select! {
            event = swarm.select_next_some() => match event {
                SwarmEvent::ConnectionEstablished { peer_id, .. } => target_peer = Some(peer_id),
                SwarmEvent::ConnectionClosed { num_established: 0, .. } => {
                    use std::io::Write;
                    let _ = writeln!(std::io::stdout(), "disconnected");
                    subscribed = false;
                    let _ = swarm.dial(connect.clone());
                }
                SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Subscribed { .. })) => {
                    subscribed = true;
                }
                SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                    message: request_response::Message::Request { request, channel, .. },
                    ..
                })) => {
                    let response = bogus_answer(&mode, request);
                    let _ = swarm.behaviour_mut().sync.send_response(channel, response);
                }
                _ => {}
            },
            _ = tick.tick() => {
                let Some(peer) = target_peer else { continue };
                match mode.as_str() {
                    "invalid-share" if subscribed => {
                        // A share whose hash misses its own target (a different one each time).
                        loop {
                            share.header.nonce = share.header.nonce.wrapping_add(1);
                            if !target.is_met_by(share.header.block_hash()) {
                                break;
                            }
                        }
                        let _ = swarm.behaviour_mut().gossipsub.publish(topic.clone(), share.encode());
                    }
                    "oversize" if subscribed => {
                        let mut junk = vec![0xff; 10_000];
                        junk[..4].copy_from_slice(&share.header.nonce.to_le_bytes());
                        share.header.nonce += 1;
                        let _ = swarm.behaviour_mut().gossipsub.publish(topic.clone(), junk);
                    }
                    "flood" => {
                        for _ in 0..300 {
                            swarm.behaviour_mut().sync.send_request(&peer, SyncRequest::Tip);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

fn bogus_answer(mode: &str, request: SyncRequest) -> SyncResponse {
    if mode != "bogus-sync" {
        return SyncResponse::Tip(None);
    }
    let fake = |n: u32| {
        use bitcoin::hashes::{sha256d, Hash};
        ShareId::from_byte_array(sha256d::Hash::hash(&n.to_le_bytes()).to_byte_array())
    };
    match request {
        SyncRequest::Tip => SyncResponse::Tip(Some(ChainTip {
            id: fake(u32::MAX),
            height: 1_000_000,
            work: bitcoin::pow::Work::from_be_bytes([0x7f; 32]),
        })),
        SyncRequest::Headers { max, .. } => {
            SyncResponse::Headers((0..max as u32).map(fake).collect())
        }
        SyncRequest::Shares(ids) => {
            SyncResponse::Shares(ids.iter().map(|_| vec![0xab; 200]).collect())
        }
    }
}
