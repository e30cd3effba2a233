//! The batch header: who sent a batch, what it covers, and the sensor's
//! health for the interval. It travels uncompressed, so the collector reads
//! it before it spends any work on the body.
//!
//! Its fields and the health counters are each listed once, below, in wire
//! order; the struct, the encoder, the decoder and the counters' names are
//! made from those lists. How the header grows without breaking older
//! collectors is the version policy in the module above.
//!
//! ```text
//! fixed fields   in the order of `header!` below (strings length-prefixed,
//!                counts as varints, times zigzag varints, flags one byte)
//! health         counter count (varint), the counters in the order of
//!                `health!` then any newer ones, lost interval start (zigzag)
//! extensions     until the header ends: tag (varint), length (varint), bytes
//! ```

use super::codec::{put_str, put_varint, put_zigzag, Reader};
use super::{DecodeError, MAX_HEADER_BYTES};

/// A header extension field this build does not know, kept as it came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownField {
    pub tag: u64,
    pub value: Vec<u8>,
}

/// How one fixed header field goes on the wire.
trait Field: Sized {
    fn put(&self, o: &mut Vec<u8>);
    fn get(r: &mut Reader<'_>, what: &'static str) -> Result<Self, DecodeError>;
}

impl Field for String {
    fn put(&self, o: &mut Vec<u8>) {
        put_str(o, self);
    }
    fn get(r: &mut Reader<'_>, what: &'static str) -> Result<Self, DecodeError> {
        r.string(what, MAX_HEADER_BYTES)
    }
}

impl Field for u64 {
    fn put(&self, o: &mut Vec<u8>) {
        put_varint(o, *self);
    }
    fn get(r: &mut Reader<'_>, what: &'static str) -> Result<Self, DecodeError> {
        r.varint(what)
    }
}

impl Field for i64 {
    fn put(&self, o: &mut Vec<u8>) {
        put_zigzag(o, *self);
    }
    fn get(r: &mut Reader<'_>, what: &'static str) -> Result<Self, DecodeError> {
        r.zigzag(what)
    }
}

impl Field for bool {
    fn put(&self, o: &mut Vec<u8>) {
        o.push(u8::from(*self));
    }
    fn get(r: &mut Reader<'_>, what: &'static str) -> Result<Self, DecodeError> {
        match r.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            v => r.invalid(format!("{what} {v}")),
        }
    }
}

/// The health counters, in wire order: a new counter is appended, never
/// inserted, removed or reordered.
macro_rules! health {
    ($( $(#[$doc:meta])* $name:ident, )*) => {
        /// The sensor's health for one interval. Counts are for the interval
        /// unless said otherwise.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct Health {
            $( $(#[$doc])* pub $name: u64, )*
            /// Start of the last lost interval (µs), 0 when none.
            pub lost_interval_start_us: i64,
            /// Counters a newer agent appended that this build does not
            /// know, in wire order after the known ones.
            pub unknown: Vec<u64>,
            /// How many of the last known counters an older agent did not
            /// send: they read as 0 and are not written back, so the header
            /// encodes to the bytes it came in.
            pub absent: usize,
        }

        impl Health {
            /// The known counters' names, in wire order.
            pub const COUNTERS: &'static [&'static str] = &[$(stringify!($name)),*];

            /// The known counters' values, in wire order.
            pub fn counters(&self) -> Vec<u64> {
                vec![$(self.$name),*]
            }

            /// The counter named `name`; `None` for a name not in [`Health::COUNTERS`].
            pub fn counter_mut(&mut self, name: &str) -> Option<&mut u64> {
                match name {
                    $(stringify!($name) => Some(&mut self.$name),)*
                    _ => None,
                }
            }
        }
    };
}

health! {
    /// Packets and bytes seen on the mirror port.
    packets,
    bytes,
    /// Packets the kernel dropped because the ring was full.
    kernel_drops,
    /// Times the kernel froze the ring queue.
    kernel_freezes,
    /// Frames that could not be decoded.
    malformed,
    /// Flow table entries evicted before their end.
    flows_evicted,
    /// Records dropped because a table or the interval buffer was full.
    records_dropped,
    /// Records with a truncated string field.
    records_truncated,
    /// Batches waiting in the spool when this one closed (itself excluded).
    spool_depth,
    /// Bytes waiting in the spool when this one closed.
    spool_bytes,
    /// Batches evicted from the full or expired spool since the last batch.
    spool_evictions,
    /// Corrupt spool files quarantined since the last batch.
    spool_quarantined,
    /// Intervals lost because the agent stopped without closing them
    /// (power cut, kill), reported once by the next batch.
    lost_intervals,
    /// Packets seen in the lost intervals before they were lost.
    lost_packets,
    /// Announced connections (FTP data channels) forgotten before their
    /// time because the table was full.
    expected_evicted,
    /// TCP connections not recognised on their first bytes put back
    /// together, because as many were already gathering theirs.
    dpd_buffers_refused,
}

/// The counters the first version 1 agents send (up to `lost_packets`):
/// every header holds at least these, and the ones appended since may be
/// absent from an older agent's.
const FIRST_COUNTERS: usize = 14;

impl Field for Health {
    fn put(&self, o: &mut Vec<u8>) {
        let known = self.counters();
        let sent = &known[..known.len().saturating_sub(self.absent)];
        put_varint(o, (sent.len() + self.unknown.len()) as u64);
        for v in sent.iter().chain(&self.unknown) {
            put_varint(o, *v);
        }
        put_zigzag(o, self.lost_interval_start_us);
    }

    fn get(r: &mut Reader<'_>, _: &'static str) -> Result<Self, DecodeError> {
        // Every counter takes at least a byte: the header's size bounds them.
        let n = r.len("health counter count", MAX_HEADER_BYTES)?;
        if n < FIRST_COUNTERS {
            return r.invalid(format!(
                "{n} health counters, version 1 has at least {FIRST_COUNTERS}"
            ));
        }
        let mut h = Health {
            absent: Health::COUNTERS.len().saturating_sub(n),
            ..Health::default()
        };
        for name in Health::COUNTERS.iter().take(n) {
            let v = r.varint("health counter")?;
            if let Some(c) = h.counter_mut(name) {
                *c = v;
            }
        }
        for _ in Health::COUNTERS.len()..n {
            h.unknown.push(r.varint("health counter")?);
        }
        h.lost_interval_start_us = r.zigzag("lost interval start")?;
        Ok(h)
    }
}

/// The fixed header fields, in wire order (name, type, what an error calls
/// it): new fields are extensions, never added here.
macro_rules! header {
    ($( $(#[$doc:meta])* $name:ident: $ty:ty => $what:literal, )*) => {
        /// Who sent a batch and what it covers.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct Header {
            $( $(#[$doc])* pub $name: $ty, )*
            /// Extension fields a newer agent added that this build does not
            /// know, kept in their order.
            pub unknown: Vec<UnknownField>,
        }

        fn put_fixed(h: &Header, o: &mut Vec<u8>) {
            $( h.$name.put(o); )*
        }

        fn get_fixed(r: &mut Reader<'_>) -> Result<Header, DecodeError> {
            Ok(Header {
                $( $name: Field::get(r, $what)?, )*
                unknown: Vec::new(),
            })
        }
    };
}

header! {
    /// The device serial, equal to its certificate's subject CN.
    device_id: String => "device id",
    /// The site the device serves; empty when unassigned.
    site: String => "site",
    /// Per device, starting at 1, one per closed interval, never reused.
    seq: u64 => "sequence number",
    interval_start_us: i64 => "interval start",
    interval_end_us: i64 => "interval end",
    agent_version: String => "agent version",
    /// Cyclic industrial operations are aggregated (one row per key).
    aggregated: bool => "aggregated flag",
    /// Records in the body.
    record_count: u64 => "record count",
    health: Health => "health",
}

pub(super) fn encode_header(h: &Header) -> Vec<u8> {
    let mut o = Vec::with_capacity(128);
    put_fixed(h, &mut o);
    for f in &h.unknown {
        put_varint(&mut o, f.tag);
        put_varint(&mut o, f.value.len() as u64);
        o.extend_from_slice(&f.value);
    }
    o
}

pub(super) fn decode_header(bytes: &[u8]) -> Result<Header, DecodeError> {
    let mut r = Reader::new(bytes);
    let mut h = get_fixed(&mut r)?;
    if h.device_id.is_empty() {
        return r.invalid("empty device id".into());
    }
    if h.interval_end_us < h.interval_start_us {
        return r.invalid("interval ends before it starts".into());
    }
    while r.remaining() != 0 {
        let tag = r.varint("extension tag")?;
        let n = r.len("extension length", MAX_HEADER_BYTES)?;
        let value = r.take(n, "extension")?.to_vec();
        h.unknown.push(UnknownField { tag, value });
    }
    Ok(h)
}
