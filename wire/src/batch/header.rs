//! The batch header: who sent a batch, what it covers, and the sensor's
//! health for the interval. It travels uncompressed, so the collector reads
//! it before it spends any work on the body.

use super::codec::{put_str, put_varint, put_zigzag, Reader};
use super::{DecodeError, MAX_HEADER_BYTES};

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

pub(super) fn encode_header(h: &Header) -> Vec<u8> {
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

pub(super) fn decode_header(bytes: &[u8]) -> Result<Header, DecodeError> {
    let mut r = Reader::new(bytes);
    let device_id = r.string("device id", MAX_HEADER_BYTES)?;
    if device_id.is_empty() {
        return r.invalid("empty device id".into());
    }
    let site = r.string("site", MAX_HEADER_BYTES)?;
    let seq = r.varint("sequence number")?;
    let interval_start_us = r.zigzag("interval start")?;
    let interval_end_us = r.zigzag("interval end")?;
    if interval_end_us < interval_start_us {
        return r.invalid("interval ends before it starts".into());
    }
    let agent_version = r.string("agent version", MAX_HEADER_BYTES)?;
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
