//! The guardians' channel for the DKG: libp2p over TCP with noise (so every
//! connection is encrypted and authenticated by the peers' libp2p keys from
//! the setup strings) and yamux, an allow list holding exactly those peer
//! ids, and one request-response protocol whose requests are DKG messages
//! and whose responses are bare acknowledgements.

use std::io;
use std::time::Duration;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    allow_block_list, identity::Keypair, noise, request_response, tcp, yamux, PeerId,
    StreamProtocol, Swarm,
};

use super::message::MAX_MESSAGE_BYTES;

/// The DKG's protocol name.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/sharemint/dkg/1");

/// The one byte an acknowledgement carries.
const ACK: u8 = 0x01;

/// The DKG's behaviours.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Only the guardians in the roster may connect or be connected to.
    pub allowed: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    /// DKG messages (requests) and acknowledgements (responses).
    pub messages: request_response::Behaviour<DkgCodec>,
}

/// Raw message bytes out, acknowledgements back; decoding happens in the
/// runner so a garbled message can be blamed on its sender.
#[derive(Clone, Debug, Default)]
pub struct DkgCodec;

impl request_response::Codec for DkgCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = ();

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut bytes = Vec::new();
        io.take(MAX_MESSAGE_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .await?;
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("DKG message over {MAX_MESSAGE_BYTES} bytes"),
            ));
        }
        Ok(bytes)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<()>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut byte = [0u8; 1];
        io.read_exact(&mut byte).await?;
        if byte[0] != ACK {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not an acknowledgement",
            ));
        }
        Ok(())
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&req).await?;
        io.close().await
    }

    async fn write_response<T>(&mut self, _: &StreamProtocol, io: &mut T, _: ()) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&[ACK]).await?;
        io.close().await
    }
}

/// Errors building the swarm.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the p2p transport: {0}")]
pub struct TransportError(pub String);

/// A swarm for our `key` that accepts only the peers `allowed`.
pub fn build_swarm(
    key: Keypair,
    allowed: impl IntoIterator<Item = PeerId>,
    request_timeout: Duration,
) -> Result<Swarm<Behaviour>, TransportError> {
    let mut allow = allow_block_list::Behaviour::<allow_block_list::AllowedPeers>::default();
    for peer in allowed {
        allow.allow_peer(peer);
    }
    let messages = request_response::Behaviour::with_codec(
        DkgCodec,
        [(PROTOCOL, request_response::ProtocolSupport::Full)],
        request_response::Config::default().with_request_timeout(request_timeout),
    );
    let swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| TransportError(e.to_string()))?
        .with_behaviour(|_| Behaviour {
            allowed: allow,
            messages,
        })
        .map_err(|e| TransportError(e.to_string()))?
        // The run ends the connections itself; idle ones must survive the
        // wait for a slow guardian.
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    Ok(swarm)
}
