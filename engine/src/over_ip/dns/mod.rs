//! DNS on any port (UDP, and TCP with its two-byte length prefix),
//! including mDNS (5353) and LLMNR (5355): Zeek's `dns.log`, one row per
//! query/reply pair.
//!
//! Pairing follows Zeek's `base/protocols/dns`: a reply is matched to the
//! oldest pending query with the same transaction id (and a query to a
//! pending unmatched reply); a row is written once both sides are seen,
//! and what is still unmatched when the connection ends is written then.
//! Names and addresses that mDNS and LLMNR responders announce for
//! themselves feed the asset ledger.

pub mod descriptor;

pub mod consts;
pub mod wire;

use crate::flow::id::{ConnId, Transport};
use crate::flow_fields;
use crate::over_ip::common::{sender, Row};
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text::{self, MAX_NAME, MAX_TEXT};
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema, Value};
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
pub use wire::{Header, Message, Name, Rr};

pub static DNS_LOG: LogSchema = LogSchema {
    path: "dns",
    fields: flow_fields![
        field("proto", T::Enum),
        field("trans_id", T::Count),
        field("rtt", T::Interval),
        field("query", T::String),
        field("qclass", T::Count),
        field("qclass_name", T::String),
        field("qtype", T::Count),
        field("qtype_name", T::String),
        field("rcode", T::Count),
        field("rcode_name", T::String),
        field("AA", T::Bool),
        field("TC", T::Bool),
        field("RD", T::Bool),
        field("RA", T::Bool),
        field("Z", T::Count),
        field("answers", T::VectorString),
        field("TTLs", T::VectorInterval),
        field("rejected", T::Bool),
        field("opcode", T::Count),
        field("opcode_name", T::String),
    ],
};

/// Queries and replies waiting for their other half, per connection.
pub const MAX_PENDING: usize = 64;
/// Answers kept per transaction; the rest are counted in
/// [`ANSWERS_TRUNCATED`].
pub const MAX_ANSWERS: usize = 64;
/// Zeek's `dns_max_queries`: more questions than this is not DNS.
const MAX_QUESTIONS: u16 = 25;

/// Unmatched transactions written early because [`MAX_PENDING`] was reached.
pub static PENDING_EVICTED: AtomicU64 = AtomicU64::new(0);
/// Answers not kept because a transaction had [`MAX_ANSWERS`].
pub static ANSWERS_TRUNCATED: AtomicU64 = AtomicU64::new(0);

const MDNS_PORT: u16 = 5353;
const LLMNR_PORT: u16 = 5355;
const NBNS_PORT: u16 = 137;

/// Recognises DNS: a strict whole-message check on any port, a lighter
/// one (header and questions) on the DNS ports.
pub fn probe(t: Transport, id: &ConnId, _: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    let well_known = [53, MDNS_PORT, LLMNR_PORT].contains(&id.resp_p)
        || [53, MDNS_PORT, LLMNR_PORT].contains(&id.orig_p);
    if id.resp_p == NBNS_PORT || id.orig_p == NBNS_PORT {
        return None;
    }
    let msg = match t {
        Transport::Udp => data,
        Transport::Tcp => {
            let len = usize::from(crate::bytes::be16(data, 0)?);
            data.get(2..2 + len)
                .or(if well_known { data.get(2..) } else { None })?
        }
        _ => return None,
    };
    looks_like_dns(msg, well_known).then(|| Box::new(Dns::new(t)) as Box<dyn AppParser>)
}

/// The recognition test behind [`probe`].
pub fn looks_like_dns(msg: &[u8], well_known: bool) -> bool {
    let Ok(m) = Message::parse(msg) else {
        return false;
    };
    let h = m.header;
    if h.qdcount > MAX_QUESTIONS || ![0, 1, 2, 4, 5].contains(&h.opcode) {
        return false;
    }
    if well_known {
        return h.qdcount > 0 || h.ancount > 0 || h.qr;
    }
    h.qdcount == 1 && h.z & 0b100 == 0 && m.is_well_formed()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Waiting {
    ForReply,
    ForQuery,
}

struct Session {
    ts: i64,
    waiting: Waiting,
    trans_id: u16,
    opcode: u8,
    rtt: Option<i64>,
    query: Option<String>,
    qclass: Option<u16>,
    qtype: Option<u16>,
    rcode: Option<u8>,
    aa: bool,
    tc: bool,
    rd: bool,
    ra: bool,
    z: u8,
    answers: Vec<String>,
    ttls: Vec<i64>,
    rejected: bool,
}

impl Session {
    fn new(ts: i64, h: &Header) -> Session {
        Session {
            ts,
            waiting: if h.qr {
                Waiting::ForQuery
            } else {
                Waiting::ForReply
            },
            trans_id: h.id,
            opcode: h.opcode,
            rtt: None,
            query: None,
            qclass: None,
            qtype: None,
            rcode: None,
            aa: false,
            tc: false,
            rd: false,
            ra: false,
            z: 0,
            answers: Vec::new(),
            ttls: Vec::new(),
            rejected: false,
        }
    }
}

/// The per-connection DNS state.
pub struct Dns {
    transport: Transport,
    pending: VecDeque<Session>,
    /// TCP: bytes were lost; skip to the next message that parses.
    resync: [bool; 2],
    /// No message was handled yet.
    first: bool,
}

impl Dns {
    pub fn new(transport: Transport) -> Dns {
        Dns {
            transport,
            pending: VecDeque::new(),
            resync: [false; 2],
            first: true,
        }
    }

    /// Handles one whole DNS message.
    fn message(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, msg: &[u8]) {
        self.first = false;
        let Ok(m) = Message::parse(msg) else {
            return;
        };
        let h = m.header;
        if h.qdcount > MAX_QUESTIONS {
            return;
        }
        if ctx.flow.id.resp_p == MDNS_PORT {
            // mDNS answers are announcements as often as replies: each
            // message is its own row, as Zeek logs them.
            let mut one = Session::new(ctx.ts, &h);
            apply(&mut one, ctx.ts, &m);
            self.log(ctx, one);
            if h.qr {
                announce(ctx, dir, &m);
            }
            return;
        }
        // A query completes a session waiting for its query, a reply one
        // waiting for its reply; otherwise the message opens a session.
        let want = if h.qr {
            Waiting::ForReply
        } else {
            Waiting::ForQuery
        };
        let found = self
            .pending
            .iter()
            .position(|s| s.waiting == want && s.trans_id == h.id);
        let idx = match found {
            Some(i) => i,
            None => {
                if self.pending.len() >= MAX_PENDING {
                    if let Some(old) = self.pending.pop_front() {
                        PENDING_EVICTED.fetch_add(1, Ordering::Relaxed);
                        self.log(ctx, old);
                    }
                }
                self.pending.push_back(Session::new(ctx.ts, &h));
                self.pending.len() - 1
            }
        };
        if let Some(s) = self.pending.get_mut(idx) {
            apply(s, ctx.ts, &m);
        }
        if found.is_some() {
            if let Some(done) = self.pending.remove(idx) {
                self.log(ctx, done);
            }
        }
        if h.qr && [MDNS_PORT, LLMNR_PORT].contains(&ctx.flow.id.orig_p) {
            announce(ctx, dir, &m);
        }
    }

    fn log(&self, ctx: &mut Ctx<'_, '_>, s: Session) {
        let mut at = crate::over_ip::at_time(ctx, s.ts);
        Row::flow(&at, &DNS_LOG)
            .push(self.transport.as_str())
            .push(Value::Count(u64::from(s.trans_id)))
            .push(s.rtt.map_or(Value::Unset, Value::Interval))
            .push(s.query)
            .push(opt_count(s.qclass))
            .push(s.qclass.map(|c| consts::qclass_name(c).into_owned()))
            .push(opt_count(s.qtype))
            .push(s.qtype.map(|t| consts::qtype_name(t).into_owned()))
            .push(opt_count(s.rcode))
            .push(s.rcode.map(|r| consts::rcode_name(r).into_owned()))
            .push(s.aa)
            .push(s.tc)
            .push(s.rd)
            .push(s.ra)
            .push(Value::Count(u64::from(s.z)))
            .push(if s.answers.is_empty() {
                Value::Unset
            } else {
                Value::Strings(s.answers)
            })
            .push(if s.ttls.is_empty() {
                Value::Unset
            } else {
                Value::Intervals(s.ttls)
            })
            .push(s.rejected)
            .push(Value::Count(u64::from(s.opcode)))
            .push(consts::opcode_name(s.opcode).into_owned())
            .emit(&mut at);
    }
}

fn opt_count<N: Into<u64>>(v: Option<N>) -> Value {
    v.map_or(Value::Unset, |n| Value::Count(n.into()))
}

/// Fills a transaction from one message, as Zeek's DNS scripts do.
fn apply(s: &mut Session, ts: i64, m: &Message<'_>) {
    let h = m.header;
    if h.opcode == OPCODE_UPDATE {
        if h.qr {
            s.rcode = Some(h.rcode);
            if s.rtt.is_none() && ts != s.ts {
                s.rtt = Some(ts - s.ts);
            }
        } else {
            update(s, m);
        }
        return;
    }
    if !h.qr {
        for q in m.questions() {
            let Ok(q) = q else { break };
            s.rd = h.rd;
            s.tc = h.tc;
            s.qclass = Some(q.qclass);
            s.qtype = Some(q.qtype);
            s.z = h.z;
            let mut name = bounded_name(&q.name);
            name.make_ascii_lowercase();
            s.query = Some(name);
        }
        return;
    }
    s.rcode = Some(h.rcode);
    if h.rcode != 0 && h.qdcount == 0 {
        s.rejected = true;
    }
    if h.qdcount > 0 && h.record_count() == 0 && m.questions().all(|q| q.is_ok()) {
        s.rejected = true;
    }
    for rr in m.answers() {
        let Ok(rr) = rr else { break };
        let Some(reply) = render(&rr) else { continue };
        if s.query.is_none() {
            s.query = Some(bounded_name(&rr.name));
        }
        s.aa = h.aa;
        s.ra = h.ra;
        if s.rtt.is_none() && ts != s.ts {
            s.rtt = Some(ts - s.ts);
        }
        if !reply.is_empty() {
            if s.answers.len() < MAX_ANSWERS {
                s.answers.push(reply);
                s.ttls.push(i64::from(rr.ttl) * 1_000_000);
            } else {
                ANSWERS_TRUNCATED.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

const OPCODE_UPDATE: u8 = 5;
const CLASS_NONE: u16 = 254;
const CLASS_ANY: u16 = 255;
const TYPE_ANY: u16 = 255;

/// An UPDATE request (RFC 2136) as Zeek summarises it: the zone section is
/// not a question; each prerequisite becomes `pre: ...` and each update
/// `add: ...` or `del: ...` in `answers`, and the first record names the
/// query.
fn update(s: &mut Session, m: &Message<'_>) {
    let prereqs = usize::from(m.header.ancount);
    let updates = usize::from(m.header.nscount);
    for (i, rr) in m.records().take(prereqs + updates).enumerate() {
        let Ok(rr) = rr else { break };
        let mut name = bounded_name(&rr.name);
        name.make_ascii_lowercase();
        let ty = consts::qtype_name(rr.rtype);
        let line = match (i < prereqs, rr.class, rr.rtype) {
            (true, CLASS_ANY, TYPE_ANY) => format!("pre: NameInUse {name}"),
            (true, CLASS_NONE, TYPE_ANY) => format!("pre: NameNotInUse {name}"),
            (true, CLASS_ANY, _) => format!("pre: RRSetExists {ty} {name}"),
            (true, CLASS_NONE, _) => format!("pre: NoRRSet {ty} {name}"),
            (true, _, _) => format!("pre: RRSetExistsValue {ty} {name}"),
            (false, CLASS_ANY, TYPE_ANY) => format!("del: AllRRSets {name}"),
            (false, CLASS_ANY, _) => format!("del: RRSet {ty}"),
            (false, CLASS_NONE, _) => format!("del: RR {ty} {name}"),
            (false, _, _) => match render(&rr) {
                Some(data) if !data.is_empty() => format!("add: {ty} {name} {data}"),
                _ => format!("add: {ty} {name}"),
            },
        };
        if s.query.is_none() {
            s.query = Some(name);
        }
        if s.answers.len() < MAX_ANSWERS {
            s.answers.push(line);
            s.ttls.push(i64::from(rr.ttl) * 1_000_000);
        } else {
            ANSWERS_TRUNCATED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Zeek's one-line summary of a resource record in `answers`; `None` for
/// types Zeek does not summarise (they leave the transaction untouched).
pub fn render(rr: &Rr<'_>) -> Option<String> {
    let d = rr.rdata;
    let name_at = |off: usize| rr.name_at(off).map(|n| bounded_name(&n));
    let byte = |i: usize| d.get(i).copied();
    let word = |i: usize| crate::bytes::be16(d, i);
    Some(match rr.rtype {
        1 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(d).ok()?)).to_string(),
        28 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(d).ok()?)).to_string(),
        2 | 5 | 12 => name_at(0)?,
        6 => name_at(0)?,
        15 => name_at(2)?,
        33 => name_at(6)?,
        11 => String::new(),
        16 | 99 => character_strings(d, if rr.rtype == 16 { "TXT" } else { "SPF" }),
        46 => {
            let covered = word(0)?;
            let signer = rr.name_at(18)?;
            if signer.is_root() {
                format!("RRSIG {covered} <Root>")
            } else {
                format!("RRSIG {covered} {}", bounded_name(&signer))
            }
        }
        48 => format!("DNSKEY {}", byte(3)?),
        43 => format!("DS {} {}", byte(2)?, byte(3)?),
        47 => format!("NSEC {} {}", bounded_name(&rr.name), name_at(0)?),
        50 => "NSEC3".to_owned(),
        51 => "NSEC3PARAM".to_owned(),
        65534 => "BIND9 signing signal".to_owned(),
        44 => format!("SSHFP: {}", text::hex_bytes(d.get(2..)?)),
        29 => format!("LOC:  {} {} {}", byte(1)?, byte(2)?, byte(3)?),
        // Decoded by Zeek but not summarised in dns.log.
        13 | 35 | 41 | 64 | 65 | 250 | 257 | 38 => return None,
        t => format!("<unknown type={t}>"),
    })
}

fn bounded_name(n: &Name<'_>) -> String {
    let mut s = n.to_string_lossy();
    if s.len() > MAX_NAME {
        // Cut on a character boundary: a lossy name may hold multi-byte
        // replacement characters.
        let mut end = MAX_NAME;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// TXT/SPF data: `TXT <len> <text>` per string, joined by spaces.
fn character_strings(mut d: &[u8], tag: &str) -> String {
    let mut out = String::new();
    while let Some((&len, rest)) = d.split_first() {
        let Some(s) = rest.get(..usize::from(len)) else {
            break;
        };
        if !out.is_empty() {
            out.push(' ');
        }
        let _ = write!(out, "{tag} {len} ");
        text::push_bytes(&mut out, s);
        if out.len() > MAX_TEXT {
            break;
        }
        d = &rest[usize::from(len)..];
    }
    out
}

/// mDNS/LLMNR responders announce their own names: an A or AAAA answer for
/// the sender's own address names the sender.
fn announce(ctx: &mut Ctx<'_, '_>, dir: Dir, m: &Message<'_>) {
    let me = crate::over_ip::common::sender_ip(ctx, dir);
    for rr in m.records() {
        let Ok(rr) = rr else { break };
        let addr = match rr.rtype {
            1 => <[u8; 4]>::try_from(rr.rdata)
                .ok()
                .map(|a| IpAddr::V4(a.into())),
            28 => <[u8; 16]>::try_from(rr.rdata)
                .ok()
                .map(|a| IpAddr::V6(a.into())),
            _ => None,
        };
        if addr == Some(me) {
            let name = bounded_name(&rr.name);
            let host = name.strip_suffix(".local").unwrap_or(&name);
            let who = sender(ctx, dir);
            ctx.out.assets.observe_hostname(ctx.ts, who, host);
        }
    }
}

impl AppParser for Dns {
    fn service(&self) -> &'static str {
        "dns"
    }

    /// Zeek's DNS analyzer flips the roles when the connection's first
    /// message is a reply from the originator, unless it went to a
    /// multicast group; over TCP too, the message after its length.
    fn flips_roles(&self, id: &ConnId, dir: Dir, data: &[u8]) -> bool {
        let msg = match self.transport {
            Transport::Tcp => data.get(2..).unwrap_or_default(),
            _ => data,
        };
        self.first
            && dir.is_orig()
            && !id.resp_h.is_multicast()
            && Header::parse(msg).is_ok_and(|h| h.qr)
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        if self.transport != Transport::Tcp {
            self.message(ctx, dir, data);
            return data.len();
        }
        let side = usize::from(!dir.is_orig());
        let mut used = 0;
        if self.resync[side] {
            // Find the next length prefix followed by a well-formed message.
            match (0..data.len().saturating_sub(HEADER_MIN)).find(|&i| tcp_message_at(&data[i..])) {
                Some(i) => {
                    used = i;
                    self.resync[side] = false;
                }
                None => return data.len().saturating_sub(HEADER_MIN),
            }
        }
        while let Some(len) = crate::bytes::be16(data, used) {
            let len = usize::from(len);
            let Some(msg) = data.get(used + 2..used + 2 + len) else {
                break;
            };
            self.message(ctx, dir, msg);
            used += 2 + len;
        }
        used
    }

    fn gap(&mut self, dir: Dir) {
        self.resync[usize::from(!dir.is_orig())] = true;
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, '_>) {
        while let Some(s) = self.pending.pop_front() {
            self.log(ctx, s);
        }
    }
}

/// Bytes of a length prefix plus a DNS header.
const HEADER_MIN: usize = 2 + wire::HEADER_LEN;

fn tcp_message_at(b: &[u8]) -> bool {
    let Some(len) = crate::bytes::be16(b, 0) else {
        return false;
    };
    b.get(2..2 + usize::from(len))
        .is_some_and(|m| looks_like_dns(m, false))
}

#[cfg(test)]
mod tests {
    use crate::flow::id::Transport;
    use crate::over_ip::harness::{conn, field, rows, run, Step};
    use crate::over_ip::Dir::{Orig, Resp};

    // A query for "plc.example" A, and its reply with one address.
    const QUERY: &[u8] = &[
        0x12, 0x34, // id
        0x01, 0x00, // flags: RD
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // counts
        3, b'p', b'l', b'c', 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0, // name
        0x00, 0x01, 0x00, 0x01, // A, IN
    ];
    const REPLY: &[u8] = &[
        0x12, 0x34, // id
        0x81, 0x80, // flags: QR RD RA
        0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // counts
        3, b'P', b'L', b'C', 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0, // name
        0x00, 0x01, 0x00, 0x01, // A, IN
        0xc0, 0x0c, // name: pointer to the question
        0x00, 0x01, 0x00, 0x01, // A, IN
        0x00, 0x00, 0x0e, 0x10, // TTL 3600
        0x00, 0x04, 192, 168, 0, 10, // address
    ];

    #[test]
    fn pairs_query_and_reply_over_udp() {
        let id = conn(Transport::Udp, 40000, 53);
        let (recs, service, _) = run(&id, &[Step::Data(Orig, QUERY), Step::Data(Resp, REPLY)]);
        let dns = rows(&recs, "dns");
        assert_eq!(service, Some("dns"));
        assert_eq!(dns.len(), 1);
        assert_eq!(field(dns[0], "query"), "plc.example");
        assert_eq!(field(dns[0], "answers"), "192.168.0.10");
        assert_eq!(field(dns[0], "TTLs"), "3600.000000");
        assert_eq!(field(dns[0], "rtt"), "1.000000");
        assert_eq!(field(dns[0], "RA"), "T");
    }

    #[test]
    fn tcp_messages_split_and_merged_and_after_a_gap() {
        let id = conn(Transport::Tcp, 40000, 53);
        let framed = |m: &[u8]| [&(m.len() as u16).to_be_bytes()[..], m].concat();
        let (q, r) = (framed(QUERY), framed(REPLY));
        let two_queries = [q.clone(), q.clone()].concat();
        let (recs, _, _) = run(
            &id,
            &[
                Step::Data(Orig, &q),
                Step::Data(Resp, &r[..5]),
                Step::Data(Resp, &r[5..]),
                Step::Gap(Orig),
                Step::Data(Orig, &[0xde, 0xad]),
                Step::Data(Orig, &two_queries),
            ],
        );
        let dns = rows(&recs, "dns");
        // The first pair, then the two queries after the gap (unanswered,
        // written when the connection ends).
        assert_eq!(dns.len(), 3);
        assert_eq!(field(dns[0], "answers"), "192.168.0.10");
        assert!(dns[1..]
            .iter()
            .all(|d| field(d, "query") == "plc.example" && field(d, "rcode") == "-"));
    }

    #[test]
    fn strict_recognition_off_the_dns_ports() {
        assert!(super::looks_like_dns(QUERY, false));
        assert!(!super::looks_like_dns(&QUERY[..20], false));
        assert!(!super::looks_like_dns(b"GET / HTTP/1.1\r\n\r\n", false));
    }

    /// A reply to an ANY query for `svc.plant` with one answer per
    /// `(type, ttl, rdata)`, each owned by the question's name.
    fn any_reply(answers: &[(u16, u32, Vec<u8>)]) -> (Vec<u8>, Vec<u8>) {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        q.extend_from_slice(b"\x03svc\x05plant\x00\x00\xff\x00\x01");
        let mut r = q.clone();
        r[2] = 0x81;
        r[3] = 0x80;
        r[7] = answers.len() as u8;
        for (ty, ttl, rdata) in answers {
            r.extend_from_slice(&[0xc0, 0x0c]);
            r.extend_from_slice(&ty.to_be_bytes());
            r.extend_from_slice(&[0, 1]);
            r.extend_from_slice(&ttl.to_be_bytes());
            r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            r.extend_from_slice(rdata);
        }
        (q, r)
    }

    #[test]
    fn answers_of_less_common_types_as_zeek_writes_them() {
        let srv = [&[0, 0, 0, 5, 0x01, 0xf6][..], b"\x04plc1\x05plant\x00"].concat();
        let (q, r) = any_reply(&[
            (33, 60, srv),
            // NAPTR, CAA and HINFO: Zeek's script writes nothing for them.
            (35, 61, b"\x00\x0a\x00\x64\x01U\x07E2U+sip\x00\x00".to_vec()),
            (257, 62, b"\x00\x05issueca.example".to_vec()),
            (13, 63, b"\x03x86\x05Linux".to_vec()),
            (16, 120, b"\x03abc\x02de".to_vec()),
            (44, 180, vec![1, 2, 0xab, 0xcd]),
            (
                46,
                200,
                [
                    &[0, 1, 8, 2, 0, 0, 0, 60][..],
                    &[0; 10],
                    b"\x05plant\x00",
                    &[9; 4],
                ]
                .concat(),
            ),
            (43, 210, vec![0x30, 0x39, 8, 2, 0xaa]),
            (999, 240, vec![7]),
        ]);
        let id = conn(Transport::Udp, 40000, 53);
        let (recs, _, _) = run(&id, &[Step::Data(Orig, &q), Step::Data(Resp, &r)]);
        let dns = rows(&recs, "dns");
        assert_eq!(
            field(dns[0], "answers"),
            "plc1.plant,TXT 3 abc TXT 2 de,SSHFP: abcd,RRSIG 1 plant,DS 8 2,<unknown type=999>"
        );
        // A TTL for each answer written, none for the others.
        assert_eq!(
            field(dns[0], "TTLs"),
            "60.000000,120.000000,180.000000,200.000000,210.000000,240.000000"
        );
    }
}
