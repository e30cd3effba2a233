//! `plant-day`: one day of the plant's normal operation, the same every
//! day, and the events a learn-then-detect analysis must report, each
//! injectable once at a fixed offset in the day.
//!
//! A clean day (no events) holds the same devices, the same pairs and
//! services and the same industrial operations on each pair every day, at
//! other times: cyclic polling (reads only, except the HMI's routine write
//! of holding register 200), identity reads (S7 SZL, CIP identity, PROFINET
//! DCP, FINS controller data, SLMP model) giving the same identities, DHCP,
//! DNS and ARP underneath, and an office PC on VLAN 20 that only asks the
//! gateway for names. No controller's program or state changes on a clean
//! day: no S7 stop or start, no download, no SLMP remote operation, no FINS
//! run, stop or write, no DNP3 operate.

use crate::frame::{arp, udp_frame, Host, BROADCAST};
use crate::pcap::Capture;
use crate::proto::{bacnet, dnp3, fins, iec104, it, modbus, opcua, s7, slmp};
use crate::rng::Rng;
use crate::scenario::{
    cclink_cycles, enip_identity_session, fins_call, host, profinet_identify, rockwell_identity,
    s7_identity, s7_setup, Net, MS, S7_FIRMWARE, S7_MODULE, SEC, START,
};
use crate::tcp::TcpConn;

/// Microseconds in a day.
pub const DAY: i64 = 86_400 * SEC;
/// A day's capture length when none is given: small enough for the agent
/// to read in about a second, long enough for every periodic exchange.
pub const DEFAULT_SECONDS: u64 = 1200;

/// The injectable events, in the order of their times in the day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Event {
    /// A new Modbus PLC (WAGO OUI 00:30:de, 00:30:de:01:00:70,
    /// 192.168.10.112) announces itself by gratuitous ARP and answers the
    /// HMI's ARP, then the HMI opens a Modbus/TCP connection to it and
    /// reads holding registers 0-7 ten times, a second apart. Report: a new
    /// device, and a new pair HMI -> new PLC (502/tcp).
    NewPlc,
    /// The HMI (192.168.10.20) reads DM 100-101 (FINS 0101, memory area
    /// read) from the FINS PLC (192.168.10.105, FINS node 0x69) once, over
    /// 9600/udp from FINS node 0x14. On clean days only the engineering
    /// station talks to that PLC, with the same command. Report: a new
    /// pair HMI -> FINS PLC (9600/udp), nothing else.
    NewPair,
    /// The engineering station (192.168.10.10) sends an S7 PLC Stop job
    /// (function 0x29, `P_PROGRAM`) to the S7 PLC (192.168.10.102) on its
    /// connection of the day, and the PLC acknowledges it. Report: a
    /// controller state change (S7 PLC stop).
    S7Stop,
    /// The engineering station sends an SLMP remote STOP (command 0x1002)
    /// to the SLMP PLC (192.168.10.104) on its connection of the day, and
    /// the PLC answers with end code 0. Report: SLMP remote STOP.
    SlmpStop,
    /// The HMI writes holding registers 4000-4009 (function 16) of the
    /// Modbus PLC (192.168.10.101) on its polling connection; clean days
    /// write only register 200 (function 6). Report: a Modbus write to a
    /// register range not seen before (and function 16 new on the pair).
    ModbusWriteRange,
    /// The engineering station writes DM 100-101 (FINS 0102, memory area
    /// write) of the FINS PLC, which answers with a normal end; clean days
    /// only read that area. Report: a FINS memory area write.
    FinsWrite,
    /// The HMI asks ARP for 192.168.10.101 twice, two seconds apart; each
    /// time the Modbus PLC (00:80:f4:01:00:65) answers and so does the
    /// engineering station's MAC (00:0c:29:3a:10:0a). Report: one IP
    /// answered by two MACs (ARP spoofing), involving both MACs.
    ArpSpoof,
    /// The EtherNet/IP PLC (192.168.10.103, 00:00:bc:01:00:67) answers its
    /// CIP identity (ListIdentity and Get_Attribute_All) with revision 33.1
    /// instead of 32.11, and the S7 PLC (192.168.10.102) its SZL 0x0011
    /// with firmware V3.3.0 instead of V3.2.6: an identity read of both at
    /// the event, and every later read gives the new firmware. Report: a
    /// firmware change of each of the two known devices.
    FirmwareChange,
    /// The office PC (192.168.20.30) opens a Modbus/TCP connection to the
    /// Modbus PLC (192.168.10.101) and reads holding registers 100-103
    /// three times. The sensor sees the routed leg on VLAN 10: the
    /// gateway's MAC (00:1e:49:10:00:01) carrying 192.168.20.30. Report:
    /// traffic between zones `office` and `control` (and a new pair).
    CrossZone,
}

impl Event {
    pub const ALL: [Event; 9] = [
        Event::NewPlc,
        Event::NewPair,
        Event::S7Stop,
        Event::SlmpStop,
        Event::ModbusWriteRange,
        Event::FinsWrite,
        Event::ArpSpoof,
        Event::FirmwareChange,
        Event::CrossZone,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Event::NewPlc => "new-plc",
            Event::NewPair => "new-pair",
            Event::S7Stop => "s7-stop",
            Event::SlmpStop => "slmp-stop",
            Event::ModbusWriteRange => "modbus-write-range",
            Event::FinsWrite => "fins-write",
            Event::ArpSpoof => "arp-spoof",
            Event::FirmwareChange => "firmware-change",
            Event::CrossZone => "cross-zone",
        }
    }

    /// Where in the day the event happens, in thousandths of the day:
    /// 10%, 18%, 26% and so on to 74%, so that each has its own stretch.
    pub fn permille(self) -> i64 {
        100 + 80 * self as i64
    }

    /// The event's time in the day that starts at `day_start` and lasts
    /// `seconds`.
    pub fn at(self, day_start: i64, seconds: u64) -> i64 {
        day_start + length(seconds) * self.permille() / 1000
    }
}

/// Parses a comma-separated list of event names (empty for none).
pub fn parse_events(list: &str) -> Result<Vec<Event>, String> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match Event::ALL.into_iter().find(|e| e.name() == name) {
            Some(e) if !out.contains(&e) => out.push(e),
            Some(_) => {}
            None => {
                let known: Vec<&str> = Event::ALL.iter().map(|e| e.name()).collect();
                return Err(format!(
                    "unknown event {name:?} (known: {})",
                    known.join(",")
                ));
            }
        }
    }
    Ok(out)
}

/// The plant's devices plus the office and the `new-plc` event's PLC.
pub struct Plant {
    pub net: Net,
    /// The office PC on VLAN 20 (Dell OUI).
    pub office_pc: Host,
    /// The gateway's interface on VLAN 20: its MAC, the office's address.
    pub office_gw: Host,
    pub office_vlan: u16,
    pub new_plc: Host,
}

impl Default for Plant {
    fn default() -> Self {
        let net = Net::default();
        Plant {
            office_pc: host([0x00, 0x14, 0x22, 0x20, 0x00, 0x1e], [192, 168, 20, 30]),
            office_gw: host(net.gateway.mac, [192, 168, 20, 1]),
            office_vlan: 20,
            new_plc: host([0x00, 0x30, 0xde, 0x01, 0x00, 0x70], [192, 168, 10, 112]),
            net,
        }
    }
}

/// The first microsecond of day `day`.
pub fn day_start(day: u64) -> i64 {
    // Bounded so that a day's times stay far inside i64.
    START + i64::try_from(day.min(1_000_000)).unwrap_or(0) * DAY
}

/// The shortest day: every event and its exchanges fit in it.
pub const MIN_SECONDS: u64 = 60;

/// A day's length in microseconds, from [`MIN_SECONDS`] to a whole day.
fn length(seconds: u64) -> i64 {
    i64::try_from(seconds.clamp(MIN_SECONDS, 86_400)).unwrap_or(0) * SEC
}

/// Day `day` of the plant, `seconds` long from [`day_start`], with
/// `events` injected. The same arguments give the same capture; the seed
/// and the day change only timings, identifiers and values, never what
/// talks to what or how.
pub fn plant_day(day: u64, seconds: u64, seed: u64, events: &[Event]) -> Capture {
    let d0 = day_start(day);
    let day = Day {
        p: Plant::default(),
        d0,
        end: d0 + length(seconds),
        events: events.iter().map(|&e| (e.at(d0, seconds), e)).collect(),
    };
    let mut rng = Rng::new(seed ^ (day.d0 as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
    let mut cap = Capture::new();
    let cap = &mut cap;
    background(cap, &day, &mut rng);
    modbus_polling(cap, &day, &mut rng);
    s7_polling(cap, &day, &mut rng);
    s7_engineering(cap, &day, &mut rng);
    enip_identity(cap, &day);
    slmp_engineering(cap, &day, &mut rng);
    fins_traffic(cap, &day, &mut rng);
    bacnet_polling(cap, &day, &mut rng);
    dnp3_polling(cap, &day, &mut rng);
    iec104_link(cap, &day, &mut rng);
    opcua_polling(cap, &day, &mut rng);
    let net = &day.p.net;
    cclink_cycles(cap, net, d0 + 300 * MS, day.end, 500 * MS);
    for (k, t) in ticks(d0 + 10 * SEC, day.end, 60 * SEC).enumerate() {
        profinet_identify(cap, net, t, k as u32);
    }
    for &(t, e) in &day.events {
        match e {
            Event::NewPlc => new_plc(cap, &day, t, &mut rng),
            Event::ArpSpoof => arp_spoof(cap, &day, t),
            Event::CrossZone => cross_zone(cap, &day, t, &mut rng),
            // The others happen on the sessions of the day, above.
            _ => {}
        }
    }
    std::mem::take(cap)
}

struct Day {
    p: Plant,
    d0: i64,
    end: i64,
    events: Vec<(i64, Event)>,
}

impl Day {
    /// A connection on the plant's VLAN; see [`Stream::open`].
    fn stream(
        &self,
        cap: &mut Capture,
        rng: &mut Rng,
        client: (Host, u16),
        server: (Host, u16),
        at: Option<i64>,
    ) -> Stream {
        Stream::open(client, server, self.p.net.vlan, rng, at, cap)
    }

    /// Ticks from `offset` after the day's start every `period`, merged
    /// with those of `events` asked for today, in time order.
    fn plan(&self, offset: i64, period: i64, events: &[Event]) -> Vec<(i64, Step)> {
        let mut steps: Vec<(i64, Step)> = self
            .events
            .iter()
            .filter(|(t, e)| events.contains(e) && *t < self.end)
            .map(|&(t, e)| (t, Step::Event(e)))
            .collect();
        steps.extend(
            (0..)
                .zip(ticks(self.d0 + offset, self.end, period))
                .map(|(k, t)| (t, Step::Tick(k))),
        );
        steps.sort_by_key(|s| s.0);
        steps
    }
}

#[derive(Clone, Copy)]
enum Step {
    Tick(u64),
    Event(Event),
}

/// `start`, `start + period`, ... before `end`.
fn ticks(start: i64, end: i64, period: i64) -> impl Iterator<Item = i64> {
    (0..)
        .map(move |k| start + k * period.max(MS))
        .take_while(move |&t| t < end)
}

/// Up to 20 ms of lateness, as a real poller has.
fn jitter(rng: &mut Rng) -> i64 {
    i64::try_from(rng.below(20_000)).unwrap_or(0)
}

/// A TCP connection and the time of its last segment, so that requests
/// scheduled by the clock never go back in time.
struct Stream {
    c: TcpConn,
    now: i64,
}

impl Stream {
    /// Opens `client` -> `server` with a handshake at `t`, or joins a
    /// connection already open when `t` is `None` (at the day's start).
    fn open(
        client: (Host, u16),
        server: (Host, u16),
        vlan: Option<u16>,
        rng: &mut Rng,
        t: Option<i64>,
        cap: &mut Capture,
    ) -> Stream {
        let (isn_c, isn_s) = (rng.u32(), rng.u32());
        let mut c = TcpConn::new(client.0, client.1, server.0, server.1, vlan, (isn_c, isn_s));
        let now = match t {
            Some(t) => c.handshake(cap, t),
            None => 0,
        };
        Stream { c, now }
    }

    /// A request at `t` (or as soon after as the connection is free) and
    /// its response 2 ms after.
    fn call(&mut self, cap: &mut Capture, t: i64, req: &[u8], resp: &[u8]) {
        let t = self.c.send(cap, t.max(self.now), true, req);
        self.now = self.c.send(cap, t + 2 * MS, false, resp);
    }

    /// One message from the client (`from_client`) or the server.
    fn push(&mut self, cap: &mut Capture, t: i64, from_client: bool, msg: &[u8]) {
        self.now = self.c.send(cap, t.max(self.now), from_client, msg);
    }

    /// Closes the connection half a second before `end` (the day's end, or
    /// an event's), or as soon after as it is free, if that is before `end`.
    fn close(mut self, cap: &mut Capture, end: i64) {
        let t = (end - 500 * MS).max(self.now);
        if t + MS < end {
            self.c.close(cap, t);
        }
    }
}

/// A UDP request from `client` and the answer 1 ms later.
fn udp_call(
    cap: &mut Capture,
    vlan: Option<u16>,
    client: (&Host, u16),
    server: (&Host, u16),
    t: i64,
    req: &[u8],
    resp: &[u8],
) {
    let ((c, cp), (s, sp)) = (client, server);
    cap.push(t, udp_frame(c, s, s.mac, vlan, cp, sp, 1, req));
    cap.push(t + MS, udp_frame(s, c, c.mac, vlan, sp, cp, 2, resp));
}

/// DHCP for the HMI at the day's start; every 30 s the HMI's ARP for the
/// Modbus PLC and the engineering station's DNS lookup of the historian;
/// every 60 s the office PC's lookup of the intranet server.
fn background(cap: &mut Capture, day: &Day, rng: &mut Rng) {
    let net = &day.p.net;
    let bcast = host(BROADCAST, [255, 255, 255, 255]);
    let zero = host(net.hmi.mac, [0, 0, 0, 0]);
    let xid = rng.u32();
    let discover = it::dhcp(false, xid, net.hmi.mac, [0; 4], "HMI-LINE2");
    cap.push(
        day.d0,
        udp_frame(&zero, &bcast, BROADCAST, net.vlan, 68, 67, 1, &discover),
    );
    let offer = it::dhcp(true, xid, net.hmi.mac, net.hmi.ip.octets(), "");
    cap.push(
        day.d0 + 3 * MS,
        udp_frame(&net.gateway, &bcast, BROADCAST, net.vlan, 67, 68, 2, &offer),
    );
    for t in ticks(day.d0 + 10 * MS, day.end, 30 * SEC) {
        cap.push(t, arp(&net.hmi, &net.modbus_plc, false, net.vlan));
        cap.push(t + MS, arp(&net.modbus_plc, &net.hmi, true, net.vlan));
        let id = rng.u16();
        let name = "historian.plant.local";
        let (q, a) = (
            it::dns(id, name, None),
            it::dns(id, name, Some([192, 168, 10, 50])),
        );
        udp_call(
            cap,
            net.vlan,
            (&net.eng, 53_000),
            (&net.gateway, 53),
            t + 2 * MS,
            &q,
            &a,
        );
    }
    let p = &day.p;
    for t in ticks(day.d0 + 5 * SEC, day.end, 60 * SEC) {
        let id = rng.u16();
        let name = "intranet.office.local";
        let (q, a) = (
            it::dns(id, name, None),
            it::dns(id, name, Some([192, 168, 20, 5])),
        );
        let port = 50_000 + rng.u16() % 10_000;
        udp_call(
            cap,
            Some(p.office_vlan),
            (&p.office_pc, port),
            (&p.office_gw, 53),
            t + jitter(rng),
            &q,
            &a,
        );
    }
}

/// One Modbus/TCP request and response with the next transaction id.
fn modbus_call(s: &mut Stream, cap: &mut Capture, t: i64, tid: &mut u16, q: &[u8], a: &[u8]) {
    *tid = tid.wrapping_add(1);
    s.call(
        cap,
        t,
        &modbus::frame(*tid, 1, q),
        &modbus::frame(*tid, 1, a),
    );
}

/// The HMI's Modbus polling connection of the day: holding registers
/// 100-103 every second, coils 0-15 every 5 s, and the routine write of
/// register 200 every minute. `modbus-write-range` happens here. It opens
/// with a handshake each day, so that the PLC's TCP fingerprint is known on
/// clean days and the `cross-zone` handshake does not change it.
fn modbus_polling(cap: &mut Capture, day: &Day, rng: &mut Rng) {
    let net = &day.p.net;
    let mut s = day.stream(
        cap,
        rng,
        (net.hmi, 49_152),
        (net.modbus_plc, 502),
        Some(day.d0 + 100 * MS),
    );
    let mut tid = rng.u16();
    for (t, step) in day.plan(200 * MS, SEC, &[Event::ModbusWriteRange]) {
        match step {
            Step::Event(_) => {
                let values: Vec<u16> = (500..510).collect();
                let q = modbus::write_multiple_registers(4000, &values);
                let a = modbus::write_multiple_response(4000, 10);
                modbus_call(&mut s, cap, t, &mut tid, &q, &a);
            }
            Step::Tick(k) => {
                let t = t + jitter(rng);
                let level = 1000 + (k % 50) as u16;
                let a = modbus::registers_response(3, &[215, level, 42, 0]);
                modbus_call(
                    &mut s,
                    cap,
                    t,
                    &mut tid,
                    &modbus::read_request(3, 100, 4),
                    &a,
                );
                if k % 5 == 0 {
                    let a = modbus::bits_response(1, &[(k % 256) as u8, 0x01]);
                    let q = modbus::read_request(1, 0, 16);
                    modbus_call(&mut s, cap, t + 20 * MS, &mut tid, &q, &a);
                }
                if k % 60 == 30 {
                    let w = modbus::write_single_register(200, 1500 + (k % 7) as u16);
                    modbus_call(&mut s, cap, t + 40 * MS, &mut tid, &w, &w);
                }
            }
        }
    }
    s.close(cap, day.end);
}

/// The HMI's S7 polling connection, open before the day began: 8 bytes of
/// DB1 every 2 s.
fn s7_polling(cap: &mut Capture, day: &Day, rng: &mut Rng) {
    let net = &day.p.net;
    let mut s = day.stream(cap, rng, (net.hmi, 49_201), (net.s7_plc, 102), None);
    let mut r = rng.u16();
    for (k, t) in ticks(day.d0 + 500 * MS, day.end, 2 * SEC).enumerate() {
        r = r.wrapping_add(1);
        let q = s7::cotp_data(&s7::pdu(1, r, &s7::read_var_param(1, 0, 8), &[], None));
        let d = s7::read_var_data(&[0, 1, 2, 3, 4, 5, 6, (k % 256) as u8]);
        let a = s7::cotp_data(&s7::pdu(3, r, &[0x04, 1], &d, None));
        s.call(cap, t + jitter(rng), &q, &a);
    }
}

/// The S7 firmware from `firmware-change` on.
const S7_NEW_FIRMWARE: [u8; 3] = [3, 3, 0];
/// The CIP revision from `firmware-change` on.
const CIP_NEW_REVISION: (u8, u8) = (33, 1);

/// The engineering station's S7 connection of the day: setup and identity
/// (SZL) at the start and every 300 s, 4 bytes of DB2 every 10 s.
/// `s7-stop` and the S7 half of `firmware-change` happen here.
fn s7_engineering(cap: &mut Capture, day: &Day, rng: &mut Rng) {
    let net = &day.p.net;
    let mut s = day.stream(
        cap,
        rng,
        (net.eng, 49_200),
        (net.s7_plc, 102),
        Some(day.d0 + 2 * SEC),
    );
    let mut r = 0x0100;
    s.now = s7_setup(&mut s.c, cap, s.now, r);
    let mut firmware = S7_FIRMWARE;
    s.now = s7_identity(&mut s.c, cap, s.now, &mut r, (firmware, S7_MODULE));
    for (t, step) in day.plan(12 * SEC, 10 * SEC, &[Event::S7Stop, Event::FirmwareChange]) {
        r = r.wrapping_add(1);
        match step {
            Step::Event(Event::S7Stop) => {
                let q = s7::cotp_data(&s7::pdu(1, r, &s7::plc_stop_param(), &[], None));
                let a = s7::cotp_data(&s7::pdu(3, r, &[0x29], &[], None));
                s.call(cap, t, &q, &a);
            }
            Step::Event(_) => {
                firmware = S7_NEW_FIRMWARE;
                s.now = s7_identity(&mut s.c, cap, t.max(s.now), &mut r, (firmware, S7_MODULE));
            }
            Step::Tick(k) if k % 30 == 29 => {
                let t = (t + jitter(rng)).max(s.now);
                s.now = s7_identity(&mut s.c, cap, t, &mut r, (firmware, S7_MODULE));
            }
            Step::Tick(k) => {
                let q = s7::cotp_data(&s7::pdu(1, r, &s7::read_var_param(2, 0, 4), &[], None));
                let d = s7::read_var_data(&[0x11, 0x22, 0x33, (k % 256) as u8]);
                let a = s7::cotp_data(&s7::pdu(3, r, &[0x04, 1], &d, None));
                s.call(cap, t + jitter(rng), &q, &a);
            }
        }
    }
    s.close(cap, day.end);
}

/// The engineering station reads the EtherNet/IP PLC's identity
/// (ListIdentity and Get_Attribute_All) at the start and every 300 s.
/// The CIP half of `firmware-change` happens here.
fn enip_identity(cap: &mut Capture, day: &Day) {
    let net = &day.p.net;
    let mut id = rockwell_identity();
    for (t, step) in day.plan(3 * SEC, 300 * SEC, &[Event::FirmwareChange]) {
        let port = match step {
            Step::Event(_) => {
                id.revision = CIP_NEW_REVISION;
                49_399
            }
            Step::Tick(k) => 49_300 + (k % 90) as u16,
        };
        enip_identity_session(cap, net, t, &id, port);
    }
}

/// The engineering station's SLMP connection of the day: the model at the
/// start and every 300 s, D100-D101 every 10 s. `slmp-stop` happens here.
fn slmp_engineering(cap: &mut Capture, day: &Day, rng: &mut Rng) {
    let net = &day.p.net;
    let mut s = day.stream(
        cap,
        rng,
        (net.eng, 49_700),
        (net.slmp_plc, 5000),
        Some(day.d0 + 4 * SEC),
    );
    let model = |s: &mut Stream, cap: &mut Capture, t| {
        let q = slmp::request(None, slmp::READ_TYPE_NAME, 0, &[]);
        s.call(
            cap,
            t,
            &q,
            &slmp::response(None, 0, &slmp::type_name("Q03UDVCPU", 0x0366)),
        );
    };
    model(&mut s, cap, day.d0 + 4 * SEC);
    for (t, step) in day.plan(14 * SEC, 10 * SEC, &[Event::SlmpStop]) {
        match step {
            Step::Event(_) => {
                let q = slmp::request(None, slmp::REMOTE_STOP, 0, &[1, 0]);
                s.call(cap, t, &q, &slmp::response(None, 0, &[]));
            }
            Step::Tick(k) if k % 30 == 29 => model(&mut s, cap, t + jitter(rng)),
            Step::Tick(k) => {
                let q = slmp::request(
                    None,
                    slmp::BATCH_READ,
                    0,
                    &slmp::device_range(100, slmp::DEV_D, 2),
                );
                let a = slmp::response(None, 0, &[0x10, 0, (k % 256) as u8, 0]);
                s.call(cap, t + jitter(rng), &q, &a);
            }
        }
    }
    s.close(cap, day.end);
}

/// FINS node numbers: the FINS PLC, the engineering station and the HMI.
const FINS_PLC: u8 = 0x69;
const FINS_ENG: u8 = 0x0a;
const FINS_HMI: u8 = 0x14;

/// The engineering station and the FINS PLC over 9600/udp: controller
/// data at the start and every 300 s, DM 100-101 every 10 s. `fins-write`
/// (by the engineering station) and `new-pair` (the HMI's read) happen
/// here.
fn fins_traffic(cap: &mut Capture, day: &Day, rng: &mut Rng) {
    let net = &day.p.net;
    let (eng, hmi, plc) = (
        (&net.eng, FINS_ENG),
        (&net.hmi, FINS_HMI),
        (&net.fins_plc, FINS_PLC),
    );
    let mut sid = rng.u16() as u8;
    let dm = fins::area(fins::AREA_DM, 100, 2);
    let controller = fins::controller_data("CJ2M-CPU31", "02.01");
    for (t, step) in day.plan(5 * SEC, 10 * SEC, &[Event::FinsWrite, Event::NewPair]) {
        sid = sid.wrapping_add(1);
        match step {
            Step::Event(Event::FinsWrite) => {
                let mut body = dm.clone();
                body.extend_from_slice(&[0x00, 0x07, 0x00, 0x08]);
                fins_call(cap, net.vlan, eng, plc, t, sid, (0x01, 0x02), &body, &[]);
            }
            Step::Event(_) => fins_call(
                cap,
                net.vlan,
                hmi,
                plc,
                t,
                sid,
                (0x01, 0x01),
                &dm,
                &[0, 5, 0, 6],
            ),
            Step::Tick(k) => {
                let t = t + jitter(rng);
                if k % 30 == 0 {
                    fins_call(
                        cap,
                        net.vlan,
                        eng,
                        plc,
                        t,
                        sid,
                        (0x05, 0x01),
                        &[0x01],
                        &controller,
                    );
                    sid = sid.wrapping_add(1);
                }
                let data = [0, 1, 0, (k % 256) as u8];
                fins_call(
                    cap,
                    net.vlan,
                    eng,
                    plc,
                    t + 500 * MS,
                    sid,
                    (0x01, 0x01),
                    &dm,
                    &data,
                );
            }
        }
    }
}

/// The HMI and the BACnet controller: Who-Is and I-Am at the start and
/// every 300 s, the present value of analog input 1 every 10 s.
fn bacnet_polling(cap: &mut Capture, day: &Day, rng: &mut Rng) {
    let net = &day.p.net;
    let bcast = host(BROADCAST, [192, 168, 10, 255]);
    let port = 47808;
    for (k, t) in ticks(day.d0 + 6 * SEC, day.end, 10 * SEC).enumerate() {
        let t = t + jitter(rng);
        if k % 30 == 0 {
            let w = bacnet::bvlc(0x0b, &bacnet::npdu(false, &bacnet::who_is()));
            cap.push(
                t,
                udp_frame(&net.hmi, &bcast, BROADCAST, net.vlan, port, port, 3, &w),
            );
            let i = bacnet::bvlc(0x0b, &bacnet::npdu(false, &bacnet::i_am(260_001, 17)));
            let c = &net.bacnet_ctl;
            cap.push(
                t + 5 * MS,
                udp_frame(c, &bcast, BROADCAST, net.vlan, port, port, 4, &i),
            );
        }
        let invoke = (k % 256) as u8;
        let q = bacnet::bvlc(
            0x0a,
            &bacnet::npdu(true, &bacnet::read_property(invoke, 0, 1, 85)),
        );
        let value = 21.0 + (k % 10) as f32 / 10.0;
        let a = bacnet::read_property_ack_real(invoke, 0, 1, 85, value);
        let a = bacnet::bvlc(0x0a, &bacnet::npdu(false, &a));
        udp_call(
            cap,
            net.vlan,
            (&net.hmi, port),
            (&net.bacnet_ctl, port),
            t + 50 * MS,
            &q,
            &a,
        );
    }
}

/// The HMI's DNP3 connection of the day: a class 0 poll every 5 s.
fn dnp3_polling(cap: &mut Capture, day: &Day, rng: &mut Rng) {
    let net = &day.p.net;
    let mut s = day.stream(
        cap,
        rng,
        (net.hmi, 49_400),
        (net.dnp3_rtu, 20000),
        Some(day.d0 + 7 * SEC),
    );
    for (k, t) in ticks(day.d0 + 7 * SEC, day.end, 5 * SEC).enumerate() {
        let seq = (k % 16) as u8;
        let q = dnp3::frame(true, 10, 1, &dnp3::request(seq, 0x01, &dnp3::CLASS0));
        let objs = dnp3::binary_inputs(&[true, k % 2 == 0, true, true]);
        let a = dnp3::frame(false, 1, 10, &dnp3::response(seq, 0x81, 0x0000, &objs));
        s.call(cap, t + 100 * MS + jitter(rng), &q, &a);
    }
    s.close(cap, day.end);
}

/// The HMI's IEC 104 connection of the day: STARTDT and a general
/// interrogation at the start and every 300 s, a spontaneous measurement
/// every 5 s acknowledged every 8, a test frame every 60 s.
fn iec104_link(cap: &mut Capture, day: &Day, rng: &mut Rng) {
    let net = &day.p.net;
    let mut s = day.stream(
        cap,
        rng,
        (net.hmi, 49_500),
        (net.iec104_rtu, 2404),
        Some(day.d0 + 8 * SEC),
    );
    s.call(
        cap,
        day.d0 + 8 * SEC,
        &iec104::u_frame(0x04),
        &iec104::u_frame(0x08),
    );
    let (mut tx, mut rx) = (0u16, 0u16);
    for (k, t) in ticks(day.d0 + 8 * SEC, day.end, 5 * SEC).enumerate() {
        let t = t + 50 * MS + jitter(rng);
        if k % 60 == 0 {
            let q = iec104::i_frame(rx, tx, iec104::C_IC_NA_1, 6, 1, 0, &[20]);
            rx = rx.wrapping_add(1);
            let a = iec104::i_frame(tx, rx, iec104::C_IC_NA_1, 7, 1, 0, &[20]);
            tx = tx.wrapping_add(1);
            s.call(cap, t, &q, &a);
        }
        let mut e = (20.0f32 + (k % 10) as f32).to_le_bytes().to_vec();
        e.push(0);
        s.push(
            cap,
            t + 10 * MS,
            false,
            &iec104::i_frame(tx, rx, iec104::M_ME_NC_1, 3, 1, 4001, &e),
        );
        tx = tx.wrapping_add(1);
        if k % 8 == 7 {
            s.push(cap, t + 20 * MS, true, &iec104::s_frame(tx));
        }
        if k % 12 == 6 {
            s.call(
                cap,
                t + 30 * MS,
                &iec104::u_frame(0x40),
                &iec104::u_frame(0x80),
            );
        }
    }
    s.close(cap, day.end);
}

/// The HMI's OPC UA connection of the day: Hello, OpenSecureChannel, then a
/// Read every 5 s.
fn opcua_polling(cap: &mut Capture, day: &Day, rng: &mut Rng) {
    let net = &day.p.net;
    let mut s = day.stream(
        cap,
        rng,
        (net.hmi, 49_600),
        (net.opcua_srv, 4840),
        Some(day.d0 + 9 * SEC),
    );
    let t = day.d0 + 9 * SEC;
    s.call(
        cap,
        t,
        &opcua::hello("opc.tcp://192.168.10.109:4840/plant"),
        &opcua::ack(),
    );
    let none = "http://opcfoundation.org/UA/SecurityPolicy#None";
    s.call(
        cap,
        t,
        &opcua::open(false, 0, none, 1),
        &opcua::open(true, 7, none, 1),
    );
    for (k, t) in (2u32..).zip(ticks(t + SEC, day.end, 5 * SEC)) {
        let q = opcua::msg(7, k, opcua::READ_REQUEST, &opcua::read_request(1001));
        let v = 21.5 + f64::from(k % 10);
        let a = opcua::msg(7, k, opcua::READ_RESPONSE, &opcua::read_response(v));
        s.call(cap, t + jitter(rng), &q, &a);
    }
    s.close(cap, day.end);
}

/// `new-plc`: the new PLC's gratuitous ARP, the HMI's ARP for it and the
/// answer, then ten reads of its holding registers 0-7 a second apart.
fn new_plc(cap: &mut Capture, day: &Day, t: i64, rng: &mut Rng) {
    let (net, plc) = (&day.p.net, &day.p.new_plc);
    cap.push(t, arp(plc, plc, false, net.vlan));
    cap.push(t + 100 * MS, arp(&net.hmi, plc, false, net.vlan));
    cap.push(t + 101 * MS, arp(plc, &net.hmi, true, net.vlan));
    let s = day.stream(cap, rng, (net.hmi, 49_160), (*plc, 502), Some(t + 200 * MS));
    modbus_reads(cap, s, t + 300 * MS, 10, (0, 8));
}

/// `count` reads of `quantity` holding registers from `address`, a second
/// apart from `t`, on a connection of their own, closed after them.
fn modbus_reads(
    cap: &mut Capture,
    mut s: Stream,
    t: i64,
    count: u16,
    (address, quantity): (u16, u16),
) {
    let mut tid = 0;
    for i in 0..count {
        let values: Vec<u16> = (0..quantity).map(|v| v.wrapping_add(i)).collect();
        let a = modbus::registers_response(3, &values);
        let q = modbus::read_request(3, address, quantity);
        modbus_call(&mut s, cap, t + i64::from(i) * SEC, &mut tid, &q, &a);
    }
    let end = s.now + SEC;
    s.close(cap, end);
}

/// `arp-spoof`: twice, two seconds apart, the HMI asks for the Modbus PLC's
/// address and both the PLC and the engineering station's MAC answer.
fn arp_spoof(cap: &mut Capture, day: &Day, t: i64) {
    let net = &day.p.net;
    let liar = Host {
        mac: net.eng.mac,
        ip: net.modbus_plc.ip,
    };
    for t in [t, t + 2 * SEC] {
        cap.push(t, arp(&net.hmi, &net.modbus_plc, false, net.vlan));
        cap.push(t + MS, arp(&net.modbus_plc, &net.hmi, true, net.vlan));
        cap.push(t + 2 * MS, arp(&liar, &net.hmi, true, net.vlan));
    }
}

/// `cross-zone`: the office PC's Modbus/TCP connection to the Modbus PLC,
/// three reads of holding registers 100-103, as routed onto VLAN 10 by the
/// gateway.
fn cross_zone(cap: &mut Capture, day: &Day, t: i64, rng: &mut Rng) {
    let (net, p) = (&day.p.net, &day.p);
    let routed = Host {
        mac: net.gateway.mac,
        ip: p.office_pc.ip,
    };
    let s = day.stream(cap, rng, (routed, 50_210), (net.modbus_plc, 502), Some(t));
    modbus_reads(cap, s, t + 100 * MS, 3, (100, 4));
}
