//! `osect-pcap`: reading pcap and pcapng files. A regular file is mapped
//! read-only and parsed in place (no copy into a buffer); anything else (a
//! pipe, a device, any [`Read`]) is read through a fixed buffer. Either way
//! memory stays bounded: the mapped pages already parsed are handed back as
//! reading goes.
//!
//! A crate of its own so that everything that reads captures (the agent's
//! replay, the fuzz seed writer, the benchmark generator) shares one reader
//! without depending on the agent, and the engine stays free of file I/O.

use nix::sys::mman::{madvise, mmap, munmap, MapFlags, MmapAdvise, ProtFlags};
use osect_engine::packet::LinkType;
use pcap_parser::nom::{self, Needed};
use pcap_parser::pcap::parse_pcap_header;
use pcap_parser::pcapng::{parse_block_be, parse_block_le, parse_sectionheaderblock, Block};
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};
use std::ffi::c_void;
use std::fs::File;
use std::io::Read;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

/// Largest record accepted; a larger one means a damaged file.
const MAX_RECORD: usize = 1 << 20;
/// Mapped bytes parsed past this much are dropped from the process's
/// resident pages (they stay in the page cache).
const RELEASE_STEP: usize = 2 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not pcap or pcapng.
    #[error("{path}: not a pcap or pcapng file")]
    NotACapture { path: PathBuf },
    /// A damaged or truncated record.
    #[error("{path}: {what} at byte offset {offset}")]
    Damaged {
        path: PathBuf,
        offset: u64,
        what: String,
    },
}

/// What a capture file held.
#[derive(Clone, Debug, Default)]
pub struct FileSummary {
    pub packets: u64,
    pub first_ts: Option<i64>,
    pub last_ts: Option<i64>,
}

struct Iface {
    link: LinkType,
    /// Timestamp units per second and offset in seconds.
    resolution: u64,
    offset: i64,
}

/// How a legacy pcap file lays out each record's header. Records of a
/// mapped file are read here in place: pcap-parser's frame parsers return
/// through memory, which the caller read back at other widths than they
/// were written (a store-forwarding stall per packet).
#[derive(Clone, Copy)]
struct LegacyFormat {
    big_endian: bool,
    /// 16 bytes, or 24 in the modified (Kuznetzov) format.
    header_len: usize,
}

/// A legacy record's fields as read in place.
struct LegacyRecord<'a> {
    ts_sec: u32,
    ts_usec: u32,
    caplen: u32,
    data: &'a [u8],
}

impl LegacyFormat {
    /// The record at the start of `b` and its length with the header, or
    /// how many more bytes it needs.
    #[inline(always)]
    fn record<'a>(&self, b: &'a [u8]) -> Result<(usize, LegacyRecord<'a>), Needed> {
        let h = b
            .get(..16)
            .ok_or_else(|| Needed::new(self.header_len - b.len()))?;
        let word = |at: usize| {
            let w = [h[at], h[at + 1], h[at + 2], h[at + 3]];
            if self.big_endian {
                u32::from_be_bytes(w)
            } else {
                u32::from_le_bytes(w)
            }
        };
        let caplen = word(8);
        let len = self.header_len + caplen as usize;
        let data = b
            .get(self.header_len..len)
            .ok_or_else(|| Needed::new(len - b.len()))?;
        let rec = LegacyRecord {
            ts_sec: word(0),
            ts_usec: word(4),
            caplen,
            data,
        };
        Ok((len, rec))
    }
}

const TRUNCATED: &str = "file ends inside a record (truncated)";
const TOO_LARGE: &str = "record larger than 1 MiB (damaged length field)";

/// Calls `f(ts_us, link, frame)` for every packet of the file, in file
/// order. Everything read before a damaged record has been handed to `f`
/// when the error is returned.
pub fn read_file(
    path: &Path,
    f: impl FnMut(i64, LinkType, &[u8]),
) -> Result<FileSummary, ReadError> {
    let file = File::open(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    match Mapped::new(&file) {
        Some(map) => {
            let mut blocks = Blocks::new(path, f);
            blocks.mapped(&map)?;
            Ok(blocks.summary)
        }
        None => read_from(path, file, f),
    }
}

/// [`read_file`] for a capture read from `r` (named `name` in errors)
/// through a fixed buffer.
pub fn read_from(
    name: &Path,
    r: impl Read,
    f: impl FnMut(i64, LinkType, &[u8]),
) -> Result<FileSummary, ReadError> {
    let mut blocks = Blocks::new(name, f);
    blocks.streamed(r)?;
    Ok(blocks.summary)
}

/// The state carried from block to block, and what packets go to.
struct Blocks<'p, F> {
    path: &'p Path,
    f: F,
    summary: FileSummary,
    legacy_link: LinkType,
    nanos: bool,
    ifaces: Vec<Iface>,
    /// How far a mapped file has been asked into the cache.
    prefetched: usize,
}

impl<'p, F: FnMut(i64, LinkType, &[u8])> Blocks<'p, F> {
    fn new(path: &'p Path, f: F) -> Self {
        Blocks {
            path,
            f,
            summary: FileSummary::default(),
            legacy_link: LinkType::ETHERNET,
            nanos: false,
            ifaces: Vec::new(),
            prefetched: 0,
        }
    }

    fn damaged(&self, offset: u64, what: &str) -> ReadError {
        ReadError::Damaged {
            path: self.path.to_owned(),
            offset,
            what: what.to_owned(),
        }
    }

    fn not_a_capture(&self) -> ReadError {
        ReadError::NotACapture {
            path: self.path.to_owned(),
        }
    }

    fn packet(&mut self, ts: i64, link: LinkType, data: &[u8]) {
        self.summary.packets += 1;
        self.summary.first_ts.get_or_insert(ts);
        self.summary.last_ts = Some(ts);
        (self.f)(ts, link, data);
    }

    /// One legacy pcap record.
    #[inline]
    fn legacy(&mut self, b: &LegacyRecord<'_>) {
        let frac = if self.nanos {
            i64::from(b.ts_usec) / 1000
        } else {
            i64::from(b.ts_usec)
        };
        let ts = i64::from(b.ts_sec) * 1_000_000 + frac;
        let n = (b.caplen as usize).min(b.data.len());
        self.packet(ts, self.legacy_link, &b.data[..n]);
    }

    /// One block at byte `offset`.
    fn block(&mut self, block: PcapBlockOwned<'_>, offset: u64) -> Result<(), ReadError> {
        match block {
            PcapBlockOwned::LegacyHeader(h) => {
                self.legacy_link = LinkType(h.network.0 as u32);
                self.nanos = h.is_nanosecond_precision();
            }
            PcapBlockOwned::Legacy(b) => self.legacy(&LegacyRecord {
                ts_sec: b.ts_sec,
                ts_usec: b.ts_usec,
                caplen: b.caplen,
                data: b.data,
            }),
            PcapBlockOwned::NG(Block::SectionHeader(_)) => self.ifaces.clear(),
            PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                self.ifaces.push(Iface {
                    link: LinkType(idb.linktype.0 as u32),
                    resolution: idb.ts_resolution().unwrap_or(1_000_000),
                    offset: idb.ts_offset(),
                });
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                let Some(iface) = self.ifaces.get(epb.if_id as usize) else {
                    return Err(self.damaged(offset, "packet names an undeclared interface"));
                };
                let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                let res = iface.resolution.max(1);
                let secs = (raw / res) as i64 + iface.offset;
                let frac = ((raw % res) as u128 * 1_000_000 / u128::from(res)) as i64;
                let n = (epb.caplen as usize).min(epb.data.len());
                self.packet(secs * 1_000_000 + frac, iface.link, &epb.data[..n]);
            }
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                let Some(iface) = self.ifaces.first() else {
                    return Err(self.damaged(offset, "packet before any interface description"));
                };
                // Simple packets carry no time: use the previous one's.
                let last_ts = self.summary.last_ts.unwrap_or(0);
                let n = (spb.origlen as usize).min(spb.data.len());
                self.packet(last_ts, iface.link, &spb.data[..n]);
            }
            PcapBlockOwned::NG(_) => {}
        }
        Ok(())
    }

    /// The whole file in memory: every block is parsed where it lies.
    fn mapped(&mut self, map: &Mapped) -> Result<(), ReadError> {
        let data = map.bytes();
        if data.is_empty() {
            return Err(self.not_a_capture());
        }
        if parse_sectionheaderblock(data).is_ok() {
            let mut big_endian = false;
            return self.records(map, 0, |s, rest, offset| {
                let parse = if big_endian {
                    parse_block_be
                } else {
                    parse_block_le
                };
                let (r, b) = parse(rest).map_err(|e| s.unreadable(e, rest.len(), offset))?;
                if let Block::SectionHeader(shb) = &b {
                    big_endian = shb.big_endian();
                }
                let len = s.record_len(rest.len() - r.len(), offset)?;
                s.prefetch(rest, offset as usize, len);
                s.block(PcapBlockOwned::from(b), offset)?;
                Ok(len)
            });
        }
        let header = match parse_pcap_header(data) {
            Ok((_, h)) => h,
            Err(nom::Err::Incomplete(n)) => {
                return Err(self.damaged(0, &format!("{:?}", incomplete(n))))
            }
            Err(_) => return Err(self.not_a_capture()),
        };
        let format = LegacyFormat {
            big_endian: header.is_bigendian(),
            header_len: if header.is_modified_format() { 24 } else { 16 },
        };
        let start = header.size();
        self.block(PcapBlockOwned::from(header), 0)?;
        self.records(map, start, |s, rest, offset| {
            let (len, rec) = format
                .record(rest)
                .map_err(|n| s.unreadable(nom::Err::Incomplete(n), rest.len(), offset))?;
            let len = s.record_len(len, offset)?;
            s.prefetch(rest, offset as usize, len);
            s.legacy(&rec);
            Ok(len)
        })
    }

    /// Hands each record from byte `start` on to `record` (which returns
    /// its length), and the pages read to the kernel as reading goes.
    /// Generic over `record` so that each format's loop is compiled whole.
    #[inline(always)]
    fn records(
        &mut self,
        map: &Mapped,
        start: usize,
        mut record: impl FnMut(&mut Self, &[u8], u64) -> Result<usize, ReadError>,
    ) -> Result<(), ReadError> {
        let data = map.bytes();
        let mut pos = start;
        let mut released = 0;
        while let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) {
            pos += record(self, rest, pos as u64)?;
            if pos - released >= RELEASE_STEP {
                released = map.release(released, pos);
            }
        }
        Ok(())
    }

    /// A record's length, refused past the same bound as the streamed
    /// reader's buffer.
    fn record_len(&self, len: usize, offset: u64) -> Result<usize, ReadError> {
        if len >= MAX_RECORD {
            return Err(self.damaged(offset, TOO_LARGE));
        }
        Ok(len)
    }

    /// The error for a record that could not be parsed from the `rest`
    /// bytes of the file at `offset`.
    #[cold]
    fn unreadable(&self, e: nom::Err<PcapError<&[u8]>>, rest: usize, offset: u64) -> ReadError {
        match e {
            nom::Err::Incomplete(Needed::Size(n)) if rest.saturating_add(n.get()) >= MAX_RECORD => {
                self.damaged(offset, TOO_LARGE)
            }
            nom::Err::Incomplete(_) => self.damaged(offset, TRUNCATED),
            nom::Err::Error(e) | nom::Err::Failure(e) => self.damaged(offset, &malformed(e)),
        }
    }

    /// Through a fixed buffer, for files that cannot be mapped.
    fn streamed(&mut self, r: impl Read) -> Result<(), ReadError> {
        let mut reader = match create_reader(65_536, r) {
            Ok(r) => r,
            Err(PcapError::HeaderNotRecognized)
            | Err(PcapError::Eof)
            | Err(PcapError::UnexpectedEof) => return Err(self.not_a_capture()),
            Err(e) => return Err(self.damaged(0, &format!("{e:?}"))),
        };
        let mut offset: u64 = 0;
        let mut grown = false;
        loop {
            match reader.next() {
                Ok((len, block)) => {
                    self.block(block, offset)?;
                    offset += len as u64;
                    reader.consume(len);
                }
                Err(PcapError::Eof) => return Ok(()),
                Err(PcapError::Incomplete(_)) => {
                    if reader.refill().is_err() {
                        return Err(self.damaged(offset, "read error"));
                    }
                }
                Err(PcapError::UnexpectedEof) => return Err(self.damaged(offset, TRUNCATED)),
                Err(PcapError::BufferTooSmall) => {
                    if grown || !reader.grow(MAX_RECORD) {
                        return Err(self.damaged(offset, TOO_LARGE));
                    }
                    grown = true;
                }
                Err(e) => return Err(self.damaged(offset, &malformed(e))),
            }
        }
    }
}

fn incomplete(n: Needed) -> PcapError<&'static [u8]> {
    match n {
        Needed::Size(n) => PcapError::Incomplete(n.get()),
        Needed::Unknown => PcapError::Incomplete(0),
    }
}

/// What a parser's error says about the record it stopped on.
fn malformed<I>(e: PcapError<I>) -> String {
    match e {
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("malformed record ({kind:?})")
        }
        PcapError::HeaderNotRecognized => "unrecognised block".to_owned(),
        _ => "read error".to_owned(),
    }
}

/// A regular file mapped read-only.
///
/// Another process truncating the file while it is mapped would make a
/// read past the new end fault (SIGBUS). Replay reads finished capture
/// files, which nothing shortens; anything that is not a regular file
/// (where data may still be arriving) is streamed instead.
struct Mapped {
    ptr: NonNull<c_void>,
    len: usize,
}

impl Mapped {
    /// None when the file is not a regular file, is empty or cannot be
    /// mapped: it is then read as a stream.
    fn new(file: &File) -> Option<Mapped> {
        let meta = file.metadata().ok()?;
        if !meta.is_file() {
            return None;
        }
        let len = NonZeroUsize::new(usize::try_from(meta.len()).ok()?)?;
        // SAFETY: a fresh private read-only mapping of `len` bytes of an open
        // regular file; nothing else refers to that memory.
        let ptr = unsafe {
            mmap(
                None,
                len,
                ProtFlags::PROT_READ,
                MapFlags::MAP_PRIVATE,
                file,
                0,
            )
        }
        .ok()?;
        let map = Mapped {
            ptr,
            len: len.get(),
        };
        // SAFETY: advice over exactly the mapping made above. Read-ahead
        // only: a refusal changes nothing.
        let _ = unsafe { madvise(map.ptr, map.len, MmapAdvise::MADV_SEQUENTIAL) };
        Some(map)
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` is the start of a live read-only mapping of `len`
        // bytes that lasts until `self` is dropped.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast::<u8>(), self.len) }
    }

    /// Drops the whole pages from `from` (page-aligned, where the last call
    /// stopped) to before `upto` from the resident set; returns where that
    /// stopped. Only the new stretch: the kernel walks every page table
    /// entry of the range it is given. Reading the pages again would fault
    /// them back in from the page cache with the same contents.
    fn release(&self, from: usize, upto: usize) -> usize {
        let end = upto.min(self.len) & !(page_size() - 1);
        if end <= from {
            return from;
        }
        // SAFETY: [ptr + from, ptr + end) lies inside the private read-only
        // file mapping (`from` is page-aligned and below `end`, which is at
        // most `len`); MADV_DONTNEED only drops its page table entries.
        let _ = unsafe {
            madvise(
                self.ptr.byte_add(from),
                end - from,
                MmapAdvise::MADV_DONTNEED,
            )
        };
        end
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`; no slice of it outlives `self`.
        let _ = unsafe { munmap(self.ptr, self.len) };
    }
}

/// How far ahead of the record being decoded the file is pulled into the
/// cache: the pages of a mapped file lie scattered in memory, so the
/// hardware prefetchers lose the stream at every page edge, and the first
/// read of a packet (its checksum, mostly) waited on memory.
const PREFETCH_AHEAD: usize = 1024;

impl<F> Blocks<'_, F> {
    /// Asks for the cache lines of a mapped file up to [`PREFETCH_AHEAD`]
    /// bytes past the record of `len` bytes at `offset` (`rest` is the file
    /// from there on), each line once: each record pulls in as much as it
    /// is long, so the prefetch keeps pace with the reading.
    #[inline(always)]
    fn prefetch(&mut self, rest: &[u8], offset: usize, len: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let end = offset + (len + PREFETCH_AHEAD).min(rest.len());
            let mut line = self.prefetched.max(offset);
            while line < end {
                // SAFETY: a prefetch only hints, and `line - offset` is
                // below `end - offset`, within `rest`.
                unsafe {
                    _mm_prefetch::<_MM_HINT_T0>(rest.as_ptr().add(line - offset).cast());
                }
                // One address in each line from here on.
                line += 64;
            }
            self.prefetched = line;
        }
    }
}

fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|p| usize::try_from(p).ok())
        .filter(|p| p.is_power_of_two())
        .unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn legacy(records: &[(u32, &[u8])]) -> Vec<u8> {
        legacy_as(0xa1b2_c3d4, false, records)
    }

    /// A legacy file with the given magic (microseconds, nanoseconds or the
    /// modified format) in either byte order.
    fn legacy_as(magic: u32, big_endian: bool, records: &[(u32, &[u8])]) -> Vec<u8> {
        let mut b = Vec::new();
        let u32s = |b: &mut Vec<u8>, v: u32| {
            b.extend_from_slice(&if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            })
        };
        u32s(&mut b, magic);
        let version: [u8; 4] = if big_endian {
            [0, 2, 0, 4]
        } else {
            [2, 0, 4, 0]
        };
        b.extend_from_slice(&version);
        b.extend_from_slice(&[0; 8]);
        u32s(&mut b, 65_535);
        u32s(&mut b, 1);
        for (i, (caplen, data)) in records.iter().enumerate() {
            u32s(&mut b, 1_700_000_000 + i as u32);
            u32s(&mut b, 1000 * i as u32 + 7);
            u32s(&mut b, *caplen);
            u32s(&mut b, *caplen);
            if magic == MODIFIED_MAGIC {
                // Interface index, protocol, packet type, padding.
                b.extend_from_slice(&[0, 0, 0, 1, 0, 8, 0, 0]);
            }
            b.extend_from_slice(data);
        }
        b
    }

    const NANOS_MAGIC: u32 = 0xa1b2_3c4d;
    const MODIFIED_MAGIC: u32 = 0xa1b2_cd34;

    fn ng_block(ty: u32, body: &[u8]) -> Vec<u8> {
        let len = (12 + body.len()) as u32;
        let mut b = ty.to_le_bytes().to_vec();
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(&len.to_le_bytes());
        b
    }

    fn pcapng(frames: &[&[u8]]) -> Vec<u8> {
        let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        let mut b = ng_block(0x0a0d_0d0a, &shb);
        b.extend(ng_block(1, &[1, 0, 0, 0, 0xff, 0xff, 0, 0]));
        for (i, f) in frames.iter().enumerate() {
            let mut epb = 0u32.to_le_bytes().to_vec();
            let ts = 1_700_000_000_000_000u64 + i as u64;
            epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
            epb.extend_from_slice(&(ts as u32).to_le_bytes());
            epb.extend_from_slice(&(f.len() as u32).to_le_bytes());
            epb.extend_from_slice(&(f.len() as u32).to_le_bytes());
            epb.extend_from_slice(f);
            epb.resize(epb.len().next_multiple_of(4), 0);
            b.extend(ng_block(6, &epb));
        }
        b
    }

    /// Every packet seen (time and bytes) and how reading ended.
    type Outcome = (Vec<(i64, Vec<u8>)>, Result<u64, String>);

    /// A file read through [`read_file`] (mapped), or streamed from its
    /// bytes through [`read_from`].
    fn outcome(path: &Path, map: bool) -> Outcome {
        let mut seen = Vec::new();
        let push = |ts, _, d: &[u8]| seen.push((ts, d.to_vec()));
        let res = if map {
            read_file(path, push)
        } else {
            let bytes = std::fs::read(path).unwrap();
            read_from(path, &bytes[..], push)
        };
        (seen, res.map(|s| s.packets).map_err(|e| e.to_string()))
    }

    #[test]
    fn mapped_and_streamed_agree_on_whole_and_damaged_files() {
        let dir = tempfile::tempdir().unwrap();
        let frame = [0xabu8; 60];
        let big = vec![7u8; MAX_RECORD + 10];
        let whole = legacy(&[(60, &frame), (60, &frame), (60, &frame)]);
        let ng = pcapng(&[&frame, &frame[..33], &frame]);
        let mut huge_len = legacy(&[(60, &frame)]);
        huge_len.extend_from_slice(&legacy(&[(u32::MAX / 2, &frame)])[24..]);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("whole.pcap", whole.clone()),
            ("cut.pcap", whole[..whole.len() - 20].to_vec()),
            ("cut-header.pcap", whole[..whole.len() - 70].to_vec()),
            ("huge-len.pcap", huge_len),
            (
                "big.pcap",
                legacy(&[(60, &frame), (big.len() as u32, &big)]),
            ),
            (
                "big-endian.pcap",
                legacy_as(0xa1b2_c3d4, true, &[(60, &frame), (33, &frame[..33])]),
            ),
            (
                "nanos.pcap",
                legacy_as(NANOS_MAGIC, false, &[(60, &frame), (60, &frame)]),
            ),
            (
                "nanos-big-endian.pcap",
                legacy_as(NANOS_MAGIC, true, &[(60, &frame), (60, &frame)]),
            ),
            (
                "modified.pcap",
                legacy_as(MODIFIED_MAGIC, false, &[(60, &frame), (60, &frame)]),
            ),
            (
                "modified-cut.pcap",
                legacy_as(MODIFIED_MAGIC, false, &[(60, &frame), (60, &frame)])[..24 + 84 + 20]
                    .to_vec(),
            ),
            ("whole.pcapng", ng.clone()),
            ("cut.pcapng", ng[..ng.len() - 9].to_vec()),
            ("header-only.pcap", whole[..24].to_vec()),
            ("short.pcap", whole[..3].to_vec()),
            ("text.txt", b"this is not a capture file at all".to_vec()),
            ("empty.pcap", Vec::new()),
        ];
        for (name, bytes) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).unwrap();
            let mapped = outcome(&path, true);
            assert_eq!(mapped, outcome(&path, false), "{name}");
            match name {
                "whole.pcap" | "whole.pcapng" => assert_eq!(mapped.1, Ok(3), "{name}"),
                "big-endian.pcap" | "nanos.pcap" | "nanos-big-endian.pcap" | "modified.pcap" => {
                    assert_eq!(mapped.1, Ok(2), "{name}");
                    // The second record's fraction: 1007 microseconds, or
                    // 1007 nanoseconds cut to one microsecond.
                    let frac = if name.starts_with("nanos") { 1 } else { 1007 };
                    assert_eq!(mapped.0[1].0, 1_700_000_001 * 1_000_000 + frac, "{name}");
                    let second = if name == "big-endian.pcap" { 33 } else { 60 };
                    assert_eq!(mapped.0[1].1.len(), second, "{name}");
                }
                "modified-cut.pcap" => {
                    assert_eq!(mapped.0.len(), 1, "{name}");
                    assert!(mapped.1.unwrap_err().contains("truncated"));
                }
                "cut.pcap" | "cut.pcapng" => {
                    assert_eq!(mapped.0.len(), 2, "{name}");
                    let err = mapped.1.unwrap_err();
                    assert!(err.contains("truncated") && err.contains(name), "{err}");
                }
                "huge-len.pcap" | "big.pcap" => {
                    assert_eq!(mapped.0.len(), 1, "{name}");
                    let err = mapped.1.unwrap_err();
                    assert!(
                        err.ends_with(
                            "larger than 1 MiB (damaged length field) at byte offset 100"
                        ),
                        "{err}"
                    );
                }
                _ => {}
            }
        }
    }
}
