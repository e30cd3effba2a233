//! Classic pcap (microsecond, little-endian) writing.

/// The pcap link types the builders write (`LINKTYPE_*`).
pub const LINKTYPE_NULL: u32 = 0;
pub const LINKTYPE_ETHERNET: u32 = 1;
pub const LINKTYPE_PPP: u32 = 9;
pub const LINKTYPE_RAW: u32 = 101;
pub const LINKTYPE_LINUX_SLL: u32 = 113;
pub const LINKTYPE_IEEE802_11_RADIOTAP: u32 = 127;
pub const LINKTYPE_NFLOG: u32 = 239;
pub const LINKTYPE_LINUX_SLL2: u32 = 276;

/// A capture being built in memory, frames in the order added, all of one
/// link type (Ethernet unless said otherwise).
pub struct Capture {
    frames: Vec<(i64, Vec<u8>)>,
    link_type: u32,
}

impl Default for Capture {
    fn default() -> Self {
        Capture::with_link_type(LINKTYPE_ETHERNET)
    }
}

impl Capture {
    pub fn new() -> Self {
        Capture::default()
    }

    /// An empty capture whose frames are of `link_type`.
    pub fn with_link_type(link_type: u32) -> Self {
        Capture {
            frames: Vec::new(),
            link_type,
        }
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
        out.extend_from_slice(&self.link_type.to_le_bytes());
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
