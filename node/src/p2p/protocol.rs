//! The sync protocol's messages and their compact, capped wire codec, and the
//! names (gossip topic, protocol ids, identify version) that carry the
//! sharechain id so that two sharechains never mix.
//!
//! One request per stream. Request: a tag byte, then
//! `Tip` (0x01) | `Headers` (0x02: u8 locator count <= 64, 32-byte ids,
//! u16 max) | `Shares` (0x03: u16 count <= 500, 32-byte ids).
//! Response: `Tip` (0x01: u8 0 | u8 1, id, u32 height, 32-byte big-endian
//! work) | `Headers` (0x02: u16 count <= 2000, ids) | `Shares` (0x03: u16
//! count <= 500, each u16 length <= 4096 and the encoded share) | `Busy`
//! (0x04, rate limited). Integers little-endian; trailing bytes rejected.

use std::io;

use bitcoin::pow::Work;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use sharechain::params::MAX_SHARE_SIZE;
use sharechain::{ShareId, SharechainId};

use super::sink::ChainTip;

/// Most locator entries a request may carry (a locator of a 2^60 chain).
pub const MAX_LOCATOR: usize = 64;
/// Most ids one headers answer carries.
pub const MAX_HEADERS: usize = 2000;
/// Most shares one request asks for (and one answer carries).
pub const MAX_SHARES_PER_REQUEST: usize = 500;
/// Largest request on the wire: a full shares request.
pub const MAX_REQUEST_BYTES: usize = 3 + 32 * MAX_SHARES_PER_REQUEST;
/// Largest response on the wire: a full batch of the largest shares.
pub const MAX_RESPONSE_BYTES: usize = 3 + MAX_SHARES_PER_REQUEST * (2 + MAX_SHARE_SIZE);
/// Largest gossip message accepted by gossipsub itself; shares above
/// `MAX_SHARE_SIZE` but below this reach the decoder and get their sender banned.
pub const MAX_GOSSIP_BYTES: usize = 16 * 1024;

/// Names derived from one sharechain.
#[derive(Clone, Debug)]
pub struct Names {
    /// Gossip topic for whole shares: `sharemint/<network>/<id hex>/shares`.
    pub topic: String,
    /// Sync request-response protocol.
    pub sync: StreamProtocol,
    /// Kademlia protocol (a DHT per sharechain).
    pub kad: StreamProtocol,
    /// Identify protocol version; peers announcing another one are dropped.
    pub identify: String,
}

impl Names {
    /// The names for sharechain `id` on bitcoin network `network` (e.g. "regtest").
    pub fn new(network: &str, id: SharechainId) -> Self {
        let hex = id.to_string();
        let stream = |what: &str| {
            StreamProtocol::try_from_owned(format!("/sharemint/{hex}/{what}/1"))
                .expect("protocol name starts with a slash")
        };
        Names {
            topic: format!("sharemint/{network}/{hex}/shares"),
            sync: stream("sync"),
            kad: stream("kad"),
            identify: format!("sharemint/{network}/{hex}/1"),
        }
    }
}

/// A sync request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncRequest {
    /// The peer's best tip.
    Tip,
    /// Best-chain ids after the locator.
    Headers {
        /// Our block locator, newest first.
        locator: Vec<ShareId>,
        /// Most ids wanted.
        max: u16,
    },
    /// Encoded shares by id.
    Shares(Vec<ShareId>),
}

/// A sync response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncResponse {
    /// The peer's tip, `None` if its chain is empty.
    Tip(Option<ChainTip>),
    /// Best-chain ids, oldest first.
    Headers(Vec<ShareId>),
    /// Encoded shares, in the order asked, unknown ones left out.
    Shares(Vec<Vec<u8>>),
    /// Refused: the requester is over its rate limit.
    Busy,
}

/// Why a message does not decode.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    /// Message ends inside a field.
    #[error("sync message truncated")]
    Truncated,
    /// Bytes after the message.
    #[error("sync message has trailing bytes")]
    Trailing,
    /// Unknown tag byte.
    #[error("unknown sync message tag {0:#04x}")]
    Tag(u8),
    /// A count or length over its cap.
    #[error("sync message field of {got} over its cap of {cap}")]
    OverCap {
        /// The value sent.
        got: usize,
        /// The cap.
        cap: usize,
    },
    /// Message larger than any valid one.
    #[error("sync message over {0} bytes")]
    TooLarge(usize),
}

impl From<WireError> for io::Error {
    fn from(err: WireError) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, err)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.bytes.len() < n {
            return Err(WireError::Truncated);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn array32(&mut self) -> Result<[u8; 32], WireError> {
        Ok(self.take(32)?.try_into().expect("took 32 bytes"))
    }
    fn id(&mut self) -> Result<ShareId, WireError> {
        Ok(ShareId::from_byte_array(self.array32()?))
    }
    fn count(&mut self, wide: bool, cap: usize) -> Result<usize, WireError> {
        let n = if wide {
            self.u16()? as usize
        } else {
            self.u8()? as usize
        };
        if n > cap {
            return Err(WireError::OverCap { got: n, cap });
        }
        Ok(n)
    }
    fn ids(&mut self, wide: bool, cap: usize) -> Result<Vec<ShareId>, WireError> {
        let n = self.count(wide, cap)?;
        (0..n).map(|_| self.id()).collect()
    }
    fn finish<T>(self, value: T) -> Result<T, WireError> {
        if self.bytes.is_empty() {
            Ok(value)
        } else {
            Err(WireError::Trailing)
        }
    }
}

fn put_ids(out: &mut Vec<u8>, ids: &[ShareId]) {
    for id in ids {
        out.extend_from_slice(&id.to_byte_array());
    }
}

impl SyncRequest {
    /// Wire bytes. Callers keep within the caps (checked on decode).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            SyncRequest::Tip => out.push(1),
            SyncRequest::Headers { locator, max } => {
                out.push(2);
                out.push(locator.len().min(MAX_LOCATOR) as u8);
                put_ids(&mut out, &locator[..locator.len().min(MAX_LOCATOR)]);
                out.extend_from_slice(&max.to_le_bytes());
            }
            SyncRequest::Shares(ids) => {
                out.push(3);
                out.extend_from_slice(&(ids.len() as u16).to_le_bytes());
                put_ids(&mut out, ids);
            }
        }
        out
    }

    /// Parses wire bytes, rejecting anything over a cap.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        if bytes.len() > MAX_REQUEST_BYTES {
            return Err(WireError::TooLarge(MAX_REQUEST_BYTES));
        }
        let mut r = Reader { bytes };
        let request = match r.u8()? {
            1 => SyncRequest::Tip,
            2 => {
                let locator = r.ids(false, MAX_LOCATOR)?;
                let max = r.u16()?;
                SyncRequest::Headers { locator, max }
            }
            3 => SyncRequest::Shares(r.ids(true, MAX_SHARES_PER_REQUEST)?),
            tag => return Err(WireError::Tag(tag)),
        };
        r.finish(request)
    }
}

impl SyncResponse {
    /// Wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            SyncResponse::Tip(None) => out.extend_from_slice(&[1, 0]),
            SyncResponse::Tip(Some(tip)) => {
                out.extend_from_slice(&[1, 1]);
                out.extend_from_slice(&tip.id.to_byte_array());
                out.extend_from_slice(&tip.height.to_le_bytes());
                out.extend_from_slice(&tip.work.to_be_bytes());
            }
            SyncResponse::Headers(ids) => {
                out.push(2);
                out.extend_from_slice(&(ids.len() as u16).to_le_bytes());
                put_ids(&mut out, ids);
            }
            SyncResponse::Shares(shares) => {
                out.push(3);
                out.extend_from_slice(&(shares.len() as u16).to_le_bytes());
                for share in shares {
                    out.extend_from_slice(&(share.len() as u16).to_le_bytes());
                    out.extend_from_slice(share);
                }
            }
            SyncResponse::Busy => out.push(4),
        }
        out
    }

    /// Parses wire bytes, rejecting anything over a cap.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        if bytes.len() > MAX_RESPONSE_BYTES {
            return Err(WireError::TooLarge(MAX_RESPONSE_BYTES));
        }
        let mut r = Reader { bytes };
        let response = match r.u8()? {
            1 => match r.u8()? {
                0 => SyncResponse::Tip(None),
                1 => SyncResponse::Tip(Some(ChainTip {
                    id: r.id()?,
                    height: r.u32()?,
                    work: Work::from_be_bytes(r.array32()?),
                })),
                other => return Err(WireError::Tag(other)),
            },
            2 => SyncResponse::Headers(r.ids(true, MAX_HEADERS)?),
            3 => {
                let n = r.count(true, MAX_SHARES_PER_REQUEST)?;
                let mut shares = Vec::with_capacity(n);
                for _ in 0..n {
                    let len = r.count(true, MAX_SHARE_SIZE)?;
                    shares.push(r.take(len)?.to_vec());
                }
                SyncResponse::Shares(shares)
            }
            4 => SyncResponse::Busy,
            tag => return Err(WireError::Tag(tag)),
        };
        r.finish(response)
    }
}

/// The request-response codec: length-capped reads, then [`SyncRequest::decode`]
/// / [`SyncResponse::decode`].
#[derive(Clone, Debug, Default)]
pub struct SyncCodec;

async fn read_capped<T: AsyncRead + Unpin + Send>(io: &mut T, cap: usize) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    io.take(cap as u64 + 1).read_to_end(&mut bytes).await?;
    if bytes.len() > cap {
        return Err(WireError::TooLarge(cap).into());
    }
    Ok(bytes)
}

async fn write_all<T: AsyncWrite + Unpin + Send>(io: &mut T, bytes: Vec<u8>) -> io::Result<()> {
    io.write_all(&bytes).await?;
    io.close().await
}

impl libp2p::request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = SyncRequest;
    type Response = SyncResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_capped(io, MAX_REQUEST_BYTES).await?;
        Ok(SyncRequest::decode(&bytes)?)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_capped(io, MAX_RESPONSE_BYTES).await?;
        Ok(SyncResponse::decode(&bytes)?)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: SyncRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_all(io, req.encode()).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: SyncResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_all(io, res.encode()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ShareId {
        ShareId::from_byte_array([n; 32])
    }

    #[test]
    fn messages_round_trip() {
        let requests = [
            SyncRequest::Tip,
            SyncRequest::Headers {
                locator: vec![id(1), id(2)],
                max: 2000,
            },
            SyncRequest::Shares(vec![id(3)]),
        ];
        for request in requests {
            assert_eq!(SyncRequest::decode(&request.encode()), Ok(request));
        }
        let tip = ChainTip {
            id: id(4),
            height: 7,
            work: Work::from_be_bytes([9; 32]),
        };
        let responses = [
            SyncResponse::Tip(None),
            SyncResponse::Tip(Some(tip)),
            SyncResponse::Headers(vec![id(5); 3]),
            SyncResponse::Shares(vec![vec![1, 2, 3], vec![]]),
            SyncResponse::Busy,
        ];
        for response in responses {
            assert_eq!(SyncResponse::decode(&response.encode()), Ok(response));
        }
    }

    #[test]
    fn decoder_rejects_garbage_over_caps_and_trailing_bytes() {
        assert_eq!(SyncRequest::decode(&[]), Err(WireError::Truncated));
        assert_eq!(SyncRequest::decode(&[9]), Err(WireError::Tag(9)));
        assert_eq!(SyncRequest::decode(&[1, 0]), Err(WireError::Trailing));
        let over = (MAX_SHARES_PER_REQUEST as u16 + 1).to_le_bytes();
        assert!(matches!(
            SyncRequest::decode(&[3, over[0], over[1]]),
            Err(WireError::OverCap { .. })
        ));
        let long_share = ((MAX_SHARE_SIZE + 1) as u16).to_le_bytes();
        assert!(matches!(
            SyncResponse::decode(&[3, 1, 0, long_share[0], long_share[1]]),
            Err(WireError::OverCap { .. })
        ));
        assert_eq!(
            SyncResponse::decode(&[2, 1, 0, 7]),
            Err(WireError::Truncated)
        );
    }
}
