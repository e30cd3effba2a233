//! Pieces every application log shares: the leading connection fields
//! (`ts uid id.orig_h id.orig_p id.resp_h id.resp_p`), the direction fields
//! the ICSNPP logs carry (`is_orig source_h source_p destination_h
//! destination_p`), and the trailing layer-2 fields that name the hosts
//! (`orig_l2_addr resp_l2_addr vlan`, see records.md).
//!
//! A schema is declared with [`flow_fields!`] or [`flow_dir_fields!`], and a
//! row is built with [`Row`] in the same order:
//!
//! ```ignore
//! static MODBUS: LogSchema = LogSchema {
//!     path: "modbus",
//!     fields: flow_fields![field("func", FieldType::String)],
//! };
//! Row::flow(ctx, &MODBUS).push("READ_COILS").emit(ctx);
//! ```

use crate::asset::HostRef;
use crate::bytes::Error;
use crate::flow::id::{fmt_mac, ConnId, Transport};
use crate::over_ethernet::Frame;
use crate::over_ip::{AppParser, Ctx, Dir, Output};
use osect_wire::{LogSchema, Record, Value};
use std::marker::PhantomData;
use std::net::IpAddr;

/// The field list of a flow log: the connection fields, then the given
/// fields, then the layer-2 fields.
#[macro_export]
macro_rules! flow_fields {
    ($($f:expr),* $(,)?) => {
        &[
            osect_wire::record::field("ts", osect_wire::FieldType::Time),
            osect_wire::record::field("uid", osect_wire::FieldType::String),
            osect_wire::record::field("id.orig_h", osect_wire::FieldType::Addr),
            osect_wire::record::field("id.orig_p", osect_wire::FieldType::Port),
            osect_wire::record::field("id.resp_h", osect_wire::FieldType::Addr),
            osect_wire::record::field("id.resp_p", osect_wire::FieldType::Port),
            $($f,)*
            osect_wire::record::field("orig_l2_addr", osect_wire::FieldType::String),
            osect_wire::record::field("resp_l2_addr", osect_wire::FieldType::String),
            osect_wire::record::field("vlan", osect_wire::FieldType::Count),
        ]
    };
}

/// Like [`flow_fields!`], with the sender and receiver of the message
/// (`is_orig source_h source_p destination_h destination_p`) after the
/// connection fields, as the ICSNPP logs have them.
#[macro_export]
macro_rules! flow_dir_fields {
    ($($f:expr),* $(,)?) => {
        $crate::flow_fields![
            osect_wire::record::field("is_orig", osect_wire::FieldType::Bool),
            osect_wire::record::field("source_h", osect_wire::FieldType::Addr),
            osect_wire::record::field("source_p", osect_wire::FieldType::Port),
            osect_wire::record::field("destination_h", osect_wire::FieldType::Addr),
            osect_wire::record::field("destination_p", osect_wire::FieldType::Port),
            $($f,)*
        ]
    };
}

/// The field list of a layer-2 log (no IP): time, MAC addresses and VLAN,
/// then the given fields.
#[macro_export]
macro_rules! l2_fields {
    ($($f:expr),* $(,)?) => {
        &[
            osect_wire::record::field("ts", osect_wire::FieldType::Time),
            osect_wire::record::field("src_mac", osect_wire::FieldType::String),
            osect_wire::record::field("dst_mac", osect_wire::FieldType::String),
            osect_wire::record::field("vlan", osect_wire::FieldType::Count),
            $($f,)*
        ]
    };
}

/// Number of fields [`flow_fields!`] adds around a log's own fields.
pub const FLOW_FIELDS: usize = 9;

/// A record being built, field by field in schema order.
pub struct Row {
    schema: &'static LogSchema,
    values: Vec<Value>,
}

impl Row {
    /// Starts a row of a [`flow_fields!`] log with the connection fields.
    pub fn flow(ctx: &Ctx<'_, '_>, schema: &'static LogSchema) -> Row {
        let id = ctx.flow.id;
        let mut values = Vec::with_capacity(schema.fields.len());
        values.extend([
            Value::Time(ctx.ts),
            Value::Str(ctx.flow.uid.into()),
            Value::Addr(id.orig_h),
            Value::Port(id.orig_p),
            Value::Addr(id.resp_h),
            Value::Port(id.resp_p),
        ]);
        Row { schema, values }
    }

    /// Starts a row of a [`flow_dir_fields!`] log for a message sent in `dir`.
    pub fn flow_dir(ctx: &Ctx<'_, '_>, schema: &'static LogSchema, dir: Dir) -> Row {
        let id = ctx.flow.id;
        let (src, dst) = match dir {
            Dir::Orig => ((id.orig_h, id.orig_p), (id.resp_h, id.resp_p)),
            Dir::Resp => ((id.resp_h, id.resp_p), (id.orig_h, id.orig_p)),
        };
        let mut row = Row::flow(ctx, schema);
        row.values.extend([
            Value::Bool(dir.is_orig()),
            Value::Addr(src.0),
            Value::Port(src.1),
            Value::Addr(dst.0),
            Value::Port(dst.1),
        ]);
        row
    }

    /// Starts a row of an [`l2_fields!`] log for a frame.
    pub fn l2(frame: &Frame<'_>, schema: &'static LogSchema) -> Row {
        let mut values = Vec::with_capacity(schema.fields.len());
        values.extend([
            Value::Time(frame.ts),
            Value::Str(fmt_mac(&frame.src)),
            Value::Str(fmt_mac(&frame.dst)),
            frame
                .vlan
                .map_or(Value::Unset, |v| Value::Count(u64::from(v))),
        ]);
        Row { schema, values }
    }

    /// Hands a row of an [`l2_fields!`] log to the sink.
    pub fn emit_l2(self, out: &mut Output<'_>) {
        debug_assert_eq!(
            self.values.len(),
            self.schema.fields.len(),
            "row of {} does not match its schema",
            self.schema.path
        );
        out.records.push(Record {
            schema: self.schema,
            values: self.values,
        });
    }

    /// Dates the row `ts` instead of the current packet's time (a row
    /// written later than the message it records).
    pub fn at(mut self, ts: i64) -> Row {
        if let Some(v) = self.values.first_mut() {
            *v = Value::Time(ts);
        }
        self
    }

    /// Appends the next field.
    pub fn push(mut self, v: impl Into<Value>) -> Row {
        self.values.push(v.into());
        self
    }

    /// Appends the layer-2 fields and hands the record to the sink.
    pub fn emit(mut self, ctx: &mut Ctx<'_, '_>) {
        let mac = |m: Option<[u8; 6]>| m.map_or(Value::Unset, |m| Value::Str(fmt_mac(&m)));
        self.values.extend([
            mac(ctx.flow.orig_mac),
            mac(ctx.flow.resp_mac),
            ctx.flow
                .vlan
                .map_or(Value::Unset, |v| Value::Count(u64::from(v))),
        ]);
        debug_assert_eq!(
            self.values.len(),
            self.schema.fields.len(),
            "row of {} does not match its schema",
            self.schema.path
        );
        ctx.out.records.push(Record {
            schema: self.schema,
            values: self.values,
        });
    }
}

/// A protocol of one message per UDP datagram, each logged on its own with
/// no state kept between datagrams (NTP, NBNS, the browser protocol,
/// DHCPv6, SSDP). Its probe ([`datagram_probe`]) and parser ([`Datagrams`])
/// are the same for every such protocol.
pub trait Datagram: 'static {
    /// conn.log's `service`.
    const SERVICE: &'static str;
    /// Whether a datagram of this connection is one of this protocol's.
    fn recognise(id: &ConnId, data: &[u8]) -> bool;
    /// Logs one datagram (and what it tells of its sender); one that does
    /// not decode is passed over.
    fn log(ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]);
    /// See [`AppParser::flips_roles`].
    fn flips_roles(_dir: Dir, _data: &[u8]) -> bool {
        false
    }
}

/// The parser of a [`Datagram`] protocol.
pub struct Datagrams<D>(PhantomData<fn() -> D>);

impl<D: Datagram> AppParser for Datagrams<D> {
    fn service(&self) -> &'static str {
        D::SERVICE
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        D::log(ctx, dir, data);
        data.len()
    }

    fn flips_roles(&self, _id: &ConnId, dir: Dir, data: &[u8]) -> bool {
        D::flips_roles(dir, data)
    }
}

/// The probe of a [`Datagram`] protocol: UDP, and data it recognises.
pub fn datagram_probe<D: Datagram>(
    transport: Transport,
    id: &ConnId,
    data: &[u8],
) -> Option<Box<dyn AppParser>> {
    let ok = transport == Transport::Udp && D::recognise(id, data);
    ok.then(|| Box::new(Datagrams::<D>(PhantomData)) as Box<dyn AppParser>)
}

/// The host that sent in `dir`, as the asset ledger keys it.
pub fn sender(ctx: &Ctx<'_, '_>, dir: Dir) -> HostRef {
    match dir {
        Dir::Orig => orig_host(ctx),
        Dir::Resp => resp_host(ctx),
    }
}

/// The host that received what was sent in `dir`.
pub fn receiver(ctx: &Ctx<'_, '_>, dir: Dir) -> HostRef {
    match dir {
        Dir::Orig => resp_host(ctx),
        Dir::Resp => orig_host(ctx),
    }
}

/// The sender of a layer-2 frame.
pub fn frame_sender(frame: &Frame<'_>) -> HostRef {
    HostRef {
        mac: Some(frame.src),
        ip: None,
        vlan: frame.vlan,
    }
}

pub fn orig_host(ctx: &Ctx<'_, '_>) -> HostRef {
    HostRef {
        mac: ctx.flow.orig_mac,
        ip: Some(ctx.flow.id.orig_h),
        vlan: ctx.flow.vlan,
    }
}

pub fn resp_host(ctx: &Ctx<'_, '_>) -> HostRef {
    HostRef {
        mac: ctx.flow.resp_mac,
        ip: Some(ctx.flow.id.resp_h),
        vlan: ctx.flow.vlan,
    }
}

/// The address of the host that sent in `dir`.
pub fn sender_ip(ctx: &Ctx<'_, '_>, dir: Dir) -> IpAddr {
    match dir {
        Dir::Orig => ctx.flow.id.orig_h,
        Dir::Resp => ctx.flow.id.resp_h,
    }
}

/// The next whole frame of a TCP stream at or after `*pos`, advancing
/// `*pos` past it. `frame_len` says how long the frame at the start of a
/// slice is: [`Error::Truncated`] when one starts there but needs more bytes,
/// [`Error::Malformed`] when none starts there. Bytes where no frame starts
/// are skipped one at a time, which is
/// how a parser resynchronises after a gap or joins a stream mid-message.
/// `None` when the rest is an incomplete frame (or nothing): `*pos` is then
/// what the parser consumed.
pub fn next_frame<'a>(
    data: &'a [u8],
    pos: &mut usize,
    frame_len: impl Fn(&[u8]) -> Result<usize, Error>,
) -> Option<&'a [u8]> {
    while let Some(rest) = data.get(*pos..).filter(|r| !r.is_empty()) {
        match frame_len(rest) {
            Ok(n) if n > 0 && n <= rest.len() => {
                *pos += n;
                return Some(&rest[..n]);
            }
            Err(Error::Truncated) => return None,
            _ => *pos += 1,
        }
    }
    None
}

/// The next line of a line-based TCP stream (FTP, SMTP, syslog) at or after
/// `*pos`, without its `\n` or `\r\n`, advancing `*pos` past it. A line
/// longer than `max` is cut: its first `max` bytes are returned and the rest
/// up to the line end is skipped, so a peer cannot make a parser hold an
/// unbounded line. `None` when the rest is an unfinished line no longer
/// than `max`: `*pos` is then what the parser consumed.
pub fn next_line<'a>(data: &'a [u8], pos: &mut usize, max: usize) -> Option<&'a [u8]> {
    let rest = data.get(*pos..)?;
    match rest.iter().position(|&c| c == b'\n') {
        Some(nl) => {
            *pos += nl + 1;
            let line = &rest[..nl];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            Some(&line[..line.len().min(max)])
        }
        None if rest.len() > max => {
            // Too long to wait for its end: cut it here; what follows up to
            // the line end reads as another (garbage) line.
            *pos += rest.len();
            Some(&rest[..max])
        }
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_frame_skips_garbage_and_stops_at_partial_frames() {
        // Frames are a length byte followed by that many bytes; 0xff is junk.
        let len = |b: &[u8]| match b[0] {
            0xff => Err(Error::malformed("length", 0)),
            n if b.len() > usize::from(n) => Ok(usize::from(n) + 1),
            _ => Err(Error::Truncated),
        };
        let data = [0xff, 0xff, 2, 7, 7, 1, 9, 3, 1];
        let mut pos = 0;
        assert_eq!(next_frame(&data, &mut pos, len), Some(&[2, 7, 7][..]));
        assert_eq!(next_frame(&data, &mut pos, len), Some(&[1, 9][..]));
        assert_eq!(next_frame(&data, &mut pos, len), None);
        assert_eq!(pos, 7);
    }

    #[test]
    fn next_line_splits_on_lf_and_crlf_and_cuts_long_lines() {
        let data = b"ab\r\ncd\nef";
        let mut pos = 0;
        assert_eq!(next_line(data, &mut pos, 10), Some(&b"ab"[..]));
        assert_eq!(next_line(data, &mut pos, 10), Some(&b"cd"[..]));
        assert_eq!(next_line(data, &mut pos, 10), None);
        assert_eq!(pos, 7);
        let long = b"0123456789";
        let mut pos = 0;
        assert_eq!(next_line(long, &mut pos, 4), Some(&b"0123"[..]));
        assert_eq!(pos, 10);
    }
}
