//! Passive OS fingerprints from TCP SYN and SYN-ACK packets, in the style
//! of p0f: the `fingerprint` log (`mod src_ip src_mac os raw_sig`) and an
//! OS guess for the asset ledger from the signature table in
//! `signatures.toml`.
//!
//! The engine calls [`SynSignatures::observe`] for every SYN and SYN-ACK with
//! the raw IP and TCP headers. A host's signature is logged once per
//! [`MAX_SEEN`] distinct (host, kind, signature) triples, not per packet.

use crate::asset::HostRef;
use crate::bytes::be16;
use crate::flow::id::{fmt_mac, Mac};
use crate::over_ip::Output;
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema, Record, Value};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

pub static FINGERPRINT_LOG: LogSchema = LogSchema {
    path: "fingerprint",
    fields: &[
        field("ts", T::Time),
        field("mod", T::String),
        field("src_ip", T::Addr),
        field("src_mac", T::String),
        field("os", T::String),
        field("raw_sig", T::String),
        field("vlan", T::Count),
    ],
};

/// Distinct signatures remembered to avoid logging one per connection;
/// when full the memory starts over (and signatures are logged again).
pub const MAX_SEEN: usize = 4096;

const TCP_SYN: u8 = 0x02;
const TCP_ACK: u8 = 0x10;

/// One entry of `signatures.toml`.
#[derive(Debug, serde::Deserialize)]
struct Signature {
    os: String,
    ttl: u8,
    olayout: String,
    window: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct Table {
    signature: Vec<Signature>,
}

fn table() -> &'static [Signature] {
    static T: OnceLock<Vec<Signature>> = OnceLock::new();
    T.get_or_init(|| {
        // The table is part of the build; a bad table fails its unit test.
        toml::from_str::<Table>(include_str!("signatures.toml"))
            .map_or_else(|_| Vec::new(), |t| t.signature)
    })
}

/// What a SYN or SYN-ACK says about its sender's stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    pub version: u8,
    pub ttl: u8,
    pub ip_options_len: usize,
    pub mss: Option<u16>,
    pub window: u16,
    pub wscale: Option<u8>,
    pub olayout: String,
    pub quirks: String,
    pub syn_ack: bool,
    pub has_payload: bool,
    pub src: IpAddr,
}

impl Shape {
    /// Reads the headers; `None` if they are not a SYN or SYN-ACK.
    pub fn parse(ip: &[u8], tcp: &[u8]) -> Option<Shape> {
        let version = ip.first()? >> 4;
        let (ttl, ip_options_len, src, mut quirks, total) = match version {
            4 => {
                let ihl = usize::from(ip[0] & 0xf) * 4;
                let flags = *ip.get(6)?;
                let id = be16(ip, 4)?;
                let df = flags & 0x40 != 0;
                let mut q = Vec::new();
                if df {
                    q.push("df");
                    if id != 0 {
                        q.push("id+");
                    }
                } else if id == 0 {
                    q.push("id-");
                }
                if ip.get(1)? & 3 != 0 {
                    q.push("ecn");
                }
                let src = IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(ip.get(12..16)?).ok()?));
                (
                    *ip.get(8)?,
                    ihl.checked_sub(20)?,
                    src,
                    q,
                    usize::from(be16(ip, 2)?).checked_sub(ihl),
                )
            }
            6 => {
                let src = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(ip.get(8..24)?).ok()?));
                (
                    *ip.get(7)?,
                    0,
                    src,
                    Vec::new(),
                    Some(usize::from(be16(ip, 4)?)),
                )
            }
            _ => return None,
        };
        let flags = *tcp.get(13)?;
        if flags & TCP_SYN == 0 {
            return None;
        }
        let doff = usize::from(tcp.get(12)? >> 4) * 4;
        let opts = tcp.get(20..doff)?;
        let (mut mss, mut wscale, mut layout) = (None, None, Vec::new());
        let mut i = 0;
        while let Some(&kind) = opts.get(i) {
            match kind {
                0 => {
                    layout.push(format!("eol+{}", opts.len() - i - 1));
                    break;
                }
                1 => {
                    layout.push("nop".to_owned());
                    i += 1;
                    continue;
                }
                _ => {}
            }
            let len = usize::from(*opts.get(i + 1)?).max(2);
            let body = opts.get(i + 2..i + len)?;
            layout.push(
                match kind {
                    2 => {
                        mss = be16(body, 0);
                        "mss"
                    }
                    3 => {
                        wscale = body.first().copied();
                        "ws"
                    }
                    4 => "sok",
                    5 => "sack",
                    8 => "ts",
                    _ => "?",
                }
                .to_owned(),
            );
            i += len;
        }
        if flags & 0xc0 != 0 {
            quirks.push("ecn");
        }
        let has_payload = total.is_some_and(|t| t > doff);
        Some(Shape {
            version,
            ttl,
            ip_options_len,
            mss,
            window: be16(tcp, 14)?,
            wscale,
            olayout: layout.join(","),
            quirks: quirks.join(","),
            syn_ack: flags & TCP_ACK != 0,
            has_payload,
            src,
        })
    }

    /// p0f's raw signature: `ver:ttl:olen:mss:wsize,scale:olayout:quirks:pclass`.
    pub fn raw_sig(&self) -> String {
        let mut s = String::new();
        let opt = |v: Option<u16>| v.map_or("*".to_owned(), |v| v.to_string());
        let _ = write!(
            s,
            "{}:{}:{}:{}:{},{}:{}:{}:{}",
            self.version,
            self.ttl,
            self.ip_options_len,
            opt(self.mss),
            self.window,
            opt(self.wscale.map(u16::from)),
            self.olayout,
            self.quirks,
            if self.has_payload { "+" } else { "0" }
        );
        s
    }

    /// The initial TTL the sender most likely used.
    pub fn initial_ttl(&self) -> u8 {
        [32, 64, 128]
            .into_iter()
            .find(|&t| self.ttl <= t)
            .unwrap_or(255)
    }

    /// The first signature of the table this shape matches.
    pub fn guess(&self) -> Option<&'static str> {
        table()
            .iter()
            .find(|s| {
                s.ttl == self.initial_ttl()
                    && s.olayout == self.olayout
                    && s.window.as_deref().is_none_or(|w| self.window_matches(w))
            })
            .map(|s| s.os.as_str())
    }

    fn window_matches(&self, rule: &str) -> bool {
        match rule.strip_prefix("mss*") {
            Some(n) => n
                .parse::<u32>()
                .ok()
                .zip(self.mss)
                .is_some_and(|(n, m)| u32::from(self.window) == n * u32::from(m)),
            None => rule.parse::<u16>().ok() == Some(self.window),
        }
    }
}

/// The signatures one engine has logged, so each is logged once.
#[derive(Debug, Default)]
pub struct SynSignatures {
    seen: HashSet<(IpAddr, bool, String)>,
}

impl SynSignatures {
    /// Called by the engine for every TCP SYN and SYN-ACK: logs the sender's
    /// signature (once per distinct signature) and gives the OS guess to the
    /// asset ledger.
    pub fn observe(
        &mut self,
        ts: i64,
        ip_header: &[u8],
        tcp_header: &[u8],
        src_mac: Option<Mac>,
        vlan: Option<u16>,
        out: &mut Output<'_>,
    ) {
        let Some(shape) = Shape::parse(ip_header, tcp_header) else {
            return;
        };
        let sig = shape.raw_sig();
        if self.seen.len() >= MAX_SEEN {
            self.seen.clear();
        }
        if !self.seen.insert((shape.src, shape.syn_ack, sig.clone())) {
            return;
        }
        let os = shape.guess();
        if let Some(os) = os {
            let host = HostRef {
                mac: src_mac,
                ip: Some(shape.src),
                vlan,
            };
            out.assets.observe_os(ts, host, os);
        }
        out.records.push(Record {
            schema: &FINGERPRINT_LOG,
            values: vec![
                Value::Time(ts),
                Value::from(if shape.syn_ack { "syn+ack" } else { "syn" }),
                Value::Addr(shape.src),
                src_mac.map(|m| fmt_mac(&m)).into(),
                os.into(),
                Value::from(sig),
                vlan.map_or(Value::Unset, |v| Value::Count(u64::from(v))),
            ],
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A Linux SYN: IPv4 with DF, TTL 64; TCP options mss 1460, sackOK,
    // timestamps, nop, window scale 7.
    const IP: &[u8] = &[
        0x45, 0x00, 0x00, 0x3c, // version/IHL, TOS, total length 60
        0x1c, 0x46, 0x40, 0x00, // id, flags DF
        0x40, 0x06, 0x00, 0x00, // TTL 64, TCP, checksum
        10, 0, 0, 1, // source
        10, 0, 0, 2, // destination
    ];
    const TCP: &[u8] = &[
        0xc3, 0x50, 0x00, 0x50, // ports
        0, 0, 0, 1, 0, 0, 0, 0, // seq, ack
        0xa0, 0x02, 0xfa, 0xf0, // data offset 40, SYN, window 64240
        0, 0, 0, 0, // checksum, urgent
        2, 4, 0x05, 0xb4, // mss 1460
        4, 2, // sackOK
        8, 10, 0, 0, 0, 1, 0, 0, 0, 0, // timestamps
        1, // nop
        3, 3, 7, // window scale 7
    ];

    #[test]
    fn signature_table_parses() {
        assert!(table().len() >= 5);
    }

    #[test]
    fn reads_a_linux_syn() {
        let s = Shape::parse(IP, TCP).unwrap();
        assert_eq!(
            s.raw_sig(),
            "4:64:0:1460:64240,7:mss,sok,ts,nop,ws:df,id+:0"
        );
        assert_eq!(s.guess(), Some("Linux"));
        assert!(!s.syn_ack);
        assert!(Shape::parse(IP, &TCP[..30]).is_none());
    }

    #[test]
    fn each_engine_logs_a_signature_once() {
        let mut records = crate::sink::RecordSink::new(16);
        let mut assets = crate::asset::AssetTable::new(16);
        let mut out = Output {
            records: &mut records,
            assets: &mut assets,
        };
        let (mut first, mut second) = (SynSignatures::default(), SynSignatures::default());
        first.observe(1, IP, TCP, None, None, &mut out);
        first.observe(2, IP, TCP, None, None, &mut out);
        second.observe(3, IP, TCP, None, None, &mut out);
        let logged = out.records.take();
        assert_eq!(logged.len(), 2);
        assert_eq!(logged[1].get("ts"), Some(&Value::Time(3)));
        assert_eq!(logged[1].get("os"), Some(&Value::from("Linux")));
    }
}
