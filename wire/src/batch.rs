//! The uplink batch: one interval's records and the sensor's health, in a
//! compact, versioned, self-describing binary encoding, zstd-compressed.
//!
//! # Frame layout (format version 1)
//!
//! ```text
//! magic        4 bytes  "OSCB"
//! version      1 byte   FORMAT_VERSION
//! flags        1 byte   bit 0: the body was compressed with a dictionary
//! dict id      4 bytes  LE, 0 without dictionary
//! header len   varint   then the header, uncompressed (see `Header`)
//! body len     varint   uncompressed body length
//! zbody len    varint   then the zstd frame of the body
//! digest       32 bytes sha256(header bytes || uncompressed body)
//! ```
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

use crate::record::{Field, FieldType, LogSchema, Record, Value};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Mutex, OnceLock};

pub const MAGIC: [u8; 4] = *b"OSCB";
pub const FORMAT_VERSION: u8 = 1;
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

/// The sensor's health for one interval. Counts are for the interval unless
/// said otherwise.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Health {
    /// Packets and bytes seen on the mirror port.
    pub packets: u64,
    pub bytes: u64,
    /// Packets the kernel dropped because the ring was full.
    pub kernel_drops: u64,
    /// Times the kernel froze the ring queue.
    pub kernel_freezes: u64,
    /// Frames that could not be decoded.
    pub malformed: u64,
    /// Flow table entries evicted before their end.
    pub flows_evicted: u64,
    /// Records dropped because a table or the interval buffer was full.
    pub records_dropped: u64,
    /// Records with a truncated string field.
    pub records_truncated: u64,
    /// Batches waiting in the spool when this one closed (itself excluded).
    pub spool_depth: u64,
    /// Bytes waiting in the spool when this one closed.
    pub spool_bytes: u64,
    /// Batches evicted from the full or expired spool since the last batch.
    pub spool_evictions: u64,
    /// Corrupt spool files quarantined since the last batch.
    pub spool_quarantined: u64,
    /// Intervals lost because the agent stopped without closing them
    /// (power cut, kill), reported once by the next batch.
    pub lost_intervals: u64,
    /// Start of the last lost interval (µs), 0 when none.
    pub lost_interval_start_us: i64,
    /// Packets seen in the lost intervals before they were lost.
    pub lost_packets: u64,
}

/// Who sent a batch and what it covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// The device serial, equal to its certificate's subject CN.
    pub device_id: String,
    /// The site the device serves; empty when unassigned.
    pub site: String,
    /// Per device, starting at 1, one per closed interval, never reused.
    pub seq: u64,
    pub interval_start_us: i64,
    pub interval_end_us: i64,
    pub agent_version: String,
    /// Cyclic industrial operations are aggregated (one row per key).
    pub aggregated: bool,
    /// Records in the body.
    pub record_count: u64,
    pub health: Health,
}

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
}

/// A zstd dictionary trained on the project's records, known to both ends
/// by its id.
pub struct Dictionary {
    pub id: u32,
    pub bytes: &'static [u8],
}

/// Dictionaries this build knows (see `wire/dict/README.md`). A
/// dictionary is never changed once shipped: a new one gets a new id, and
/// collectors keep the old ones for the devices not yet updated.
pub static DICTIONARIES: &[Dictionary] = &[Dictionary {
    id: 1,
    bytes: include_bytes!("../dict/records-v1.zdict"),
}];

pub fn dictionary(id: u32) -> Option<&'static Dictionary> {
    DICTIONARIES.iter().find(|d| d.id == id)
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
    #[error("batch format version {0} not supported (this build reads {FORMAT_VERSION})")]
    Version(u8),
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

/// Encodes a batch. `level` is the zstd level; `dict` picks a dictionary.
/// The header's `record_count` is set from the records.
pub fn encode(
    batch: &Batch,
    level: i32,
    dict: Option<&Dictionary>,
) -> Result<Vec<u8>, EncodeError> {
    let mut header = batch.header.clone();
    header.record_count = batch.records.len() as u64;
    let hbytes = encode_header(&header);
    let body = encode_body(&batch.records)?;
    if body.len() > MAX_BODY_BYTES {
        return Err(EncodeError::TooLarge {
            what: "body",
            len: body.len(),
            max: MAX_BODY_BYTES,
        });
    }
    let z = match dict {
        Some(d) => zstd::bulk::Compressor::with_dictionary(level, d.bytes)?.compress(&body)?,
        None => zstd::bulk::compress(&body, level)?,
    };
    let mut out = Vec::with_capacity(z.len() + hbytes.len() + 64);
    out.extend_from_slice(&MAGIC);
    out.push(FORMAT_VERSION);
    out.push(if dict.is_some() { FLAG_DICT } else { 0 });
    out.extend_from_slice(&dict.map_or(0, |d| d.id).to_le_bytes());
    put_varint(&mut out, hbytes.len() as u64);
    out.extend_from_slice(&hbytes);
    put_varint(&mut out, body.len() as u64);
    put_varint(&mut out, z.len() as u64);
    out.extend_from_slice(&z);
    out.extend_from_slice(&content_digest(&hbytes, &body));
    if out.len() > MAX_FRAME_BYTES {
        return Err(EncodeError::TooLarge {
            what: "frame",
            len: out.len(),
            max: MAX_FRAME_BYTES,
        });
    }
    Ok(out)
}

/// The frame's parts, checked for layout but not for content.
struct Frame<'a> {
    header_bytes: &'a [u8],
    dict: Option<u32>,
    body_len: usize,
    zbody: &'a [u8],
    digest: [u8; DIGEST_LEN],
}

fn split_frame(bytes: &[u8]) -> Result<Frame<'_>, DecodeError> {
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(DecodeError::TooLarge {
            what: "frame",
            len: bytes.len(),
            max: MAX_FRAME_BYTES,
        });
    }
    let mut r = Reader::new(bytes);
    if r.take(4, "magic")? != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    let version = r.u8("format version")?;
    if version != FORMAT_VERSION {
        return Err(DecodeError::Version(version));
    }
    let flags = r.u8("flags")?;
    if flags & !FLAG_DICT != 0 {
        return r.invalid(format!("unknown flags {flags:#04x}"));
    }
    let dict_id = u32::from_le_bytes(take_array(&mut r, "dictionary id")?);
    let dict = if flags & FLAG_DICT != 0 {
        Some(dict_id)
    } else if dict_id != 0 {
        return r.invalid(format!(
            "dictionary id {dict_id} without the dictionary flag"
        ));
    } else {
        None
    };
    let hlen = r.len("header length", MAX_HEADER_BYTES)?;
    let header_bytes = r.take(hlen, "header")?;
    let body_len = r.len_unchecked("body length", MAX_BODY_BYTES)?;
    let zlen = r.len("compressed body length", MAX_FRAME_BYTES)?;
    let zbody = r.take(zlen, "compressed body")?;
    let digest = take_array(&mut r, "digest")?;
    if r.remaining() != 0 {
        return r.invalid(format!("{} trailing bytes after the digest", r.remaining()));
    }
    Ok(Frame {
        header_bytes,
        dict,
        body_len,
        zbody,
        digest,
    })
}

/// Reads the header and digest without touching the body. The digest is
/// not verified: only [`decode`] does that.
pub fn read_frame_info(bytes: &[u8]) -> Result<FrameInfo, DecodeError> {
    let f = split_frame(bytes)?;
    Ok(FrameInfo {
        header: decode_header(f.header_bytes)?,
        digest: f.digest,
        compressed_len: f.zbody.len(),
    })
}

/// Decodes and verifies a whole batch.
pub fn decode(bytes: &[u8]) -> Result<Batch, DecodeError> {
    let f = split_frame(bytes)?;
    let header = decode_header(f.header_bytes)?;
    let body = match f.dict {
        Some(id) => {
            let d = dictionary(id).ok_or(DecodeError::UnknownDictionary(id))?;
            zstd::bulk::Decompressor::with_dictionary(d.bytes)
                .and_then(|mut z| z.decompress(f.zbody, f.body_len))
        }
        None => zstd::bulk::decompress(f.zbody, f.body_len),
    }
    .map_err(|e| DecodeError::Decompress(e.to_string()))?;
    if body.len() != f.body_len {
        return Err(DecodeError::Decompress(format!(
            "body is {} bytes, header of the frame says {}",
            body.len(),
            f.body_len
        )));
    }
    if content_digest(f.header_bytes, &body) != f.digest {
        return Err(DecodeError::Digest);
    }
    let records = decode_body(&body)?;
    if records.len() as u64 != header.record_count {
        return Err(DecodeError::Invalid {
            what: format!(
                "header says {} records, body holds {}",
                header.record_count,
                records.len()
            ),
            at: 0,
        });
    }
    Ok(Batch { header, records })
}

fn content_digest(header: &[u8], body: &[u8]) -> [u8; DIGEST_LEN] {
    let mut h = Sha256::new();
    h.update(header);
    h.update(body);
    h.finalize().into()
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

// ---------------------------------------------------------------- uplink

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
}

impl Reply {
    pub fn encode(&self) -> Vec<u8> {
        let (code, msg) = match self {
            Reply::Stored => (0u8, ""),
            Reply::Malformed(m) => (1, m.as_str()),
            Reply::Refused(m) => (2, m.as_str()),
            Reply::Retry(m) => (3, m.as_str()),
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
            c => return r.invalid(format!("reply code {c}")),
        })
    }
}

// ---------------------------------------------------------------- header

fn encode_header(h: &Header) -> Vec<u8> {
    let mut o = Vec::with_capacity(128);
    put_str(&mut o, &h.device_id);
    put_str(&mut o, &h.site);
    put_varint(&mut o, h.seq);
    put_zigzag(&mut o, h.interval_start_us);
    put_zigzag(&mut o, h.interval_end_us);
    put_str(&mut o, &h.agent_version);
    o.push(u8::from(h.aggregated));
    put_varint(&mut o, h.record_count);
    let c = health_counters(&h.health);
    put_varint(&mut o, c.len() as u64);
    for v in c {
        put_varint(&mut o, v);
    }
    put_zigzag(&mut o, h.health.lost_interval_start_us);
    o
}

/// The unsigned health counters in their wire order.
fn health_counters(h: &Health) -> [u64; 14] {
    [
        h.packets,
        h.bytes,
        h.kernel_drops,
        h.kernel_freezes,
        h.malformed,
        h.flows_evicted,
        h.records_dropped,
        h.records_truncated,
        h.spool_depth,
        h.spool_bytes,
        h.spool_evictions,
        h.spool_quarantined,
        h.lost_intervals,
        h.lost_packets,
    ]
}

fn decode_header(bytes: &[u8]) -> Result<Header, DecodeError> {
    let mut r = Reader::new(bytes);
    let device_id = r.string("device id")?;
    if device_id.is_empty() {
        return r.invalid("empty device id".into());
    }
    let site = r.string("site")?;
    let seq = r.varint("sequence number")?;
    let interval_start_us = r.zigzag("interval start")?;
    let interval_end_us = r.zigzag("interval end")?;
    if interval_end_us < interval_start_us {
        return r.invalid("interval ends before it starts".into());
    }
    let agent_version = r.string("agent version")?;
    let aggregated = match r.u8("aggregated flag")? {
        0 => false,
        1 => true,
        v => return r.invalid(format!("aggregated flag {v}")),
    };
    let record_count = r.varint("record count")?;
    let n = r.varint("health counter count")?;
    if n != 14 {
        return r.invalid(format!("{n} health counters, version 1 has 14"));
    }
    let mut c = [0u64; 14];
    for v in &mut c {
        *v = r.varint("health counter")?;
    }
    let lost_interval_start_us = r.zigzag("lost interval start")?;
    if r.remaining() != 0 {
        return r.invalid("trailing bytes in header".into());
    }
    let [packets, bytes, kernel_drops, kernel_freezes, malformed, flows_evicted, records_dropped, records_truncated, spool_depth, spool_bytes, spool_evictions, spool_quarantined, lost_intervals, lost_packets] =
        c;
    Ok(Header {
        device_id,
        site,
        seq,
        interval_start_us,
        interval_end_us,
        agent_version,
        aggregated,
        record_count,
        health: Health {
            packets,
            bytes,
            kernel_drops,
            kernel_freezes,
            malformed,
            flows_evicted,
            records_dropped,
            records_truncated,
            spool_depth,
            spool_bytes,
            spool_evictions,
            spool_quarantined,
            lost_intervals,
            lost_interval_start_us,
            lost_packets,
        },
    })
}

// ---------------------------------------------------------------- body

mod tag {
    pub const UNSET: u8 = 0;
    pub const FALSE: u8 = 1;
    pub const TRUE: u8 = 2;
    pub const COUNT: u8 = 3;
    pub const INT: u8 = 4;
    pub const DOUBLE: u8 = 5;
    pub const TIME: u8 = 6;
    pub const INTERVAL: u8 = 7;
    pub const STR: u8 = 8;
    pub const ADDR4: u8 = 9;
    pub const ADDR6: u8 = 10;
    pub const PORT: u8 = 11;
    pub const STRINGS: u8 = 12;
    pub const COUNTS: u8 = 13;
    pub const INTERVALS: u8 = 14;
    /// The same value as the row before in this column.
    pub const SAME: u8 = 15;
}

const FIELD_TYPES: [FieldType; 14] = [
    FieldType::Time,
    FieldType::Interval,
    FieldType::String,
    FieldType::Addr,
    FieldType::Port,
    FieldType::Count,
    FieldType::Int,
    FieldType::Double,
    FieldType::Bool,
    FieldType::Enum,
    FieldType::SetString,
    FieldType::VectorString,
    FieldType::VectorCount,
    FieldType::VectorInterval,
];

fn type_code(t: FieldType) -> u8 {
    FIELD_TYPES.iter().position(|x| *x == t).unwrap_or(0) as u8
}

/// The uncompressed body for `records` (public for dictionary training).
pub fn encode_body(records: &[Record]) -> Result<Vec<u8>, EncodeError> {
    // Sections in order of first appearance; a few dozen logs at most, so a
    // linear search beats hashing.
    let mut sections: Vec<(&'static LogSchema, Vec<&Record>)> = Vec::new();
    for rec in records {
        match sections.iter_mut().find(|(s, _)| *s == rec.schema) {
            Some((_, rows)) => rows.push(rec),
            None => sections.push((rec.schema, vec![rec])),
        }
    }
    if sections.len() > MAX_SECTIONS {
        return Err(EncodeError::TooLarge {
            what: "section count",
            len: sections.len(),
            max: MAX_SECTIONS,
        });
    }
    let mut o = Vec::with_capacity(records.len() * 32 + 64);
    put_varint(&mut o, sections.len() as u64);
    for (schema, rows) in &sections {
        if schema.fields.len() > MAX_FIELDS {
            return Err(EncodeError::TooLarge {
                what: "field count",
                len: schema.fields.len(),
                max: MAX_FIELDS,
            });
        }
        put_str(&mut o, schema.path);
        put_varint(&mut o, schema.fields.len() as u64);
        for f in schema.fields {
            put_str(&mut o, f.name);
            o.push(type_code(f.ty));
        }
        put_varint(&mut o, rows.len() as u64);
        for col in 0..schema.fields.len() {
            let mut prev_time = 0i64;
            let mut prev: Option<&Value> = None;
            for rec in rows {
                let v = rec.values.get(col).unwrap_or(&Value::Unset);
                if prev == Some(v) {
                    o.push(tag::SAME);
                } else {
                    put_value(&mut o, v, &mut prev_time)?;
                }
                prev = Some(v);
            }
        }
    }
    Ok(o)
}

fn put_value(o: &mut Vec<u8>, v: &Value, prev_time: &mut i64) -> Result<(), EncodeError> {
    match v {
        Value::Unset => o.push(tag::UNSET),
        Value::Bool(false) => o.push(tag::FALSE),
        Value::Bool(true) => o.push(tag::TRUE),
        Value::Count(n) => {
            o.push(tag::COUNT);
            put_varint(o, *n);
        }
        Value::Int(n) => {
            o.push(tag::INT);
            put_zigzag(o, *n);
        }
        Value::Double(d) => {
            o.push(tag::DOUBLE);
            o.extend_from_slice(&d.to_le_bytes());
        }
        Value::Time(t) => {
            o.push(tag::TIME);
            put_zigzag(o, t.wrapping_sub(*prev_time));
            *prev_time = *t;
        }
        Value::Interval(t) => {
            o.push(tag::INTERVAL);
            put_zigzag(o, *t);
        }
        Value::Str(s) => {
            o.push(tag::STR);
            put_checked_str(o, s)?;
        }
        Value::Addr(IpAddr::V4(a)) => {
            o.push(tag::ADDR4);
            o.extend_from_slice(&a.octets());
        }
        Value::Addr(IpAddr::V6(a)) => {
            o.push(tag::ADDR6);
            o.extend_from_slice(&a.octets());
        }
        Value::Port(p) => {
            o.push(tag::PORT);
            put_varint(o, u64::from(*p));
        }
        Value::Strings(v) => {
            o.push(tag::STRINGS);
            put_varint(o, v.len() as u64);
            for s in v {
                put_checked_str(o, s)?;
            }
        }
        Value::Counts(v) => {
            o.push(tag::COUNTS);
            put_varint(o, v.len() as u64);
            for n in v {
                put_varint(o, *n);
            }
        }
        Value::Intervals(v) => {
            o.push(tag::INTERVALS);
            put_varint(o, v.len() as u64);
            for n in v {
                put_zigzag(o, *n);
            }
        }
    }
    Ok(())
}

fn put_checked_str(o: &mut Vec<u8>, s: &str) -> Result<(), EncodeError> {
    if s.len() > MAX_STR_BYTES {
        return Err(EncodeError::TooLarge {
            what: "string value",
            len: s.len(),
            max: MAX_STR_BYTES,
        });
    }
    put_str(o, s);
    Ok(())
}

fn decode_body(body: &[u8]) -> Result<Vec<Record>, DecodeError> {
    let mut r = Reader::new(body);
    let nsec = r.len_unchecked("section count", MAX_SECTIONS)?;
    let mut out = Vec::new();
    for _ in 0..nsec {
        let path = r.string("log path")?;
        let nf = r.len_unchecked("field count", MAX_FIELDS)?;
        let mut fields = Vec::with_capacity(nf);
        for _ in 0..nf {
            let name = r.string("field name")?;
            let code = r.u8("field type")?;
            let ty = *FIELD_TYPES
                .get(usize::from(code))
                .ok_or_else(|| r.invalid_err(format!("field type code {code}")))?;
            fields.push((name, ty));
        }
        let schema = intern_schema(&path, &fields).map_err(|what| r.invalid_err(what))?;
        // Every value takes at least one byte: this bounds the allocation.
        let nrows = r.len_unchecked("row count", body.len())?;
        if nrows.saturating_mul(nf) > r.remaining() {
            return Err(r.truncated("section rows"));
        }
        let mut rows: Vec<Vec<Value>> = (0..nrows).map(|_| Vec::with_capacity(nf)).collect();
        for col in 0..nf {
            let mut prev_time = 0i64;
            for i in 0..rows.len() {
                let v = if r.buf.get(r.pos) == Some(&tag::SAME) {
                    r.pos += 1;
                    match i.checked_sub(1).and_then(|p| rows[p].get(col)) {
                        Some(prev) => prev.clone(),
                        None => {
                            return r.invalid("repeat of a value in a column's first row".into())
                        }
                    }
                } else {
                    get_value(&mut r, &mut prev_time)?
                };
                rows[i].push(v);
            }
        }
        out.extend(rows.into_iter().map(|values| Record { schema, values }));
    }
    if r.remaining() != 0 {
        return r.invalid(format!(
            "{} trailing bytes after the last section",
            r.remaining()
        ));
    }
    Ok(out)
}

fn get_value(r: &mut Reader<'_>, prev_time: &mut i64) -> Result<Value, DecodeError> {
    let t = r.u8("value tag")?;
    Ok(match t {
        tag::UNSET => Value::Unset,
        tag::FALSE => Value::Bool(false),
        tag::TRUE => Value::Bool(true),
        tag::COUNT => Value::Count(r.varint("count")?),
        tag::INT => Value::Int(r.zigzag("int")?),
        tag::DOUBLE => Value::Double(f64::from_le_bytes(take_array(r, "double")?)),
        tag::TIME => {
            let v = prev_time.wrapping_add(r.zigzag("time")?);
            *prev_time = v;
            Value::Time(v)
        }
        tag::INTERVAL => Value::Interval(r.zigzag("interval")?),
        tag::STR => Value::Str(r.string("string value")?.into()),
        tag::ADDR4 => Value::Addr(IpAddr::V4(Ipv4Addr::from(take_array::<4>(
            r,
            "IPv4 address",
        )?))),
        tag::ADDR6 => Value::Addr(IpAddr::V6(Ipv6Addr::from(take_array::<16>(
            r,
            "IPv6 address",
        )?))),
        tag::PORT => {
            let p = r.varint("port")?;
            Value::Port(u16::try_from(p).map_err(|_| r.invalid_err(format!("port {p}")))?)
        }
        tag::STRINGS => {
            let n = r.len_unchecked("string list length", r.remaining())?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(r.string("string list item")?);
            }
            Value::Strings(v)
        }
        tag::COUNTS => {
            let n = r.len_unchecked("count list length", r.remaining())?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(r.varint("count list item")?);
            }
            Value::Counts(v)
        }
        tag::INTERVALS => {
            let n = r.len_unchecked("interval list length", r.remaining())?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(r.zigzag("interval list item")?);
            }
            Value::Intervals(v)
        }
        other => return r.invalid(format!("value tag {other}")),
    })
}

// ---------------------------------------------------------------- schemas

type SchemaKey = (String, Vec<(String, &'static str)>);

/// The `'static` schema for a log path and fields, made once per distinct
/// schema and kept for the life of the process, so decoded records can use
/// the same writers as the agent's own. At most [`MAX_SCHEMAS`] are kept;
/// past that, new schemas are refused.
pub fn intern_schema(
    path: &str,
    fields: &[(String, FieldType)],
) -> Result<&'static LogSchema, String> {
    static TABLE: OnceLock<Mutex<HashMap<SchemaKey, &'static LogSchema>>> = OnceLock::new();
    let key: SchemaKey = (
        path.to_owned(),
        fields
            .iter()
            .map(|(n, t)| (n.clone(), t.zeek_name()))
            .collect(),
    );
    let mut table = TABLE
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .map_err(|_| "schema table poisoned".to_owned())?;
    if let Some(s) = table.get(&key) {
        return Ok(s);
    }
    if table.len() >= MAX_SCHEMAS {
        return Err(format!("more than {MAX_SCHEMAS} distinct log schemas"));
    }
    let leaked: &'static [Field] = Box::leak(
        fields
            .iter()
            .map(|(n, ty)| Field {
                name: Box::leak(n.clone().into_boxed_str()),
                ty: *ty,
            })
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let schema: &'static LogSchema = Box::leak(Box::new(LogSchema {
        path: Box::leak(path.to_owned().into_boxed_str()),
        fields: leaked,
    }));
    table.insert(key, schema);
    Ok(schema)
}

// ---------------------------------------------------------------- primitives

fn put_varint(o: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        o.push((v as u8) | 0x80);
        v >>= 7;
    }
    o.push(v as u8);
}

fn put_zigzag(o: &mut Vec<u8>, v: i64) {
    put_varint(o, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_str(o: &mut Vec<u8>, s: &str) {
    put_varint(o, s.len() as u64);
    o.extend_from_slice(s.as_bytes());
}

fn take_array<const N: usize>(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<[u8; N], DecodeError> {
    let s = r.take(N, what)?;
    let mut a = [0u8; N];
    a.copy_from_slice(s);
    Ok(a)
}

/// A bounds-checked cursor; every error names the item and the offset.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn truncated(&self, what: &'static str) -> DecodeError {
        DecodeError::Truncated { what, at: self.pos }
    }

    fn invalid_err(&self, what: String) -> DecodeError {
        DecodeError::Invalid { what, at: self.pos }
    }

    fn invalid<T>(&self, what: String) -> Result<T, DecodeError> {
        Err(self.invalid_err(what))
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| self.truncated(what))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    fn varint(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.u8(what)?;
            if i == 9 && b > 1 {
                return self.invalid(format!("{what}: varint over 64 bits"));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        self.invalid(format!("{what}: varint over 64 bits"))
    }

    fn zigzag(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        let v = self.varint(what)?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// A length that must fit in the rest of the buffer and under `max`.
    fn len(&mut self, what: &'static str, max: usize) -> Result<usize, DecodeError> {
        let n = self.len_unchecked(what, max)?;
        if n > self.remaining() {
            return Err(self.truncated(what));
        }
        Ok(n)
    }

    /// A count or a length of something stored elsewhere, under `max`.
    fn len_unchecked(&mut self, what: &'static str, max: usize) -> Result<usize, DecodeError> {
        let n = self.varint(what)?;
        match usize::try_from(n) {
            Ok(n) if n <= max => Ok(n),
            _ => Err(DecodeError::TooLarge {
                what,
                len: usize::try_from(n).unwrap_or(usize::MAX),
                max,
            }),
        }
    }

    fn string(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let n = self.len(what, MAX_STR_BYTES)?;
        let at = self.pos;
        let s = self.take(n, what)?;
        String::from_utf8(s.to_vec()).map_err(|_| DecodeError::Invalid {
            what: format!("{what}: not UTF-8"),
            at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::field;

    static CONN: LogSchema = LogSchema {
        path: "conn",
        fields: &[
            field("ts", FieldType::Time),
            field("uid", FieldType::String),
            field("id.orig_h", FieldType::Addr),
            field("id.orig_p", FieldType::Port),
            field("duration", FieldType::Interval),
            field("orig_bytes", FieldType::Count),
            field("local_orig", FieldType::Bool),
            field("tunnel_parents", FieldType::SetString),
            field("score", FieldType::Double),
            field("delta", FieldType::Int),
            field("counts", FieldType::VectorCount),
            field("rtts", FieldType::VectorInterval),
        ],
    };
    static MODBUS: LogSchema = LogSchema {
        path: "modbus",
        fields: &[
            field("ts", FieldType::Time),
            field("func", FieldType::String),
        ],
    };

    fn sample() -> Batch {
        let conn = |i: i64| Record {
            schema: &CONN,
            values: vec![
                Value::Time(1_700_000_000_000_000 + i * 1_234),
                Value::from(format!("C{i}x")),
                Value::Addr(if i % 2 == 0 {
                    "192.168.0.10".parse().unwrap()
                } else {
                    "fe80::1".parse().unwrap()
                }),
                Value::Port(502),
                Value::Interval(-5 + i),
                if i == 1 {
                    Value::Unset
                } else {
                    Value::Count(i as u64 * 1000)
                },
                Value::Bool(i % 3 == 0),
                Value::Strings(vec!["a,b".into(), String::new()]),
                Value::Double(0.25 * i as f64),
                Value::Int(-i),
                Value::Counts(vec![1, u64::MAX]),
                Value::Intervals(vec![-1, 7]),
            ],
        };
        let modbus = |i: i64| Record {
            schema: &MODBUS,
            values: vec![
                Value::Time(1_700_000_000_000_000 + i),
                Value::Str("READ_COILS".into()),
            ],
        };
        Batch {
            header: Header {
                device_id: "OSS-0001".into(),
                site: "plant-a".into(),
                seq: 42,
                interval_start_us: 1_700_000_000_000_000,
                interval_end_us: 1_700_000_060_000_000,
                agent_version: "0.1.0".into(),
                aggregated: true,
                record_count: 5,
                health: Health {
                    packets: 1000,
                    bytes: 123_456,
                    kernel_drops: 3,
                    spool_evictions: 2,
                    lost_intervals: 1,
                    lost_interval_start_us: 1_699_999_940_000_000,
                    lost_packets: 77,
                    ..Health::default()
                },
            },
            records: vec![conn(0), conn(1), conn(2), modbus(0), modbus(1)],
        }
    }

    #[test]
    fn round_trip_with_and_without_dictionary() {
        let b = sample();
        for dict in std::iter::once(None).chain(DICTIONARIES.iter().map(Some)) {
            let bytes = encode(&b, 3, dict).unwrap();
            let d = decode(&bytes).unwrap();
            assert_eq!(d, b);
            let info = read_frame_info(&bytes).unwrap();
            assert_eq!(info.header, b.header);
        }
    }

    #[test]
    fn digest_is_independent_of_level() {
        let b = sample();
        let a = read_frame_info(&encode(&b, 1, None).unwrap())
            .unwrap()
            .digest;
        let c = read_frame_info(&encode(&b, 19, DICTIONARIES.first()).unwrap())
            .unwrap()
            .digest;
        assert_eq!(a, c);
        let mut b2 = b.clone();
        b2.header.seq += 1;
        assert_ne!(
            read_frame_info(&encode(&b2, 1, None).unwrap())
                .unwrap()
                .digest,
            a
        );
    }

    #[test]
    fn decoded_schema_is_interned_and_writes_like_the_original() {
        let bytes = encode(&sample(), 3, None).unwrap();
        let d1 = decode(&bytes).unwrap();
        let d2 = decode(&bytes).unwrap();
        assert!(std::ptr::eq(d1.records[0].schema, d2.records[0].schema));
        let mut a = String::new();
        let mut b = String::new();
        crate::zeek::tsv_row(&mut a, &d1.records[1]);
        crate::zeek::tsv_row(&mut b, &sample().records[1]);
        assert_eq!(a, b);
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_refused() {
        let bytes = encode(&sample(), 3, None).unwrap();
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n]).is_err(), "truncated to {n} accepted");
        }
        for i in 0..bytes.len() {
            let mut c = bytes.clone();
            c[i] ^= 0x5a;
            assert!(decode(&c).is_err(), "byte {i} flipped accepted");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(decode(&long), Err(DecodeError::Invalid { .. })));
    }

    #[test]
    fn limits_are_enforced_before_allocation() {
        // A frame declaring a 2^40-byte body.
        let mut f = Vec::new();
        f.extend_from_slice(&MAGIC);
        f.push(FORMAT_VERSION);
        f.push(0);
        f.extend_from_slice(&0u32.to_le_bytes());
        let h = encode_header(&sample().header);
        put_varint(&mut f, h.len() as u64);
        f.extend_from_slice(&h);
        put_varint(&mut f, 1 << 40);
        let e = decode(&f).unwrap_err();
        assert!(
            matches!(
                e,
                DecodeError::TooLarge {
                    what: "body length",
                    ..
                }
            ),
            "{e}"
        );
        // A body claiming more rows than it has bytes.
        let mut body = Vec::new();
        put_varint(&mut body, 1);
        put_str(&mut body, "x");
        put_varint(&mut body, 1);
        put_str(&mut body, "ts");
        body.push(0);
        put_varint(&mut body, 1_000_000);
        assert!(matches!(
            decode_body(&body),
            Err(DecodeError::TooLarge {
                what: "row count",
                ..
            })
        ));
        // Fewer rows than that, but still more values than bytes left.
        body.truncate(body.len() - 3);
        put_varint(&mut body, 5);
        assert!(matches!(
            decode_body(&body),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn replies_round_trip() {
        for r in [
            Reply::Stored,
            Reply::Malformed("digest".into()),
            Reply::Refused("device OSS-2 is not OSS-1".into()),
            Reply::Retry("disk".into()),
        ] {
            assert_eq!(Reply::decode(&r.encode()).unwrap(), r);
        }
        assert!(Reply::decode(&[9, 0]).is_err());
        assert!(Reply::decode(&[0, 5, b'a']).is_err());
    }

    #[test]
    fn wrong_version_and_magic_are_named() {
        let mut bytes = encode(&sample(), 3, None).unwrap();
        bytes[4] = 9;
        assert!(decode(&bytes)
            .unwrap_err()
            .to_string()
            .contains("version 9"));
        bytes[0] = b'X';
        assert!(matches!(decode(&bytes), Err(DecodeError::BadMagic)));
    }
}
