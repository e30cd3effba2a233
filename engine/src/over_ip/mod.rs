//! Protocols carried over IP, on TCP and UDP: recognition by content,
//! per-flow state, logs.
//!
//! The flow table hands each parser the payload of its connection: for TCP
//! the in-order byte stream of one direction (after reassembly, bounded per
//! flow), for UDP one datagram at a time. A TCP parser returns how many bytes
//! it consumed; the rest is presented again with the next data, so a message
//! split across segments is parsed once whole. When bytes were lost (a
//! capture gap, or a message larger than the per-flow window) the parser is
//! told through [`AppParser::gap`] and must resynchronise on the next message
//! it recognises, never go silent for the rest of the connection.
//!
//! Each protocol lives in its own folder with its own logs and its
//! `descriptor.rs` (see [`crate::protocols`]). A protocol is found by
//! [`probe`]: each module's `probe` looks at the first payload of a
//! direction (and the ports as a hint only) and returns a parser when the
//! bytes look like its protocol; the registry orders them.

// The protocol folders, from the registry's list.
use crate::protocols::{declare_modules, each_protocol};
each_protocol!(declare_modules over_ip;);
pub mod common;
pub mod detect;
pub mod fingerprint;
#[cfg(test)]
pub mod harness;
pub mod iso;

pub mod session;

use crate::asset::AssetTable;
use crate::flow::id::{ConnId, FlowRef, Transport};
use crate::sink::RecordSink;
use std::net::IpAddr;

/// Which side sent the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    Orig,
    Resp,
}

impl Dir {
    pub fn is_orig(self) -> bool {
        self == Dir::Orig
    }

    /// The other side.
    pub fn other(self) -> Dir {
        match self {
            Dir::Orig => Dir::Resp,
            Dir::Resp => Dir::Orig,
        }
    }
}

/// Where parsers put what they found.
pub struct Output<'a> {
    pub records: &'a mut RecordSink,
    pub assets: &'a mut AssetTable,
}

/// The context of one call into a parser.
pub struct Ctx<'a, 'b> {
    /// Packet time, microseconds since the epoch.
    pub ts: i64,
    pub flow: FlowRef<'a>,
    pub out: &'a mut Output<'b>,
}

pub trait AppParser: Send {
    /// The name for conn.log's `service` field (Zeek's spelling, e.g. "dns",
    /// "modbus", "ssl"); empty while the protocol is not confirmed.
    fn service(&self) -> &'static str;

    /// Parses payload sent in `dir`. For TCP `data` is the unconsumed stream
    /// so far; return the number of bytes consumed. For UDP `data` is one
    /// datagram and the return value is ignored.
    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize;

    /// Bytes of `dir` were lost before the data presented next.
    fn gap(&mut self, _dir: Dir) {}

    /// `len` bytes of `dir` were lost before the data presented next (a
    /// TCP content gap). Parsers that count what was lost (HTTP's body
    /// lengths) read the length; the others see a [`gap`](Self::gap).
    fn content_gap(&mut self, dir: Dir, _len: u64) {
        self.gap(dir);
    }

    /// Whether the protocol leaves alone a TCP connection whose start was
    /// not seen, as Zeek's analyzers that return early on `IsPartial()`
    /// do: such a connection gets neither rows nor a service from it.
    fn needs_start(&self) -> bool {
        false
    }

    /// Whether this UDP datagram (or the TCP data starting a message), sent
    /// in `dir`, shows the roles reversed: its sender is really the
    /// responder (Zeek's DNS and NTP analyzers then call `FlipRoles`).
    /// Asked before the data is parsed; the engine flips a connection at
    /// most once.
    fn flips_roles(&self, _id: &ConnId, _dir: Dir, _data: &[u8]) -> bool {
        false
    }

    /// Bytes the parser dropped since the last call because a message it
    /// reassembles itself (ISO transport TPDUs) outgrew its bound; the
    /// session counts them with the stream bytes it dropped.
    fn discarded(&mut self) -> u64 {
        0
    }

    /// The connection ends (or is evicted): log anything still pending.
    fn finish(&mut self, _ctx: &mut Ctx<'_, '_>) {}

    /// Connections announced since the last call (an FTP data channel),
    /// polled after every `parse`.
    fn expected(&mut self) -> Vec<Expected> {
        Vec::new()
    }
}

/// A connection a parser announces, as Zeek's `Analyzer::schedule_analyzer`
/// does: the next connections from `orig_h` to `resp_h:resp_p` over TCP
/// name `service` in conn.log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected {
    pub orig_h: IpAddr,
    pub resp_h: IpAddr,
    pub resp_p: u16,
    pub service: &'static str,
}

/// A protocol recogniser: given the first payload seen in `dir`, returns a
/// parser if the data is this protocol.
pub type Probe =
    fn(transport: Transport, id: &ConnId, dir: Dir, data: &[u8]) -> Option<Box<dyn AppParser>>;

/// Finds the parser for a connection from its first payload.
pub fn probe(
    transport: Transport,
    id: &ConnId,
    dir: Dir,
    data: &[u8],
) -> Option<Box<dyn AppParser>> {
    crate::protocols::probes()
        .iter()
        .find_map(|p| p(transport, id, dir, data))
}

/// The same context with another time: for rows written later than the
/// message that opened them (a DNS query logged when its reply comes).
pub fn at_time<'c, 'b>(ctx: &'c mut Ctx<'_, 'b>, ts: i64) -> Ctx<'c, 'b> {
    Ctx {
        ts,
        flow: ctx.flow.clone(),
        out: ctx.out,
    }
}
