//! A minimal Handle protocol client over TCP, for what the node asks of other servers: the
//! top-level node's `0.NA/<prefix>` and, for recursive resolution, the site serving a prefix.

use std::net::SocketAddr;
use std::time::Duration;

use idnode_core::HandleValue;
use idnode_handle_proto::{
    encode_message, Decoded, Envelope, Header, Message, Request, Response, ENVELOPE_LEN,
    MAX_MESSAGE,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What went wrong asking another server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting or the socket failed.
    #[error("{addr}: {source}")]
    Io {
        /// The server.
        addr: SocketAddr,
        /// The failure.
        source: std::io::Error,
    },
    /// No answer in time.
    #[error("{0}: no answer in time")]
    Timeout(SocketAddr),
    /// The answer is not a well-formed Handle message.
    #[error("{addr}: malformed answer: {reason}")]
    Malformed {
        /// The server.
        addr: SocketAddr,
        /// What was wrong.
        reason: String,
    },
}

/// A server's answer to a resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Response code.
    pub code: u32,
    /// The values (resolution or referral), empty otherwise.
    pub values: Vec<HandleValue>,
    /// The error message, if any.
    pub message: String,
}

/// Resolves `handle` (only `indexes` / `types` when given) at `addr` over TCP, with
/// `recursion_count` in the header.
pub async fn resolve(
    addr: SocketAddr,
    handle: &str,
    indexes: &[u32],
    types: &[&str],
    flags: u32,
    recursion_count: u8,
    timeout: Duration,
) -> Result<Answer, ClientError> {
    let req = Request::Resolution {
        handle,
        indexes: indexes.to_vec(),
        types: types.to_vec(),
    };
    let env = Envelope::request(0, 1);
    let header = Header {
        op_code: req.op_code(),
        op_flags: flags,
        recursion_count,
        expiration: u32::MAX,
        ..Header::default()
    };
    let msg = encode_message(&env, &header, &req.encode());
    let io = |source| ClientError::Io { addr, source };
    let bad = |reason: String| ClientError::Malformed { addr, reason };
    let exchange = async {
        let mut s = TcpStream::connect(addr).await.map_err(io)?;
        s.write_all(&msg).await.map_err(io)?;
        let mut head = [0u8; ENVELOPE_LEN];
        s.read_exact(&mut head).await.map_err(io)?;
        let env = Envelope::decode(&head).map_err(|e| bad(e.to_string()))?;
        let len = env.message_length as usize;
        if len > MAX_MESSAGE {
            return Err(bad(format!("{len}-byte message")));
        }
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).await.map_err(io)?;
        let m = Message::parse(env, &body).map_err(|e| bad(e.to_string()))?;
        let code = m.header.response_code;
        let r = Response::decode(&m).map_err(|e| bad(e.to_string()))?;
        Ok(match r.body {
            Decoded::Values { values, .. } => Answer {
                code,
                values,
                message: String::new(),
            },
            Decoded::Error(msg) => Answer {
                code,
                values: Vec::new(),
                message: msg.to_owned(),
            },
            _ => Answer {
                code,
                values: Vec::new(),
                message: String::new(),
            },
        })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| ClientError::Timeout(addr))?
}
