//! Reading pcap and pcapng files in constant memory.

use crate::decode::LinkType;
use pcap_parser::pcapng::Block;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Largest record accepted; a larger one means a damaged file.
const MAX_RECORD: usize = 1 << 20;

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

/// Calls `f(ts_us, link, frame)` for every packet of the file, in file
/// order. Everything read before a damaged record has been handed to `f`
/// when the error is returned.
pub fn read_file(
    path: &Path,
    mut f: impl FnMut(i64, LinkType, &[u8]),
) -> Result<FileSummary, ReadError> {
    let file = File::open(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut reader = match create_reader(65_536, file) {
        Ok(r) => r,
        Err(PcapError::HeaderNotRecognized)
        | Err(PcapError::Eof)
        | Err(PcapError::UnexpectedEof) => {
            return Err(ReadError::NotACapture {
                path: path.to_owned(),
            })
        }
        Err(e) => {
            return Err(ReadError::Damaged {
                path: path.to_owned(),
                offset: 0,
                what: format!("{e:?}"),
            })
        }
    };
    let mut summary = FileSummary::default();
    let mut legacy_link = LinkType::ETHERNET;
    let mut nanos = false;
    let mut ifaces: Vec<Iface> = Vec::new();
    let mut offset: u64 = 0;
    let mut grown = false;
    let damaged = |offset: u64, what: &str| ReadError::Damaged {
        path: path.to_owned(),
        offset,
        what: what.to_owned(),
    };
    loop {
        match reader.next() {
            Ok((len, block)) => {
                let last_ts = summary.last_ts.unwrap_or(0);
                let mut packet = |ts: i64, link: LinkType, data: &[u8]| {
                    summary.packets += 1;
                    summary.first_ts.get_or_insert(ts);
                    summary.last_ts = Some(ts);
                    f(ts, link, data);
                };
                match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy_link = LinkType(h.network.0 as u32);
                        nanos = h.is_nanosecond_precision();
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let frac = if nanos {
                            i64::from(b.ts_usec) / 1000
                        } else {
                            i64::from(b.ts_usec)
                        };
                        let ts = i64::from(b.ts_sec) * 1_000_000 + frac;
                        let n = (b.caplen as usize).min(b.data.len());
                        packet(ts, legacy_link, &b.data[..n]);
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => ifaces.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        ifaces.push(Iface {
                            link: LinkType(idb.linktype.0 as u32),
                            resolution: idb.ts_resolution().unwrap_or(1_000_000),
                            offset: idb.ts_offset(),
                        });
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let Some(iface) = ifaces.get(epb.if_id as usize) else {
                            return Err(damaged(offset, "packet names an undeclared interface"));
                        };
                        let raw = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                        let res = iface.resolution.max(1);
                        let secs = (raw / res) as i64 + iface.offset;
                        let frac = ((raw % res) as u128 * 1_000_000 / u128::from(res)) as i64;
                        let n = (epb.caplen as usize).min(epb.data.len());
                        packet(secs * 1_000_000 + frac, iface.link, &epb.data[..n]);
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        let Some(iface) = ifaces.first() else {
                            return Err(damaged(offset, "packet before any interface description"));
                        };
                        // Simple packets carry no time: use the previous one's.
                        let n = (spb.origlen as usize).min(spb.data.len());
                        packet(last_ts, iface.link, &spb.data[..n]);
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                offset += len as u64;
                reader.consume(len);
            }
            Err(PcapError::Eof) => return Ok(summary),
            Err(PcapError::Incomplete(_)) => {
                if reader.refill().is_err() {
                    return Err(damaged(offset, "read error"));
                }
            }
            Err(PcapError::UnexpectedEof) => {
                return Err(damaged(offset, "file ends inside a record (truncated)"))
            }
            Err(PcapError::BufferTooSmall) => {
                if grown || !reader.grow(MAX_RECORD) {
                    return Err(damaged(
                        offset,
                        "record larger than 1 MiB (damaged length field)",
                    ));
                }
                grown = true;
            }
            Err(e) => {
                let what = match e {
                    PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
                        format!("malformed record ({kind:?})")
                    }
                    PcapError::HeaderNotRecognized => "unrecognised block".to_owned(),
                    _ => "read error".to_owned(),
                };
                return Err(damaged(offset, &what));
            }
        }
    }
}
