//! Classic pcap (microsecond, little-endian) writing.

/// Link type of every frame written: Ethernet.
pub const LINKTYPE_ETHERNET: u32 = 1;

/// A capture being built in memory, frames in the order added.
#[derive(Default)]
pub struct Capture {
    frames: Vec<(i64, Vec<u8>)>,
}

impl Capture {
    pub fn new() -> Self {
        Capture::default()
    }

    /// Adds a frame seen at `ts` microseconds since the epoch.
    pub fn push(&mut self, ts: i64, frame: Vec<u8>) {
        self.frames.push((ts, frame));
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    pub fn frames(&self) -> impl Iterator<Item = (i64, &[u8])> {
        self.frames.iter().map(|(t, f)| (*t, f.as_slice()))
    }

    /// The capture as a pcap file, frames sorted by time (stable, so frames
    /// with the same time keep their order).
    pub fn to_pcap(&self) -> Vec<u8> {
        let mut idx: Vec<usize> = (0..self.frames.len()).collect();
        idx.sort_by_key(|&i| self.frames[i].0);
        let mut out =
            Vec::with_capacity(24 + self.frames.iter().map(|f| f.1.len() + 16).sum::<usize>());
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&0i32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&65535u32.to_le_bytes());
        out.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        for i in idx {
            let (ts, f) = &self.frames[i];
            let len = u32::try_from(f.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&u32::try_from(ts / 1_000_000).unwrap_or(0).to_le_bytes());
            out.extend_from_slice(&u32::try_from(ts % 1_000_000).unwrap_or(0).to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(f);
        }
        out
    }
}
