//! The industrial decoders on captures built by `osect-trafficgen` from the
//! specifications: reads, writes, errors, run/stop, identity exchanges,
//! messages split across TCP segments and sessions joined mid-stream.
//! Where Debian's tshark has a dissector, its decoding of the same capture
//! must agree with the logs.

mod ics_support;

use osect_engine::over_ip::dnp3::names;
use osect_engine::sink::RecordSink;
use osect_trafficgen::pcap::Capture;
use osect_trafficgen::scenario;
use osect_wire::zeek::tsv_row;
use osect_wire::Record;
use std::collections::BTreeMap;
use std::process::Command;

type Row = BTreeMap<&'static str, String>;

fn rows(records: &[Record], log: &str) -> Vec<Row> {
    records
        .iter()
        .filter(|r| r.schema.path == log)
        .map(|r| {
            let mut line = String::new();
            tsv_row(&mut line, r);
            r.schema
                .fields
                .iter()
                .map(|f| f.name)
                .zip(line.trim_end_matches('\n').split('\t').map(str::to_owned))
                .collect()
        })
        .collect()
}

fn get<'a>(r: &'a Row, f: &str) -> &'a str {
    r.get(f).map_or("?", String::as_str)
}

/// A number as tshark prints it, `0x`-prefixed or decimal (`u64::MAX`
/// when it is neither).
fn hex_or_dec(s: &str) -> u64 {
    s.strip_prefix("0x")
        .map_or_else(
            || s.parse::<u64>().ok(),
            |h| u64::from_str_radix(h, 16).ok(),
        )
        .unwrap_or(u64::MAX)
}

fn scenario_run(name: &str) -> (Capture, ics_support::Run) {
    let cap = scenario::by_name(name, 30, 1).expect("scenario exists");
    let run = ics_support::run(&ics_support::capture_frames(&cap));
    (cap, run)
}

/// tshark's fields for every frame matching `filter`, one line per frame.
fn tshark(cap: &Capture, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.pcap");
    std::fs::write(&path, cap.to_pcap()).expect("write capture");
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(&path)
        // Checksums are verified, so a bad one shows as status 0.
        .args([
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "tcp.check_checksum:TRUE",
        ])
        .args(["-o", "udp.check_checksum:TRUE"])
        .args(["-Y", filter, "-T", "fields", "-E", "occurrence=a"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run tshark (Debian package tshark): {e}"));
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

#[test]
fn modbus_read_write_exception_and_split_request() {
    let (_, run) = scenario_run("modbus");
    let m = rows(&run.records, "modbus");
    assert!(m
        .iter()
        .any(|r| get(r, "func") == "READ_HOLDING_REGISTERS" && get(r, "pdu_type") == "RESP"));
    assert!(m
        .iter()
        .any(|r| get(r, "func") == "READ_HOLDING_REGISTERS_EXCEPTION"
            && get(r, "exception") == "ILLEGAL_DATA_ADDRESS"));
    let d = rows(&run.records, "modbus_detailed");
    let read = d.iter().find(|r| get(r, "tid") == "1").expect("first read");
    assert_eq!((get(read, "address"), get(read, "quantity")), ("100", "4"));
    assert_eq!(get(read, "response_values"), "215,1013,42,0");
    let write = d
        .iter()
        .find(|r| get(r, "func") == "WRITE_SINGLE_REGISTER")
        .expect("write");
    assert_eq!(get(write, "request_values"), "1500");
    // Sent as two segments (the MBAP header cut after five bytes).
    let split = d
        .iter()
        .find(|r| get(r, "func") == "WRITE_MULTIPLE_REGISTERS")
        .expect("split write");
    assert_eq!(
        (get(split, "address"), get(split, "request_values")),
        ("300", "1,2,3,4")
    );
    assert_eq!(get(split, "matched"), "T");
    assert_eq!(run.services.iter().filter(|s| s.1 == "modbus").count(), 1);
}

#[test]
fn s7_identity_and_plc_stop() {
    let (_, run) = scenario_run("s7comm");
    let known = rows(&run.records, "s7comm_known_devices");
    let by_name = known
        .iter()
        .find(|r| get(r, "module_name") != "-")
        .expect("SZL 0x001c row");
    assert_eq!(get(by_name, "module_name"), "CPU 315-2 PN/DP");
    assert_eq!(
        get(by_name, "automation_system_name"),
        "SIMATIC 300(Line 2)"
    );
    assert_eq!(get(by_name, "module_serial"), "S C-X4U421302009");
    let by_order = known
        .iter()
        .find(|r| get(r, "module_order_number") != "-")
        .expect("SZL 0x0011 row");
    assert_eq!(get(by_order, "module_order_number"), "6ES7 315-2EH14-0AB0");
    assert_eq!(get(by_order, "firmware"), "V3.2.6");
    let s7 = rows(&run.records, "s7comm");
    assert!(s7
        .iter()
        .any(|r| get(r, "function_name") == "PLC Stop" && get(r, "rosctr_name") == "Job-Request"));
    assert!(
        s7.iter()
            .any(|r| get(r, "function_name") == "Read Variable"
                && get(r, "rosctr_name") == "ACK-Data")
    );
}

/// The program upload and download of the s7comm scenario, each step as
/// ICSNPP's s7comm_upload_download.log writes it, and every Read SZL in
/// s7comm_read_szl.log; names, ids and lengths as tshark decodes them.
#[test]
fn s7_program_transfer_and_szl_reads() {
    let (cap, run) = scenario_run("s7comm");
    let ud = rows(&run.records, "s7comm_upload_download");
    let steps: Vec<(&str, &str)> = ud
        .iter()
        .map(|r| (get(r, "rosctr"), get(r, "function_name")))
        .collect();
    let expected: Vec<(&str, &str)> = [
        "Start Upload",
        "Upload",
        "End Upload",
        "Request Download",
        "Download Block",
        "Download Ended",
    ]
    .iter()
    .flat_map(|f| [("Job-Request", *f), ("ACK-Data", *f)])
    .collect();
    assert_eq!(steps, expected);
    let start = &ud[0];
    assert_eq!(get(start, "filename"), "_0B00000A");
    assert_eq!(get(start, "block_type"), "System Data Block");
    assert_eq!(get(start, "block_number"), "00000");
    assert_eq!(get(start, "destination_filesystem"), "Active");
    assert_eq!(get(start, "is_orig"), "T");
    let started = &ud[1];
    assert_eq!(
        (get(started, "session_id"), get(started, "blocklength")),
        ("7", "216")
    );
    assert_eq!(get(&ud[2], "session_id"), "7");
    assert_eq!(
        (get(&ud[3], "function_status"), get(&ud[3], "blocklength")),
        ("0x00", "216")
    );
    // The PLC asks for the block it is given: its jobs go to the station.
    let block = &ud[8];
    assert_eq!(get(block, "is_orig"), "F");
    assert_eq!(get(block, "block_type"), "Organization Block");
    assert_eq!(get(block, "destination_filesystem"), "Passive");
    assert_eq!(get(&ud[9], "blocklength"), "128");
    assert_eq!(get(&ud[9], "is_orig"), "T");
    // The Upload and Download Block replies come segmented (three and two
    // data TPDUs): one row each, at their last TPDU, as tshark reassembles
    // them; every TPDU has its `cotp` row.
    cotp_codes(&cap, &run.records);
    let segmented = tshark(
        &cap,
        "cotp.segments",
        &["cotp.segment.count", "frame.time_epoch"],
    );
    let counts: Vec<&str> = segmented.iter().map(|t| t[0].as_str()).collect();
    assert_eq!(counts, ["3", "2"]);
    // Each TPDU came in a TCP segment of its own: the rows are the last's.
    let micros = |t: &str| {
        t.get(..t.find('.').map_or(t.len(), |d| d + 7))
            .map(str::to_owned)
    };
    for (r, t) in [&ud[3], &ud[9]].iter().zip(&segmented) {
        assert_eq!(micros(get(r, "ts")), micros(&t[1]), "{r:?}");
    }

    // tshark's PDU reference is the header's big-endian field; ICSNPP's
    // (and ours) is the same two bytes read little-endian.
    let swapped = |f: &str| {
        f.parse::<u16>()
            .map_or_else(|_| f.to_owned(), |v| v.swap_bytes().to_string())
    };
    let theirs: Vec<Vec<String>> = tshark(
        &cap,
        "s7comm.param.func >= 0x1a && s7comm.param.func <= 0x1f",
        &[
            "s7comm.header.pduref",
            "s7comm.param.blockcontrol.filename",
            "s7comm.data.blockcontrol.uploadid",
            "s7comm.param.blockcontrol.upl_lenstring",
        ],
    );
    assert_eq!(theirs.len(), ud.len());
    for (r, t) in ud.iter().zip(&theirs) {
        assert_eq!(get(r, "pdu_reference"), swapped(&t[0]), "{r:?}");
        let name = if t[1].is_empty() { "-" } else { &t[1] };
        assert_eq!(get(r, "filename"), name, "{r:?}");
        if let Some(id) = t[2].strip_prefix("0x") {
            let id = u32::from_str_radix(id, 16).map(|v| v.to_string());
            assert_eq!(Ok(get(r, "session_id").to_owned()), id, "{r:?}");
        }
        if !t[3].is_empty() {
            assert_eq!(get(r, "blocklength"), t[3].trim_start_matches('0'), "{r:?}");
        }
    }

    // PLC Control jobs name their PI service, as tshark decodes it.
    let s7 = rows(&run.records, "s7comm");
    let services: Vec<[&str; 2]> = s7
        .iter()
        .filter(|r| {
            get(r, "function_name") == "PLC Control" && get(r, "rosctr_name") == "Job-Request"
        })
        .map(|r| [get(r, "subfunction_code"), get(r, "subfunction_name")])
        .collect();
    assert_eq!(
        services[..2],
        [
            ["_INSE", "Activates a PLC module"],
            ["P_PROGRAM", "PLC Start / Stop"]
        ]
    );
    // Every service tshark reads, with its description (`[PI-Service X
    // (description)]`, or `[Unknown PI Service]`, which ICSNPP writes as
    // `unknown`): the PLC's and the SINUMERIK NC services.
    let theirs: Vec<[String; 2]> = tshark_frames(&cap)
        .iter()
        .flat_map(|f| f.lines())
        .filter_map(|l| {
            let (name, rest) = l
                .trim()
                .strip_prefix("PI (program invocation) Service: ")?
                .split_once(" [")?;
            let desc = rest
                .strip_prefix(&format!("PI-Service {name} ("))
                .and_then(|d| d.strip_suffix(")]"))
                .unwrap_or("unknown");
            Some([name.to_owned(), desc.to_owned()])
        })
        .collect();
    assert_eq!(theirs.len(), 6);
    assert_eq!(
        services
            .iter()
            .map(|s| s.map(str::to_owned))
            .collect::<Vec<_>>(),
        theirs
    );
    assert!(services.contains(&["_N_F_DELE", "Deletes file"]));
    assert!(services.contains(&["_N_XYZZY_", "unknown"]));

    let szl = rows(&run.records, "s7comm_read_szl");
    let ours: Vec<[String; 4]> = szl
        .iter()
        .map(|r| {
            [
                get(r, "pdu_reference").to_owned(),
                get(r, "method").to_owned(),
                get(r, "szl_id").to_owned(),
                get(r, "szl_index").to_owned(),
            ]
        })
        .collect();
    let theirs: Vec<[String; 4]> = tshark(
        &cap,
        "s7comm.data.userdata.szl_id",
        &[
            "s7comm.header.pduref",
            "s7comm.param.userdata.reqres1",
            "s7comm.data.userdata.szl_id",
            "s7comm.data.userdata.szl_index",
        ],
    )
    .iter()
    .map(|t| {
        let method = match t[1].as_str() {
            "0x11" | "17" => "Request",
            "0x12" | "18" => "Response",
            _ => "Unknown",
        };
        let hex4 = |s: &str| {
            let v = s
                .strip_prefix("0x")
                .map_or_else(|| s.parse().ok(), |h| u16::from_str_radix(h, 16).ok());
            v.map_or_else(|| s.to_owned(), |v| format!("0x{v:04x}"))
        };
        [swapped(&t[0]), method.to_owned(), hex4(&t[2]), hex4(&t[3])]
    })
    .collect();
    assert_eq!(ours, theirs);
    assert!(szl
        .iter()
        .any(|r| get(r, "szl_id_name") == "Component Identification"
            && get(r, "return_code_name") == "Success"));
}

#[test]
fn enip_list_identity_and_cip_error() {
    let (_, run) = scenario_run("enip");
    let id = rows(&run.records, "cip_identity");
    assert_eq!(id.len(), 2, "ListIdentity and Get_Attributes_All replies");
    for r in &id {
        assert_eq!(get(r, "product_name"), "1769-L33ER/A LOGIX5333ER");
        assert_eq!(get(r, "vendor_name"), "Rockwell Automation/Allen-Bradley");
        assert_eq!(get(r, "revision"), "32.11");
        assert_eq!(get(r, "serial_number"), "0x00c0ffee");
    }
    let cip = rows(&run.records, "cip");
    assert!(cip
        .iter()
        .any(|r| get(r, "cip_status") == "Attribute Not Supported"));
}

#[test]
fn bacnet_discovery_property_and_error() {
    let (cap, run) = scenario_run("bacnet");
    let disc = rows(&run.records, "bacnet_discovery");
    assert!(disc
        .iter()
        .any(|r| get(r, "pdu_service") == "who-is" && get(r, "range") == "All"));
    let iam = disc
        .iter()
        .find(|r| get(r, "pdu_service") == "i-am")
        .expect("i-am");
    assert_eq!(get(iam, "instance_number"), "260001");
    let prop = rows(&run.records, "bacnet_property");
    let ack = prop
        .iter()
        .find(|r| get(r, "pdu_service") == "read-property-ack")
        .expect("ack");
    assert_eq!(
        (get(ack, "property"), get(ack, "value")),
        ("present-value", "21.500000")
    );
    let b = rows(&run.records, "bacnet");
    assert!(b
        .iter()
        .any(|r| get(r, "pdu_type") == "ERROR_PDU" && get(r, "result_code") == "unknown-object"));
    // tshark agrees on the services of the same capture.
    let ts = tshark(&cap, "bacapp", &["bacapp.type", "bacapp.invoke_id"]);
    assert_eq!(ts.len(), b.len());
}

/// tshark's full dissection (`-V`) of a capture, one text per frame.
/// The codes of the `cotp` rows, one per TPDU, checked against tshark's
/// list of the capture's TPDUs.
fn cotp_codes(cap: &Capture, records: &[Record]) -> Vec<String> {
    let theirs: Vec<String> = tshark(cap, "cotp", &["cotp.type"])
        .iter()
        .flat_map(|w| w[0].split(',').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    let ours: Vec<String> = rows(records, "cotp")
        .iter()
        .map(|r| get(r, "pdu_code").to_owned())
        .collect();
    assert_eq!(ours, theirs, "cotp rows");
    ours
}

fn tshark_frames(cap: &Capture) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.pcap");
    std::fs::write(&path, cap.to_pcap()).expect("write capture");
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .arg("-V")
        .output()
        .unwrap_or_else(|e| panic!("cannot run tshark (Debian package tshark): {e}"));
    assert!(out.status.success(), "tshark failed");
    String::from_utf8_lossy(&out.stdout)
        .split("\nFrame ")
        .map(str::to_owned)
        .collect()
}

/// The BACnet property rows of the arrays-and-enumerations exchange, each
/// against tshark's dissection of its message: the property, the array
/// index as ICSNPP logs it (a ReadProperty's index; a ReadRange without
/// one gives 0, its range's opening tag; a WriteProperty of an Unsigned
/// gives the value written), and reliability and units values named as
/// tshark names them (its spelling lower-cased and hyphenated).
#[test]
fn bacnet_array_indexes_and_enumerations_as_icsnpp_logs_them() {
    let (cap, run) = exchange_run(scenario::bacnet_arrays_and_enums);
    let ours = rows(&run.records, "bacnet_property");
    let frames: Vec<String> = tshark_frames(&cap)
        .into_iter()
        .filter(|f| {
            ["readProperty (12)", "readRange (26)", "writeProperty (15)"]
                .iter()
                .any(|s| f.contains(&format!("Service Choice: {s}")))
                && !f.contains("Simple-ACK")
        })
        .collect();
    assert_eq!(ours.len(), frames.len(), "a row per property message");
    let after = |f: &str, key: &str| -> Option<String> {
        f.lines()
            .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_owned()))
    };
    for (row, f) in ours.iter().zip(&frames) {
        let property = after(f, "Property Identifier:").expect("a property");
        assert!(property.starts_with(&format!("{} (", get(row, "property"))));
        let index = after(f, "property Array Index (Unsigned)");
        let lines: Vec<&str> = f.lines().collect();
        let unsigned_value = lines
            .iter()
            .position(|l| l.contains("Application Tag: Unsigned Integer"))
            .and_then(|i| lines[i - 1].rsplit(": ").next())
            .map(|v| v.trim().to_owned());
        let want = if f.contains("readRange (26)") {
            index.or(Some("0".to_owned()))
        } else if f.contains("writeProperty (15)") {
            unsigned_value.or(index)
        } else {
            index
        };
        assert_eq!(
            get(row, "array_index"),
            want.as_deref().unwrap_or("-"),
            "{f}"
        );
        for e in ["reliability:", "units:"] {
            if let Some(v) = after(f, e) {
                let name = v[..v.rfind(" (").expect("a number")].to_lowercase();
                assert_eq!(get(row, "value"), name.replace(' ', "-"));
            }
        }
    }
    let values: Vec<&str> = ours.iter().map(|r| get(r, "value")).collect();
    for v in [
        "referenced-object-fault",
        "degrees-celsius",
        "standard-cubic-feet-per-day",
    ] {
        assert!(values.contains(&v), "{v}");
    }
}

#[test]
fn dnp3_polls_and_controls() {
    let (_, run) = scenario_run("dnp3");
    let d = rows(&run.records, "dnp3");
    // Two class 0 polls, the station's analog and event reads, then the
    // analog read and class 0 poll of the HMI's second connection.
    assert_eq!(
        d.iter().filter(|r| get(r, "fc_request") == "READ").count(),
        6
    );
    assert!(d
        .iter()
        .any(|r| get(r, "fc_request") == "OPERATE" && get(r, "fc_reply") == "RESPONSE"));
    let c = rows(&run.records, "dnp3_control");
    assert!(c
        .iter()
        .any(|r| get(r, "function_code") == "SELECT" && get(r, "operation_type") == "Latch On"));
    let o = rows(&run.records, "dnp3_objects");
    assert!(o.iter().any(
        |r| get(r, "object_type") == "Binary Input With Status" && get(r, "range_high") == "3"
    ));
}

/// Every object header tshark decodes (CROBs aside: dnp3_control has
/// them) is a dnp3_objects row, in order, with ICSNPP's name for the
/// object; a request's row has no count or range, a response's has the
/// values of Zeek's object header event that ICSNPP logs: start and stop,
/// or for a count the count as the low end (a 2-byte count read
/// big-endian) and 0, or 0 and 0xffff for all objects.
#[test]
fn dnp3_objects_as_icsnpp_logs_them() {
    let (cap, run) = scenario_run("dnp3");
    let fields = [
        "dnp3.al.func",
        "dnp3.al.obj",
        "dnp3.al.objq.range",
        "dnp3.al.range.start",
        "dnp3.al.range.stop",
        "dnp3.al.range.quantity",
    ];
    let mut want: Vec<[String; 5]> = Vec::new();
    for f in tshark(&cap, "dnp3.al.obj", &fields) {
        let list = |i: usize| -> Vec<u32> {
            f[i].split(',')
                .filter(|x| !x.is_empty())
                .map(|x| u32::try_from(hex_or_dec(x)).expect("a small number"))
                .collect()
        };
        let func = u8::try_from(hex_or_dec(&f[0])).expect("function code");
        let (starts, stops, counts) = (list(3), list(4), list(5));
        let (mut ranges, mut quantities) = (starts.iter().zip(&stops), counts.iter());
        for (obj, code) in list(1).into_iter().zip(list(2)) {
            let [c, l, h] = match code {
                0..=2 => {
                    let (s, e) = ranges.next().expect("a start and a stop");
                    [e - s + 1, *s, *e]
                }
                6 => [0, 0xffff, 0xffff],
                8 => {
                    let q = *quantities.next().expect("a quantity");
                    [q, u32::from((q as u16).swap_bytes()), 0]
                }
                _ => {
                    let q = *quantities.next().expect("a quantity");
                    [q, q, 0]
                }
            };
            let Some(name) = names::icsnpp_object((obj >> 8) as u8, obj as u8) else {
                continue;
            };
            let counts = if func < 0x80 {
                ["-".to_owned(), "-".to_owned(), "-".to_owned()]
            } else {
                [c, l, h].map(|v| v.to_string())
            };
            let [c, l, h] = counts;
            want.push([names::function(func).to_string(), name.to_owned(), c, l, h]);
        }
    }
    let ours: Vec<[String; 5]> = rows(&run.records, "dnp3_objects")
        .iter()
        .map(|r| {
            [
                "function_code",
                "object_type",
                "object_count",
                "range_low",
                "range_high",
            ]
            .map(|f| get(r, f).to_owned())
        })
        .collect();
    assert_eq!(ours, want);
    // The scenario has each kind: a ranged READ, a 2-byte count.
    assert!(ours
        .iter()
        .any(|r| r[0] == "READ" && r[1] == "32-Bit Floating Point Input"));
    assert!(ours
        .iter()
        .any(|r| r[1] == "32-Bit Analog Change Event w/o Time" && r[2] == "2" && r[3] == "512"));
}

#[test]
fn iec104_agrees_with_tshark() {
    let (cap, run) = scenario_run("iec104");
    let ours: Vec<(String, String, String)> = rows(&run.records, "iec104")
        .iter()
        .filter(|r| get(r, "apci_type") == "I")
        .map(|r| {
            (
                get(r, "type_id").into(),
                get(r, "cot").into(),
                get(r, "ioa").into(),
            )
        })
        .collect();
    let theirs: Vec<(String, String, String)> = tshark(
        &cap,
        "iec60870_asdu",
        &[
            "iec60870_asdu.typeid",
            "iec60870_asdu.causetx",
            "iec60870_asdu.ioa",
        ],
    )
    .into_iter()
    .map(|f| (f[0].clone(), f[1].clone(), f[2].clone()))
    .collect();
    assert!(!ours.is_empty());
    assert_eq!(ours, theirs);
    let u: Vec<String> = rows(&run.records, "iec104")
        .iter()
        .filter(|r| get(r, "apci_type") == "U")
        .map(|r| get(r, "u_function").to_owned())
        .collect();
    assert_eq!(
        u,
        ["STARTDT act", "STARTDT con", "TESTFR act", "TESTFR con"]
    );
}

#[test]
fn opcua_agrees_with_tshark() {
    let (cap, run) = scenario_run("opcua");
    let o = rows(&run.records, "opcua");
    let hel = o
        .iter()
        .find(|r| get(r, "msg_type") == "HEL")
        .expect("hello");
    assert_eq!(
        get(hel, "endpoint_url"),
        "opc.tcp://192.168.10.109:4840/plant"
    );
    let opn = o
        .iter()
        .find(|r| get(r, "msg_type") == "OPN" && get(r, "is_orig") == "T")
        .expect("open");
    assert_eq!(
        get(opn, "security_policy"),
        "http://opcfoundation.org/UA/SecurityPolicy#None"
    );
    assert_eq!(get(opn, "security_mode"), "None");
    assert!(o.iter().any(|r| get(r, "service") == "ReadRequest"));
    let ours: Vec<String> = o.iter().map(|r| get(r, "msg_type").to_owned()).collect();
    let theirs: Vec<String> = tshark(&cap, "opcua", &["opcua.transport.type"])
        .into_iter()
        .map(|f| f[0].clone())
        .collect();
    assert_eq!(ours, theirs);
}

#[test]
fn slmp_identity_reads_errors_and_run_stop() {
    let (_, run) = scenario_run("slmp");
    let s = rows(&run.records, "slmp");
    let model = s
        .iter()
        .find(|r| get(r, "model") != "-")
        .expect("type name reply");
    assert_eq!(get(model, "model"), "Q03UDVCPU");
    let read = s
        .iter()
        .find(|r| get(r, "command") == "0x0401" && get(r, "pdu_type") == "request")
        .expect("read");
    assert_eq!(
        (
            get(read, "device"),
            get(read, "head_device"),
            get(read, "points")
        ),
        ("D", "100", "2")
    );
    assert!(s
        .iter()
        .any(|r| get(r, "frame_type") == "4E binary" && get(r, "pdu_type") == "response"));
    assert!(s
        .iter()
        .any(|r| get(r, "end_code") == "0xc056" && get(r, "command") == "0x0401"));
    let ops: Vec<&str> = s
        .iter()
        .filter(|r| get(r, "pdu_type") == "request")
        .map(|r| get(r, "remote_operation"))
        .filter(|o| *o != "-")
        .collect();
    assert_eq!(ops, ["STOP", "RUN"]);
}

#[test]
fn fins_agrees_with_tshark() {
    let (cap, run) = scenario_run("fins");
    let f = rows(&run.records, "fins");
    let cd = f
        .iter()
        .find(|r| get(r, "controller_model") != "-")
        .expect("controller data");
    assert_eq!(
        (get(cd, "controller_model"), get(cd, "controller_version")),
        ("CJ2M-CPU31", "02.01")
    );
    let read = f
        .iter()
        .find(|r| get(r, "command") == "0x0101" && get(r, "icf_type") == "command")
        .expect("read");
    assert_eq!(
        (
            get(read, "memory_area"),
            get(read, "address"),
            get(read, "count")
        ),
        ("DM word", "100", "2")
    );
    assert!(f.iter().any(|r| get(r, "run_stop") == "STOP"));
    let ours: Vec<(String, String)> = f
        .iter()
        .map(|r| (get(r, "command").to_owned(), get(r, "sid").to_owned()))
        .collect();
    let theirs: Vec<(String, String)> = tshark(&cap, "omron", &["omron.command", "omron.sid"])
        .into_iter()
        .map(|x| {
            (
                x[0].clone(),
                u64::from_str_radix(x[1].trim_start_matches("0x"), 16)
                    .map_or(x[1].clone(), |v| v.to_string()),
            )
        })
        .collect();
    assert_eq!(ours, theirs);
}

#[test]
fn profinet_dcp_agrees_with_tshark() {
    let (cap, run) = scenario_run("profinet");
    let p = rows(&run.records, "profinet_dcp");
    assert_eq!(p.len(), 2);
    let a = &p[1];
    assert_eq!(
        (get(a, "service"), get(a, "service_type")),
        ("identify", "response")
    );
    assert_eq!(
        (get(a, "station_name"), get(a, "type_of_station")),
        ("plc-line2", "S7-300")
    );
    assert_eq!(
        (get(a, "vendor_id"), get(a, "device_id"), get(a, "ip")),
        ("0x002a", "0x0101", "192.168.10.102")
    );
    let ts = tshark(
        &cap,
        "pn_dcp",
        &[
            "pn_dcp.suboption_device_nameofstation",
            "pn_dcp.suboption_vendor_id",
            "pn_dcp.suboption_ip_ip",
        ],
    );
    assert_eq!(ts.len(), 2);
    assert_eq!(ts[1], ["plc-line2", "0x002a", "192.168.10.102"]);
}

#[test]
fn cclink_ie_field_basic_cycles() {
    let (_, run) = scenario_run("cclink");
    let c = rows(&run.records, "cclink_ief_basic");
    assert_eq!(c.len(), 20, "ten cycles of request and response");
    let (q, r) = (&c[0], &c[1]);
    assert_eq!(
        (
            get(q, "pdu_type"),
            get(q, "master_ip"),
            get(q, "slave_count")
        ),
        ("cyclic_request", "192.168.10.104", "1")
    );
    assert_eq!(
        (get(r, "pdu_type"), get(r, "slave_ip"), get(r, "end_code")),
        ("cyclic_response", "192.168.10.110", "0x0000")
    );
    assert_eq!(get(q, "frame_sequence"), get(r, "frame_sequence"));
    assert_eq!(get(&c[2], "frame_sequence"), "257");
}

#[test]
fn plant_yields_every_log_and_the_asset_ledger() {
    let cap = scenario::plant(60, 3);
    let mut run = ics_support::run(&ics_support::capture_frames(&cap));
    for log in [
        "modbus",
        "modbus_detailed",
        "s7comm",
        "s7comm_known_devices",
        "cotp",
        "enip",
        "cip",
        "cip_identity",
        "bacnet",
        "bacnet_discovery",
        "bacnet_property",
        "cclink_ief_basic",
        "dnp3",
        "iec104",
        "opcua",
        "slmp",
        "fins",
        "profinet_dcp",
    ] {
        assert!(
            run.records.iter().any(|r| r.schema.path == log),
            "plant gave no {log} rows"
        );
    }
    // Joined mid-stream: the Modbus poll never shows a handshake, yet every
    // poll is decoded.
    let polls = rows(&run.records, "modbus_detailed")
        .iter()
        .filter(|r| get(r, "func") == "READ_HOLDING_REGISTERS" && get(r, "exception_code") == "-")
        .count();
    assert_eq!(polls, 60);
    let mut sink = RecordSink::new(1000);
    run.assets.emit(i64::MAX, &mut sink);
    let assets = rows(&sink.take(), "asset");
    let s7 = assets
        .iter()
        .find(|r| get(r, "mac") == "00:1b:1b:01:00:66")
        .expect("S7 PLC asset");
    assert_eq!(get(s7, "model"), "6ES7 315-2EH14-0AB0");
    assert_eq!(get(s7, "firmware"), "V3.2.6");
    assert!(get(s7, "roles").contains("s7_plc"));
    assert!(get(s7, "hostnames").contains("plc-line2"));
    let enip = assets
        .iter()
        .find(|r| get(r, "mac") == "00:00:bc:01:00:67")
        .expect("ENIP PLC asset");
    assert_eq!(get(enip, "oui_vendor"), "Rockwell Automation");
    assert_eq!(get(enip, "product"), "1769-L33ER/A LOGIX5333ER");
    let fins = assets
        .iter()
        .find(|r| get(r, "mac") == "00:00:0a:01:00:69")
        .expect("FINS PLC asset");
    assert_eq!(get(fins, "model"), "CJ2M-CPU31");
    let slmp = assets
        .iter()
        .find(|r| get(r, "mac") == "38:e0:8e:01:00:68")
        .expect("SLMP PLC asset");
    assert_eq!(get(slmp, "model"), "Q03UDVCPU");
    assert!(get(slmp, "roles").contains("slmp_server"));
}

mod streaming {
    //! The TCP streaming contract: the same records whether a message
    //! arrives whole, cut into pieces of any size, or several to a segment;
    //! and decoding resumes after a gap.

    use osect_engine::asset::AssetTable;
    use osect_engine::flow::id::{ConnId, FlowRef, Transport};
    use osect_engine::over_ip::{self, AppParser, Ctx, Dir, Output};
    use osect_engine::sink::RecordSink;
    use osect_trafficgen::proto::{dnp3, enip, fins, iec104, modbus, opcua, s7, slmp};
    use osect_wire::Record;
    use std::net::{IpAddr, Ipv4Addr};

    const ID: ConnId = ConnId {
        orig_h: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        orig_p: 50000,
        resp_h: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        resp_p: 12345,
        proto: Transport::Tcp,
    };

    /// Messages of a conversation, in order, with who sent them.
    type Conversation = Vec<(Dir, Vec<u8>)>;

    /// A conversation of each protocol.
    fn conversations() -> Vec<(&'static str, Conversation)> {
        use Dir::{Orig, Resp};
        let mb = |t: u16, p: Vec<u8>| modbus::frame(t, 1, &p);
        let s7d = |r: u8, p: Vec<u8>, d: &[u8]| s7::cotp_data(&s7::pdu(r, 7, &p, d, None));
        let dn = |m: bool, a: Vec<u8>| dnp3::frame(m, 10, 1, &a);
        let id = enip::Identity {
            vendor: 1,
            device_type: 14,
            product_code: 1,
            revision: (1, 2),
            status: 0,
            serial: 9,
            name: "PLC",
        };
        let rr = |c: Vec<u8>| enip::encap(enip::SEND_RR_DATA, 5, 0, &enip::send_rr_data(&c));
        let fr =
            |resp: bool, body: &[u8]| fins::tcp(2, &fins::frame(resp, 1, 2, 3, 0x01, 0x01, body));
        vec![
            (
                "modbus",
                vec![
                    (Orig, mb(1, modbus::read_request(3, 0, 10))),
                    (Resp, mb(1, modbus::registers_response(3, &[1; 10]))),
                    (Orig, mb(2, modbus::write_multiple_registers(7, &[5; 40]))),
                    (Resp, mb(2, vec![0x10, 0, 7, 0, 40])),
                    (Orig, mb(3, modbus::read_request(4, 9, 1))),
                    (Resp, mb(3, modbus::exception(4, 2))),
                ],
            ),
            (
                "s7comm",
                vec![
                    (Orig, s7::cotp_connect(false, 0x100, 0x102)),
                    (Resp, s7::cotp_connect(true, 0x102, 0x100)),
                    (Orig, s7d(1, s7::read_var_param(1, 0, 4), &[])),
                    (Resp, s7d(3, vec![4, 1], &s7::read_var_data(&[1, 2, 3, 4]))),
                    (Orig, s7d(1, s7::plc_stop_param(), &[])),
                ],
            ),
            (
                "dnp3",
                vec![
                    (Orig, dn(true, dnp3::request(0, 1, &dnp3::CLASS0))),
                    (
                        Resp,
                        dn(
                            false,
                            dnp3::response(0, 0x81, 0, &dnp3::binary_inputs(&[true; 20])),
                        ),
                    ),
                    (Orig, dn(true, dnp3::request(1, 3, &dnp3::crob(1, 3)))),
                    (
                        Resp,
                        dn(false, dnp3::response(1, 0x81, 0, &dnp3::crob(1, 3))),
                    ),
                ],
            ),
            (
                "iec104",
                vec![
                    (Orig, iec104::u_frame(0x04)),
                    (Resp, iec104::u_frame(0x08)),
                    (
                        Orig,
                        iec104::i_frame(0, 0, iec104::C_IC_NA_1, 6, 1, 0, &[20]),
                    ),
                    (
                        Resp,
                        iec104::i_frame(0, 1, iec104::M_ME_NC_1, 3, 1, 7, &[0, 0, 0x80, 0x3f, 0]),
                    ),
                    (Orig, iec104::s_frame(1)),
                ],
            ),
            (
                "opcua",
                vec![
                    (Orig, opcua::hello("opc.tcp://x:4840")),
                    (Resp, opcua::ack()),
                    (
                        Orig,
                        opcua::open(
                            false,
                            0,
                            "http://opcfoundation.org/UA/SecurityPolicy#None",
                            1,
                        ),
                    ),
                    (
                        Resp,
                        opcua::open(
                            true,
                            3,
                            "http://opcfoundation.org/UA/SecurityPolicy#None",
                            1,
                        ),
                    ),
                    (Orig, opcua::msg(3, 2, opcua::READ_REQUEST, &[0; 30])),
                ],
            ),
            (
                "enip",
                vec![
                    (
                        Orig,
                        enip::encap(enip::REGISTER_SESSION, 0, 0, &enip::register_session_data()),
                    ),
                    (
                        Resp,
                        enip::encap(enip::REGISTER_SESSION, 5, 0, &enip::register_session_data()),
                    ),
                    (Orig, rr(enip::cip_request(1, 1, 1, None, &[]))),
                    (
                        Resp,
                        rr(enip::cip_response(1, 0, &enip::identity_get_all(&id))),
                    ),
                ],
            ),
            (
                "slmp",
                vec![
                    (
                        Orig,
                        slmp::request(
                            None,
                            slmp::BATCH_READ,
                            0,
                            &slmp::device_range(0, slmp::DEV_M, 16),
                        ),
                    ),
                    (Resp, slmp::response(None, 0, &[0, 0])),
                    (Orig, slmp::request(Some(4), slmp::REMOTE_STOP, 0, &[1, 0])),
                    (Resp, slmp::response(Some(4), 0, &[])),
                ],
            ),
            (
                "fins",
                vec![
                    (Orig, fins::tcp(0, &[0, 0, 0, 0])),
                    (Resp, fins::tcp(1, &[0, 0, 0, 1, 0, 0, 0, 2])),
                    (Orig, fr(false, &fins::area(fins::AREA_DM, 0, 4))),
                    (Resp, fr(true, &fins::response_body(0, &[0; 8]))),
                ],
            ),
        ]
    }

    /// Feeds the conversation in pieces of `chunk` bytes (the unconsumed
    /// rest is presented again, as the engine does); `gap_at` drops the
    /// second half of that message and reports a gap.
    fn feed(conv: &[(Dir, Vec<u8>)], chunk: usize, gap_at: Option<usize>) -> Vec<Record> {
        let mut sink = RecordSink::new(10_000);
        let mut assets = AssetTable::new(16);
        let mut parser: Option<Box<dyn AppParser>> = None;
        let mut bufs: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
        for (i, (dir, msg)) in conv.iter().enumerate() {
            let d = usize::from(!dir.is_orig());
            let msg = if gap_at == Some(i) {
                &msg[..msg.len() / 2]
            } else {
                &msg[..]
            };
            for piece in msg.chunks(chunk.max(1)) {
                bufs[d].extend_from_slice(piece);
                // Like the engine, probe again as more of the stream arrives.
                if parser.is_none() {
                    parser = over_ip::probe(Transport::Tcp, &ID, *dir, &bufs[d]);
                }
                let Some(p) = parser.as_mut() else {
                    continue;
                };
                let mut out = Output {
                    records: &mut sink,
                    assets: &mut assets,
                };
                let mut ctx = Ctx {
                    ts: 1,
                    flow: FlowRef {
                        uid: "C1",
                        id: &ID,
                        orig_mac: None,
                        resp_mac: None,
                        vlan: None,
                    },
                    out: &mut out,
                };
                let used = p.parse(&mut ctx, *dir, &bufs[d]);
                assert!(used <= bufs[d].len(), "consumed more than given");
                bufs[d].drain(..used);
            }
            assert!(parser.is_some(), "not recognised from its first message");
            if gap_at == Some(i) {
                bufs[d].clear();
                if let Some(p) = parser.as_mut() {
                    p.gap(*dir);
                }
            }
        }
        sink.take()
    }

    #[test]
    fn same_records_whatever_the_segmentation() {
        for (name, conv) in conversations() {
            let whole = feed(&conv, usize::MAX, None);
            assert!(
                whole.len() >= conv.len() / 2,
                "{name}: {} records for {} messages",
                whole.len(),
                conv.len()
            );
            for chunk in [1, 2, 3, 7, 64] {
                assert_eq!(
                    feed(&conv, chunk, None),
                    whole,
                    "{name} in {chunk}-byte pieces"
                );
            }
            // Several messages in one segment: both directions coalesced.
            let mut orig = Vec::new();
            for (d, m) in &conv {
                if d.is_orig() {
                    orig.extend_from_slice(m);
                }
            }
            let coalesced = feed(&[(Dir::Orig, orig)], usize::MAX, None);
            let requests = feed(
                &conv
                    .iter()
                    .filter(|(d, _)| d.is_orig())
                    .cloned()
                    .collect::<Vec<_>>(),
                usize::MAX,
                None,
            );
            assert_eq!(coalesced, requests, "{name}: messages sharing a segment");
        }
    }

    #[test]
    fn decoding_resumes_after_a_gap() {
        for (name, conv) in conversations() {
            let last = conv.len() - 1;
            let whole = feed(&conv, usize::MAX, None);
            // Lose half of the second message: the last message must still
            // give the same final record.
            let cut = feed(&conv, 5, Some(1));
            let tail = |r: &[Record]| r.last().map(|x| (x.schema.path, x.values.clone()));
            assert_eq!(tail(&cut), tail(&whole), "{name}: last message after a gap");
            assert!(
                cut.len() >= last - 1,
                "{name}: only {} records after a gap",
                cut.len()
            );
        }
    }
}

/// The plant through the whole engine (`replay`): each industrial
/// connection gets its service in conn.log, every industrial log is
/// written, and asset.log carries the identities.
#[test]
fn plant_through_replay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pcap = dir.path().join("plant.pcap");
    std::fs::write(&pcap, scenario::plant(60, 9).to_pcap()).expect("write capture");
    let out = dir.path().join("logs");
    let opts = osect_agent::replay::ReplayOptions {
        out: out.clone(),
        format: osect_wire::zeek::Format::Tsv,
        ignore_checksums: false,
        interval_secs: None,
        app_layer: true,
    };
    osect_agent::replay::replay(&[pcap], &osect_agent::config::Config::default(), &opts)
        .expect("replay");
    let read = |log: &str| -> Vec<BTreeMap<String, String>> {
        let text = std::fs::read_to_string(out.join(format!("{log}.log"))).unwrap_or_default();
        let mut names: Vec<String> = Vec::new();
        let mut rows = Vec::new();
        for line in text.lines() {
            if let Some(f) = line.strip_prefix("#fields\t") {
                names = f.split('\t').map(str::to_owned).collect();
            } else if !line.starts_with('#') {
                rows.push(
                    names
                        .iter()
                        .cloned()
                        .zip(line.split('\t').map(str::to_owned))
                        .collect(),
                );
            }
        }
        rows
    };
    let get = |r: &BTreeMap<String, String>, k: &str| r.get(k).cloned().unwrap_or_default();
    let services: Vec<String> = read("conn")
        .iter()
        .map(|r| get(r, "service").to_owned())
        .collect();
    for s in [
        "modbus",
        "cotp,s7comm",
        "enip",
        "bacnet",
        "dnp3_tcp",
        "iec104",
        "opcua-binary",
        "slmp",
        "fins",
        "cclink_ief_basic",
    ] {
        assert!(
            services.iter().any(|x| x == s),
            "no connection with service {s}"
        );
    }
    for log in [
        "modbus",
        "s7comm",
        "cip_identity",
        "bacnet",
        "dnp3",
        "iec104",
        "opcua",
        "slmp",
        "fins",
        "cclink_ief_basic",
        "profinet_dcp",
    ] {
        assert!(!read(log).is_empty(), "{log}.log is empty");
    }
    let assets = read("asset");
    let s7 = assets
        .iter()
        .find(|r| get(r, "mac") == "00:1b:1b:01:00:66")
        .expect("S7 PLC in asset.log");
    assert_eq!(get(s7, "model"), "6ES7 315-2EH14-0AB0");
    assert!(get(s7, "roles").contains("s7_plc"));
}

/// Frame by frame, tshark's function codes for the Modbus, S7comm, DNP3 and
/// EtherNet/IP scenarios are the ones in the logs.
#[test]
fn function_codes_agree_with_tshark() {
    let dec = |s: &str| hex_or_dec(s).to_string();

    let (cap, run) = scenario_run("modbus");
    let ours: Vec<(String, String)> = rows(&run.records, "modbus")
        .iter()
        .map(|r| (get(r, "tid").to_owned(), get(r, "func").to_owned()))
        .collect();
    let theirs: Vec<(String, String)> = tshark(
        &cap,
        "modbus",
        &[
            "mbtcp.trans_id",
            "modbus.func_code",
            "modbus.exception_code",
        ],
    )
    .iter()
    .map(|f| {
        // tshark keeps the function code and shows the exception apart.
        let exception = if f[2].is_empty() { 0 } else { 0x80 };
        let code = u8::try_from(hex_or_dec(&f[1])).unwrap_or(0) | exception;
        (
            f[0].clone(),
            osect_engine::over_ip::modbus::function_name(code).into(),
        )
    })
    .collect();
    // tshark does not reassemble a request whose MBAP header is itself cut
    // in two (the scenario's split write): every PDU it decodes is ours, in
    // order, and ours has that one more.
    let mut it = ours.iter();
    assert!(
        theirs.iter().all(|t| it.any(|o| o == t)),
        "modbus: {theirs:?} not within {ours:?}"
    );
    assert_eq!(ours.len(), theirs.len() + 1, "modbus");

    let (cap, run) = scenario_run("s7comm");
    let ours: Vec<(String, String)> = rows(&run.records, "s7comm")
        .iter()
        .map(|r| {
            (
                get(r, "rosctr_code").to_owned(),
                dec(get(r, "function_code")),
            )
        })
        .collect();
    let theirs: Vec<(String, String)> = tshark(
        &cap,
        "s7comm",
        &[
            "s7comm.header.rosctr",
            "s7comm.param.func",
            "s7comm.param.userdata.type",
            "s7comm.param.userdata.funcgroup",
        ],
    )
    .iter()
    .map(|f| {
        // User data: type (4 request, 8 response) and group make the code.
        let code = if f[1].is_empty() {
            hex_or_dec(&f[2]) << 4 | hex_or_dec(&f[3])
        } else {
            hex_or_dec(&f[1])
        };
        (f[0].clone(), code.to_string())
    })
    .collect();
    assert_eq!(ours, theirs, "s7comm");

    // dnp3.log pairs them as main.zeek does: per connection, a fragment
    // from the originator (the master) replaces the request held, one
    // from the responder is written with the request held (if any) and
    // clears it, and a request still held is written when the connection
    // ends. Here that rule runs over tshark's function codes, frame by
    // frame, against the rows, which take requests overwritten before
    // their answer (a confirmation, then a request resent or another one),
    // responses nobody asked for and multi-frame fragments.
    let (cap, run) = scenario_run("dnp3");
    let name = |code: &str| {
        osect_engine::over_ip::dnp3::names::function(u8::try_from(hex_or_dec(code)).unwrap_or(0))
            .to_string()
    };
    let mut held: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut theirs: Vec<(String, String, String)> = Vec::new();
    for f in tshark(
        &cap,
        "dnp3.al.func",
        &["tcp.srcport", "tcp.dstport", "dnp3.al.func"],
    ) {
        if f[1] == "20000" {
            held.insert(f[0].clone(), Some(name(&f[2])));
        } else {
            let request = held.get_mut(&f[1]).and_then(Option::take);
            theirs.push((
                f[1].clone(),
                request.unwrap_or_else(|| "-".into()),
                name(&f[2]),
            ));
        }
    }
    for (port, request) in held {
        if let Some(r) = request {
            theirs.push((port, r, "-".into()));
        }
    }
    let ours: Vec<(String, String, String)> = rows(&run.records, "dnp3")
        .iter()
        .map(|r| {
            (
                get(r, "id.orig_p").to_owned(),
                get(r, "fc_request").to_owned(),
                get(r, "fc_reply").to_owned(),
            )
        })
        .collect();
    let by_conn = |mut v: Vec<(String, String, String)>| {
        // Rows of one connection keep their order; connections are sorted.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(by_conn(ours), by_conn(theirs), "dnp3");

    let (cap, run) = scenario_run("enip");
    let ours: Vec<String> = rows(&run.records, "enip")
        .iter()
        .map(|r| dec(get(r, "enip_command_code")))
        .collect();
    let theirs: Vec<String> = tshark(&cap, "enip", &["enip.command"])
        .iter()
        .map(|f| dec(&f[0]))
        .collect();
    assert_eq!(ours, theirs, "enip");
}

/// The generated plant is what real stacks send: tshark finds no bad
/// checksum, no malformed packet and no warning in it.
#[test]
fn plant_is_clean_for_tshark() {
    let cap = scenario::plant(60, 4);
    let bad = tshark(
        &cap,
        "_ws.malformed || _ws.expert.severity >= warning || ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0",
        &["frame.number", "_ws.col.protocol"],
    );
    assert!(bad.is_empty(), "tshark objects to frames {bad:?}");
}

/// A vector field's members, sorted ("-" when unset).
fn sorted(v: &str) -> Vec<String> {
    let mut v: Vec<String> = v.split(',').map(str::to_owned).collect();
    v.sort();
    v
}

/// The values tshark shows for one MMS PDU, by type (integer, unsigned,
/// boolean, visible string, bit string, failure, floating point, UTC
/// time), as the mms log writes them, sorted: a floating point (tshark's
/// hex of the exponent width and the IEEE bytes) as its number, a UTC time
/// (tshark's date) as seconds since 1970, a failure by its name.
fn mms_values(w: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, col) in w.iter().enumerate() {
        // tshark's dates hold a comma: the scenario has one per PDU at most.
        let members: Vec<&str> = if i == 7 {
            vec![col.as_str()]
        } else {
            col.split(',').collect()
        };
        for v in members.into_iter().filter(|v| !v.is_empty()) {
            out.push(match i {
                5 => osect_engine::over_ip::mms::names::data_access_error(
                    v.parse().expect("failure code"),
                )
                .to_owned(),
                6 => {
                    let b: Vec<u8> = (2..v.len())
                        .step_by(2)
                        .map(|j| u8::from_str_radix(&v[j..j + 2], 16).expect("hex"))
                        .collect();
                    assert!(v.starts_with("08"), "single precision: {v}");
                    f32::from_be_bytes(b.try_into().expect("4 bytes")).to_string()
                }
                7 => tshark_utc_seconds(v),
                _ => v.to_owned(),
            });
        }
    }
    if out.is_empty() {
        out.push("-".to_owned());
    }
    out.sort();
    out
}

/// "Jan  5, 2026 09:00:00.450050000 UTC" as seconds since 1970 with six
/// decimals.
fn tshark_utc_seconds(s: &str) -> String {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [month, day, year, time, "UTC"] = parts[..] else {
        panic!("tshark's UTC time {s:?}");
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = MONTHS.iter().position(|x| *x == month).expect("month") as i64 + 1;
    let d: i64 = day.trim_end_matches(',').parse().expect("day");
    let y: i64 = year.parse().expect("year");
    // Days from 1970-01-01 to the date (the proleptic Gregorian calendar).
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let (hms, frac) = time.split_once('.').expect("fraction");
    let secs = hms
        .split(':')
        .map(|x| x.parse::<i64>().expect("time"))
        .fold(0, |a, x| a * 60 + x);
    format!("{}.{}", days * 86_400 + secs, &frac[..6])
}

/// The asset rows of a run's ledger.
fn asset_rows(run: &mut ics_support::Run) -> Vec<Row> {
    let mut sink = RecordSink::new(1000);
    run.assets.emit(i64::MAX, &mut sink);
    rows(&sink.take(), "asset")
}

#[test]
fn goose_agrees_with_tshark() {
    let (cap, mut run) = scenario_run("goose");
    let ours = rows(&run.records, "goose");
    let fields = [
        "goose.appid",
        "goose.gocbRef",
        "goose.datSet",
        "goose.goID",
        "goose.stNum",
        "goose.sqNum",
        "goose.simulation",
        "goose.confRev",
        "goose.ndsCom",
        "goose.numDatSetEntries",
        "goose.timeAllowedtoLive",
    ];
    let want = tshark(&cap, "goose", &fields);
    assert_eq!(want.len(), 4, "tshark decodes every message");
    assert_eq!(ours.len(), want.len(), "one goose row per message");
    let flag = |v: &str| if v == "1" { "T" } else { "F" }.to_owned();
    for (o, w) in ours.iter().zip(&want) {
        let mine = [
            "appid",
            "gocb_ref",
            "dat_set",
            "go_id",
            "st_num",
            "sq_num",
            "test",
            "conf_rev",
            "nds_com",
            "num_dat_set_entries",
            "time_allowed_to_live",
        ];
        for (i, f) in mine.iter().enumerate() {
            let theirs = if matches!(*f, "test" | "nds_com") {
                flag(&w[i])
            } else {
                w[i].clone()
            };
            assert_eq!(get(o, f), theirs, "{f}");
        }
        // The values are summarised, not logged.
        assert_eq!(get(o, "data_types"), "boolean:2,utc-time:1");
    }
    // The state changed after the second message.
    assert_eq!(
        ours.iter().map(|r| get(r, "st_num")).collect::<Vec<_>>(),
        ["1", "1", "2", "2"]
    );
    // A batch holds one row per state: its repetitions differ only in
    // sq_num, and `t` is the time of the change.
    let folded = rows(
        &osect_engine::batch::aggregate(run.records.clone()),
        "goose",
    );
    assert_eq!(
        folded
            .iter()
            .map(|r| (get(r, "st_num"), get(r, "count"), get(r, "sq_num")))
            .collect::<Vec<_>>(),
        [("1", "2", "?"), ("2", "2", "?")]
    );
    assert_eq!(ours[1].get("goose_t_sec"), ours[0].get("goose_t_sec"));
    assert_ne!(ours[2].get("goose_t_sec"), ours[1].get("goose_t_sec"));
    let publisher = asset_rows(&mut run)
        .into_iter()
        .find(|a| get(a, "mac") == "00:50:c2:4f:90:6f")
        .expect("the IED's asset row");
    assert_eq!(get(&publisher, "roles"), "goose_publisher");
}

#[test]
fn mms_agrees_with_tshark() {
    let (cap, mut run) = scenario_run("mms");
    let ours = rows(&run.records, "mms");
    let want = tshark(
        &cap,
        "mms",
        &[
            "mms.invokeID",
            "mms.confirmedServiceRequest",
            "mms.confirmedServiceResponse",
            "mms.domainId",
            "mms.itemId",
            "mms.vendorName",
            "mms.modelName",
            "mms.revision",
            "mms.Identifier",
            "mms.FileName_item",
            "mms.unconfirmedService",
            // The values, by type.
            "mms.integer",
            "mms.unsigned",
            "mms.boolean",
            "mms.data.visible-string",
            "mms.data_bit-string",
            "mms.failure",
            "mms.floating_point",
            "mms.utc_time",
            "mms.vmd_specific",
        ],
    );
    // The initiate and five exchanges, then a second association on other
    // TSAPs whose read request is segmented over three data TPDUs, and a
    // report.
    assert_eq!(want.len(), 17, "tshark's MMS PDUs");
    assert_eq!(ours.len(), want.len(), "one mms row per MMS PDU");
    for (o, w) in ours.iter().zip(&want) {
        assert_eq!(
            get(o, "invoke_id"),
            if w[0].is_empty() { "-" } else { &w[0] }
        );
        let code = if w[1].is_empty() { &w[2] } else { &w[1] };
        let service = match (code.parse(), w[10].parse()) {
            (Ok(c), _) => osect_engine::over_ip::mms::names::confirmed(c),
            (_, Ok(u)) => osect_engine::over_ip::mms::names::service(3, u),
            _ => "-",
        };
        assert_eq!(get(o, "service"), service);
        assert_eq!(sorted(get(o, "values")), mms_values(&w[11..19]));
        // Domain-specific names as domain/item, name lists, file names and
        // VMD-specific names.
        let names: Vec<String> = if !w[3].is_empty() {
            vec![format!("{}/{}", w[3], w[4])]
        } else {
            [&w[8], &w[9], &w[19]]
                .iter()
                .flat_map(|v| v.split(','))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let names = if names.is_empty() {
            "-".to_owned()
        } else {
            names.join(",")
        };
        assert_eq!(get(o, "object_names"), names);
        for (f, i) in [("vendor_name", 5), ("model_name", 6), ("revision", 7)] {
            let v = if w[i].is_empty() { "-" } else { &w[i] };
            assert_eq!(get(o, f), v, "{f}");
        }
    }
    assert_eq!(get(&ours[0], "pdu_type"), "initiate-RequestPDU");
    assert_eq!(get(&ours[12], "pdu_type"), "initiate-RequestPDU");
    assert_eq!(get(&ours[16], "service"), "informationReport");
    assert_eq!(
        get(&ours[16], "values"),
        "IED1PROT/LLN0$BR$brcb01,6400,2,1,1767603600.500000,231.5"
    );
    assert_eq!(
        get(&ours[14], "object_names"),
        "IED1PROT/PTOC1$ST$Str$general"
    );
    let cotp = cotp_codes(&cap, &run.records);
    assert_eq!(cotp.len(), 23, "four connect TPDUs and 19 data TPDUs");
    let devices = asset_rows(&mut run);
    let ied = devices
        .iter()
        .find(|a| get(a, "mac") == "00:50:c2:4f:90:6f")
        .expect("the IED's asset row");
    assert_eq!(get(ied, "roles"), "mms_server");
    assert_eq!(
        (get(ied, "vendor"), get(ied, "model"), get(ied, "firmware")),
        ("ACME Grid", "IED-3000", "2.14.1")
    );
    assert_eq!(get(ied, "hostnames"), "IED1LD0,IED1PROT");
    let hmi = devices
        .iter()
        .find(|a| get(a, "mac") == "00:0c:29:3a:10:14")
        .expect("the HMI's asset row");
    assert_eq!(get(hmi, "roles"), "mms_client");
}

/// Runs one of the generator's exchanges (built at the scenario start on
/// the default network) through the decoders.
fn exchange_run(
    build: fn(&mut Capture, &scenario::Net, i64) -> i64,
) -> (Capture, ics_support::Run) {
    let mut cap = Capture::new();
    build(&mut cap, &scenario::Net::default(), scenario::START);
    let run = ics_support::run(&ics_support::capture_frames(&cap));
    (cap, run)
}

fn columns(rows: &[Row], fields: &[&str]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| fields.iter().map(|f| get(r, f).to_owned()).collect())
        .collect()
}

fn table(expected: &[&[&str]]) -> Vec<Vec<String>> {
    expected
        .iter()
        .map(|r| r.iter().map(|s| (*s).to_owned()).collect())
        .collect()
}

/// modbus.log as Zeek writes it: every message of a function below 0x80
/// (vendor functions by Zeek's names), an exception response only for the
/// functions Zeek's analyzer decodes and only with its code; the other
/// exceptions are still in modbus_detailed.
#[test]
fn modbus_exception_rows_as_zeek_writes_them() {
    let (cap, run) = exchange_run(scenario::modbus_exceptions);
    let m = rows(&run.records, "modbus");
    assert_eq!(
        columns(&m, &["tid", "func", "pdu_type", "exception"]),
        table(&[
            &["100", "PROGRAM_UNITY", "REQ", "-"],
            &["100", "PROGRAM_UNITY", "RESP", "-"],
            &["101", "ENCAP_INTERFACE_TRANSPORT", "REQ", "-"],
            &["102", "REPORT_SLAVE_ID", "REQ", "-"],
            &["103", "READ_HOLDING_REGISTERS", "REQ", "-"],
            &[
                "103",
                "READ_HOLDING_REGISTERS_EXCEPTION",
                "RESP",
                "GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND"
            ],
            &["104", "WRITE_SINGLE_REGISTER", "REQ", "-"],
        ])
    );
    // tshark sees the exceptions the generator sent: codes 1, 1 and 11
    // (the truncated one has none).
    let theirs = tshark(
        &cap,
        "modbus.exception_code",
        &["mbtcp.trans_id", "modbus.exception_code"],
    );
    assert_eq!(theirs.len(), 3, "{theirs:?}");
    let d = rows(&run.records, "modbus_detailed");
    for tid in ["101", "103"] {
        assert!(
            d.iter()
                .any(|r| get(r, "tid") == tid && get(r, "exception_code") != "-"),
            "modbus_detailed keeps the exception of {tid}"
        );
    }
}

/// dnp3.log pairs as Zeek does: the originator's latest fragment (a
/// confirmation too) with the responder's next; an unsolicited response
/// after a completed exchange has no request; a request resent before
/// its response gives one row; a request left unanswered is written at
/// the end with its own time.
#[test]
fn dnp3_unsolicited_confirms_and_resent_requests() {
    let (cap, run) = exchange_run(scenario::dnp3_unsolicited_session);
    let d = rows(&run.records, "dnp3");
    assert_eq!(
        columns(&d, &["fc_request", "fc_reply", "iin"]),
        table(&[
            &["ENABLE_UNSOLICITED", "RESPONSE", "0"],
            &["-", "UNSOLICITED_RESPONSE", "32768"],
            &["READ", "RESPONSE", "0"],
            &["-", "UNSOLICITED_RESPONSE", "0"],
            &["CONFIRM", "-", "-"],
        ])
    );
    // The generator sent what the rows say, in this order.
    let funcs: Vec<String> = tshark(&cap, "dnp3.al.func", &["dnp3.al.func"])
        .iter()
        .map(|f| f[0].clone())
        .collect();
    assert_eq!(
        funcs,
        ["20", "129", "130", "0", "1", "1", "129", "130", "0"]
    );
    let confirm_ts = tshark(&cap, "dnp3.al.func == 0", &["frame.time_epoch"]);
    let last = d.last().expect("rows");
    let ts: f64 = get(last, "ts").parse().expect("ts");
    let theirs: f64 = confirm_ts[1][0].parse().expect("time");
    assert!((ts - theirs).abs() < 1e-6, "{ts} vs {theirs}");
}

/// BACnet device management: the I-Am vendor from ASHRAE's register;
/// ReadPropertyMultiple rows for the request and for each value and error
/// of the ACK, whole or in two segments alike; bacnet_device_control rows
/// for DeviceCommunicationControl and ReinitializeDevice and their results.
#[test]
fn bacnet_management_and_segmented_reads() {
    let (cap, run) = exchange_run(scenario::bacnet_management);
    let disc = rows(&run.records, "bacnet_discovery");
    assert_eq!(get(&disc[0], "vendor"), "Moxa Inc.");
    let ws = tshark(
        &cap,
        "bacapp.vendor_identifier",
        &["bacapp.vendor_identifier"],
    );
    assert_eq!(ws[0][0], "1096");

    let p = rows(&run.records, "bacnet_property");
    let req = p
        .iter()
        .filter(|r| get(r, "invoke_id") == "40" && get(r, "is_orig") == "T");
    let props: Vec<&str> = req.map(|r| get(r, "property")).collect();
    assert_eq!(
        props,
        ["vendor-name", "model-name", "object-list", "active-text"]
    );
    let ack = |invoke: &str| -> Vec<Vec<String>> {
        let r: Vec<Row> = p
            .iter()
            .filter(|r| get(r, "invoke_id") == invoke && get(r, "is_orig") == "F")
            .cloned()
            .collect();
        columns(
            &r,
            &[
                "pdu_service",
                "object_type",
                "instance_number",
                "property",
                "value",
            ],
        )
    };
    let expected = table(&[
        &[
            "read-property-multiple-ack",
            "device",
            "260002",
            "vendor-name",
            "Moxa",
        ],
        &[
            "read-property-multiple-ack",
            "device",
            "260002",
            "model-name",
            "MGate 5217",
        ],
        &[
            "read-property-multiple-ack",
            "device",
            "260002",
            "object-identifier",
            "device: 260002",
        ],
        &[
            "read-property-multiple-ack",
            "device",
            "260002",
            "object-identifier",
            "analog-input: 1",
        ],
        &[
            "read-property-multiple-ack",
            "device",
            "260002",
            "object-identifier",
            "analog-value: 7",
        ],
        &[
            "read-property-multiple-ack",
            "device",
            "260002",
            "active-text",
            "PropertyError",
        ],
    ]);
    assert_eq!(ack("40"), expected);
    assert_eq!(ack("41"), expected, "the segmented ACK reassembled");
    // Each segment and segment ACK keeps its bacnet.log row.
    let b = rows(&run.records, "bacnet");
    assert_eq!(
        b.iter()
            .filter(|r| get(r, "invoke_id") == "41" && get(r, "pdu_type") == "SEGMENT_ACK")
            .count(),
        2
    );

    let dc = rows(&run.records, "bacnet_device_control");
    assert_eq!(
        columns(
            &dc,
            &[
                "invoke_id",
                "is_orig",
                "pdu_service",
                "time_duration",
                "device_state",
                "password",
                "result",
                "result_code"
            ]
        ),
        table(&[
            &[
                "42",
                "T",
                "device_communication_control",
                "5",
                "disable",
                "filister",
                "-",
                "-"
            ],
            &[
                "42",
                "F",
                "device_communication_control",
                "-",
                "-",
                "-",
                "SUCCESS",
                "-"
            ],
            &[
                "43",
                "T",
                "device_communication_control",
                "-",
                "enable",
                "(empty)",
                "-",
                "-"
            ],
            &[
                "43",
                "F",
                "device_communication_control",
                "-",
                "-",
                "-",
                "SUCCESS",
                "-"
            ],
            &[
                "44",
                "T",
                "reinitialize_device",
                "-",
                "warmstart",
                "wrong",
                "-",
                "-"
            ],
            &[
                "44",
                "F",
                "reinitialize_device",
                "-",
                "-",
                "-",
                "ERROR",
                "password-failure"
            ],
            &[
                "45",
                "T",
                "reinitialize_device",
                "-",
                "coldstart",
                "filister",
                "-",
                "-"
            ],
            &[
                "45",
                "F",
                "reinitialize_device",
                "-",
                "-",
                "-",
                "SUCCESS",
                "-"
            ],
        ])
    );
    // tshark decodes the same services and invoke ids.
    let ws = tshark(
        &cap,
        "bacapp.confirmed_service == 17 || bacapp.confirmed_service == 20",
        &["bacapp.invoke_id", "bacapp.confirmed_service"],
    );
    let theirs: Vec<(String, String)> = ws.iter().map(|f| (f[0].clone(), f[1].clone())).collect();
    let ours: Vec<(String, String)> = columns(&dc, &["invoke_id", "pdu_service"])
        .into_iter()
        .map(|r| {
            let code = if r[1] == "device_communication_control" {
                "17"
            } else {
                "20"
            };
            (r[0].clone(), code.to_owned())
        })
        .collect();
    assert_eq!(ours, theirs);
}
