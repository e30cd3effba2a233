use super::*;
use crate::over_ip::harness::{conn, field, rows, run, Step};

const INVITE: &[u8] = b"INVITE sip:200@pbx.plant SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n\
From: \"HMI\" <sip:100@pbx.plant>;tag=abc\r\n\
To: <sip:200@pbx.plant>\r\n\
Call-ID: 42@10.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
User-Agent: panel\r\n\
Content-Length: 4\r\n\r\nv=0\n";

const TRYING: &[u8] = b"SIP/2.0 100 Trying\r\n\
Via: SIP/2.0/UDP 10.0.0.1:5060;received=10.0.0.1;branch=z9hG4bK1\r\n\
From: \"HMI\" <sip:100@pbx.plant>;tag=abc\r\n\
To: <sip:200@pbx.plant>\r\n\
Content-Length: 0\r\n\r\n";

const BUSY: &[u8] = b"SIP/2.0 486 Busy Here\r\n\
v: SIP/2.0/UDP 10.0.0.1:5060;received=10.0.0.1;branch=z9hG4bK1\r\n\
f: \"HMI\" <sip:100@pbx.plant>;tag=abc\r\n\
t: <sip:200@pbx.plant>;tag=xyz\r\n\
Warning: 399 pbx \"busy\"\r\n\
l: 0\r\n\r\n";

const ACK: &[u8] = b"ACK sip:200@pbx.plant SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.1\r\nCSeq: 1 ACK\r\n\r\n";

fn cols(r: &osect_wire::Record) -> String {
    [
        "trans_depth",
        "method",
        "request_from",
        "request_to",
        "response_to",
        "call_id",
        "seq",
        "request_path",
        "response_path",
        "user_agent",
        "status_code",
        "status_msg",
        "warning",
        "request_body_len",
        "response_body_len",
    ]
    .map(|f| field(r, f))
    .join("|")
}

#[test]
fn pairs_requests_and_responses_as_zeek() {
    let id = conn(Transport::Udp, 5060, 5060);
    let (recs, service, _) = run(
        &id,
        &[
            Step::Data(Dir::Orig, b"\0\0\0\0"),
            Step::Data(Dir::Orig, INVITE),
            // A retransmission joins the same transaction.
            Step::Data(Dir::Orig, INVITE),
            Step::Data(Dir::Resp, TRYING),
            Step::Data(Dir::Resp, BUSY),
            Step::Data(Dir::Orig, ACK),
        ],
    );
    assert_eq!(service, Some("sip"));
    let got: Vec<String> = rows(&recs, "sip").iter().map(|r| cols(r)).collect();
    let via = "SIP/2.0/UDP 10.0.0.1:5060";
    let rvia = "SIP/2.0/UDP 10.0.0.1:5060;received=10.0.0.1";
    assert_eq!(
        got,
        [
            format!("0|INVITE|\"HMI\" <sip:100@pbx.plant>|<sip:200@pbx.plant>|<sip:200@pbx.plant>|42@10.0.0.1|1 INVITE|{via},{via}|{rvia}|panel|100|Trying|-|4|0"),
            format!("0|INVITE|\"HMI\" <sip:100@pbx.plant>|<sip:200@pbx.plant>|<sip:200@pbx.plant>;tag=xyz|42@10.0.0.1|1 INVITE|{via},{via}|{rvia},{rvia}|panel|486|Busy Here|399 pbx \"busy\"|4|0"),
            // Unanswered, written at the end.
            "0|ACK|-|-|-|-|1 ACK|SIP/2.0/UDP 10.0.0.1|(empty)|-|-|-|-|-|-".to_owned(),
        ]
    );
}

#[test]
fn recognises_sip_start_lines_only() {
    let id = conn(Transport::Udp, 5060, 5060);
    assert!(probe(Transport::Udp, &id, Dir::Orig, INVITE).is_some());
    assert!(probe(Transport::Udp, &id, Dir::Resp, TRYING).is_some());
    assert!(probe(Transport::Udp, &id, Dir::Orig, b"GET / HTTP/1.1\r\n\r\n").is_none());
    assert!(probe(Transport::Tcp, &id, Dir::Orig, INVITE).is_none());
}
