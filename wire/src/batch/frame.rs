//! The frame around header and body: magic, version, flags, dictionary,
//! lengths, the compressed body and the content digest.

use super::body::{decode_body, encode_body};
use super::codec::{put_varint, take_array, Reader};
use super::delta::{decode_delta_body, encode_delta_body};
use super::dict::{dictionary, Dictionary};
use super::header::{decode_header, encode_header, Header};
use super::policy::{AnySchema, Limits, SchemaPolicy};
use super::{
    Base, BaseRef, Batch, DecodeError, EncodeError, FrameInfo, DELTA_VERSION, DIGEST_LEN,
    FLAG_DICT, FULL_VERSION, MAGIC, MAX_BODY_BYTES, MAX_FRAME_BYTES, MAX_HEADER_BYTES,
    PARTS_VERSION,
};
use crate::record::Record;
use sha2::{Digest as _, Sha256};

/// Encodes a batch in full (format version 1). `level` is the zstd level;
/// `dict` picks a dictionary. The header's `record_count` is set from the
/// records. A sender of many batches keeps a [`Compressor`] instead: this
/// makes a zstd context (and digests the dictionary) for one batch.
pub fn encode(
    batch: &Batch,
    level: i32,
    dict: Option<&Dictionary>,
) -> Result<Vec<u8>, EncodeError> {
    Compressor::new(level, dict)?.encode(batch)
}

/// Encodes a batch as a delta on `base` (format version 2): rows are
/// written as references to the base's rows and what changed. The digest
/// is the one [`encode`] gives the same batch, so the collector takes a
/// delta and a full send of one batch as the same batch. One-shot, as
/// [`encode`]; see [`Compressor::encode_delta`].
pub fn encode_delta(
    batch: &Batch,
    base: &Base,
    level: i32,
    dict: Option<&Dictionary>,
) -> Result<Vec<u8>, EncodeError> {
    Compressor::new(level, dict)?.encode_delta(batch, base)
}

/// A sender's zstd context: made once, with its dictionary digested once
/// (zstd keeps a dictionary loaded into a context for every later frame),
/// and used for every batch it encodes. Making a context and digesting the
/// dictionary costs more than compressing a small batch.
pub struct Compressor {
    z: zstd::bulk::Compressor<'static>,
    dict: Option<u32>,
}

impl Compressor {
    /// A context at zstd `level`, with `dict` when given.
    pub fn new(level: i32, dict: Option<&Dictionary>) -> Result<Compressor, EncodeError> {
        let z = match dict {
            Some(d) => zstd::bulk::Compressor::with_dictionary(level, d.bytes)?,
            None => zstd::bulk::Compressor::new(level)?,
        };
        Ok(Compressor {
            z,
            dict: dict.map(|d| d.id),
        })
    }

    /// [`encode`] with this context.
    pub fn encode(&mut self, batch: &Batch) -> Result<Vec<u8>, EncodeError> {
        let hbytes = header_bytes(batch);
        let body = encode_body(&batch.records)?;
        let digest = content_digest(&hbytes, &body);
        self.frame(&hbytes, None, &body, digest)
    }

    /// [`encode_delta`] with this context.
    pub fn encode_delta(&mut self, batch: &Batch, base: &Base) -> Result<Vec<u8>, EncodeError> {
        let hbytes = header_bytes(batch);
        let full = digest(batch)?;
        let body = encode_delta_body(&batch.records, &base.batch.records)?;
        self.frame(&hbytes, Some(base.reference()), &body, full)
    }

    /// One zstd frame of `data`.
    pub(super) fn compress(&mut self, data: &[u8]) -> Result<Vec<u8>, EncodeError> {
        Ok(self.z.compress(data)?)
    }

    pub(super) fn dict(&self) -> Option<u32> {
        self.dict
    }

    /// Starts a zstd frame written piece by piece ([`Compressor::stream`],
    /// [`Compressor::end_stream`]); a frame left unfinished is dropped.
    pub(super) fn begin_stream(&mut self) -> Result<(), EncodeError> {
        self.z
            .context_mut()
            .reset(zstd::zstd_safe::ResetDirective::SessionOnly)
            .map_err(zstd_error)?;
        Ok(())
    }

    /// Compresses `data` into the frame begun, appending to `out` what
    /// zstd gives back so far.
    pub(super) fn stream(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        use zstd::zstd_safe::{zstd_sys::ZSTD_EndDirective, CCtx, InBuffer, OutBuffer};
        let cx = self.z.context_mut();
        let mut input = InBuffer::around(data);
        while input.pos() < data.len() {
            out.reserve(CCtx::out_size());
            let at = out.len();
            let mut o = OutBuffer::around_pos(out, at);
            cx.compress_stream2(&mut o, &mut input, ZSTD_EndDirective::ZSTD_e_continue)
                .map_err(zstd_error)?;
        }
        Ok(())
    }

    /// Ends the frame begun, appending its last bytes to `out`.
    pub(super) fn end_stream(&mut self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        use zstd::zstd_safe::{CCtx, OutBuffer};
        let cx = self.z.context_mut();
        loop {
            out.reserve(CCtx::out_size());
            let at = out.len();
            let mut o = OutBuffer::around_pos(out, at);
            if cx.end_stream(&mut o).map_err(zstd_error)? == 0 {
                return Ok(());
            }
        }
    }

    /// The frame around `body`, compressed here.
    pub(super) fn frame(
        &mut self,
        hbytes: &[u8],
        base: Option<BaseRef>,
        body: &[u8],
        digest: [u8; DIGEST_LEN],
    ) -> Result<Vec<u8>, EncodeError> {
        check_body_len(body.len())?;
        let z = self.compress(body)?;
        frame(hbytes, base, false, z, body.len(), digest, self.dict)
    }
}

fn zstd_error(code: usize) -> EncodeError {
    EncodeError::Compress(std::io::Error::other(zstd::zstd_safe::get_error_name(code)))
}

fn check_body_len(len: usize) -> Result<(), EncodeError> {
    if len > MAX_BODY_BYTES {
        return Err(EncodeError::TooLarge {
            what: "body",
            len,
            max: MAX_BODY_BYTES,
        });
    }
    Ok(())
}

fn header_bytes(batch: &Batch) -> Vec<u8> {
    let mut header = batch.header.clone();
    header.record_count = batch.records.len() as u64;
    encode_header(&header)
}

/// The digest of `batch` in full: what [`encode`] writes in its frame, and
/// what names the batch to the collector however it was sent. A batch
/// decoded from a frame in parts (version 3) is its parts joined, so this
/// is not that frame's digest (which covers the body as it was written)
/// but the one it has once stored.
pub fn digest(batch: &Batch) -> Result<[u8; DIGEST_LEN], EncodeError> {
    Ok(content_digest(
        &header_bytes(batch),
        &encode_body(&batch.records)?,
    ))
}

/// The frame around a compressed body `z` of `body_len` bytes: a delta on
/// `base`, or a batch in full whose folded logs come in `parts`, or in one
/// section each. The frame is written around `z` in its own memory (the
/// body is moved behind the fields before it, not copied), so a large body
/// is held once.
pub(super) fn frame(
    hbytes: &[u8],
    base: Option<BaseRef>,
    parts: bool,
    z: Vec<u8>,
    body_len: usize,
    digest: [u8; DIGEST_LEN],
    dict: Option<u32>,
) -> Result<Vec<u8>, EncodeError> {
    let mut head = Vec::with_capacity(hbytes.len() + 96);
    head.extend_from_slice(&MAGIC);
    head.push(match (base, parts) {
        (Some(_), _) => DELTA_VERSION,
        (None, true) => PARTS_VERSION,
        (None, false) => FULL_VERSION,
    });
    head.push(if dict.is_some() { FLAG_DICT } else { 0 });
    head.extend_from_slice(&dict.unwrap_or(0).to_le_bytes());
    put_varint(&mut head, hbytes.len() as u64);
    head.extend_from_slice(hbytes);
    if let Some(b) = base {
        put_varint(&mut head, b.seq);
        head.extend_from_slice(&b.digest);
    }
    put_varint(&mut head, body_len as u64);
    put_varint(&mut head, z.len() as u64);
    let len = head.len() + z.len() + DIGEST_LEN;
    if len > MAX_FRAME_BYTES {
        return Err(EncodeError::TooLarge {
            what: "frame",
            len,
            max: MAX_FRAME_BYTES,
        });
    }
    let mut out = z;
    out.reserve_exact(head.len() + DIGEST_LEN);
    out.splice(0..0, head);
    out.extend_from_slice(&digest);
    Ok(out)
}

/// The frame's parts, checked for layout but not for content.
struct Frame<'a> {
    header_bytes: &'a [u8],
    /// The base of a delta (version 2).
    base: Option<BaseRef>,
    /// A batch in full whose folded logs may come in parts (version 3).
    parts: bool,
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
    if !matches!(version, FULL_VERSION | DELTA_VERSION | PARTS_VERSION) {
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
    let base = if version == DELTA_VERSION {
        Some(BaseRef {
            seq: r.varint("base sequence number")?,
            digest: take_array(&mut r, "base digest")?,
        })
    } else {
        None
    };
    let body_len = r.len_unchecked("body length", MAX_BODY_BYTES)?;
    let zlen = r.len("compressed body length", MAX_FRAME_BYTES)?;
    let zbody = r.take(zlen, "compressed body")?;
    let digest = take_array(&mut r, "digest")?;
    if r.remaining() != 0 {
        return r.invalid(format!("{} trailing bytes after the digest", r.remaining()));
    }
    Ok(Frame {
        header_bytes,
        base,
        parts: version == PARTS_VERSION,
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
        base: f.base,
        parts: f.parts,
    })
}

/// Decodes and verifies a whole batch, taking any schema within the
/// format's limits: for batches of a trusted source. One-shot: a receiver
/// of many batches keeps a [`Decompressor`].
pub fn decode(bytes: &[u8]) -> Result<Batch, DecodeError> {
    Decompressor::default().decode(bytes)
}

/// [`Decompressor::decode_with`], one-shot.
pub fn decode_with(
    bytes: &[u8],
    limits: &Limits,
    schemas: &dyn SchemaPolicy,
) -> Result<Batch, DecodeError> {
    Decompressor::default().decode_with(bytes, limits, schemas)
}

/// [`Decompressor::decode_delta_with`], one-shot.
pub fn decode_delta_with(
    bytes: &[u8],
    base: &Base,
    limits: &Limits,
    schemas: &dyn SchemaPolicy,
) -> Result<Batch, DecodeError> {
    Decompressor::default().decode_delta_with(bytes, base, limits, schemas)
}

/// A receiver's zstd contexts: one without dictionary and one per
/// dictionary id met (at most [`super::DICTIONARIES`]), each made once
/// with its dictionary digested once, and used for every batch after.
#[derive(Default)]
pub struct Decompressor {
    plain: Option<zstd::bulk::Decompressor<'static>>,
    dicts: Vec<(u32, zstd::bulk::Decompressor<'static>)>,
}

impl Decompressor {
    /// [`decode`] with these contexts.
    pub fn decode(&mut self, bytes: &[u8]) -> Result<Batch, DecodeError> {
        self.decode_with(bytes, &Limits::FORMAT, &AnySchema)
    }

    /// Decodes and verifies a whole batch whose content must stay within
    /// `limits` and whose sections must have schemas `schemas` takes. The
    /// header's record count and the body length are checked before the
    /// body is decompressed. A delta (version 2) is refused with
    /// [`DecodeError::NeedsBase`]: see [`Decompressor::decode_delta_with`].
    /// A batch in parts (version 3) is checked as it came (its header's
    /// record count is the rows in its body), then its parts are joined:
    /// the batch returned is the batch in full, its record count its rows.
    pub fn decode_with(
        &mut self,
        bytes: &[u8],
        limits: &Limits,
        schemas: &dyn SchemaPolicy,
    ) -> Result<Batch, DecodeError> {
        let f = split_frame(bytes)?;
        if let Some(b) = f.base {
            return Err(DecodeError::NeedsBase(b.seq));
        }
        let (header, body) = self.open(&f, limits)?;
        if content_digest(f.header_bytes, &body) != f.digest {
            return Err(DecodeError::Digest);
        }
        let (records, held) = decode_body(&body, limits, schemas, f.parts)?;
        let mut batch = finish(header, records, held)?;
        batch.header.record_count = batch.records.len() as u64;
        Ok(batch)
    }

    /// Decodes a batch as [`Decompressor::decode_with`] does, a delta
    /// against `base` (which must be the batch the frame names: same
    /// sequence number and digest). A full batch needs no base and decodes
    /// as usual. The rows are resolved, then the digest of the resolved
    /// batch is checked.
    pub fn decode_delta_with(
        &mut self,
        bytes: &[u8],
        base: &Base,
        limits: &Limits,
        schemas: &dyn SchemaPolicy,
    ) -> Result<Batch, DecodeError> {
        let f = split_frame(bytes)?;
        let Some(want) = f.base else {
            return self.decode_with(bytes, limits, schemas);
        };
        if want != base.reference() {
            return Err(DecodeError::BaseMismatch {
                want: want.seq,
                have: base.batch.header.seq,
            });
        }
        let (header, body) = self.open(&f, limits)?;
        let records = decode_delta_body(&body, &base.batch.records, limits, schemas)?;
        let canonical = encode_body(&records).map_err(|e| DecodeError::Invalid {
            what: format!("resolved rows do not encode: {e}"),
            at: 0,
        })?;
        if content_digest(f.header_bytes, &canonical) != f.digest {
            return Err(DecodeError::Digest);
        }
        let held = records.len();
        finish(header, records, held)
    }

    /// The context for dictionary `dict` (`None`: none), made on first use.
    fn context(
        &mut self,
        dict: Option<u32>,
    ) -> Result<&mut zstd::bulk::Decompressor<'static>, DecodeError> {
        let made = |e: std::io::Error| DecodeError::Decompress(e.to_string());
        let Some(id) = dict else {
            if self.plain.is_none() {
                self.plain = Some(zstd::bulk::Decompressor::new().map_err(made)?);
            }
            return self.plain.as_mut().ok_or(DecodeError::UnknownDictionary(0));
        };
        let at = match self.dicts.iter().position(|(d, _)| *d == id) {
            Some(at) => at,
            None => {
                let d = dictionary(id).ok_or(DecodeError::UnknownDictionary(id))?;
                let z = zstd::bulk::Decompressor::with_dictionary(d.bytes).map_err(made)?;
                self.dicts.push((id, z));
                self.dicts.len() - 1
            }
        };
        Ok(&mut self.dicts[at].1)
    }

    /// Decompresses one zstd frame of `len` bytes into `out` (emptied
    /// first).
    pub(super) fn frame_into(
        &mut self,
        dict: Option<u32>,
        z: &[u8],
        len: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), DecodeError> {
        out.clear();
        out.reserve(len);
        let n = self
            .context(dict)?
            .decompress_to_buffer(z, out)
            .map_err(|e| DecodeError::Decompress(e.to_string()))?;
        if n != len {
            return Err(DecodeError::Decompress(format!(
                "frame is {n} bytes, {len} expected"
            )));
        }
        Ok(())
    }

    /// The header, checked against `limits`, and the decompressed body.
    fn open(&mut self, f: &Frame<'_>, limits: &Limits) -> Result<(Header, Vec<u8>), DecodeError> {
        let header = decode_header(f.header_bytes)?;
        if header.record_count > limits.records as u64 {
            return Err(DecodeError::TooLarge {
                what: "record count",
                len: usize::try_from(header.record_count).unwrap_or(usize::MAX),
                max: limits.records,
            });
        }
        if f.body_len > limits.body_bytes {
            return Err(DecodeError::TooLarge {
                what: "body length",
                len: f.body_len,
                max: limits.body_bytes,
            });
        }
        let body = self
            .context(f.dict)?
            .decompress(f.zbody, f.body_len)
            .map_err(|e| DecodeError::Decompress(e.to_string()))?;
        if body.len() != f.body_len {
            return Err(DecodeError::Decompress(format!(
                "body is {} bytes, header of the frame says {}",
                body.len(),
                f.body_len
            )));
        }
        Ok((header, body))
    }
}

/// The batch of `records`, decoded from a body of `held` rows.
fn finish(header: Header, records: Vec<Record>, held: usize) -> Result<Batch, DecodeError> {
    if held as u64 != header.record_count {
        return Err(DecodeError::Invalid {
            what: format!(
                "header says {} records, body holds {held}",
                header.record_count,
            ),
            at: 0,
        });
    }
    Ok(Batch { header, records })
}

pub(super) fn content_digest(header: &[u8], body: &[u8]) -> [u8; DIGEST_LEN] {
    let mut h = Sha256::new();
    h.update(header);
    h.update(body);
    h.finalize().into()
}
