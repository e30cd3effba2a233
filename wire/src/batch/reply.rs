//! The uplink's exchange: one bidirectional QUIC stream per batch and the
//! collector's one-message answer.

use super::codec::{put_str, Reader};
use super::DecodeError;

/// The ALPN protocol of the uplink: one bidirectional QUIC stream per
/// batch; the agent writes the encoded batch and finishes the stream, the
/// collector answers with one [`Reply`] and finishes.
pub const ALPN: &[u8] = b"osect/1";
/// Longest reply message.
pub const MAX_REPLY_BYTES: usize = 1024;

/// The collector's answer to one batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Stored durably (now or before, with the same digest): the agent may
    /// delete it.
    Stored,
    /// Not a valid batch (malformed, oversized, digest mismatch): sending it
    /// again will not help.
    Malformed(String),
    /// The device may not send this batch (its certificate names another
    /// device, or the sequence number is taken by different content).
    Refused(String),
    /// The collector could not store it now; retry later.
    Retry(String),
    /// A delta whose base the collector does not have (its store was
    /// replaced, the base is another device's or differs from the one
    /// stored): send this batch again in full.
    NeedFull(String),
}

impl Reply {
    pub fn encode(&self) -> Vec<u8> {
        let (code, msg) = match self {
            Reply::Stored => (0u8, ""),
            Reply::Malformed(m) => (1, m.as_str()),
            Reply::Refused(m) => (2, m.as_str()),
            Reply::Retry(m) => (3, m.as_str()),
            Reply::NeedFull(m) => (4, m.as_str()),
        };
        let mut end = msg.len().min(MAX_REPLY_BYTES);
        while !msg.is_char_boundary(end) {
            end -= 1;
        }
        let mut o = vec![code];
        put_str(&mut o, &msg[..end]);
        o
    }

    pub fn decode(bytes: &[u8]) -> Result<Reply, DecodeError> {
        let mut r = Reader::new(bytes);
        let code = r.u8("reply code")?;
        let n = r.len("reply message", MAX_REPLY_BYTES)?;
        let at = r.pos;
        let msg = String::from_utf8(r.take(n, "reply message")?.to_vec()).map_err(|_| {
            DecodeError::Invalid {
                what: "reply message: not UTF-8".into(),
                at,
            }
        })?;
        if r.remaining() != 0 {
            return r.invalid("trailing bytes in reply".into());
        }
        Ok(match code {
            0 => Reply::Stored,
            1 => Reply::Malformed(msg),
            2 => Reply::Refused(msg),
            3 => Reply::Retry(msg),
            4 => Reply::NeedFull(msg),
            c => return r.invalid(format!("reply code {c}")),
        })
    }
}
