//! DHCPv4 (RFC 2131/2132): Zeek's `dhcp.log` plus what the client asked
//! with (`parameter_list`, option 55) and said it was (`class_id`, option
//! 60). As in Zeek, one row covers every message of a transaction (xid),
//! across the several UDP "connections" a lease exchange is made of; a row
//! is written once the transaction has been quiet for five seconds or has
//! run thirty, or when every connection it was seen on has ended.
//! Client host names feed the asset ledger.

pub mod descriptor;

use crate::asset::HostRef;
use crate::flow::id::{fmt_mac, ConnId, Mac, Transport};
use crate::over_ip::common::sender;
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text::{self, MAX_NAME};
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema, Record, Value};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

pub static DHCP_LOG: LogSchema = LogSchema {
    path: "dhcp",
    fields: &[
        field("ts", T::Time),
        field("uids", T::SetString),
        field("client_addr", T::Addr),
        field("server_addr", T::Addr),
        field("mac", T::String),
        field("host_name", T::String),
        field("client_fqdn", T::String),
        field("domain", T::String),
        field("requested_addr", T::Addr),
        field("assigned_addr", T::Addr),
        field("lease_time", T::Interval),
        field("client_message", T::String),
        field("server_message", T::String),
        field("msg_types", T::VectorString),
        field("duration", T::Interval),
        field("parameter_list", T::VectorCount),
        field("class_id", T::String),
        field("vlan", T::Count),
    ],
};

const SERVER_PORT: u16 = 67;
const CLIENT_PORT: u16 = 68;
const MAGIC: [u8; 4] = [99, 130, 83, 99];
const OPTIONS_AT: usize = 240;
/// Transactions being joined at once; the oldest is written early.
pub const MAX_TRANSACTIONS: usize = 1024;
/// Connections and message types kept per transaction (Zeek's limits).
const MAX_UIDS: usize = 10;
const MAX_MSG_TYPES: usize = 50;
const QUIET: i64 = 5_000_000;
const MAX_WATCH: i64 = 30_000_000;
pub static TRANSACTIONS_EVICTED: AtomicU64 = AtomicU64::new(0);

/// The parts of a DHCP message the log uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repr<'a> {
    pub op: u8,
    pub xid: u32,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub chaddr: Option<Mac>,
    pub msg_type: Option<u8>,
    pub host_name: Option<&'a [u8]>,
    pub client_fqdn: Option<&'a [u8]>,
    pub domain: Option<&'a [u8]>,
    pub requested: Option<Ipv4Addr>,
    pub lease: Option<u32>,
    pub message: Option<&'a [u8]>,
    /// Option 61 with hardware type 1 (Ethernet).
    pub client_id_mac: Option<Mac>,
    pub params: Option<&'a [u8]>,
    pub class_id: Option<&'a [u8]>,
}

impl<'a> Repr<'a> {
    pub fn parse(b: &'a [u8]) -> Option<Repr<'a>> {
        if b.get(236..240)? != MAGIC {
            return None;
        }
        let ip = |at: usize| -> Option<Ipv4Addr> {
            Some(Ipv4Addr::from(
                <[u8; 4]>::try_from(b.get(at..at + 4)?).ok()?,
            ))
        };
        let mac = |s: &[u8]| <[u8; 6]>::try_from(s).ok();
        let mut r = Repr {
            op: b[0],
            xid: crate::bytes::be32(b, 4)?,
            ciaddr: ip(12)?,
            yiaddr: ip(16)?,
            chaddr: if b[1] == 1 && b[2] == 6 {
                mac(&b[28..34])
            } else {
                None
            },
            msg_type: None,
            host_name: None,
            client_fqdn: None,
            domain: None,
            requested: None,
            lease: None,
            message: None,
            client_id_mac: None,
            params: None,
            class_id: None,
        };
        let mut at = OPTIONS_AT;
        while let Some(&code) = b.get(at) {
            match code {
                0 => {
                    at += 1;
                    continue;
                }
                255 => break,
                _ => {}
            }
            let len = usize::from(*b.get(at + 1)?);
            let v = b.get(at + 2..at + 2 + len)?;
            match code {
                53 => r.msg_type = v.first().copied(),
                12 => r.host_name = Some(v),
                81 => r.client_fqdn = v.get(3..),
                15 => r.domain = Some(v),
                50 => r.requested = <[u8; 4]>::try_from(v).ok().map(Ipv4Addr::from),
                51 => r.lease = crate::bytes::be32(v, 0),
                56 => r.message = Some(v),
                61 if v.first() == Some(&1) => r.client_id_mac = mac(&v[1..]),
                55 => r.params = Some(v),
                60 => r.class_id = Some(v),
                _ => {}
            }
            at += 2 + len;
        }
        Some(r)
    }
}

pub fn msg_type_name(t: u8) -> String {
    let s = match t {
        1 => "DISCOVER",
        2 => "OFFER",
        3 => "REQUEST",
        4 => "DECLINE",
        5 => "ACK",
        6 => "NAK",
        7 => "RELEASE",
        8 => "INFORM",
        9 => "FORCERENEW",
        10 => "LEASEQUERY",
        11 => "LEASEUNASSIGNED",
        12 => "LEASEUNKNOWN",
        13 => "LEASEACTIVE",
        14 => "BULKLEASEQUERY",
        15 => "LEASEQUERYDONE",
        16 => "ACTIVELEASEQUERY",
        17 => "LEASEQUERYSTATUS",
        18 => "TLS",
        _ => return format!("unknown-{t}"),
    };
    s.to_owned()
}

/// The client FQDN option carries the name as ASCII or in DNS wire form.
fn fqdn_text(v: &[u8]) -> String {
    if v.first()
        .is_some_and(|&l| usize::from(l) < v.len() && l < 64 && !v[0].is_ascii_graphic())
    {
        return text::dotted_name(v);
    }
    text::bytes(v, MAX_NAME)
}

#[derive(Default)]
struct Txn {
    xid: u32,
    ts: i64,
    last: i64,
    vlan: Option<u16>,
    uids: Vec<String>,
    /// Connections of this transaction not yet ended.
    live: Vec<String>,
    client_addr: Option<IpAddr>,
    server_addr: Option<IpAddr>,
    mac: Option<Mac>,
    client_chaddr: Option<Mac>,
    host_name: Option<String>,
    client_fqdn: Option<String>,
    domain: Option<String>,
    requested_addr: Option<IpAddr>,
    assigned_addr: Option<IpAddr>,
    lease_time: Option<u32>,
    client_message: Option<String>,
    server_message: Option<String>,
    msg_types: Vec<String>,
    params: Option<Vec<u64>>,
    class_id: Option<String>,
}

impl Txn {
    fn record(mut self) -> Record {
        if self.mac.is_none() {
            self.mac = self.client_chaddr;
        }
        let addr = |a: Option<IpAddr>| a.map_or(Value::Unset, Value::Addr);
        Record {
            schema: &DHCP_LOG,
            values: vec![
                Value::Time(self.ts),
                Value::Strings(self.uids),
                addr(self.client_addr),
                addr(self.server_addr),
                self.mac.map(|m| fmt_mac(&m)).into(),
                self.host_name.into(),
                self.client_fqdn.into(),
                self.domain.into(),
                addr(self.requested_addr),
                addr(self.assigned_addr),
                self.lease_time
                    .map_or(Value::Unset, |l| Value::Interval(i64::from(l) * 1_000_000)),
                self.client_message.into(),
                self.server_message.into(),
                Value::Strings(self.msg_types),
                Value::Interval(self.last - self.ts),
                self.params.map_or(Value::Unset, Value::Counts),
                self.class_id.into(),
                self.vlan
                    .map_or(Value::Unset, |v| Value::Count(u64::from(v))),
            ],
        }
    }
}

/// Transactions being joined.
#[derive(Default)]
pub struct Join {
    txns: VecDeque<Txn>,
}

/// The transactions of one capture. A lease exchange spans several UDP
/// flows, which a fanout group may hand to different workers: the workers
/// of a capture share one table, so each exchange is still one row.
pub type Transactions = Arc<Mutex<Join>>;

thread_local! {
    /// The table this thread's engine joins in: its own unless
    /// [`share_transactions`] gave it a capture's, so that independent
    /// engines (tests, replays) never mix.
    static JOIN: RefCell<Transactions> = RefCell::new(Transactions::default());
}

/// Makes the engine on this thread join DHCP transactions in `t`, the
/// table of the capture it is a worker of.
pub fn share_transactions(t: &Transactions) {
    JOIN.with(|j| *j.borrow_mut() = Arc::clone(t));
}

fn with_join(f: impl FnOnce(&mut Join)) {
    JOIN.with(|table| {
        // A worker that panicked holding the lock left the table whole:
        // every change to it is a push, a remove or a field update.
        let table = table.borrow();
        let mut j = table.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut j);
    });
}

/// Recognises DHCP: ports 67/68 and the magic cookie.
pub fn probe(t: Transport, id: &ConnId, _: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    let ports = [SERVER_PORT, CLIENT_PORT];
    if t != Transport::Udp || !ports.contains(&id.orig_p) || !ports.contains(&id.resp_p) {
        return None;
    }
    Repr::parse(data).map(|_| Box::new(Dhcp) as Box<dyn AppParser>)
}

pub struct Dhcp;

impl AppParser for Dhcp {
    fn service(&self) -> &'static str {
        "dhcp"
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        let Some(m) = Repr::parse(data) else {
            return data.len();
        };
        let id = ctx.flow.id;
        let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let is_client = dir.is_orig()
            && (id.orig_h == unspecified || id.orig_p == CLIENT_PORT || id.resp_p == SERVER_PORT);
        if let Some(name) = m.host_name.filter(|_| is_client) {
            let host = HostRef {
                mac: m.client_id_mac.or(m.chaddr).or(ctx.flow.orig_mac),
                ip: None,
                vlan: ctx.flow.vlan,
            };
            ctx.out
                .assets
                .observe_hostname(ctx.ts, host, &text::bytes(name, MAX_NAME));
        }
        if !is_client && m.yiaddr != Ipv4Addr::UNSPECIFIED {
            let server = sender(ctx, dir);
            ctx.out
                .assets
                .observe_role(ctx.ts, server, descriptor::SERVER);
        }
        with_join(|j| {
            expire(j, ctx);
            let idx = match j.txns.iter().position(|t| t.xid == m.xid) {
                Some(i) => i,
                None => {
                    if j.txns.len() >= MAX_TRANSACTIONS {
                        if let Some(old) = j.txns.pop_front() {
                            TRANSACTIONS_EVICTED.fetch_add(1, Ordering::Relaxed);
                            ctx.out.records.push(old.record());
                        }
                    }
                    j.txns.push_back(Txn {
                        xid: m.xid,
                        ts: ctx.ts,
                        vlan: ctx.flow.vlan,
                        ..Txn::default()
                    });
                    j.txns.len() - 1
                }
            };
            let t = &mut j.txns[idx];
            apply(t, ctx, dir, is_client, &m);
            if t.uids.len() >= MAX_UIDS || t.msg_types.len() >= MAX_MSG_TYPES {
                if let Some(done) = j.txns.remove(idx) {
                    ctx.out.records.push(done.record());
                }
            }
        });
        data.len()
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, '_>) {
        let uid = ctx.flow.uid;
        with_join(|j| {
            let mut i = 0;
            while i < j.txns.len() {
                let t = &mut j.txns[i];
                t.live.retain(|u| u != uid);
                if t.live.is_empty() {
                    if let Some(done) = j.txns.remove(i) {
                        ctx.out.records.push(done.record());
                    }
                } else {
                    i += 1;
                }
            }
        });
    }
}

/// Writes the transactions that have been quiet or open too long.
fn expire(j: &mut Join, ctx: &mut Ctx<'_, '_>) {
    let now = ctx.ts;
    let mut i = 0;
    while i < j.txns.len() {
        let t = &j.txns[i];
        if now - t.last > QUIET || now - t.ts > MAX_WATCH {
            if let Some(done) = j.txns.remove(i) {
                ctx.out.records.push(done.record());
            }
        } else {
            i += 1;
        }
    }
}

/// Zeek's `DHCP::aggregate_msgs`.
fn apply(t: &mut Txn, ctx: &Ctx<'_, '_>, dir: Dir, is_client: bool, m: &Repr<'_>) {
    let id = ctx.flow.id;
    let uid = ctx.flow.uid;
    t.last = ctx.ts;
    if !t.uids.iter().any(|u| u == uid) {
        t.uids.push(uid.to_owned());
    }
    if !t.live.iter().any(|u| u == uid) {
        t.live.push(uid.to_owned());
    }
    if let Some(ty) = m.msg_type {
        t.msg_types.push(msg_type_name(ty));
    }
    if let Some(msg) = m.message {
        let s = Some(text::bytes(msg, MAX_NAME));
        if is_client {
            t.client_message = s;
        } else {
            t.server_message = s;
        }
    }
    let v4 = |a: Ipv4Addr| IpAddr::V4(a);
    if is_client {
        let unusable = [Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST].map(v4);
        if !unusable.contains(&id.orig_h) {
            t.client_addr = Some(id.orig_h);
        }
        if let Some(h) = m.host_name {
            t.host_name = Some(text::bytes(h, MAX_NAME));
        }
        if let Some(f) = m.client_fqdn {
            t.client_fqdn = Some(fqdn_text(f));
        }
        match m.client_id_mac {
            Some(mac) => t.mac = Some(mac),
            None => t.client_chaddr = m.chaddr,
        }
        if let Some(r) = m.requested {
            t.requested_addr = Some(v4(r));
        }
        if let Some(p) = m.params {
            t.params = Some(p.iter().map(|&c| u64::from(c)).collect());
        }
        if let Some(c) = m.class_id {
            t.class_id = Some(text::bytes(c, MAX_NAME));
        }
    } else {
        if m.yiaddr != Ipv4Addr::UNSPECIFIED {
            t.server_addr = Some(if dir.is_orig() { id.orig_h } else { id.resp_h });
            t.assigned_addr = Some(v4(m.yiaddr));
        }
        if t.mac.is_none() {
            t.mac = m.chaddr;
        }
        if t.client_addr.is_none() {
            t.client_addr = t.assigned_addr;
        }
        if let Some(d) = m.domain {
            t.domain = Some(text::bytes(d, MAX_NAME));
        }
        if let Some(l) = m.lease {
            t.lease_time = Some(l);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::AssetTable;
    use crate::flow::id::FlowRef;
    use crate::over_ip::Output;
    use crate::sink::RecordSink;

    const CLIENT: Mac = [2, 0, 0, 0, 0, 9];

    /// A BOOTP message of DHCP type `ty` for the client's transaction.
    fn message(op: u8, ty: u8, yiaddr: [u8; 4]) -> Vec<u8> {
        let mut b = vec![0u8; OPTIONS_AT];
        b[..3].copy_from_slice(&[op, 1, 6]);
        b[4..8].copy_from_slice(&0x3903_f326u32.to_be_bytes());
        b[16..20].copy_from_slice(&yiaddr);
        b[28..34].copy_from_slice(&CLIENT);
        b[236..240].copy_from_slice(&MAGIC);
        b.extend_from_slice(&[53, 1, ty, 255]);
        b
    }

    /// A lease exchange whose client and server halves are two flows, each
    /// handled by an engine joining in the table of `tables[flow]`; every
    /// flow ends after the exchange, as UDP flows do on their timeout.
    fn exchange(tables: [&Transactions; 2]) -> Vec<Record> {
        let (any, all) = (Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST);
        let server = Ipv4Addr::new(10, 0, 0, 1);
        let flows = [
            ("Cclient", (any, CLIENT_PORT), (all, SERVER_PORT)),
            ("Cserver", (server, SERVER_PORT), (all, CLIENT_PORT)),
        ]
        .map(|(uid, (oh, op), (rh, rp))| {
            let id = ConnId {
                orig_h: IpAddr::V4(oh),
                orig_p: op,
                resp_h: IpAddr::V4(rh),
                resp_p: rp,
                proto: Transport::Udp,
            };
            (uid, id)
        });
        let offered = [10, 0, 0, 50];
        let steps = [
            (0, message(1, 1, [0; 4])),
            (1, message(2, 2, offered)),
            (0, message(1, 3, [0; 4])),
            (1, message(2, 5, offered)),
        ];
        let mut records = RecordSink::new(10);
        let mut assets = AssetTable::new(10);
        let mut out = Output {
            records: &mut records,
            assets: &mut assets,
        };
        let mut ts = 1_700_000_000_000_000;
        let mut at = |flow: usize, out: &mut Output<'_>, f: &mut dyn FnMut(&mut Ctx<'_, '_>)| {
            share_transactions(tables[flow]);
            ts += 1000;
            let (uid, id) = &flows[flow];
            let flow = FlowRef {
                uid,
                id,
                orig_mac: None,
                resp_mac: None,
                vlan: None,
            };
            f(&mut Ctx { ts, flow, out });
        };
        for (flow, m) in &steps {
            at(*flow, &mut out, &mut |ctx| {
                Dhcp.parse(ctx, Dir::Orig, m);
            });
        }
        for flow in [0, 1] {
            at(flow, &mut out, &mut |ctx| Dhcp.finish(ctx));
        }
        share_transactions(&Transactions::default());
        records.take()
    }

    fn field<'r>(r: &'r Record, name: &str) -> &'r Value {
        r.get(name).unwrap_or(&Value::Unset)
    }

    #[test]
    fn workers_sharing_a_table_log_an_exchange_split_over_flows_once() {
        let own = [Transactions::default(), Transactions::default()];
        let split = exchange([&own[0], &own[1]]);
        assert_eq!(
            split.len(),
            2,
            "engines with tables of their own see half each"
        );

        let shared = Transactions::default();
        let rows = exchange([&shared, &shared]);
        assert_eq!(rows.len(), 1, "{rows:?}");
        let r = &rows[0];
        let texts = |v: &[&str]| Value::Strings(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(field(r, "uids"), &texts(&["Cclient", "Cserver"]));
        assert_eq!(
            field(r, "msg_types"),
            &texts(&["DISCOVER", "OFFER", "REQUEST", "ACK"])
        );
        assert_eq!(field(r, "mac"), &Value::from("02:00:00:00:00:09"));
        assert_eq!(
            field(r, "assigned_addr"),
            &Value::Addr(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 50)))
        );
        assert_eq!(
            field(r, "server_addr"),
            &Value::Addr(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
        );
    }
}
