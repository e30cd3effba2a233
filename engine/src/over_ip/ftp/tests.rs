use super::*;
use crate::over_ip::harness::{conn, field, rows, run, Step};
use crate::protocols::protocol;
use osect_wire::protocol::{Access, Control};

fn session(steps: &[(Dir, &str)]) -> Vec<osect_wire::Record> {
    let id = conn(Transport::Tcp, 50_003, 21);
    let steps: Vec<Step<'_>> = steps
        .iter()
        .map(|(d, s)| Step::Data(*d, s.as_bytes()))
        .collect();
    let (recs, service, mut assets) = run(&id, &steps);
    assert_eq!(service, Some("ftp"));
    let mut sink = crate::sink::RecordSink::new(100);
    assets.emit(0, &mut sink);
    let ledger = sink.take();
    assert!(rows(&ledger, "asset")
        .iter()
        .any(|r| field(r, "ips") == "10.0.0.2" && field(r, "roles") == "ftp_server"));
    recs
}

const C: Dir = Dir::Orig;
const S: Dir = Dir::Resp;

#[test]
fn logs_transfers_and_data_channels_as_zeek() {
    let recs = session(&[
        (S, "220 Welcome\r\n"),
        (C, "USER anonymous\r\n"),
        (S, "331 Please specify the password.\r\n"),
        (C, "PASS test\r\n"),
        (S, "230-Hello\r\n230 Login successful.\r\n"),
        (C, "PASV\r\n"),
        (S, "227 Entering Passive Mode (10,0,0,2,221,90)\r\n"),
        (C, "RETR plc.bin\r\n"),
        (
            S,
            "150 Opening BINARY mode data connection for plc.bin (77 bytes).\r\n",
        ),
        (S, "226 Transfer complete.\r\n"),
        (C, "CWD /fw\r\n"),
        (S, "250 Directory successfully changed.\r\n"),
        (C, "PORT 10,0,0,1,131,46\r\n"),
        (S, "200 PORT command successful.\r\n"),
        (C, "STOR image.hex\r\n"),
        (S, "150 Ok to send data.\r\n226 Transfer complete.\r\n"),
        (C, "QUIT\r\n"),
        (S, "221 Goodbye.\r\n"),
    ]);
    let ftp = rows(&recs, "ftp");
    let cols = |r: &osect_wire::Record| {
        [
            "user",
            "password",
            "command",
            "arg",
            "file_size",
            "reply_code",
            "reply_msg",
            "data_channel.passive",
            "data_channel.orig_h",
            "data_channel.resp_h",
            "data_channel.resp_p",
        ]
        .map(|f| field(r, f))
        .join("|")
    };
    let got: Vec<String> = ftp.iter().map(|r| cols(r)).collect();
    assert_eq!(
        got,
        [
            "anonymous|test|PASV|-|-|227|Entering Passive Mode (10,0,0,2,221,90)|T|10.0.0.1|10.0.0.2|56666",
            "anonymous|test|RETR|ftp://10.0.0.2/./plc.bin|77|226|Transfer complete.|-|-|-|-",
            "anonymous|test|PORT|10,0,0,1,131,46|-|200|PORT command successful.|F|10.0.0.2|10.0.0.1|33582",
            "anonymous|test|STOR|ftp://10.0.0.2/fw/image.hex|-|226|Transfer complete.|-|-|-|-",
        ]
    );
    // A row's time is its command's.
    assert!(field(ftp[1], "ts") < field(ftp[2], "ts"));
    let info = protocol("ftp")
        .expect("registered")
        .info
        .log("ftp")
        .expect("ftp.log");
    let op = info.operation.as_ref().expect("ftp.log names operations");
    let retr = (op.classify)(ftp[1]);
    assert_eq!(
        (retr.access, retr.control),
        (Some(Access::Read), Some(Control::FileTransfer))
    );
    let stor = (op.classify)(ftp[3]);
    assert_eq!(
        (stor.access, stor.control),
        (Some(Access::Write), Some(Control::FileTransfer))
    );
    assert_eq!((op.classify)(ftp[0]).control, None);
}

#[test]
fn hides_passwords_of_real_users_and_handles_epsv_eprt() {
    let recs = session(&[
        (S, "220 ready\r\n"),
        (C, "user plc\r\n"),
        (S, "331 Password required\r\n"),
        (C, "PASS secret\r\n"),
        (S, "230 Logged in\r\n"),
        (C, "EPSV\r\n"),
        (S, "229 Entering Extended Passive Mode (|||57086|)\r\n"),
        (C, "EPRT |2|2001:db8::1|49189|\r\n"),
        (S, "200 EPRT command successful.\r\n"),
        (C, "DELE old.cfg\r\n"),
    ]);
    let ftp = rows(&recs, "ftp");
    assert_eq!(ftp.len(), 3);
    assert_eq!(field(ftp[0], "user"), "plc");
    assert_eq!(field(ftp[0], "password"), "<hidden>");
    assert_eq!(field(ftp[0], "data_channel.resp_h"), "10.0.0.2");
    assert_eq!(field(ftp[0], "data_channel.resp_p"), "57086");
    assert_eq!(field(ftp[1], "data_channel.resp_h"), "2001:db8::1");
    assert_eq!(field(ftp[1], "data_channel.orig_h"), "10.0.0.2");
    // Unanswered at the end: written with the last reply, as Zeek does.
    assert_eq!(field(ftp[2], "command"), "DELE");
    assert_eq!(field(ftp[2], "reply_code"), "200");
}

#[test]
fn parses_addresses_and_paths() {
    assert_eq!(
        parse_port("Entering Passive Mode (199,233,217,249,221,90)."),
        Some(("199.233.217.249".parse().unwrap(), 56666))
    );
    assert_eq!(parse_port("1,2,3,999,0,1"), None);
    assert_eq!(
        parse_eprt("|1|10.0.0.9|2000|"),
        Some((Some("10.0.0.9".parse().unwrap()), 2000))
    );
    assert_eq!(parse_eprt("|||57086|"), Some((None, 57086)));
    assert_eq!(compress_path("./a/../b//c/./d"), "./b/c/d");
    assert_eq!(build_path(".", "x"), "./x");
    assert_eq!(build_path("/fw", "../x"), "/x");
    assert_eq!(
        extract_path("257 \"/home/plc\" is current"),
        Some("/home/plc".into())
    );
    let mut pending = 0;
    let r = reply(b"230-first", &mut pending);
    assert_eq!((r.code, r.cont, pending), (230, true, 230));
    let r = reply(b" more", &mut pending);
    assert_eq!((r.code, r.cont), (0, true));
    let r = reply(b"230 done", &mut pending);
    assert_eq!(
        (r.code, r.cont, r.msg, pending),
        (230, false, &b"done"[..], 0)
    );
}

#[test]
fn is_not_claimed_by_other_greetings() {
    let id = conn(Transport::Tcp, 40_000, 25);
    assert!(probe(Transport::Tcp, &id, Dir::Resp, b"220 mail ESMTP\r\n").is_none());
    assert!(probe(Transport::Tcp, &id, Dir::Orig, b"EHLO x\r\n").is_none());
    assert!(probe(Transport::Udp, &id, Dir::Orig, b"USER x\r\n").is_none());
}
