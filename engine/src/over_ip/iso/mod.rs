//! The ISO transport on TCP: TPKT framing (RFC 1006) and COTP TPDUs
//! (ISO 8073), shared by the protocols that run on it (S7comm and
//! S7comm-plus; IEC 61850 MMS and ICCP use the same transport). Pure
//! functions over byte slices, the reassembly of a message segmented over
//! several data TPDUs, the `cotp` log (one row per TPDU, as ICSNPP's COTP
//! analyzer writes them for every TPDU on port 102), and [`Undecided`], a
//! connection's parser from its connection request until its first data
//! message says which protocol it carries. The transport is no protocol of
//! the registry: the protocols on top recognise its connections, and
//! S7comm's descriptor, the first on the transport, declares the `cotp`
//! log ([`COTP_LOG`]) that every protocol on it writes.

use crate::bytes::{be16, Error};
use crate::flow::id::Transport;
use crate::flow_dir_fields;
use crate::over_ip::common::{next_frame, Row};
use crate::over_ip::{AppParser, Ctx, Dir, Expected};
use crate::text::hex;
use osect_wire::protocol::{Fold, LogInfo, OpClass, OperationSpec};
use osect_wire::record::field;
use osect_wire::{FieldType, LogSchema, Record};
use std::borrow::Cow;

pub static COTP: LogSchema = LogSchema {
    path: "cotp",
    fields: flow_dir_fields![
        field("pdu_code", FieldType::String),
        field("pdu_name", FieldType::String),
    ],
};

/// The `cotp` log as the core sees it: rows fold, each names its TPDU.
/// A log has one owner in the registry, so one descriptor lists it.
pub const COTP_LOG: LogInfo = LogInfo {
    schema: &COTP,
    fold: Fold::Yes { per_event: &[] },
    operation: Some(OperationSpec {
        key: &["pdu_name"],
        classify: classify_tpdu,
    }),
};

/// A TPDU neither reads nor writes the device's data.
fn classify_tpdu(_: &Record) -> OpClass {
    crate::protocols::other()
}

/// Length of the TPKT frame at the start of `b`.
pub fn tpkt_len(b: &[u8]) -> Result<usize, Error> {
    match b {
        [3, 0, ..] => {}
        [] | [3] => return Err(Error::Truncated),
        _ => return Err(Error::malformed("TPKT version", 0)),
    }
    let len = usize::from(be16(b, 2).ok_or(Error::Truncated)?);
    if len < 7 {
        return Err(Error::malformed("TPKT length", 2));
    }
    if b.len() < len {
        // The COTP TPDU code is checked as soon as it is visible.
        if b.len() >= 6 && !cotp_code(b[5] >> 4) {
            return Err(Error::malformed("COTP TPDU code", 5));
        }
        return Err(Error::Truncated);
    }
    cotp(&b[4..len]).ok_or(Error::malformed("COTP TPDU", 4))?;
    Ok(len)
}

/// The COTP TPDU of the whole TPKT frame at the start of a TCP payload:
/// what the protocols on the transport recognise a connection by.
pub fn first_tpdu(t: Transport, data: &[u8]) -> Option<Cotp<'_>> {
    if t != Transport::Tcp {
        return None;
    }
    let n = tpkt_len(data).ok()?;
    cotp(&data[4..n])
}

/// A COTP TPDU: its code (high nibble of the type byte), TSAPs of a
/// connect TPDU, and the user data of a data TPDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cotp<'a> {
    pub code: u8,
    pub src_tsap: Option<u16>,
    pub dst_tsap: Option<u16>,
    /// A data TPDU's end-of-TSDU mark: the last TPDU of a message (always
    /// set for the other TPDUs).
    pub eot: bool,
    pub data: &'a [u8],
}

/// The codes of a data TPDU, a connection request and its confirm.
pub const DT: u8 = 0xf;
pub const CR: u8 = 0xe;
pub const CC: u8 = 0xd;

/// Whether `code` is a TPDU code of ISO 8073.
fn cotp_code(code: u8) -> bool {
    matches!(
        code,
        0x1 | 0x2 | 0x5 | 0x6 | 0x7 | 0x8 | 0xc | 0xd | 0xe | 0xf
    )
}

/// The COTP TPDU at the start of `b` (a TPKT frame's payload).
pub fn cotp(b: &[u8]) -> Option<Cotp<'_>> {
    let li = usize::from(*b.first()?);
    let kind = *b.get(1)?;
    let code = kind >> 4;
    if !cotp_code(code) || li < 1 {
        return None;
    }
    let header = b.get(1..1 + li)?;
    let mut c = Cotp {
        code,
        src_tsap: None,
        dst_tsap: None,
        // DT: the byte after the type holds EOT (bit 8) and the TPDU number.
        eot: code != DT || header.get(1).is_some_and(|n| n & 0x80 != 0),
        data: b.get(1 + li..)?,
    };
    if matches!(code, CR | CC) {
        // CR/CC: dst ref, src ref, class, then parameters.
        let mut at = 6;
        while let (Some(&p), Some(&n)) = (header.get(at), header.get(at + 1)) {
            let v = header.get(at + 2..at + 2 + usize::from(n))?;
            let tsap = (v.len() == 2).then(|| u16::from_be_bytes([v[0], v[1]]));
            match p {
                0xc1 => c.src_tsap = tsap,
                0xc2 => c.dst_tsap = tsap,
                _ => {}
            }
            at += 2 + usize::from(n);
        }
    }
    Some(c)
}

/// The `cotp` row of a TPDU.
pub fn tpdu_row(ctx: &mut Ctx<'_, '_>, dir: Dir, code: u8) {
    Row::flow_dir(ctx, &COTP, dir)
        .push(hex(u64::from(code), 2))
        .push(tpdu_name(code))
        .emit(ctx);
}

/// The bytes of one message kept at most while its data TPDUs arrive
/// (MMS servers negotiate PDUs up to about 64 KiB).
pub const MAX_MESSAGE: usize = 65_536;

/// One direction's message under reassembly from data TPDUs (ISO 8073
/// 6.3: a TSDU is the user data of TPDUs up to the one with EOT set).
#[derive(Debug, Default)]
pub struct Reassembly {
    buf: Vec<u8>,
    /// The message outgrew [`MAX_MESSAGE`]: its TPDUs are dropped up to
    /// its last.
    dropping: bool,
    /// Bytes dropped so, since [`Reassembly::take_dropped`].
    dropped: u64,
}

impl Reassembly {
    /// Adds a data TPDU's user data: the whole message once its last TPDU
    /// came, or `None` while it is incomplete or being dropped.
    pub fn push<'a>(&mut self, c: &Cotp<'a>) -> Option<Cow<'a, [u8]>> {
        if self.dropping {
            self.dropped += c.data.len() as u64;
            self.dropping = !c.eot;
            return None;
        }
        if self.buf.is_empty() && c.eot {
            return Some(Cow::Borrowed(c.data));
        }
        if self.buf.len() + c.data.len() > MAX_MESSAGE {
            // Only this message is lost: the ones before were decoded and
            // the next starts after its last TPDU.
            self.dropped += (self.buf.len() + c.data.len()) as u64;
            self.buf.clear();
            self.dropping = !c.eot;
            return None;
        }
        self.buf.extend_from_slice(c.data);
        c.eot.then(|| Cow::Owned(std::mem::take(&mut self.buf)))
    }

    /// Bytes of the stream were lost: the message in progress is dropped
    /// and the next TPDU starts a message.
    pub fn gap(&mut self) {
        self.dropped += self.buf.len() as u64;
        self.buf.clear();
        self.dropping = false;
    }

    /// Bytes dropped since the last call.
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }
}

/// Both directions' messages on a connection of the transport, for the
/// protocol parser that owns it.
#[derive(Debug, Default)]
pub struct Messages {
    /// Originator's first.
    dirs: [Reassembly; 2],
}

impl Messages {
    /// The next whole message of `data` from `*pos` on: writes the `cotp`
    /// row of each TPDU up to the message's last and moves `*pos` past it;
    /// `None` once the whole TPKT frames of `data` are read (`*pos` is
    /// then what the parser consumed).
    pub fn next<'a>(
        &mut self,
        ctx: &mut Ctx<'_, '_>,
        dir: Dir,
        data: &'a [u8],
        pos: &mut usize,
    ) -> Option<Cow<'a, [u8]>> {
        while let Some(frame) = next_frame(data, pos, tpkt_len) {
            let Some(c) = cotp(&frame[4..]) else {
                continue;
            };
            tpdu_row(ctx, dir, c.code);
            if c.code != DT {
                continue;
            }
            if let Some(m) = self.dirs[slot(dir)].push(&c) {
                return Some(m);
            }
        }
        None
    }

    /// Bytes of `dir`'s stream were lost (see [`Reassembly::gap`]).
    pub fn gap(&mut self, dir: Dir) {
        self.dirs[slot(dir)].gap();
    }

    /// Bytes of messages over [`MAX_MESSAGE`] or cut by a gap dropped
    /// since the last call, both directions.
    pub fn take_dropped(&mut self) -> u64 {
        self.dirs.iter_mut().map(Reassembly::take_dropped).sum()
    }
}

fn slot(dir: Dir) -> usize {
    usize::from(!dir.is_orig())
}

/// The first message of a TCP payload that starts with data TPDUs: their
/// user data up to the one with EOT set; `None` if it does not end there.
pub fn first_message(t: Transport, data: &[u8]) -> Option<Cow<'_, [u8]>> {
    if t != Transport::Tcp {
        return None;
    }
    let mut r = Reassembly::default();
    let mut pos = 0;
    while let Some(n) = data.get(pos..).and_then(|b| tpkt_len(b).ok()) {
        let c = cotp(&data[pos + 4..pos + n]).filter(|c| c.code == DT)?;
        pos += n;
        if let Some(m) = r.push(&c) {
            return Some(m);
        }
    }
    None
}

/// Whether `data` starts with data TPDUs of a message whose last TPDU has
/// not come yet (the stream ends inside it).
fn message_pending(data: &[u8]) -> bool {
    let mut pos = 0;
    loop {
        let rest = &data[pos..];
        match tpkt_len(rest) {
            Ok(n) => match cotp(&rest[4..n]) {
                Some(c) if c.code == DT && !c.eot => pos += n,
                _ => return false,
            },
            Err(Error::Truncated) => return !rest.is_empty() || pos > 0,
            Err(_) => return false,
        }
    }
}

/// Data probes tried at most by [`Undecided`] before the connection is
/// left to the transport.
const DATA_PROBES: u8 = 4;

/// A connection on the transport from its connection request or confirm
/// until its first data message: it writes the `cotp` rows of the TPDUs
/// before that message, then hands the stream, from the message's first
/// TPDU on, to the parser the registry's probes recognise in it (S7comm by
/// its header, MMS by its session connect). A message segmented over
/// several TPDUs is left in the stream until its last came (the session's
/// window bounds it). Nothing recognised: the connection stays the
/// transport's, with its `cotp` rows.
#[derive(Default)]
pub struct Undecided {
    inner: Option<Box<dyn AppParser>>,
    probes: u8,
}

impl AppParser for Undecided {
    fn service(&self) -> &'static str {
        self.inner.as_ref().map_or("cotp", |p| p.service())
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        if let Some(p) = &mut self.inner {
            return p.parse(ctx, dir, data);
        }
        let mut pos = 0;
        loop {
            let Some(frame) = next_frame(data, &mut pos, tpkt_len) else {
                return pos;
            };
            let start = pos - frame.len();
            let Some(c) = cotp(&frame[4..]) else {
                continue;
            };
            if c.code == DT && self.probes < DATA_PROBES {
                let rest = &data[start..];
                if message_pending(rest) {
                    return start;
                }
                self.probes += 1;
                if let Some(mut p) = crate::over_ip::probe(Transport::Tcp, ctx.flow.id, dir, rest) {
                    let used = p.parse(ctx, dir, rest);
                    self.inner = Some(p);
                    return start + used;
                }
            }
            tpdu_row(ctx, dir, c.code);
        }
    }

    fn gap(&mut self, dir: Dir) {
        if let Some(p) = &mut self.inner {
            p.gap(dir);
        }
    }

    fn discarded(&mut self) -> u64 {
        self.inner.as_mut().map_or(0, |p| p.discarded())
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, '_>) {
        if let Some(p) = &mut self.inner {
            p.finish(ctx);
        }
    }

    fn expected(&mut self) -> Vec<Expected> {
        self.inner.as_mut().map_or_else(Vec::new, |p| p.expected())
    }
}

pub fn tpdu_name(code: u8) -> &'static str {
    match code {
        0x1 => "ED Expedited Data",
        0x2 => "EA Expedited Data Acknowledgement",
        0x5 => "RJ Reject",
        0x6 => "AK Data Acknowledgement",
        0x7 => "ER TPDU Error",
        0x8 => "DR Disconnect Request",
        0xc => "DC Disconnect Confirm",
        0xd => "CC Connection Confirm",
        0xe => "CR Connection Request",
        0xf => "DT Data",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_pending_until_its_last_data_tpdu() {
        let dt = |eot: u8, b: &[u8]| [&[3, 0, 0, 7 + b.len() as u8, 2, 0xf0, eot][..], b].concat();
        let (first, last) = (dt(0, b"ab"), dt(0x80, b"cd"));
        assert!(message_pending(&first));
        assert!(message_pending(&[&first[..], &last[..3]].concat()));
        let whole = [&first[..], &last[..]].concat();
        assert!(!message_pending(&whole));
        assert_eq!(
            first_message(Transport::Tcp, &whole).as_deref(),
            Some(&b"abcd"[..])
        );
        // A disconnect request ends the wait: the message will not come.
        let dr = [3, 0, 0, 11, 6, 0x80, 0, 1, 0, 2, 0];
        assert!(!message_pending(&[&first[..], &dr[..]].concat()));
        assert!(first_message(Transport::Tcp, &[&first[..], &dr[..]].concat()).is_none());
    }

    #[test]
    fn connect_request_tsaps() {
        let cr = [
            3, 0, 0, 22,   // TPKT: version, reserved, length
            17,   // COTP length indicator
            0xe0, // CR
            0, 0, 0, 1, 0, // dst ref, src ref, class
            0xc0, 1, 0x0a, // TPDU size
            0xc1, 2, 0x01, 0x00, // src TSAP
            0xc2, 2, 0x01, 0x02, // dst TSAP
        ];
        assert_eq!(tpkt_len(&cr), Ok(22));
        let c = cotp(&cr[4..]).unwrap();
        assert_eq!(
            (c.code, c.src_tsap, c.dst_tsap),
            (0xe, Some(0x0100), Some(0x0102))
        );
        assert_eq!(tpkt_len(&cr[..10]), Err(Error::Truncated));
        assert_eq!(
            tpkt_len(&[3, 0, 0, 3]),
            Err(Error::malformed("TPKT length", 2))
        );
    }
}
