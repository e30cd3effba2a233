//! A version 1 body written as its rows come, so an interval's rows never
//! wait in memory as records.
//!
//! The body is column by column within each log's section, so a section's
//! bytes cannot be written in order before its last row. Each column is
//! encoded on its own as rows come (its "same as above" and time deltas
//! running from row to row as in [`encode_body`](super::encode_body)), and
//! a column's encoded bytes are compressed into a zstd frame whenever they
//! fill a chunk. zstd decompresses concatenated frames as one stream, so
//! the frames laid end to end in body order (section count, each
//! section's schema and row count, its columns in order) are a compressed
//! body every decoder reads: the uncompressed body is byte for byte the one
//! [`encode_body`](super::encode_body) gives the same rows, and so is the
//! digest. The format does not change; only where zstd frames begin does.
//!
//! What stays in memory is the compressed frames and at most
//! [`TAIL_BUDGET`] of encoded bytes not yet compressed.
//!
//! A section whose rows are all known when it is written (an interval's
//! folded rows, held compactly until it closes) is written column by
//! column instead ([`Stager::section`]), compressed as its bytes come into
//! frames of [`SECTION_FRAME_BYTES`], not per column, so its columns still
//! match each other (a folded log's `ts` and `ts_end`), with no more than
//! a chunk of it uncompressed at a time.
//!
//! A folded log may be written in several such sections (its parts: the
//! agent writes its folded rows when their memory fills, and again at the
//! close). The body then comes in format version 3, whose decoder joins
//! them. Sections written by column follow the rows pushed, in the order
//! they were written, so a log's parts keep their order and the joined
//! rows stand where one section at the close would have put them.

use super::body::{folded_form, put_schema, put_value, tag};
use super::codec::put_varint;
use super::frame::{frame, Compressor, Decompressor};
use super::header::{encode_header, Header};
use super::{EncodeError, MAX_BODY_BYTES, MAX_FIELDS, MAX_SECTIONS, MAX_STR_BYTES};
use crate::record::{LogSchema, Record, Value};
use sha2::{Digest as _, Sha256};

/// Encoded bytes of one column compressed at once: large enough that zstd
/// finds the column's repeats, small enough that many columns fit the
/// budget.
pub const CHUNK_BYTES: usize = 128 << 10;
/// Encoded bytes of every column together not yet compressed: past it,
/// the columns holding at least a 64th of it are compressed (and every
/// column, if that is not enough).
pub const TAIL_BUDGET: usize = 2 << 20;

/// Encoded bytes of a section written by column ([`Stager::section`])
/// compressed as one zstd frame: whoever hashes or reads the body holds a
/// frame's bytes at once, and zstd at the levels used looks back about as
/// far anyway.
pub const SECTION_FRAME_BYTES: usize = 1 << 20;

/// One column of a section as it is written.
struct Column {
    /// Compressed frames of the column's first bytes, in order.
    frames: Vec<Frame>,
    /// Encoded bytes after the frames, not yet compressed.
    tail: Vec<u8>,
    /// The value of the row above, for "same as above".
    prev: Option<Value>,
    /// The last time written, times being coded as differences.
    prev_time: i64,
}

impl Column {
    fn new() -> Column {
        Column {
            frames: Vec::new(),
            tail: Vec::new(),
            prev: None,
            prev_time: 0,
        }
    }
}

/// A section of a [`Stager`] written column by column: each column's
/// values in row order, then the next column's. Its bytes are compressed
/// as they come, into one zstd frame.
pub struct SectionWriter<'a> {
    st: &'a mut Stager,
    schema: &'static LogSchema,
    rows: u64,
    /// The column being written and the rows of it written.
    col: usize,
    row: u64,
    prev: Option<Value>,
    prev_time: i64,
    /// Encoded bytes not yet given to zstd.
    buf: Vec<u8>,
    /// The frames ended, the one being written and its encoded bytes.
    frames: Vec<Frame>,
    z: Vec<u8>,
    len: usize,
    /// Encoded bytes of the frames ended.
    ended: usize,
}

impl SectionWriter<'_> {
    /// The next value of the section.
    pub fn put(&mut self, v: Value) -> Result<(), EncodeError> {
        let nf = self.schema.fields.len();
        if self.col >= nf {
            let max = nf.saturating_mul(self.rows as usize);
            return Err(EncodeError::TooLarge {
                what: "value count of a section written by column",
                len: max.saturating_add(1),
                max,
            });
        }
        if self.prev.as_ref() == Some(&v) {
            self.buf.push(tag::SAME);
        } else {
            put_value(&mut self.buf, &v, &mut self.prev_time)?;
            self.prev = Some(v);
        }
        self.row += 1;
        if self.row == self.rows {
            self.col += 1;
            self.row = 0;
            self.prev = None;
            self.prev_time = 0;
        }
        if self.buf.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), EncodeError> {
        self.len += self.buf.len();
        let st = &mut *self.st;
        let len = st.body_len + st.pending + self.ended + self.len;
        if len > MAX_BODY_BYTES {
            return Err(EncodeError::TooLarge {
                what: "body",
                len,
                max: MAX_BODY_BYTES,
            });
        }
        st.z.stream(&self.buf, &mut self.z)?;
        self.buf.clear();
        if self.len >= SECTION_FRAME_BYTES {
            self.end_frame()?;
            self.st.z.begin_stream()?;
        }
        Ok(())
    }

    fn end_frame(&mut self) -> Result<(), EncodeError> {
        let mut z = std::mem::take(&mut self.z);
        self.st.z.end_stream(&mut z)?;
        // Held until the interval closes: without the room zstd's output
        // was given (a frame of a few rows would keep 128 KiB).
        z.shrink_to_fit();
        let len = std::mem::take(&mut self.len);
        self.ended += len;
        self.frames.push(Frame { z, len });
        Ok(())
    }

    /// Adds the section to the body, every value of it written.
    pub fn finish(mut self) -> Result<(), EncodeError> {
        let nf = self.schema.fields.len();
        if self.rows > 0 && self.col < nf {
            return Err(EncodeError::Compress(std::io::Error::other(format!(
                "section {} ended at row {} of column {}, of {} rows and {nf} columns",
                self.schema.path, self.row, self.col, self.rows
            ))));
        }
        if self.rows == 0 {
            return Ok(());
        }
        self.flush()?;
        if self.len > 0 {
            self.end_frame()?;
        }
        let st = self.st;
        let mut columns: Vec<Column> = (0..nf).map(|_| Column::new()).collect();
        if let Some(first) = columns.first_mut() {
            st.zbytes += self.frames.iter().map(|f| f.z.len()).sum::<usize>();
            st.body_len += self.ended;
            first.frames = self.frames;
        }
        st.rows += self.rows;
        st.sections.push(Section {
            schema: self.schema,
            rows: self.rows,
            columns,
            sealed: true,
        });
        Ok(())
    }
}

/// A zstd frame and the length of what it decompresses to.
struct Frame {
    z: Vec<u8>,
    len: usize,
}

struct Section {
    schema: &'static LogSchema,
    rows: u64,
    columns: Vec<Column>,
    /// Written whole ([`Stager::section`]): no row is added after.
    sealed: bool,
}

/// Writes an interval's body as rows come, with the sender's zstd context.
pub struct Stager {
    z: Compressor,
    sections: Vec<Section>,
    rows: u64,
    /// Bytes in every column's tail.
    pending: usize,
    /// Bytes of every column's frames, compressed and uncompressed.
    zbytes: usize,
    body_len: usize,
}

impl Stager {
    pub fn new(z: Compressor) -> Stager {
        Stager {
            z,
            sections: Vec::new(),
            rows: 0,
            pending: 0,
            zbytes: 0,
            body_len: 0,
        }
    }

    /// Rows written since the last [`Stager::take`].
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Compressed bytes held (the frames of full chunks).
    pub fn compressed_bytes(&self) -> usize {
        self.zbytes
    }

    /// Sections of the body so far (the format holds at most
    /// [`MAX_SECTIONS`]).
    pub fn sections(&self) -> usize {
        self.sections.len()
    }

    /// Adds a row at the end of its log's section. A row that the format
    /// cannot hold (a log past the section or field limits, a string over
    /// the string limit) is refused whole, and the body stays as it was.
    pub fn push(&mut self, rec: Record) -> Result<(), EncodeError> {
        for v in &rec.values {
            let long = match v {
                Value::Str(s) => s.len(),
                Value::Strings(l) => l.iter().map(String::len).max().unwrap_or(0),
                _ => 0,
            };
            if long > MAX_STR_BYTES {
                return Err(EncodeError::TooLarge {
                    what: "string value",
                    len: long,
                    max: MAX_STR_BYTES,
                });
            }
        }
        if self.body_len + self.pending > MAX_BODY_BYTES {
            return Err(EncodeError::TooLarge {
                what: "body",
                len: self.body_len + self.pending,
                max: MAX_BODY_BYTES,
            });
        }
        let at = match self
            .sections
            .iter()
            .position(|s| !s.sealed && std::ptr::eq(s.schema, rec.schema))
        {
            Some(at) => at,
            None => self.open(rec.schema)?,
        };
        let s = &mut self.sections[at];
        s.rows += 1;
        self.rows += 1;
        let mut values = rec.values.into_iter();
        let mut full = false;
        for col in &mut s.columns {
            let v = values.next().unwrap_or(Value::Unset);
            let before = col.tail.len();
            if col.prev.as_ref() == Some(&v) {
                col.tail.push(tag::SAME);
            } else {
                put_value(&mut col.tail, &v, &mut col.prev_time)?;
                col.prev = Some(v);
            }
            self.pending += col.tail.len() - before;
            full |= col.tail.len() >= CHUNK_BYTES;
        }
        if self.pending > TAIL_BUDGET {
            self.compress_tails(None, TAIL_BUDGET / 64)?;
            if self.pending > TAIL_BUDGET {
                self.compress_tails(None, 1)?;
            }
        } else if full {
            self.compress_tails(Some(at), CHUNK_BYTES)?;
        }
        Ok(())
    }

    /// Starts a section of `rows` rows of `schema`, after every section
    /// so far, written column by column ([`SectionWriter`]). It is added
    /// to the body only when [`SectionWriter::finish`] completes it; rows
    /// of its log pushed after go to a section of their own.
    pub fn section(
        &mut self,
        schema: &'static LogSchema,
        rows: u64,
    ) -> Result<SectionWriter<'_>, EncodeError> {
        self.check_open(schema)?;
        self.z.begin_stream()?;
        Ok(SectionWriter {
            st: self,
            schema,
            rows,
            col: 0,
            row: 0,
            prev: None,
            prev_time: 0,
            buf: Vec::new(),
            frames: Vec::new(),
            z: Vec::new(),
            len: 0,
            ended: 0,
        })
    }

    /// Whether a section for `schema` may be added: within the format's
    /// limits, and a log's second only for a folded log (its parts).
    fn check_open(&self, schema: &LogSchema) -> Result<(), EncodeError> {
        if self.sections.len() >= MAX_SECTIONS {
            return Err(EncodeError::TooLarge {
                what: "section count",
                len: self.sections.len() + 1,
                max: MAX_SECTIONS,
            });
        }
        if !folded_form(schema) && self.sections.iter().any(|s| s.schema == schema) {
            return Err(EncodeError::Compress(std::io::Error::other(format!(
                "log {} in a second section: only a folded log comes in parts",
                schema.path
            ))));
        }
        if schema.fields.len() > MAX_FIELDS {
            return Err(EncodeError::TooLarge {
                what: "field count",
                len: schema.fields.len(),
                max: MAX_FIELDS,
            });
        }
        Ok(())
    }

    /// A new section for `schema`, within the format's limits.
    fn open(&mut self, schema: &'static LogSchema) -> Result<usize, EncodeError> {
        self.check_open(schema)?;
        self.sections.push(Section {
            schema,
            rows: 0,
            columns: (0..schema.fields.len()).map(|_| Column::new()).collect(),
            sealed: false,
        });
        Ok(self.sections.len() - 1)
    }

    /// Compresses the tails of at least `min` bytes of section `at`, or of
    /// every section.
    fn compress_tails(&mut self, at: Option<usize>, min: usize) -> Result<(), EncodeError> {
        for (i, s) in self.sections.iter_mut().enumerate() {
            if at.is_some_and(|at| at != i) {
                continue;
            }
            for col in &mut s.columns {
                if col.tail.is_empty() || col.tail.len() < min {
                    continue;
                }
                let mut z = self.z.compress(&col.tail)?;
                // Held until the interval closes: without zstd's bound.
                z.shrink_to_fit();
                let len = col.tail.len();
                self.pending -= len;
                self.body_len += len;
                self.zbytes += z.len();
                col.frames.push(Frame { z, len });
                // Freed, not kept: a quiet column must not hold a chunk.
                col.tail = Vec::new();
            }
        }
        Ok(())
    }

    /// The body of the rows written so far, leaving the stager empty for
    /// the next interval. Pieces of the body not yet compressed are
    /// compressed together between the columns' frames, so a body that
    /// never filled a chunk is one zstd frame, exactly as
    /// [`super::encode`] writes it.
    pub fn take(&mut self) -> Result<StagedBody, EncodeError> {
        let sections = std::mem::take(&mut self.sections);
        // Sections written by column after the rows pushed, and so rows of
        // a log pushed after a part of it: each kind keeps its order.
        let late: Vec<bool> = (0..sections.len())
            .map(|i| {
                let s = &sections[i];
                s.sealed
                    || sections[..i]
                        .iter()
                        .any(|t| t.sealed && t.schema == s.schema)
            })
            .collect();
        let mut order: Vec<(bool, Section)> = late.into_iter().zip(sections).collect();
        order.sort_by_key(|(late, _)| *late);
        let sections: Vec<Section> = order.into_iter().map(|(_, s)| s).collect();
        let parts = sections
            .iter()
            .enumerate()
            .any(|(i, s)| sections[..i].iter().any(|t| t.schema == s.schema));
        let rows = std::mem::take(&mut self.rows);
        self.pending = 0;
        self.zbytes = 0;
        let mut body = StagedBody {
            zbody: Vec::new(),
            frames: Vec::new(),
            body_len: std::mem::take(&mut self.body_len),
            rows,
            parts,
            dict: self.z.dict(),
        };
        let mut run = Vec::new();
        put_varint(&mut run, sections.len() as u64);
        for s in sections {
            put_schema(&mut run, s.schema)?;
            put_varint(&mut run, s.rows);
            for col in s.columns {
                if !col.frames.is_empty() {
                    body.compress(&mut self.z, &mut run)?;
                    for f in col.frames {
                        body.push(&f.z, f.len);
                    }
                }
                run.extend_from_slice(&col.tail);
            }
        }
        body.compress(&mut self.z, &mut run)?;
        if body.body_len > MAX_BODY_BYTES {
            return Err(EncodeError::TooLarge {
                what: "body",
                len: body.body_len,
                max: MAX_BODY_BYTES,
            });
        }
        Ok(body)
    }
}

/// An interval's body, compressed, waiting for its header.
pub struct StagedBody {
    /// The zstd frames, end to end.
    zbody: Vec<u8>,
    /// Each frame's compressed and uncompressed length, in order.
    frames: Vec<(usize, usize)>,
    body_len: usize,
    rows: u64,
    /// A folded log in several sections: the frame is version 3.
    parts: bool,
    dict: Option<u32>,
}

impl StagedBody {
    /// Rows in the body (a key of a folded log once in each of its parts).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Whether a folded log comes in parts (format version 3).
    pub fn parts(&self) -> bool {
        self.parts
    }

    /// Compressed bytes.
    pub fn compressed_len(&self) -> usize {
        self.zbody.len()
    }

    fn push(&mut self, z: &[u8], len: usize) {
        self.zbody.extend_from_slice(z);
        self.frames.push((z.len(), len));
    }

    /// Compresses `run` (added to the body's length) as the next frame and
    /// empties it.
    fn compress(&mut self, z: &mut Compressor, run: &mut Vec<u8>) -> Result<(), EncodeError> {
        if run.is_empty() {
            return Ok(());
        }
        let f = z.compress(run)?;
        self.body_len += run.len();
        self.push(&f, run.len());
        run.clear();
        Ok(())
    }

    /// The batch frame: `header` (its record count set from the body) and
    /// this body, written around the compressed body in its memory. The
    /// digest covers the uncompressed body, so each frame is decompressed
    /// once, in order, with the context `d`, and hashed: the whole body is
    /// never held.
    pub fn encode(self, header: &Header, d: &mut Decompressor) -> Result<Vec<u8>, EncodeError> {
        let mut header = header.clone();
        header.record_count = self.rows;
        let hbytes = encode_header(&header);
        let mut h = Sha256::new();
        h.update(&hbytes);
        let mut buf = Vec::new();
        let mut at = 0;
        for &(zlen, len) in &self.frames {
            let z = self.zbody.get(at..at + zlen).unwrap_or_default();
            at += zlen;
            d.frame_into(self.dict, z, len, &mut buf).map_err(|e| {
                EncodeError::Compress(std::io::Error::other(format!(
                    "a staged frame does not decompress: {e}"
                )))
            })?;
            h.update(&buf);
        }
        frame(
            &hbytes,
            None,
            self.parts,
            self.zbody,
            self.body_len,
            h.finalize().into(),
            self.dict,
        )
    }
}
