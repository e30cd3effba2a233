//! Scenarios: message sequences per protocol, and the `plant`.

use crate::frame::{arp, ethernet, udp_frame, Host, Mac, BROADCAST};
use crate::pcap::Capture;
use crate::proto::{
    bacnet, cclink, dnp3, enip, fins, iec104, iec61850, it, modbus, opcua, profinet, s7, slmp,
};
use crate::rng::Rng;
use crate::tcp::TcpConn;
use std::net::Ipv4Addr;

/// 2026-01-05 09:00:00 UTC, the start of every capture, in microseconds.
pub const START: i64 = 1_767_603_600_000_000;
pub(crate) const MS: i64 = 1_000;
pub(crate) const SEC: i64 = 1_000_000;

pub(crate) fn host(mac: Mac, ip: [u8; 4]) -> Host {
    Host {
        mac,
        ip: Ipv4Addr::from(ip),
    }
}

/// The plant's devices. MAC prefixes are the vendors' registered OUIs.
pub struct Net {
    pub gateway: Host,
    pub eng: Host,
    pub hmi: Host,
    pub modbus_plc: Host,
    pub s7_plc: Host,
    pub enip_plc: Host,
    pub slmp_plc: Host,
    pub fins_plc: Host,
    pub bacnet_ctl: Host,
    pub dnp3_rtu: Host,
    pub iec104_rtu: Host,
    pub opcua_srv: Host,
    pub remote_io: Host,
    /// An IEC 61850 IED (MMS server, GOOSE publisher).
    pub ied: Host,
    pub vlan: Option<u16>,
}

impl Default for Net {
    fn default() -> Self {
        Net {
            gateway: host([0x00, 0x1e, 0x49, 0x10, 0x00, 0x01], [192, 168, 10, 1]),
            eng: host([0x00, 0x0c, 0x29, 0x3a, 0x10, 0x0a], [192, 168, 10, 10]),
            hmi: host([0x00, 0x0c, 0x29, 0x3a, 0x10, 0x14], [192, 168, 10, 20]),
            modbus_plc: host([0x00, 0x80, 0xf4, 0x01, 0x00, 0x65], [192, 168, 10, 101]),
            s7_plc: host([0x00, 0x1b, 0x1b, 0x01, 0x00, 0x66], [192, 168, 10, 102]),
            enip_plc: host([0x00, 0x00, 0xbc, 0x01, 0x00, 0x67], [192, 168, 10, 103]),
            slmp_plc: host([0x38, 0xe0, 0x8e, 0x01, 0x00, 0x68], [192, 168, 10, 104]),
            fins_plc: host([0x00, 0x00, 0x0a, 0x01, 0x00, 0x69], [192, 168, 10, 105]),
            bacnet_ctl: host([0x00, 0x20, 0x3d, 0x01, 0x00, 0x6a], [192, 168, 10, 106]),
            dnp3_rtu: host([0x00, 0x30, 0xa7, 0x01, 0x00, 0x6b], [192, 168, 10, 107]),
            iec104_rtu: host([0x00, 0x01, 0x05, 0x01, 0x00, 0x6c], [192, 168, 10, 108]),
            opcua_srv: host([0x00, 0x01, 0x05, 0x01, 0x00, 0x6d], [192, 168, 10, 109]),
            remote_io: host([0x38, 0xe0, 0x8e, 0x01, 0x00, 0x6e], [192, 168, 10, 110]),
            ied: host([0x00, 0x50, 0xc2, 0x4f, 0x90, 0x6f], [192, 168, 10, 111]),
            vlan: Some(10),
        }
    }
}

/// The scenarios of one protocol (or a few), one line each: the name
/// [`by_name`] knows it by and what it puts in a capture from time `t`.
type Scenario = (&'static str, fn(&mut Capture, &Net, i64));
const SCENARIOS: &[Scenario] = &[
    ("cclink", |cap, net, t| {
        cclink_cycles(cap, net, t, t + SEC, 100 * MS);
    }),
    ("modbus", |cap, net, t| {
        modbus_session(cap, net, t, true, 3);
    }),
    ("s7comm", |cap, net, t| {
        let t = s7_session(cap, net, t, true, 2);
        let t = s7_program_transfer(cap, net, t + SEC);
        s7_nc_services(cap, net, t + SEC);
    }),
    ("enip", |cap, net, t| {
        enip_session(cap, net, t);
    }),
    ("bacnet", |cap, net, t| {
        let t = bacnet_exchange(cap, net, t, 1);
        bacnet_arrays_and_enums(cap, net, t);
    }),
    ("dnp3", |cap, net, t| {
        let t = dnp3_session(cap, net, t, 2);
        let t = dnp3_analog_session(cap, net, t);
        dnp3_out_of_step_session(cap, net, t + SEC);
    }),
    ("iec104", |cap, net, t| {
        iec104_session(cap, net, t, 3);
    }),
    ("opcua", |cap, net, t| {
        opcua_session(cap, net, t, 2);
    }),
    ("slmp", |cap, net, t| {
        slmp_session(cap, net, t, 2);
    }),
    ("fins", |cap, net, t| {
        fins_exchange(cap, net, t, 1);
    }),
    ("profinet", |cap, net, t| {
        profinet_identify(cap, net, t, 1);
    }),
    ("goose", |cap, net, t| {
        goose_publish(cap, net, t, 4);
    }),
    ("mms", |cap, net, t| {
        mms_session(cap, net, t);
    }),
    ("ftp", |cap, net, t| {
        crate::it_sessions::ftp_session(cap, net, t);
    }),
    ("mqtt", |cap, net, t| {
        crate::it_sessions::mqtt_session(cap, net, t);
    }),
    ("syslog", |cap, net, t| {
        crate::it_sessions::syslog_session(cap, net, t);
    }),
    ("sip", |cap, net, t| {
        crate::it_sessions::sip_session(cap, net, t);
    }),
    ("smtp", |cap, net, t| {
        let t = crate::it_sessions::smtp_session(cap, net, t);
        crate::it_sessions::smtp_starttls_session(cap, net, t + SEC);
    }),
    ("quic", |cap, net, t| {
        crate::it_sessions::quic_sessions(cap, net, t);
    }),
    ("http", |cap, net, t| {
        crate::it_sessions::http_sessions(cap, net, t);
    }),
];

/// Every name [`by_name`] knows: `plant`, each of [`SCENARIOS`], and
/// `hostile-names`.
pub fn names() -> impl Iterator<Item = &'static str> {
    std::iter::once("plant")
        .chain(SCENARIOS.iter().map(|s| s.0))
        .chain(["hostile-names"])
}

/// Builds the named scenario. `seconds` and `seed` matter for `plant` only.
pub fn by_name(name: &str, seconds: u64, seed: u64) -> Option<Capture> {
    match name {
        "plant" => return Some(plant(seconds, seed)),
        "hostile-names" => return Some(crate::hostile::hostile_names()),
        _ => {}
    }
    let (_, build) = SCENARIOS.iter().find(|s| s.0 == name)?;
    let mut cap = Capture::new();
    build(&mut cap, &Net::default(), START);
    Some(cap)
}

/// Modbus/TCP: reads, a write, an exception, a request split across two
/// segments; with `handshake == false` the session is joined mid-stream.
pub fn modbus_session(cap: &mut Capture, net: &Net, t: i64, handshake: bool, polls: u16) -> i64 {
    let mut c = TcpConn::new(net.hmi, 49_152, net.modbus_plc, 502, net.vlan, (1000, 5000));
    let mut t = if handshake { c.handshake(cap, t) } else { t };
    for i in 0..polls {
        let req = modbus::frame(i + 1, 1, &modbus::read_request(3, 100, 4));
        t = c.send(cap, t, true, &req);
        let resp = modbus::frame(
            i + 1,
            1,
            &modbus::registers_response(3, &[215, 1013, 42 + i, 0]),
        );
        t = c.send(cap, t + 2 * MS, false, &resp) + 100 * MS;
    }
    let tid = polls + 1;
    let w = modbus::frame(tid, 1, &modbus::write_single_register(200, 1500));
    t = c.send(cap, t, true, &w);
    t = c.send(cap, t + 3 * MS, false, &w) + 100 * MS;
    let bad = modbus::frame(tid + 1, 1, &modbus::read_request(3, 9000, 10));
    t = c.send(cap, t, true, &bad);
    t = c.send(
        cap,
        t + 2 * MS,
        false,
        &modbus::frame(tid + 1, 1, &modbus::exception(3, 2)),
    ) + 100 * MS;
    let multi = modbus::frame(
        tid + 2,
        1,
        &modbus::write_multiple_registers(300, &[1, 2, 3, 4]),
    );
    t = c.send_split(cap, t, true, &multi, &[5]);
    let echo = modbus::write_multiple_response(300, 4);
    t = c.send(cap, t + 2 * MS, false, &modbus::frame(tid + 2, 1, &echo));
    if handshake {
        t = c.close(cap, t + 50 * MS);
    }
    t
}

/// S7comm: COTP connect, setup communication, SZL identity read, data
/// block reads, PLC stop.
pub fn s7_session(cap: &mut Capture, net: &Net, t: i64, handshake: bool, reads: u16) -> i64 {
    // The engineering station connects for its session; the HMI's polling
    // session was open before the capture began.
    let (client, port) = if handshake {
        (net.eng, 49_200)
    } else {
        (net.hmi, 49_201)
    };
    let mut c = TcpConn::new(client, port, net.s7_plc, 102, net.vlan, (7000, 9000));
    let mut t = if handshake { c.handshake(cap, t) } else { t };
    let mut r = 0x0100;
    if handshake {
        t = s7_setup(&mut c, cap, t, r);
        t = s7_identity(&mut c, cap, t, &mut r, (S7_FIRMWARE, S7_MODULE));
    }
    for i in 0..reads {
        r += 1;
        let p = s7::read_var_param(1, 0, 8);
        t = c.send(cap, t, true, &s7::cotp_data(&s7::pdu(1, r, &p, &[], None)));
        let d = s7::read_var_data(&[0, 1, 2, 3, 4, 5, 6, i as u8]);
        t = c.send(
            cap,
            t + 3 * MS,
            false,
            &s7::cotp_data(&s7::pdu(3, r, &[0x04, 1], &d, None)),
        ) + 200 * MS;
    }
    if handshake {
        r += 1;
        t = c.send(
            cap,
            t,
            true,
            &s7::cotp_data(&s7::pdu(1, r, &s7::plc_stop_param(), &[], None)),
        );
        t = c.send(
            cap,
            t + 5 * MS,
            false,
            &s7::cotp_data(&s7::pdu(3, r, &[0x29], &[], None)),
        );
        t = c.close(cap, t + 50 * MS);
    }
    t
}

/// User data bytes of one COTP data TPDU in the program transfer, as a
/// stack that negotiated small TPDUs sends them.
pub const S7_TPDU_DATA: usize = 100;

/// The engineering station uploads system data block 0 from the PLC, then
/// downloads organization block 1 to it, activates it and starts the PLC. In a download the PLC asks for
/// the block (Download Block and Download Ended are its jobs) and the
/// station answers with the block's bytes. Replies go in COTP data TPDUs of
/// at most [`S7_TPDU_DATA`] bytes, each in its own TCP segment: the two
/// that carry the block are segmented (the Upload reply in three TPDUs, the
/// Download Block reply in two).
pub fn s7_program_transfer(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    let mut c = TcpConn::new(net.eng, 49_202, net.s7_plc, 102, net.vlan, (11_000, 13_000));
    let mut t = c.handshake(cap, t);
    let mut r = 0x0200;
    t = s7_setup(&mut c, cap, t, r);
    let mut step =
        |c: &mut TcpConn, t: i64, job_from_orig: bool, job: Vec<u8>, ack: Vec<u8>, data: &[u8]| {
            r += 1;
            let t = c.send(
                cap,
                t,
                job_from_orig,
                &s7::cotp_data(&s7::pdu(1, r, &job, &[], None)),
            );
            // Each TPDU of a segmented reply in a TCP segment of its own.
            let reply = s7::cotp_data_segmented(&s7::pdu(3, r, &ack, data, None), S7_TPDU_DATA);
            let tpdu = S7_TPDU_DATA + 7;
            let cuts: Vec<usize> = (tpdu..reply.len()).step_by(tpdu).collect();
            c.send_split(cap, t + 2 * MS, !job_from_orig, &reply, &cuts) + 20 * MS
        };
    let sdb = "_0B00000A";
    let block: Vec<u8> = (0..216u16).map(|i| (i % 251) as u8).collect();
    t = step(
        &mut c,
        t,
        true,
        s7::transfer_job_param(0x1d, 0, Some(sdb)),
        s7::start_upload_ack_param(7, 216),
        &[],
    );
    t = step(
        &mut c,
        t,
        true,
        s7::transfer_job_param(0x1e, 7, None),
        vec![0x1e, 0],
        &s7::block_data(&block),
    );
    t = step(
        &mut c,
        t,
        true,
        s7::transfer_job_param(0x1f, 7, None),
        vec![0x1f],
        &[],
    );
    let ob = "_0800001P";
    t = step(
        &mut c,
        t,
        true,
        s7::transfer_job_param(0x1a, 0, Some(ob)),
        vec![0x1a],
        &[],
    );
    t = step(
        &mut c,
        t,
        false,
        s7::transfer_job_param(0x1b, 0, Some(ob)),
        vec![0x1b, 0],
        &s7::block_data(&block[..128]),
    );
    t = step(
        &mut c,
        t,
        false,
        s7::transfer_job_param(0x1c, 0, Some(ob)),
        vec![0x1c],
        &[],
    );
    // Activate the new block (block list "0800001P"), then warm start.
    t = step(
        &mut c,
        t,
        true,
        s7::plc_control_param(b"\x00\x01\x30\x38\x30\x30\x30\x30\x31\x50", "_INSE"),
        vec![0x28],
        &[],
    );
    t = step(
        &mut c,
        t,
        true,
        s7::plc_control_param(b"C ", "P_PROGRAM"),
        vec![0x28],
        &[],
    );
    c.close(cap, t + 50 * MS)
}

/// A SINUMERIK machine tool's NC PI services, as an HMI starts them over
/// S7 PLC Control jobs: log in, select a part program, delete an old one
/// (the parameter block's strings: address identification, then the
/// password or file name), and a service name no table lists.
pub fn s7_nc_services(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    let mut c = TcpConn::new(net.eng, 49_203, net.s7_plc, 102, net.vlan, (15_000, 17_000));
    let mut t = c.handshake(cap, t);
    let mut r = 0x0300;
    t = s7_setup(&mut c, cap, t, r);
    let jobs: [(&[u8], &str); 4] = [
        (b"\x03P01\x08plantNC1", "_N_LOGIN_"),
        (b"\x03P01\x18/_N_MPF_DIR/_N_PART1_MPF", "_N_SELECT"),
        (b"\x03P01\x16/_N_MPF_DIR/_N_OLD_MPF", "_N_F_DELE"),
        (b"", "_N_XYZZY_"),
    ];
    for (block, service) in jobs {
        r += 1;
        let job = s7::plc_control_param(block, service);
        t = c.send(
            cap,
            t,
            true,
            &s7::cotp_data(&s7::pdu(1, r, &job, &[], None)),
        );
        t = c.send(
            cap,
            t + 2 * MS,
            false,
            &s7::cotp_data(&s7::pdu(3, r, &[0x28], &[], None)),
        ) + 20 * MS;
    }
    c.close(cap, t + 50 * MS)
}

/// The S7 PLC's firmware as its SZL 0x0011 reports it.
pub(crate) const S7_FIRMWARE: [u8; 3] = [3, 2, 6];
/// The S7 PLC's module name (SZL 0x001c index 2).
pub(crate) const S7_MODULE: &str = "CPU 315-2 PN/DP";

/// COTP connection and S7 setup communication (PDU reference `r`) on a
/// connection just opened by the client.
pub(crate) fn s7_setup(c: &mut TcpConn, cap: &mut Capture, t: i64, r: u16) -> i64 {
    let mut t = c.send(cap, t, true, &s7::cotp_connect(false, 0x0100, 0x0102));
    t = c.send(cap, t + MS, false, &s7::cotp_connect(true, 0x0102, 0x0100));
    t = c.send(
        cap,
        t,
        true,
        &s7::cotp_data(&s7::pdu(1, r, &s7::setup_param(), &[], None)),
    );
    c.send(
        cap,
        t + MS,
        false,
        &s7::cotp_data(&s7::pdu(3, r, &s7::setup_param(), &[], None)),
    )
}

/// The client reads the PLC's identity: SZL 0x0011 (order number and
/// `firmware`) and 0x001c (names with `module`, and serial), one PDU
/// reference each after `r`.
pub(crate) fn s7_identity(
    c: &mut TcpConn,
    cap: &mut Capture,
    t: i64,
    r: &mut u16,
    (firmware, module): ([u8; 3], &str),
) -> i64 {
    *r += 1;
    let q = s7::szl_request_data(0x0011, 0x0000);
    let mut t = c.send(
        cap,
        t,
        true,
        &s7::cotp_data(&s7::pdu(7, *r, &s7::szl_request_param(), &q, None)),
    );
    let recs = [
        s7::szl_0011_record(1, "6ES7 315-2EH14-0AB0", [0, 0, 0]),
        s7::szl_0011_record(7, "", firmware),
    ];
    let a = s7::szl_response_data(0x0011, 0x0000, &recs);
    t = c.send(
        cap,
        t + 2 * MS,
        false,
        &s7::cotp_data(&s7::pdu(7, *r, &s7::szl_response_param(), &a, None)),
    );
    *r += 1;
    let q = s7::szl_request_data(0x001c, 0x0000);
    t = c.send(
        cap,
        t,
        true,
        &s7::cotp_data(&s7::pdu(7, *r, &s7::szl_request_param(), &q, None)),
    );
    let recs = [
        s7::szl_001c_record(1, "SIMATIC 300(Line 2)"),
        s7::szl_001c_record(2, module),
        s7::szl_001c_record(3, "Packaging"),
        s7::szl_001c_record(5, "S C-X4U421302009"),
    ];
    let a = s7::szl_response_data(0x001c, 0x0000, &recs);
    c.send(
        cap,
        t + 2 * MS,
        false,
        &s7::cotp_data(&s7::pdu(7, *r, &s7::szl_response_param(), &a, None)),
    )
}

pub(crate) fn rockwell_identity() -> enip::Identity<'static> {
    enip::Identity {
        vendor: 1,
        device_type: 14,
        product_code: 166,
        revision: (32, 11),
        status: 0x0060,
        serial: 0x00c0_ffee,
        name: "1769-L33ER/A LOGIX5333ER",
    }
}

/// EtherNet/IP: ListIdentity over UDP, then a TCP session with
/// RegisterSession and a CIP Get_Attribute_All of the Identity object.
pub fn enip_session(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    enip_identity_session(cap, net, t, &rockwell_identity(), 49_300)
}

/// [`enip_session`] with the PLC answering as `id`, the engineering
/// station's TCP connection from `port`.
pub fn enip_identity_session(
    cap: &mut Capture,
    net: &Net,
    t: i64,
    id: &enip::Identity<'_>,
    port: u16,
) -> i64 {
    let bcast = host(BROADCAST, [192, 168, 10, 255]);
    let q = enip::encap(enip::LIST_IDENTITY, 0, 0, &[]);
    cap.push(
        t,
        udp_frame(&net.eng, &bcast, BROADCAST, net.vlan, 50_000, 44818, 1, &q),
    );
    let a = enip::encap(
        enip::LIST_IDENTITY,
        0,
        0,
        &enip::list_identity_reply(net.enip_plc.ip, id),
    );
    cap.push(
        t + 4 * MS,
        udp_frame(
            &net.enip_plc,
            &net.eng,
            net.eng.mac,
            net.vlan,
            44818,
            50_000,
            2,
            &a,
        ),
    );
    let mut c = TcpConn::new(
        net.eng,
        port,
        net.enip_plc,
        44818,
        net.vlan,
        (11_000, 13_000),
    );
    let mut t = c.handshake(cap, t + 10 * MS);
    t = c.send(
        cap,
        t,
        true,
        &enip::encap(enip::REGISTER_SESSION, 0, 1, &enip::register_session_data()),
    );
    t = c.send(
        cap,
        t + MS,
        false,
        &enip::encap(
            enip::REGISTER_SESSION,
            0x1234_5678,
            1,
            &enip::register_session_data(),
        ),
    );
    let req = enip::cip_request(0x01, 0x01, 0x01, None, &[]);
    t = c.send(
        cap,
        t,
        true,
        &enip::encap(
            enip::SEND_RR_DATA,
            0x1234_5678,
            2,
            &enip::send_rr_data(&req),
        ),
    );
    let resp = enip::cip_response(0x01, 0, &enip::identity_get_all(id));
    t = c.send(
        cap,
        t + 2 * MS,
        false,
        &enip::encap(
            enip::SEND_RR_DATA,
            0x1234_5678,
            2,
            &enip::send_rr_data(&resp),
        ),
    );
    // A read of a missing attribute: CIP status 0x14.
    let req = enip::cip_request(0x0e, 0x01, 0x01, Some(0x63), &[]);
    t = c.send(
        cap,
        t,
        true,
        &enip::encap(
            enip::SEND_RR_DATA,
            0x1234_5678,
            3,
            &enip::send_rr_data(&req),
        ),
    );
    let resp = enip::cip_response(0x0e, 0x14, &[]);
    t = c.send(
        cap,
        t + 2 * MS,
        false,
        &enip::encap(
            enip::SEND_RR_DATA,
            0x1234_5678,
            3,
            &enip::send_rr_data(&resp),
        ),
    );
    c.close(cap, t + 20 * MS)
}

/// The BACnet controller's I-Am broadcast: device instance and vendor id.
fn i_am_broadcast(
    cap: &mut Capture,
    net: &Net,
    t: i64,
    (instance, vendor): (u32, u16),
    ident: u16,
) {
    let bcast = host(BROADCAST, [192, 168, 10, 255]);
    let i = bacnet::bvlc(0x0b, &bacnet::npdu(false, &bacnet::i_am(instance, vendor)));
    cap.push(
        t,
        udp_frame(
            &net.bacnet_ctl,
            &bcast,
            BROADCAST,
            net.vlan,
            47808,
            47808,
            ident,
            &i,
        ),
    );
}

/// BACnet/IP: Who-Is broadcast, I-Am, ReadProperty with its ACK, and an
/// error reply.
pub fn bacnet_exchange(cap: &mut Capture, net: &Net, t: i64, invoke: u8) -> i64 {
    let bcast = host(BROADCAST, [192, 168, 10, 255]);
    let w = bacnet::bvlc(0x0b, &bacnet::npdu(false, &bacnet::who_is()));
    cap.push(
        t,
        udp_frame(&net.hmi, &bcast, BROADCAST, net.vlan, 47808, 47808, 3, &w),
    );
    i_am_broadcast(cap, net, t + 5 * MS, (260_001, 17), 4);
    let r = bacnet::bvlc(
        0x0a,
        &bacnet::npdu(true, &bacnet::read_property(invoke, 0, 1, 85)),
    );
    cap.push(
        t + 50 * MS,
        udp_frame(
            &net.hmi,
            &net.bacnet_ctl,
            net.bacnet_ctl.mac,
            net.vlan,
            47808,
            47808,
            5,
            &r,
        ),
    );
    let a = bacnet::bvlc(
        0x0a,
        &bacnet::npdu(
            false,
            &bacnet::read_property_ack_real(invoke, 0, 1, 85, 21.5),
        ),
    );
    cap.push(
        t + 60 * MS,
        udp_frame(
            &net.bacnet_ctl,
            &net.hmi,
            net.hmi.mac,
            net.vlan,
            47808,
            47808,
            6,
            &a,
        ),
    );
    let r = bacnet::bvlc(
        0x0a,
        &bacnet::npdu(
            true,
            &bacnet::read_property(invoke.wrapping_add(1), 0, 99, 85),
        ),
    );
    cap.push(
        t + 70 * MS,
        udp_frame(
            &net.hmi,
            &net.bacnet_ctl,
            net.bacnet_ctl.mac,
            net.vlan,
            47808,
            47808,
            7,
            &r,
        ),
    );
    let e = bacnet::bvlc(
        0x0a,
        &bacnet::npdu(false, &bacnet::error(invoke.wrapping_add(1), 0x0c, 1, 31)),
    );
    cap.push(
        t + 80 * MS,
        udp_frame(
            &net.bacnet_ctl,
            &net.hmi,
            net.hmi.mac,
            net.vlan,
            47808,
            47808,
            8,
            &e,
        ),
    );
    t + 100 * MS
}

/// DNP3: class 0 polls with responses, then select/operate of a CROB.
pub fn dnp3_session(cap: &mut Capture, net: &Net, t: i64, polls: u8) -> i64 {
    let mut c = TcpConn::new(
        net.hmi,
        49_400,
        net.dnp3_rtu,
        20000,
        net.vlan,
        (21_000, 23_000),
    );
    let mut t = c.handshake(cap, t);
    let mut seq = 0u8;
    for _ in 0..polls {
        t = c.send(
            cap,
            t,
            true,
            &dnp3::frame(true, 10, 1, &dnp3::request(seq, 0x01, &dnp3::CLASS0)),
        );
        let objs = dnp3::binary_inputs(&[true, false, true, true]);
        t = c.send(
            cap,
            t + 5 * MS,
            false,
            &dnp3::frame(false, 1, 10, &dnp3::response(seq, 0x81, 0x0000, &objs)),
        ) + 200 * MS;
        seq = seq.wrapping_add(1);
    }
    for f in [0x03, 0x04] {
        let o = dnp3::crob(2, 0x03);
        t = c.send(
            cap,
            t,
            true,
            &dnp3::frame(true, 10, 1, &dnp3::request(seq, f, &o)),
        );
        t = c.send(
            cap,
            t + 5 * MS,
            false,
            &dnp3::frame(false, 1, 10, &dnp3::response(seq, 0x81, 0x0000, &o)),
        );
        seq = seq.wrapping_add(1);
    }
    c.close(cap, t + 50 * MS)
}

/// DNP3 from the engineering station: a READ of four floating-point
/// analog inputs by a 16-bit start-stop range, answered with their values;
/// then a class 1 event poll, answered with two analog change events (a
/// 2-byte count with 2-byte indexes, qualifier 0x28) and a binary input
/// change with time (a 1-byte count and index, qualifier 0x17), which the
/// station confirms.
pub fn dnp3_analog_session(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    let mut c = TcpConn::new(
        net.eng,
        49_402,
        net.dnp3_rtu,
        20000,
        net.vlan,
        (29_000, 31_000),
    );
    let mut t = c.handshake(cap, t);
    let range = [30, 5, 0x01, 0, 0, 3, 0];
    t = c.send(
        cap,
        t,
        true,
        &dnp3::frame(true, 10, 1, &dnp3::request(0, 0x01, &range)),
    );
    let mut values = range.to_vec();
    for v in [71.5f32, 68.25, 2.5, 0.0] {
        values.push(0x01);
        values.extend_from_slice(&v.to_le_bytes());
    }
    t = c.send(
        cap,
        t + 5 * MS,
        false,
        &dnp3::frame(false, 1, 10, &dnp3::response(0, 0x81, 0x0000, &values)),
    ) + 200 * MS;
    t = c.send(
        cap,
        t,
        true,
        &dnp3::frame(true, 10, 1, &dnp3::request(1, 0x01, &[60, 2, 0x06])),
    );
    let mut events = vec![32, 1, 0x28, 2, 0];
    for (index, value) in [(1u16, 690i32), (3, 31)] {
        events.extend_from_slice(&index.to_le_bytes());
        events.push(0x01);
        events.extend_from_slice(&value.to_le_bytes());
    }
    events.extend_from_slice(&[2, 2, 0x17, 1, 5, 0x81]);
    events.extend_from_slice(&1_767_603_600_000u64.to_le_bytes()[..6]);
    t = c.send(
        cap,
        t + 5 * MS,
        false,
        &dnp3::frame(false, 1, 10, &dnp3::response(1, 0x81, 0x0000, &events)),
    );
    t = c.send(
        cap,
        t + 5 * MS,
        true,
        &dnp3::frame(true, 10, 1, &dnp3::confirm(1, false)),
    );
    c.close(cap, t + 50 * MS)
}

/// DNP3 where requests and responses do not alternate: the outstation
/// opens with an unsolicited null response, which the master confirms;
/// the master enables unsolicited responses and, before the answer, reads
/// analog inputs 2 to 5; the outstation answers once, then sends a
/// response nobody asked for; a class 0 poll is answered in three link frames
/// (200 binary inputs); an unsolicited response with a binary event is
/// confirmed; and a cold restart is left unanswered when the connection
/// closes.
pub fn dnp3_out_of_step_session(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    let mut c = TcpConn::new(
        net.hmi,
        49_404,
        net.dnp3_rtu,
        20000,
        net.vlan,
        (41_000, 43_000),
    );
    let mut t = c.handshake(cap, t);
    let master = |app: &[u8]| dnp3::frame(true, 10, 1, app);
    let station = |app: &[u8]| dnp3::frame(false, 1, 10, app);
    let steps: [(bool, Vec<u8>); 6] = [
        (false, station(&dnp3::unsolicited(0, 0x0100, &[]))),
        (true, master(&dnp3::confirm(0, true))),
        (true, master(&dnp3::request(0, 0x14, &dnp3::CLASSES_123))),
        (
            true,
            master(&dnp3::request(1, 0x01, &[30, 1, 0x01, 2, 0, 5, 0])),
        ),
        (false, station(&dnp3::response(1, 0x81, 0x0000, &[]))),
        (false, station(&dnp3::response(1, 0x81, 0x0000, &[]))),
    ];
    for (from_master, frame) in &steps {
        t = c.send(cap, t, *from_master, frame) + 20 * MS;
    }
    t = c.send(
        cap,
        t,
        true,
        &master(&dnp3::request(2, 0x01, &dnp3::CLASS0)),
    );
    let inputs = dnp3::response(2, 0x81, 0x0000, &dnp3::binary_inputs(&[true; 200]));
    for frame in dnp3::segments(false, 1, 10, &inputs, 100) {
        t = c.send(cap, t + 2 * MS, false, &frame);
    }
    let event = [2, 1, 0x17, 1, 4, 0x81];
    t = c.send(
        cap,
        t + 200 * MS,
        false,
        &station(&dnp3::unsolicited(1, 0x0000, &event)),
    );
    t = c.send(cap, t + 5 * MS, true, &master(&dnp3::confirm(1, true)));
    t = c.send(
        cap,
        t + 100 * MS,
        true,
        &master(&dnp3::request(3, 0x0d, &[])),
    );
    c.close(cap, t + 50 * MS)
}

/// IEC 104: STARTDT, general interrogation, measurements, test frames.
pub fn iec104_session(cap: &mut Capture, net: &Net, t: i64, measurements: u16) -> i64 {
    let mut c = TcpConn::new(
        net.hmi,
        49_500,
        net.iec104_rtu,
        2404,
        net.vlan,
        (31_000, 33_000),
    );
    let mut t = c.handshake(cap, t);
    t = c.send(cap, t, true, &iec104::u_frame(0x04));
    t = c.send(cap, t + MS, false, &iec104::u_frame(0x08));
    t = c.send(
        cap,
        t,
        true,
        &iec104::i_frame(0, 0, iec104::C_IC_NA_1, 6, 1, 0, &[20]),
    );
    t = c.send(
        cap,
        t + 2 * MS,
        false,
        &iec104::i_frame(0, 1, iec104::C_IC_NA_1, 7, 1, 0, &[20]),
    );
    let mut tx = 1;
    for i in 0..measurements {
        let mut e = (20.0f32 + f32::from(i)).to_le_bytes().to_vec();
        e.push(0);
        t = c.send(
            cap,
            t + 100 * MS,
            false,
            &iec104::i_frame(tx, 1, iec104::M_ME_NC_1, 3, 1, 4001, &e),
        );
        tx += 1;
    }
    t = c.send(cap, t, true, &iec104::s_frame(tx));
    t = c.send(cap, t, true, &iec104::u_frame(0x40));
    t = c.send(cap, t + MS, false, &iec104::u_frame(0x80));
    c.close(cap, t + 50 * MS)
}

/// OPC UA: Hello, Acknowledge, OpenSecureChannel, Read requests.
pub fn opcua_session(cap: &mut Capture, net: &Net, t: i64, reads: u32) -> i64 {
    let mut c = TcpConn::new(
        net.hmi,
        49_600,
        net.opcua_srv,
        4840,
        net.vlan,
        (41_000, 43_000),
    );
    let mut t = c.handshake(cap, t);
    t = c.send(
        cap,
        t,
        true,
        &opcua::hello("opc.tcp://192.168.10.109:4840/plant"),
    );
    t = c.send(cap, t + MS, false, &opcua::ack());
    let none = "http://opcfoundation.org/UA/SecurityPolicy#None";
    t = c.send(cap, t, true, &opcua::open(false, 0, none, 1));
    t = c.send(cap, t + MS, false, &opcua::open(true, 7, none, 1));
    for i in 0..reads {
        t = c.send(
            cap,
            t + 100 * MS,
            true,
            &opcua::msg(7, 2 + i, opcua::READ_REQUEST, &opcua::read_request(1001)),
        );
        t = c.send(
            cap,
            t + 2 * MS,
            false,
            &opcua::msg(
                7,
                2 + i,
                opcua::READ_RESPONSE,
                &opcua::read_response(21.5 + f64::from(i)),
            ),
        );
    }
    c.close(cap, t + 50 * MS)
}

/// SLMP over TCP: type name read, batch reads (3E and 4E), a write, an
/// error end code, remote STOP and RUN.
pub fn slmp_session(cap: &mut Capture, net: &Net, t: i64, reads: u16) -> i64 {
    let mut c = TcpConn::new(
        net.eng,
        49_700,
        net.slmp_plc,
        5000,
        net.vlan,
        (51_000, 53_000),
    );
    let mut t = c.handshake(cap, t);
    t = c.send(
        cap,
        t,
        true,
        &slmp::request(None, slmp::READ_TYPE_NAME, 0, &[]),
    );
    t = c.send(
        cap,
        t + 2 * MS,
        false,
        &slmp::response(None, 0, &slmp::type_name("Q03UDVCPU", 0x0366)),
    );
    for i in 0..reads {
        let serial = if i % 2 == 0 { None } else { Some(i) };
        t = c.send(
            cap,
            t,
            true,
            &slmp::request(
                serial,
                slmp::BATCH_READ,
                0,
                &slmp::device_range(100, slmp::DEV_D, 2),
            ),
        );
        t = c.send(
            cap,
            t + 2 * MS,
            false,
            &slmp::response(serial, 0, &[0x10, 0, 0x20, 0]),
        ) + 100 * MS;
    }
    let mut w = slmp::device_range(200, slmp::DEV_D, 1);
    w.extend_from_slice(&[0x34, 0x12]);
    t = c.send(cap, t, true, &slmp::request(None, slmp::BATCH_WRITE, 0, &w));
    t = c.send(cap, t + 2 * MS, false, &slmp::response(None, 0, &[]));
    t = c.send(
        cap,
        t,
        true,
        &slmp::request(
            None,
            slmp::BATCH_READ,
            0,
            &slmp::device_range(99_999, slmp::DEV_D, 2),
        ),
    );
    let mut err = vec![0x00, 0xff, 0xff, 0x03, 0x00];
    err.extend_from_slice(&slmp::BATCH_READ.to_le_bytes());
    err.extend_from_slice(&[0, 0]);
    t = c.send(cap, t + 2 * MS, false, &slmp::response(None, 0xc056, &err));
    t = c.send(
        cap,
        t,
        true,
        &slmp::request(None, slmp::REMOTE_STOP, 0, &[1, 0]),
    );
    t = c.send(cap, t + 5 * MS, false, &slmp::response(None, 0, &[]));
    t = c.send(
        cap,
        t + SEC,
        true,
        &slmp::request(None, slmp::REMOTE_RUN, 0, &[1, 0, 0, 0]),
    );
    t = c.send(cap, t + 5 * MS, false, &slmp::response(None, 0, &[]));
    c.close(cap, t + 50 * MS)
}

/// FINS over UDP: controller data read, DM reads, stop and run.
pub fn fins_exchange(cap: &mut Capture, net: &Net, t: i64, sid: u8) -> i64 {
    let (eng, plc) = ((&net.eng, 0x0a), (&net.fins_plc, 0x69));
    let calls = [
        (
            (0x05, 0x01),
            vec![0x01],
            fins::controller_data("CJ2M-CPU31", "02.01"),
        ),
        (
            (0x01, 0x01),
            fins::area(fins::AREA_DM, 100, 2),
            vec![0, 1, 0, 2],
        ),
        ((0x04, 0x02), vec![], vec![]),
        ((0x04, 0x01), vec![0xff, 0xff, 0x04], vec![]),
    ];
    let mut t = t;
    for (i, (command, body, data)) in (0u8..).zip(calls) {
        let sid = sid.wrapping_add(i);
        fins_call(cap, net.vlan, eng, plc, t, sid, command, &body, &data);
        t += 50 * MS;
    }
    t
}

/// One FINS command over UDP 9600 from `client` to `plc` (each a host and
/// its FINS node number) with `body`, and the PLC's normal-end response
/// carrying `data` 3 ms later.
#[allow(clippy::too_many_arguments)]
pub fn fins_call(
    cap: &mut Capture,
    vlan: Option<u16>,
    client: (&Host, u8),
    plc: (&Host, u8),
    t: i64,
    sid: u8,
    command: (u8, u8),
    body: &[u8],
    data: &[u8],
) {
    let ((c, cn), (p, pn)) = (client, plc);
    let (mrc, src) = command;
    let q = fins::frame(false, pn, cn, sid, mrc, src, body);
    cap.push(t, udp_frame(c, p, p.mac, vlan, 9600, 9600, 9, &q));
    let a = fins::frame(true, cn, pn, sid, mrc, src, &fins::response_body(0, data));
    cap.push(t + 3 * MS, udp_frame(p, c, c.mac, vlan, 9600, 9600, 9, &a));
}

/// CC-Link IE Field Basic: the SLMP PLC as master broadcasting cyclic
/// requests every `period`, the remote I/O station answering each one.
pub fn cclink_cycles(cap: &mut Capture, net: &Net, start: i64, end: i64, period: i64) {
    let bcast = host(BROADCAST, [192, 168, 10, 255]);
    let mut t = start;
    let mut seq: u16 = 0x0100;
    while t < end {
        let q = cclink::request(net.slmp_plc.ip, seq, &[net.remote_io.ip]);
        cap.push(
            t,
            udp_frame(
                &net.slmp_plc,
                &bcast,
                BROADCAST,
                net.vlan,
                61450,
                61450,
                seq,
                &q,
            ),
        );
        let r = cclink::response(net.remote_io.ip, seq);
        let (io, plc) = (&net.remote_io, &net.slmp_plc);
        cap.push(
            t + 2 * MS,
            udp_frame(io, plc, plc.mac, net.vlan, 61450, 61450, seq, &r),
        );
        seq = seq.wrapping_add(1);
        t += period.max(1);
    }
}

/// PROFINET DCP: identify-all multicast and the device's answer.
pub fn profinet_identify(cap: &mut Capture, net: &Net, t: i64, xid: u32) -> i64 {
    let q = profinet::identify_request(xid);
    cap.push(
        t,
        ethernet(profinet::DCP_MULTICAST, net.eng.mac, net.vlan, 0x8892, &q),
    );
    let a = profinet::identify_response(
        xid,
        "plc-line2",
        "S7-300",
        (0x002a, 0x0101),
        [[192, 168, 10, 102], [255, 255, 255, 0], [192, 168, 10, 1]],
    );
    cap.push(
        t + 20 * MS,
        ethernet(net.eng.mac, net.s7_plc.mac, net.vlan, 0x8892, &a),
    );
    t + 50 * MS
}

/// A small factory over `seconds`: a Mitsubishi PLC cycling a CC-Link IE
/// Field Basic remote I/O station, an HMI polling a Modbus PLC, an S7 PLC,
/// a BACnet controller, a DNP3 and an IEC 104 outstation and an OPC UA
/// server; an engineering station reading identities (S7 SZL, CIP, FINS,
/// SLMP, PROFINET DCP) and stopping and starting PLCs; DHCP, DNS and ARP
/// underneath. Sessions that were open before the capture started are
/// joined mid-stream. The same seed gives the same capture.
pub fn plant(seconds: u64, seed: u64) -> Capture {
    let net = Net::default();
    let mut rng = Rng::new(seed);
    let mut cap = Capture::new();
    let end = START + i64::try_from(seconds).unwrap_or(i64::MAX / 2 / SEC) * SEC;
    let jitter = |rng: &mut Rng| i64::try_from(rng.below(50_000)).unwrap_or(0);

    // Background: DHCP for the HMI, DNS lookups, ARP.
    let bcast = host(BROADCAST, [255, 255, 255, 255]);
    let zero = host(net.hmi.mac, [0, 0, 0, 0]);
    let xid = rng.u32();
    cap.push(
        START,
        udp_frame(
            &zero,
            &bcast,
            BROADCAST,
            net.vlan,
            68,
            67,
            1,
            &it::dhcp(false, xid, net.hmi.mac, [0; 4], "HMI-LINE2"),
        ),
    );
    let off = it::dhcp(true, xid, net.hmi.mac, net.hmi.ip.octets(), "");
    cap.push(
        START + 3 * MS,
        udp_frame(&net.gateway, &bcast, BROADCAST, net.vlan, 67, 68, 2, &off),
    );
    let mut t = START + 10 * MS;
    while t < end {
        cap.push(t, arp(&net.hmi, &net.modbus_plc, false, net.vlan));
        cap.push(t + MS, arp(&net.modbus_plc, &net.hmi, true, net.vlan));
        let id = rng.u16();
        let q = it::dns(id, "historian.plant.local", None);
        cap.push(
            t + 2 * MS,
            udp_frame(
                &net.eng,
                &net.gateway,
                net.gateway.mac,
                net.vlan,
                53_000,
                53,
                3,
                &q,
            ),
        );
        let a = it::dns(id, "historian.plant.local", Some([192, 168, 10, 50]));
        cap.push(
            t + 3 * MS,
            udp_frame(
                &net.gateway,
                &net.eng,
                net.eng.mac,
                net.vlan,
                53,
                53_000,
                4,
                &a,
            ),
        );
        t += 30 * SEC;
    }

    // Cyclic polling, joined mid-stream: Modbus every second, S7 reads.
    let polls = u16::try_from(seconds.min(3600)).unwrap_or(1).max(1);
    modbus_session(&mut cap, &net, START + jitter(&mut rng), false, polls);
    s7_session(&mut cap, &net, START + 500 * MS, false, polls / 2 + 1);

    // CC-Link IE Field Basic cyclic exchange, five times a second.
    cclink_cycles(&mut cap, &net, START + 300 * MS, end, 200 * MS);

    // Periodic exchanges with fresh sessions.
    let mut t = START + SEC;
    let mut round = 0u32;
    while t < end {
        match round % 6 {
            0 => bacnet_exchange(&mut cap, &net, t + jitter(&mut rng), (round % 250) as u8),
            1 => dnp3_session(&mut cap, &net, t + jitter(&mut rng), 3),
            2 => iec104_session(&mut cap, &net, t + jitter(&mut rng), 5),
            3 => opcua_session(&mut cap, &net, t + jitter(&mut rng), 3),
            4 => fins_exchange(&mut cap, &net, t + jitter(&mut rng), (round % 200) as u8),
            _ => profinet_identify(&mut cap, &net, t + jitter(&mut rng), round),
        };
        round += 1;
        t += 5 * SEC;
    }

    // The engineering station's work, a third of the way in.
    let t = START + (end - START) / 3;
    s7_session(&mut cap, &net, t, true, 2);
    enip_session(&mut cap, &net, t + 2 * SEC);
    slmp_session(&mut cap, &net, t + 4 * SEC, 4);
    cap
}

/// IEC 61850 GOOSE: the IED's breaker status, `messages` messages at the
/// heartbeat interval, the state changing after the second.
pub fn goose_publish(cap: &mut Capture, net: &Net, t: i64, messages: u32) -> i64 {
    // IEC 61850-8-1's multicast range for GOOSE.
    const DST: Mac = [0x01, 0x0c, 0xcd, 0x01, 0x00, 0x01];
    let mut t = t;
    // `t` of a message is the time of the last state change, not its own.
    let mut state_since = t;
    for i in 0..messages {
        let changed = i >= 2;
        if i == 2 {
            state_since = t;
        }
        let g = iec61850::Goose {
            appid: 0x0001,
            gocb_ref: "IED1LD0/LLN0$GO$gcbStatus",
            dat_set: "IED1LD0/LLN0$StatusDS",
            go_id: "IED1_Status",
            time_allowed_to_live: 2000,
            t_secs: u32::try_from(state_since / SEC).unwrap_or(0),
            st_num: 1 + u32::from(changed),
            sq_num: if changed { i - 2 } else { i },
            conf_rev: 1,
            values: &[changed, !changed],
        };
        cap.push(
            t,
            ethernet(DST, net.ied.mac, net.vlan, 0x88b8, &iec61850::goose(&g)),
        );
        t += SEC;
    }
    t
}

/// IEC 61850 MMS: the HMI associates with the IED, lists its logical
/// devices, asks its identity, reads a status, operates a switch and lists
/// a directory of disturbance records. A second association, as an ICCP
/// peer makes one, calls other TSAPs than IEC 61850's (those an S7 client
/// would use), reads a value with a request segmented over three COTP
/// data TPDUs and receives a report.
pub fn mms_session(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    use iec61850::*;
    let mut c = TcpConn::new(net.hmi, 49_300, net.ied, 102, net.vlan, (11_000, 13_000));
    let mut t = c.handshake(cap, t);
    t = c.send(cap, t, true, &connect(false, TSAP, TSAP));
    t = c.send(cap, t + MS, false, &connect(true, TSAP, TSAP));
    t = c.send(cap, t + MS, true, &associate(false, &initiate(false)));
    t = c.send(cap, t + 2 * MS, false, &associate(true, &initiate(true)));
    let exchanges: [(Vec<u8>, Vec<u8>); 5] = [
        (get_domain_names(), name_list(&["IED1LD0", "IED1PROT"])),
        (
            identify_request(),
            identify_response("ACME Grid", "IED-3000", "2.14.1"),
        ),
        (
            read_request("IED1LD0", "XCBR1$ST$Pos$stVal"),
            read_response(2),
        ),
        (
            write_request("IED1LD0", "CSWI1$CO$Pos$Oper", true),
            write_response(),
        ),
        (
            file_directory_request("/COMTRADE"),
            file_directory_response(),
        ),
    ];
    for (i, (req, resp)) in exchanges.iter().enumerate() {
        let id = u8::try_from(i + 1).unwrap_or(u8::MAX);
        t = c.send(cap, t + 50 * MS, true, &data(&confirmed(false, id, req)));
        t = c.send(cap, t + 3 * MS, false, &data(&confirmed(true, id, resp)));
    }
    t = c.close(cap, t + 10 * MS);

    let (calling, called) = (0x0100, 0x0102);
    let mut c = TcpConn::new(net.hmi, 49_301, net.ied, 102, net.vlan, (21_000, 23_000));
    t = c.handshake(cap, t + 100 * MS);
    t = c.send(cap, t, true, &connect(false, calling, called));
    t = c.send(cap, t + MS, false, &connect(true, called, calling));
    t = c.send(cap, t + MS, true, &associate(false, &initiate(false)));
    t = c.send(cap, t + 2 * MS, false, &associate(true, &initiate(true)));
    let read = confirmed(false, 1, &read_request("IED1PROT", "PTOC1$ST$Str$general"));
    t = c.send(cap, t + 50 * MS, true, &data_segmented(&read, 24));
    t = c.send(
        cap,
        t + 3 * MS,
        false,
        &data(&confirmed(true, 1, &read_response(0))),
    );
    let since = u32::try_from(t / SEC).unwrap_or(0);
    let report = information_report("IED1PROT/LLN0$BR$brcb01", 2, true, since, 231.5);
    t = c.send(cap, t + 20 * MS, false, &data(&report));
    c.close(cap, t + 10 * MS)
}

/// One confirmed-service APDU between the HMI and the BACnet controller
/// (from the HMI when `from_hmi`), at `t` with IP id `id`; the time of the
/// next message.
fn bacnet_unicast(
    cap: &mut Capture,
    net: &Net,
    (t, id): (i64, u16),
    from_hmi: bool,
    apdu: &[u8],
) -> i64 {
    let (src, dst) = if from_hmi {
        (&net.hmi, &net.bacnet_ctl)
    } else {
        (&net.bacnet_ctl, &net.hmi)
    };
    let d = bacnet::bvlc(0x0a, &bacnet::npdu(from_hmi, apdu));
    cap.push(
        t,
        udp_frame(src, dst, dst.mac, net.vlan, 47808, 47808, id, &d),
    );
    t + 10 * MS
}

/// BACnet device management between the HMI and a controller that
/// announces itself as a Moxa gateway (vendor 1096): a ReadPropertyMultiple
/// of the device object whose ACK lists names, an object list and an
/// unknown property; the same read answered in two segments; the device
/// silenced for 5 minutes with a password and enabled again; a warm
/// restart refused for its password and a cold restart accepted.
pub fn bacnet_management(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    let mut id = 20u16;
    let mut t = t;
    let mut send = |cap: &mut Capture, t: i64, from_hmi: bool, apdu: &[u8]| {
        id += 1;
        bacnet_unicast(cap, net, (t, id), from_hmi, apdu)
    };
    i_am_broadcast(cap, net, t, (260_002, 1096), 1);
    t += 10 * MS;
    // Vendor name (121), model (70), object list (76), and a property the
    // device does not have (4: active-text).
    let props: &[u8] = &[121, 70, 76, 4];
    t = send(
        cap,
        t,
        true,
        &bacnet::read_property_multiple(40, &[(8, 260_002, props)]),
    );
    let list = [
        bacnet::app_object(8, 260_002),
        bacnet::app_object(0, 1),
        bacnet::app_object(2, 7),
    ];
    let results = bacnet::rpm_results(
        8,
        260_002,
        &[
            (121, Ok(&[bacnet::app_string("Moxa")])),
            (70, Ok(&[bacnet::app_string("MGate 5217")])),
            (76, Ok(&list)),
            (4, Err((2, 32))),
        ],
    );
    t = send(
        cap,
        t,
        false,
        &bacnet::read_property_multiple_ack(40, &results),
    );
    t = send(
        cap,
        t,
        true,
        &bacnet::read_property_multiple(41, &[(8, 260_002, props)]),
    );
    let (first, rest) = results.split_at(results.len() / 2);
    t = send(
        cap,
        t,
        false,
        &bacnet::complex_ack_segment(41, 14, 0, true, first),
    );
    t = send(cap, t, true, &bacnet::segment_ack(41, 0));
    t = send(
        cap,
        t,
        false,
        &bacnet::complex_ack_segment(41, 14, 1, false, rest),
    );
    t = send(cap, t, true, &bacnet::segment_ack(41, 1));
    t = send(
        cap,
        t,
        true,
        &bacnet::device_communication_control(42, 5, 1, "filister"),
    );
    t = send(cap, t, false, &bacnet::simple_ack(42, 17));
    t = send(
        cap,
        t,
        true,
        &bacnet::device_communication_control(43, 0, 0, ""),
    );
    t = send(cap, t, false, &bacnet::simple_ack(43, 17));
    t = send(cap, t, true, &bacnet::reinitialize_device(44, 1, "wrong"));
    t = send(cap, t, false, &bacnet::error(44, 20, 0, 26));
    t = send(
        cap,
        t,
        true,
        &bacnet::reinitialize_device(45, 0, "filister"),
    );
    send(cap, t, false, &bacnet::simple_ack(45, 20))
}

/// BACnet array elements, enumerations and writes between the HMI and
/// the controller: element 8 of an analog output's priority array read
/// and written; an analog input's reliability (a fault the 2020 edition
/// added) and units (a degree, and a unit numbered from 47808) read; a
/// trend log's buffer read by position with ReadRange; present values
/// written, a REAL at priority 8 and an Unsigned to a multi-state value.
pub fn bacnet_arrays_and_enums(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    let mut id = 40u16;
    let mut send = |cap: &mut Capture, t: i64, from_hmi: bool, apdu: &[u8]| {
        id += 1;
        bacnet_unicast(cap, net, (t, id), from_hmi, apdu)
    };
    let (ao, ai) = ((1u16, 1u32), (0u16, 1u32));
    let mut t = send(cap, t, true, &bacnet::read_property_index(60, 1, 1, 87, 8));
    let ack = bacnet::read_property_ack(60, ao, 87, Some(8), &bacnet::app_real(55.0));
    t = send(cap, t, false, &ack);
    let enums = [(61, 103, 24), (62, 117, 62), (63, 117, 47808)];
    for (invoke, property, value) in enums {
        t = send(cap, t, true, &bacnet::read_property(invoke, 0, 1, property));
        let v = bacnet::app_unsigned(true, value);
        let ack = bacnet::read_property_ack(invoke, ai, property, None, &v);
        t = send(cap, t, false, &ack);
    }
    let range = bacnet::read_range_by_position(64, (20, 1), 131, 1, 10);
    t = send(cap, t, true, &range);
    let writes = [
        (65, ao, (85, None), bacnet::app_real(42.0), Some(8)),
        (66, ao, (87, Some(8)), bacnet::app_real(40.0), None),
        (
            67,
            (19, 1),
            (85, None),
            bacnet::app_unsigned(false, 3),
            None,
        ),
    ];
    for (invoke, object, property, value, priority) in writes {
        let w = bacnet::write_property(invoke, object, property, &value, priority);
        t = send(cap, t, true, &w);
        t = send(cap, t, false, &bacnet::simple_ack(invoke, 15));
    }
    t
}

/// DNP3 with unsolicited reporting: the master enables it; the outstation
/// announces itself unsolicited and the master confirms; the master asks
/// for class 0 twice (its first request unanswered in time) and gets one
/// response; an unsolicited event report, confirmed, ends the session.
pub fn dnp3_unsolicited_session(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    let mut c = TcpConn::new(
        net.hmi,
        49_401,
        net.dnp3_rtu,
        20000,
        net.vlan,
        (25_000, 27_000),
    );
    let mut t = c.handshake(cap, t);
    let master = |app: Vec<u8>| dnp3::frame(true, 10, 1, &app);
    let outstation = |app: Vec<u8>| dnp3::frame(false, 1, 10, &app);
    t = c.send(
        cap,
        t,
        true,
        &master(dnp3::request(0, 0x14, &dnp3::CLASSES_123)),
    );
    t = c.send(
        cap,
        t + 5 * MS,
        false,
        &outstation(dnp3::response(0, 0x81, 0x0000, &[])),
    );
    // Device restart (IIN1.7) reported unsolicited.
    t = c.send(
        cap,
        t + 50 * MS,
        false,
        &outstation(dnp3::unsolicited(0, 0x8000, &[])),
    );
    t = c.send(cap, t + 5 * MS, true, &master(dnp3::confirm(0, true)));
    t = c.send(
        cap,
        t + 50 * MS,
        true,
        &master(dnp3::request(1, 0x01, &dnp3::CLASS0)),
    );
    t = c.send(
        cap,
        t + 500 * MS,
        true,
        &master(dnp3::request(1, 0x01, &dnp3::CLASS0)),
    );
    let objs = dnp3::binary_inputs(&[true, false]);
    t = c.send(
        cap,
        t + 5 * MS,
        false,
        &outstation(dnp3::response(1, 0x81, 0x0000, &objs)),
    );
    t = c.send(
        cap,
        t + 100 * MS,
        false,
        &outstation(dnp3::unsolicited(1, 0x0000, &objs)),
    );
    t = c.send(cap, t + 5 * MS, true, &master(dnp3::confirm(1, true)));
    c.close(cap, t + 50 * MS)
}

/// Modbus exceptions of every kind, and a vendor function: a Unity
/// (function 90) identification exchange; device identification and slave
/// id requests refused with exceptions; a read refused by a gateway; a
/// write answered by a truncated exception (no code).
pub fn modbus_exceptions(cap: &mut Capture, net: &Net, t: i64) -> i64 {
    let mut c = TcpConn::new(
        net.hmi,
        49_153,
        net.modbus_plc,
        502,
        net.vlan,
        (31_000, 33_000),
    );
    let mut t = c.handshake(cap, t);
    let exchanges: [(Vec<u8>, Vec<u8>); 5] = [
        (
            modbus::umas(0x02, &[]),
            modbus::umas(0xfe, &[0x01, 0x02, 0x03]),
        ),
        (modbus::read_device_id(), modbus::exception(0x2b, 1)),
        (vec![0x11], modbus::exception(0x11, 1)),
        (modbus::read_request(3, 0, 2), modbus::exception(3, 0x0b)),
        (modbus::write_single_register(5, 1), vec![0x86]),
    ];
    for (i, (req, resp)) in exchanges.iter().enumerate() {
        let tid = 100 + u16::try_from(i).unwrap_or(0);
        t = c.send(cap, t, true, &modbus::frame(tid, 1, req));
        t = c.send(cap, t + 2 * MS, false, &modbus::frame(tid, 1, resp)) + 50 * MS;
    }
    c.close(cap, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plant_is_deterministic_and_covers_its_duration() {
        let a = plant(60, 7).to_pcap();
        let b = plant(60, 7).to_pcap();
        assert_eq!(a, b);
        assert_ne!(a, plant(60, 8).to_pcap());
        let cap = plant(60, 7);
        let last = cap.frames().map(|(t, _)| t).max().unwrap();
        assert!(last >= START + 55 * SEC, "capture ends early");
    }

    #[test]
    fn every_scenario_builds() {
        for n in names() {
            let c = by_name(n, 10, 1).unwrap();
            assert!(!c.is_empty(), "{n} is empty");
        }
        assert!(by_name("nope", 10, 1).is_none());
    }
}
