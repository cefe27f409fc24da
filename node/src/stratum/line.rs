//! Reading newline-delimited requests with a hard cap on line length, so a
//! client sending a huge line is refused after the cap, not buffered whole.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

/// Why no line could be read.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// The line exceeded the cap before its newline.
    #[error("line longer than {max} bytes")]
    TooLong {
        /// The cap.
        max: usize,
    },
    /// The socket failed.
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
}

/// A line reader over a byte stream. [`LineReader::next_line`] is cancel-safe:
/// a partial line survives a `select!` branch being dropped.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: BufReader<R>,
    line: Vec<u8>,
    complete: bool,
    max: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// Reads lines of at most `max` bytes (newline excluded).
    pub fn new(inner: R, max: usize) -> Self {
        LineReader {
            inner: BufReader::with_capacity(4096, inner),
            line: Vec::new(),
            complete: false,
            max,
        }
    }

    /// The next line without its `\n` (and `\r`), or `None` at end of stream.
    pub async fn next_line(&mut self) -> Result<Option<&[u8]>, LineError> {
        if self.complete {
            self.line.clear();
            self.complete = false;
        }
        loop {
            let buf = self.inner.fill_buf().await?;
            if buf.is_empty() {
                // A partial line at end of stream is dropped: the client is gone anyway.
                return Ok(None);
            }
            let (take, found) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i, true),
                None => (buf.len(), false),
            };
            if self.line.len() + take > self.max {
                return Err(LineError::TooLong { max: self.max });
            }
            self.line.extend_from_slice(&buf[..take]);
            self.inner.consume(if found { take + 1 } else { take });
            if found {
                if self.line.last() == Some(&b'\r') {
                    self.line.pop();
                }
                self.complete = true;
                return Ok(Some(&self.line));
            }
        }
    }

    /// Reads and discards input until end of stream, `max_bytes`, or `timeout`,
    /// so a closing connection's last answer is not lost to a reset.
    pub async fn drain(&mut self, max_bytes: usize, timeout: Duration) {
        let mut scratch = [0u8; 4096];
        let mut total = 0;
        let _ = tokio::time::timeout(timeout, async {
            while total < max_bytes {
                match self.inner.read(&mut scratch).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => total += n,
                }
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn splits_lines_and_strips_carriage_returns() {
        let data: &[u8] = b"{\"a\":1}\r\n\n{\"b\":2}\npartial";
        let mut reader = LineReader::new(data, 100);
        assert_eq!(reader.next_line().await.unwrap(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(reader.next_line().await.unwrap(), Some(&b""[..]));
        assert_eq!(reader.next_line().await.unwrap(), Some(&b"{\"b\":2}"[..]));
        assert_eq!(reader.next_line().await.unwrap(), None);
    }

    #[tokio::test]
    async fn refuses_a_line_over_the_cap() {
        let data = vec![b'x'; 1 << 20];
        let mut reader = LineReader::new(&data[..], 16 * 1024);
        assert!(matches!(
            reader.next_line().await,
            Err(LineError::TooLong { max: 16384 })
        ));
        // Not more than the cap plus one buffer was taken from the stream.
        assert!(reader.line.len() <= 16 * 1024);
    }
}
