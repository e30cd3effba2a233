//! The uplink batch: one interval's records and the sensor's health, in a
//! compact, versioned, self-describing binary encoding, zstd-compressed.
//!
//! # Frame layout (format versions 1 to 3)
//!
//! ```text
//! magic        4 bytes  "OSCB"
//! version      1 byte   1: the batch in full; 2: a delta on a base batch;
//!                       3: the batch in full, its folded logs in parts
//! flags        1 byte   bit 0: the body was compressed with a dictionary
//! dict id      4 bytes  LE, 0 without dictionary
//! header len   varint   then the header, uncompressed (see `Header`)
//! base seq     varint   version 2 only: the base batch's sequence number
//! base digest  32 bytes version 2 only: the base batch's digest
//! body len     varint   uncompressed body length
//! zbody len    varint   then the body in zstd frames (one or more, end to end)
//! digest       32 bytes sha256(header bytes || uncompressed version 1 body)
//! ```
//!
//! A delta (version 2, `delta.rs`) writes each row as a reference to a row
//! of the base batch and what changed, or as a new row. The base is a batch
//! of the same device the collector has acknowledged; a collector without
//! it answers [`Reply::NeedFull`] and the agent sends the batch in full. The
//! digest is always the version 1 digest of the resolved batch, so a delta
//! and a full send of one batch are the same batch (same digest) to the
//! collector, which stores the batch in full.
//!
//! A batch in parts (version 3) is laid out as version 1, but a folded log
//! (`ts` first, `ts_end` and `count` last) may have several sections, and a
//! key a row in each: the agent writes what it has folded when its folding
//! memory fills, and folds afresh. Its digest covers the body as written
//! (the agent never holds the joined rows); a decoder joins the parts
//! (counts added, `ts` of the first part, `ts_end` of the last) and returns
//! the batch in full, whose own digest ([`digest`]) is the one the batch has
//! once stored, and the one a delta on it or the uplink's full send of it
//! carries. A decoder that does not know version 3 refuses it, so no
//! collector shows a key's parts as rows of their own.
//!
//! The compressed body may be several zstd frames laid end to end, which
//! zstd decompresses as one stream: a sender that writes an interval's
//! body as its rows come (`Stager`) compresses each column's bytes as they
//! fill. Where frames begin is not part of the content: the uncompressed
//! body, and so the digest, is the same however it was cut.
//!
//! The header stays uncompressed so the collector can check the device id
//! before it spends any work on the body. The digest covers the content, not
//! the compression, so the agent, the collector and a replay can compare
//! batches end to end whatever the zstd level.
//!
//! The body is a list of log sections. Each section names its log path and
//! its fields (name and Zeek type), then holds its rows column by column;
//! every value carries a one-byte tag (its variant) and a compact payload
//! (LEB128 varints, zigzag for signed numbers, times delta-coded within a
//! column), or is the one-byte tag "same as the row above". Columns of
//! similar values make zstd's job easy.
//!
//! Records of one log keep their order; a decoded batch lists its records
//! grouped by log, in the order each log first appeared.
//!
//! Decoding is strict: every length is checked against what remains and
//! against a named limit before anything is allocated, trailing bytes are an
//! error, and the digest must match.
//!
//! # Version policy
//!
//! A fleet is updated in stages, so a collector must take batches from
//! agents newer than itself. The frame's version byte is the major version:
//! a collector reads its own major and every earlier one it has shipped with,
//! and refuses a later one. Within a major version, a newer agent (a minor
//! version) may only:
//!
//! - append health counters after the known ones (the counter count says
//!   how many follow); a collector keeps the ones it does not know
//!   ([`Health::unknown`]) and shows them as unknown;
//! - append header extension fields (tag, length, bytes) after the fixed
//!   fields; a collector keeps the ones it does not know
//!   ([`Header::unknown`]) in their order and shows them as unknown.
//!
//! Anything an older decoder cannot skip (a new fixed field, a counter
//! removed or reordered, a new value tag or field type, a new frame flag,
//! a new body encoding) needs the next major version. Agents write a new
//! major version only in answer to the collector (a delta is sent only on a
//! base the collector acknowledged, and a collector that refuses it gets
//! the batch again in full), so a fleet keeps working while collectors are
//! updated. The body's log sections are checked by the
//! collector against the project's schemas: a new log or field is taken by
//! a collector that knows it, so collectors are updated before the agents
//! that write it (until then such batches are refused and wait in the
//! agents' spools). The digest covers the header's bytes as sent, unknown
//! parts included, and a batch decoded and encoded again is byte-identical.

use crate::record::Record;

mod body;
mod codec;
mod delta;
mod dict;
mod frame;
mod header;
mod policy;
mod reply;
mod schema;
mod stage;
#[cfg(test)]
mod tests;

pub use body::{encode_body, get_key_value, put_key_ref, put_key_value, KeyValue};
pub use delta::{delta_body_parts, BodyPart, PartKind};
pub use dict::{dictionary, Dictionary, DICTIONARIES};
pub use frame::{
    decode, decode_delta_with, decode_with, digest, encode, encode_delta, read_frame_info,
    Compressor, Decompressor,
};
pub use header::{Header, Health, UnknownField};
pub use policy::{AnySchema, Limits, Refusal, SchemaPolicy};
pub use reply::{Reply, ALPN, MAX_REPLY_BYTES};
pub use schema::intern_schema;
pub use stage::{SectionWriter, StagedBody, Stager, CHUNK_BYTES, SECTION_FRAME_BYTES, TAIL_BUDGET};

pub const MAGIC: [u8; 4] = *b"OSCB";
/// The newest format version this build reads (it reads every earlier one).
pub const FORMAT_VERSION: u8 = PARTS_VERSION;
/// A batch in full.
pub const FULL_VERSION: u8 = 1;
/// A batch as a delta on a base batch the collector stores.
pub const DELTA_VERSION: u8 = 2;
/// A batch in full whose folded logs may come in parts.
pub const PARTS_VERSION: u8 = 3;
/// Largest encoded batch accepted (compressed frame).
pub const MAX_FRAME_BYTES: usize = 64 << 20;
/// Largest uncompressed body accepted.
pub const MAX_BODY_BYTES: usize = 512 << 20;
/// Largest header accepted.
pub const MAX_HEADER_BYTES: usize = 4096;
pub const MAX_SECTIONS: usize = 1024;
pub const MAX_FIELDS: usize = 512;
/// Longest string value, log path or field name.
pub const MAX_STR_BYTES: usize = 1 << 20;
/// Distinct log schemas a process keeps (see [`intern_schema`]).
pub const MAX_SCHEMAS: usize = 4096;

const FLAG_DICT: u8 = 1;
const DIGEST_LEN: usize = 32;

#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub header: Header,
    pub records: Vec<Record>,
}

/// What can be learnt from a frame without decompressing its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    pub header: Header,
    pub digest: [u8; DIGEST_LEN],
    pub compressed_len: usize,
    /// The base a delta (format version 2) is written on; `None` in full.
    pub base: Option<BaseRef>,
    /// A batch in full whose folded logs may come in parts (version 3):
    /// [`digest`] of the decoded batch names it once stored.
    pub parts: bool,
}

/// The batch a delta is written on: its sequence number and digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BaseRef {
    pub seq: u64,
    pub digest: [u8; DIGEST_LEN],
}

/// A stored batch deltas are written on and resolved against: the same on
/// both ends, checked by its digest.
#[derive(Clone, Debug, PartialEq)]
pub struct Base {
    pub batch: Batch,
    pub digest: [u8; DIGEST_LEN],
}

impl Base {
    /// Decodes a full batch (a trusted one: the agent's spool, the
    /// collector's store) to serve as a base. A batch in parts is its
    /// parts joined, named by the digest it has once stored.
    pub fn from_frame(bytes: &[u8]) -> Result<Base, DecodeError> {
        let batch = decode(bytes)?;
        let info = read_frame_info(bytes)?;
        let digest = if info.parts {
            digest(&batch).map_err(|e| DecodeError::Invalid {
                what: format!("joined rows do not encode: {e}"),
                at: 0,
            })?
        } else {
            info.digest
        };
        Ok(Base { batch, digest })
    }

    pub fn reference(&self) -> BaseRef {
        BaseRef {
            seq: self.batch.header.seq,
            digest: self.digest,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The frame ended inside an item.
    #[error("batch truncated at byte {at} while reading {what}")]
    Truncated { what: &'static str, at: usize },
    /// Not a batch at all.
    #[error("not a batch: bad magic")]
    BadMagic,
    /// A batch of a format this build does not read.
    #[error("batch format version {0} not supported (this build reads 1 to {FORMAT_VERSION})")]
    Version(u8),
    /// A delta given to a decoder without its base.
    #[error("batch is a delta on batch {0}: it decodes only with that base")]
    NeedsBase(u64),
    /// A delta given another base than the one it names.
    #[error("batch is a delta on batch {want}, not on batch {have} (or not on its content)")]
    BaseMismatch { want: u64, have: u64 },
    /// A length over its limit.
    #[error("batch {what} is {len} bytes/items, over the limit of {max}")]
    TooLarge {
        what: &'static str,
        len: usize,
        max: usize,
    },
    /// A value that cannot be what it claims.
    #[error("batch invalid at byte {at}: {what}")]
    Invalid { what: String, at: usize },
    /// The body was compressed with a dictionary this build does not have.
    #[error("batch compressed with unknown dictionary {0}")]
    UnknownDictionary(u32),
    /// zstd refused the body.
    #[error("batch body does not decompress: {0}")]
    Decompress(String),
    /// The content does not match its digest.
    #[error("batch content digest mismatch")]
    Digest,
    /// A section's schema the decoder's policy does not take.
    #[error("batch refused: {}: {}", .0.reason, .0.detail)]
    Refused(Refusal),
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// zstd failed (bad level or dictionary).
    #[error("zstd: {0}")]
    Compress(#[from] std::io::Error),
    /// The batch is over a decoding limit, so no collector would take it.
    #[error("batch {what} is {len}, over the limit of {max}")]
    TooLarge {
        what: &'static str,
        len: usize,
        max: usize,
    },
}

/// Lower-case hex of a digest, as logs and tests print it.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
