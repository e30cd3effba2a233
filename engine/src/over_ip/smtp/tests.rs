use super::*;
use crate::over_ip::harness::{conn, field, rows, run, Step};

const C: Dir = Dir::Orig;
const S: Dir = Dir::Resp;

#[test]
fn logs_a_transaction_with_envelope_and_headers_as_zeek() {
    let id = conn(Transport::Tcp, 40_025, 25);
    let steps: Vec<(Dir, &[u8])> = vec![
        (S, b"220 mail.plant ESMTP\r\n"),
        (C, b"EHLO hist01\r\n"),
        (S, b"250-mail.plant\r\n250 PIPELINING\r\n"),
        (C, b"MAIL FROM:<historian@plant.example>\r\nRCPT TO:<ops@plant.example>\r\nRCPT TO:<Shift Lead <lead@plant.example>>\r\nDATA\r\n"),
        (S, b"250 OK\r\n250 OK\r\n250 OK\r\n354 go ahead\r\n"),
        (C, b"Received: from hist01 (hist01 [10.0.0.1]) by mail.plant\r\n\
Received: from scada (scada [192.168.10.5])\r\n by hist01\r\n\
From: Historian <historian@plant.example>\r\n\
To: ops@plant.example, \"Shift Lead\" <lead@plant.example>\r\n\
Subject: Daily\r\n report\r\n\
Date: Mon, 5 Jan 2026 09:00:00 +0000\r\n\
Message-ID: <1@hist01>\r\n\
X-Mailer: histmail 1.0\r\n\r\n\
body line\r\n..dot-stuffed\r\nSubject: not a header\r\n.\r\n"),
        (S, b"250 2.0.0 queued as 1\r\n"),
        (C, b"QUIT\r\n"),
        (S, b"221 bye\r\n"),
    ];
    let steps: Vec<Step<'_>> = steps.iter().map(|(d, b)| Step::Data(*d, b)).collect();
    let (recs, service, _) = run(&id, &steps);
    assert_eq!(service, Some("smtp"));
    let smtp = rows(&recs, "smtp");
    assert_eq!(smtp.len(), 1, "QUIT after the message adds no row");
    let r = smtp[0];
    let got = [
        "trans_depth",
        "helo",
        "mailfrom",
        "rcptto",
        "from",
        "to",
        "subject",
        "date",
        "msg_id",
        "user_agent",
        "first_received",
        "path",
        "last_reply",
        "tls",
    ]
    .map(|f| field(r, f));
    assert_eq!(
        got,
        [
            "1",
            "hist01",
            "historian@plant.example",
            "lead@plant.example,ops@plant.example",
            "Historian <historian@plant.example>",
            "\"Shift Lead\" <lead@plant.example>,ops@plant.example",
            "Daily report",
            "Mon, 5 Jan 2026 09:00:00 +0000",
            "<1@hist01>",
            "histmail 1.0",
            "from scada (scada [192.168.10.5]) by hist01",
            "10.0.0.2,10.0.0.1,192.168.10.5",
            "250 2.0.0 queued as 1",
            "F",
        ]
        .map(str::to_owned)
    );
}

#[test]
fn starttls_and_bdat() {
    let id = conn(Transport::Tcp, 40_026, 587);
    let hello = crate::over_ip::tls::stream_tests::client_hello();
    let (recs, service, _) = run(
        &id,
        &[
            Step::Data(S, b"220 ready\r\n"),
            Step::Data(C, b"EHLO a\r\n"),
            Step::Data(S, b"250 ok\r\n"),
            Step::Data(
                C,
                b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 20 LAST\r\nSubject: s\r\n\r\nbody\r\n",
            ),
            Step::Data(S, b"250 ok\r\n250 ok\r\n250 done\r\n"),
            Step::Data(C, b"STARTTLS\r\n"),
            Step::Data(S, b"220 go\r\n"),
            Step::Data(C, &hello),
        ],
    );
    // The TLS parser takes over after the 220, as Zeek's SSL analyzer.
    assert_eq!(service, Some("smtp,ssl"));
    let tls = rows(&recs, "tls");
    assert_eq!(tls.len(), 1);
    assert_eq!(field(tls[0], "server_name"), "plc.example");
    let smtp = rows(&recs, "smtp");
    assert_eq!(smtp.len(), 2);
    assert_eq!(field(smtp[0], "subject"), "s");
    assert_eq!(field(smtp[0], "last_reply"), "250 done");
    assert_eq!(field(smtp[1], "trans_depth"), "2");
    assert_eq!(field(smtp[1], "tls"), "T");
}

#[test]
fn address_helpers() {
    assert_eq!(email_addrs("FROM:<a@b.c> SIZE=10"), ["a@b.c"]);
    assert_eq!(
        split_addresses("a@b, \"x, y\" <c@d>"),
        ["a@b", "\"x, y\" <c@d>"]
    );
    assert_eq!(
        ip_addresses("from x ([10.1.2.3]) by y (1.2.3.4)"),
        [
            "10.1.2.3".parse::<IpAddr>().unwrap(),
            "1.2.3.4".parse().unwrap()
        ]
    );
}
