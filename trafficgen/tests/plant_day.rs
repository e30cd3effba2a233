//! `plant-day` and `hostile-names` from their frames: every clean day
//! holds the same items (who talks to whom, over what, doing what), each
//! event adds its own items once and touches nothing else, and the hostile
//! strings go on the wire whole.

use osect_trafficgen::day::{day_start, plant_day, Event, Plant};
use osect_trafficgen::frame::Host;
use osect_trafficgen::hostile;
use osect_trafficgen::pcap::Capture;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::sync::OnceLock;

const SECONDS: u64 = 1200;

/// What a frame does, without the parts that change from day to day
/// (times, client ports, sequence numbers, transaction ids, values read).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Item {
    src: String,
    dst: String,
    vlan: u16,
    proto: &'static str,
    port: u16,
    op: String,
}

fn mac(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn ip(b: &[u8]) -> String {
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

fn u16be(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn u16le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// The operation of an application payload, by the server's port.
fn operation(port: u16, to_server: bool, p: &[u8]) -> String {
    match port {
        502 => {
            let fc = p[7];
            match (to_server, fc) {
                (true, 1..=4 | 15 | 16) => format!("fc{fc} {} {}", u16be(p, 8), u16be(p, 10)),
                (true, 5 | 6) => format!("fc{fc} {}", u16be(p, 8)),
                _ => format!("fc{fc}"),
            }
        }
        102 if p[5] != 0xf0 => format!("cotp {:02x}", p[5]),
        102 => {
            let s = &p[7..];
            let rosctr = s[1];
            let head = if matches!(rosctr, 2 | 3) { 12 } else { 10 };
            let plen = usize::from(u16be(s, 6));
            let param = &s[head..head + plen];
            let data = &s[head + plen..];
            match rosctr {
                1 => format!("job {}", hex(param)),
                7 => format!("userdata {}", hex(data)),
                _ => format!("ack {:02x}", param[0]),
            }
        }
        5000 if to_server => format!("cmd {:04x} {}", u16le(p, 11), hex(&p[13..])),
        // A read type name answer names the model; other answers carry
        // values that change.
        5000 if p.len() == 11 + 18 => format!("end {:04x} {}", u16le(p, 9), hex(&p[11..])),
        5000 => format!("end {:04x}", u16le(p, 9)),
        44818 => {
            let command = u16le(p, 0);
            if command != 0x6f {
                return format!("enip {command:02x} {}", hex(&p[24..]));
            }
            let cip = &p[40..];
            if cip[0] & 0x80 == 0 {
                format!("cip {}", hex(cip))
            } else {
                format!("cip {:02x} {:02x} {}", cip[0], cip[2], hex(&cip[4..]))
            }
        }
        20000 => format!("dnp3 {:02x}", p[12]),
        2404 => match p[2] & 0x03 {
            1 => "s".to_owned(),
            3 => format!("u {:02x}", p[2]),
            _ => format!("i {} {}", p[6], p[8]),
        },
        4840 if &p[..3] == b"MSG" => format!("MSG {}", u16le(p, 26)),
        4840 => String::from_utf8_lossy(&p[..3]).into_owned(),
        9600 if p[0] & 0x40 == 0 => format!("fins {:02x}{:02x} {}", p[10], p[11], hex(&p[12..])),
        9600 if p[10] == 5 => format!("fins {:02x}{:02x} {}", p[10], p[11], hex(&p[12..])),
        9600 => format!("fins {:02x}{:02x} {}", p[10], p[11], hex(&p[12..14])),
        47808 => {
            let apdu = &p[6..];
            let service = match apdu[0] >> 4 {
                0 => apdu[3],
                3 => apdu[2],
                _ => apdu[1],
            };
            format!("bacnet {} {service}", apdu[0] >> 4)
        }
        53 => {
            let mut name = Vec::new();
            let mut i = 12;
            while p[i] != 0 {
                name.push(
                    String::from_utf8_lossy(&p[i + 1..i + 1 + usize::from(p[i])]).into_owned(),
                );
                i += 1 + usize::from(p[i]);
            }
            format!("dns {} {}", p[2] >> 7, name.join("."))
        }
        67 => format!("dhcp {}", p[0]),
        61450 => format!("cclink {:02x}", p[0]),
        _ => panic!("no decoder for port {port}"),
    }
}

/// The item of one frame.
fn item(f: &[u8]) -> Item {
    let (vlan, ethertype, p) = if u16be(f, 12) == 0x8100 {
        (u16be(f, 14) & 0x0fff, u16be(f, 16), &f[18..])
    } else {
        (0, u16be(f, 12), &f[14..])
    };
    let (smac, dmac) = (mac(&f[6..12]), mac(&f[..6]));
    let l2 = |proto, op: String| Item {
        src: smac.clone(),
        dst: dmac.clone(),
        vlan,
        proto,
        port: 0,
        op,
    };
    match ethertype {
        0x0806 => {
            let op = format!(
                "{} {} {} -> {}",
                p[7],
                mac(&p[8..14]),
                ip(&p[14..18]),
                ip(&p[24..28])
            );
            return l2("arp", op);
        }
        // The transaction id (4..8) changes; the blocks are the identity.
        0x8892 => return l2("dcp", format!("{} {}", hex(&p[..4]), hex(&p[8..]))),
        0x0800 => {}
        other => panic!("unexpected ethertype {other:04x}"),
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let total = usize::from(u16be(p, 2));
    let (sip, dip, proto) = (ip(&p[12..16]), ip(&p[16..20]), p[9]);
    let seg = &p[ihl..total];
    let (sport, dport) = (u16be(seg, 0), u16be(seg, 2));
    let port = sport.min(dport);
    let (name, payload, flags) = match proto {
        6 => ("tcp", &seg[usize::from(seg[12] >> 4) * 4..], seg[13]),
        17 => ("udp", &seg[8..], 0),
        other => panic!("unexpected IP protocol {other}"),
    };
    let op = if payload.is_empty() {
        format!("flags {:02x}", flags & 0x07)
    } else {
        operation(port, dport == port, payload)
    };
    Item {
        src: format!("{smac} {sip}"),
        dst: format!("{dmac} {dip}"),
        vlan,
        proto: name,
        port,
        op,
    }
}

/// Every item of a capture with how many frames show it.
fn items(cap: &Capture) -> BTreeMap<Item, usize> {
    let mut m = BTreeMap::new();
    for (_, f) in cap.frames() {
        *m.entry(item(f)).or_insert(0) += 1;
    }
    m
}

fn keys(m: &BTreeMap<Item, usize>) -> BTreeSet<Item> {
    m.keys().cloned().collect()
}

/// The items a day with `events` has and the clean day (same day, same
/// seed) has not, with their frame counts; the clean day's items must all
/// still be there.
fn added(events: &[Event]) -> BTreeMap<Item, usize> {
    static CLEAN: OnceLock<BTreeMap<Item, usize>> = OnceLock::new();
    let clean = CLEAN.get_or_init(|| items(&plant_day(2, SECONDS, 5, &[])));
    let with = items(&plant_day(2, SECONDS, 5, events));
    for k in clean.keys() {
        assert!(with.contains_key(k), "{events:?} lost {k:?}");
    }
    with.into_iter()
        .filter(|(k, _)| !clean.contains_key(k))
        .collect()
}

/// The items of `m` whose operation contains `needle`, and their frames.
fn count(m: &BTreeMap<Item, usize>, needle: &str) -> usize {
    m.iter()
        .filter(|(k, _)| k.op.contains(needle))
        .map(|(_, n)| n)
        .sum()
}

/// Every added item is between two of `hosts` (MAC or address prefixes
/// of its ends).
fn only_between(m: &BTreeMap<Item, usize>, hosts: &[&str]) {
    let known =
        |end: &str| hosts.iter().any(|h| end.contains(h)) || end.starts_with("ff:ff:ff:ff:ff:ff");
    for k in m.keys() {
        assert!(
            known(&k.src) && known(&k.dst),
            "{k:?} involves another device"
        );
    }
}

#[test]
fn a_day_is_deterministic_and_stays_in_its_window() {
    let a = plant_day(3, 300, 7, &Event::ALL).to_pcap();
    assert_eq!(a, plant_day(3, 300, 7, &Event::ALL).to_pcap());
    assert_ne!(a, plant_day(3, 300, 8, &Event::ALL).to_pcap());
    let cap = plant_day(3, 300, 7, &Event::ALL);
    let d0 = day_start(3);
    let times: Vec<i64> = cap.frames().map(|(t, _)| t).collect();
    assert_eq!(times.iter().min(), Some(&d0));
    let last = times.iter().max().copied().unwrap_or(0);
    assert!(
        last < d0 + 300_000_000 && last > d0 + 290_000_000,
        "last frame at {last}"
    );
}

#[test]
fn clean_days_hold_the_same_items_at_other_times() {
    let one = plant_day(1, SECONDS, 1, &[]);
    let two = plant_day(2, SECONDS, 9, &[]);
    let (a, b) = (items(&one), items(&two));
    assert_eq!(keys(&a), keys(&b));
    // Same operations, not the same frames: the days differ in time.
    let first = |c: &Capture| c.frames().map(|(t, _)| t).min().unwrap_or(0);
    assert_eq!(first(&two) - first(&one), 86_400_000_000);
    assert_ne!(one.to_pcap()[24..], two.to_pcap()[24..]);
    // The ground rules of a clean day.
    let p = Plant::default();
    assert_eq!(count(&a, "job 29"), 0, "S7 stop on a clean day");
    assert_eq!(count(&a, "cmd 1002"), 0, "SLMP stop on a clean day");
    assert!(a
        .keys()
        .filter(|k| k.port == 502 && k.op.starts_with("fc"))
        .all(|k| {
            ["fc3 100 4", "fc1 0 16", "fc6 200", "fc3", "fc1", "fc6"].contains(&k.op.as_str())
        }));
    let fins_peers: BTreeSet<&str> = a
        .keys()
        .filter(|k| k.port == 9600)
        .flat_map(|k| [k.src.as_str(), k.dst.as_str()])
        .collect();
    assert_eq!(
        fins_peers.len(),
        2,
        "only the engineering station talks FINS: {fins_peers:?}"
    );
    assert!(a
        .keys()
        .filter(|k| k.port == 9600)
        .all(|k| !k.op.starts_with("fins 0102")));
    let office = p.office_pc.ip.to_string();
    let office_items: Vec<&Item> = a
        .keys()
        .filter(|k| k.src.ends_with(&office) || k.dst.ends_with(&office))
        .collect();
    assert!(!office_items.is_empty());
    assert!(office_items.iter().all(|k| k.port == 53 && k.vlan == 20));
}

#[test]
fn each_event_adds_its_own_items_once() {
    let p = Plant::default();
    let n = &p.net;
    let m = |h: &Host| mac(&h.mac);
    let a = added(&[Event::NewPlc]);
    only_between(&a, &[&m(&n.hmi), &m(&p.new_plc)]);
    assert_eq!(count(&a, "fc3 0 8"), 10);
    assert_eq!(
        count(&a, "1 00:30:de:01:00:70 192.168.10.112 -> 192.168.10.112"),
        1
    );

    let a = added(&[Event::NewPair]);
    only_between(&a, &[&m(&n.hmi), &m(&n.fins_plc)]);
    assert_eq!(count(&a, "fins 0101 8200640000"), 1);
    assert_eq!(a.values().sum::<usize>(), 2);

    let a = added(&[Event::S7Stop]);
    only_between(&a, &[&m(&n.eng), &m(&n.s7_plc)]);
    assert_eq!(count(&a, "job 29"), 1);
    assert_eq!(count(&a, "ack 29"), 1);

    let a = added(&[Event::SlmpStop]);
    only_between(&a, &[&m(&n.eng), &m(&n.slmp_plc)]);
    assert_eq!(count(&a, "cmd 1002"), 1);

    let a = added(&[Event::ModbusWriteRange]);
    only_between(&a, &[&m(&n.hmi), &m(&n.modbus_plc)]);
    assert_eq!(count(&a, "fc16 4000 10"), 1);

    let a = added(&[Event::FinsWrite]);
    only_between(&a, &[&m(&n.eng), &m(&n.fins_plc)]);
    assert_eq!(count(&a, "fins 0102 8200640000020007"), 1);

    let a = added(&[Event::ArpSpoof]);
    let liar = format!("2 {} 192.168.10.101", m(&n.eng));
    assert_eq!(count(&a, &liar), 2);
    assert_eq!(a.len(), 1, "{a:?}");

    let a = added(&[Event::FirmwareChange]);
    only_between(&a, &[&m(&n.eng), &m(&n.enip_plc), &m(&n.s7_plc)]);
    // Revision 33.1 in the CIP identity, V3.3.0 in SZL 0x0011.
    assert!(count(&a, "a6002101") >= 2, "{a:?}");
    assert!(count(&a, "56030300") >= 1, "{a:?}");

    let a = added(&[Event::CrossZone]);
    only_between(
        &a,
        &[
            &format!("{} 192.168.20.30", m(&n.gateway)),
            &m(&n.modbus_plc),
        ],
    );
    assert_eq!(count(&a, "fc3 100 4"), 3);
    assert_eq!(count(&a, "flags 02"), 2);
}

#[test]
fn events_together_add_what_each_adds_alone() {
    let all = added(&Event::ALL);
    let mut each = BTreeMap::new();
    for e in Event::ALL {
        each.extend(added(&[e]));
    }
    assert_eq!(keys(&all), keys(&each));
}

#[test]
fn events_happen_at_their_offsets() {
    let d0 = day_start(4);
    let at: Vec<i64> = Event::ALL
        .iter()
        .map(|e| (e.at(d0, SECONDS) - d0) / 1_000_000)
        .collect();
    assert_eq!(at, [120, 216, 312, 408, 504, 600, 696, 792, 888]);
    // The firmware changes once: every identity before the event is the
    // old one, every one after it the new one.
    let cap = plant_day(4, SECONDS, 3, &[Event::FirmwareChange]);
    let t = Event::FirmwareChange.at(d0, SECONDS);
    let mut seen = (0, 0);
    for (ts, f) in cap.frames() {
        let op = item(f).op;
        if op.contains("200b6000") || op.contains("56030206") {
            assert!(ts < t, "old firmware after the change");
            seen.0 += 1;
        }
        if op.contains("21016000") || op.contains("56030300") {
            assert!(ts >= t, "new firmware before the change");
            seen.1 += 1;
        }
    }
    assert!(seen.0 > 0 && seen.1 > 0, "{seen:?}");
    // A stop happens at its time, on the engineering station's session.
    let cap = plant_day(4, SECONDS, 3, &[Event::S7Stop]);
    let t = Event::S7Stop.at(d0, SECONDS);
    let stops: Vec<i64> = cap
        .frames()
        .filter(|(_, f)| item(f).op.starts_with("job 29"))
        .map(|(ts, _)| ts)
        .collect();
    assert_eq!(stops.len(), 1);
    assert!(
        stops[0] >= t && stops[0] < t + 100_000,
        "stop at {}",
        stops[0] - t
    );
}

#[test]
fn hostile_names_go_on_the_wire_whole() {
    let cap = hostile::hostile_names();
    for s in hostile::ALL {
        // NetBIOS names travel in their first-level encoding, padded to 15.
        let nb: Vec<u8> = format!("{s:<15}\0")
            .bytes()
            .flat_map(|b| [b'A' + (b >> 4), b'A' + (b & 0x0f)])
            .collect();
        let s = if s == hostile::NETBIOS {
            &nb[..]
        } else {
            s.as_bytes()
        };
        let found = cap
            .frames()
            .any(|(_, f)| f.windows(s.len()).any(|w| w == s));
        assert!(
            found,
            "{:?} is not in any frame",
            String::from_utf8_lossy(s)
        );
    }
}

#[test]
fn the_command_writes_a_day_and_names_what_it_refuses() {
    let dir = std::env::temp_dir().join(format!("osect-trafficgen-day-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = dir.join("day.pcap");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_osect-trafficgen"))
            .args(args)
            .output()
            .expect("runs")
    };
    let path = out.to_str().expect("utf-8 path");
    let ok = run(&[
        "plant-day",
        "--day",
        "1",
        "--seconds",
        "60",
        "--seed",
        "4",
        "--events",
        "s7-stop,arp-spoof",
        "--out",
        path,
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let want = plant_day(1, 60, 4, &[Event::S7Stop, Event::ArpSpoof]).to_pcap();
    assert_eq!(std::fs::read(&out).expect("written"), want);
    let bad = run(&[
        "plant-day",
        "--day",
        "1",
        "--events",
        "s7-stop,nope",
        "--out",
        path,
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown event \"nope\""));
    let short = run(&["plant-day", "--day", "1", "--seconds", "10", "--out", path]);
    assert_eq!(short.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 60"));
    let no_day = run(&["plant-day", "--out", path]);
    assert!(String::from_utf8_lossy(&no_day.stderr).contains("--day N"));
    let _ = std::fs::remove_dir_all(&dir);
}
