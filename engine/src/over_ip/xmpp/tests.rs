use super::*;
use crate::over_ip::harness::{conn, field, rows, run, Step};

const C: Dir = Dir::Orig;
const S: Dir = Dir::Resp;

const OPEN: &[u8] = b"<?xml version='1.0'?><stream:stream to='plant.example' \
xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
const FEATURES: &[u8] = b"<?xml version='1.0'?><stream:stream from='plant.example' id='1' \
xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>\
<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>\
</stream:features>";

#[test]
fn starttls_hands_the_stream_to_tls() {
    let id = conn(Transport::Tcp, 40_100, 5222);
    let hello = crate::over_ip::tls::stream_tests::client_hello();
    let (recs, service, _) = run(
        &id,
        &[
            Step::Data(C, OPEN),
            Step::Data(S, FEATURES),
            Step::Data(C, b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
            Step::Data(S, b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
            Step::Data(C, &hello),
        ],
    );
    assert_eq!(service, Some("xmpp,ssl"));
    let tls = rows(&recs, "tls");
    assert_eq!(tls.len(), 1);
    assert_eq!(field(tls[0], "server_name"), "plc.example");
}

#[test]
fn a_stream_without_starttls_is_xmpp() {
    let id = conn(Transport::Tcp, 40_101, 5222);
    // A tag split across segments is read once whole.
    let (recs, service, _) = run(
        &id,
        &[
            Step::Data(C, &OPEN[..40]),
            Step::Data(C, &OPEN[40..]),
            Step::Data(S, FEATURES),
            Step::Data(S, b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
            Step::Data(C, b"<message to='ops@plant.example'><body>hi</body></message>"),
        ],
    );
    // A proceed the client did not ask for starts no TLS.
    assert_eq!(service, Some("xmpp"));
    assert!(rows(&recs, "tls").is_empty());
}

#[test]
fn not_confirmed_until_the_client_opens_its_stream() {
    let id = conn(Transport::Tcp, 40_102, 5222);
    let (_, service, _) = run(&id, &[Step::Data(S, FEATURES)]);
    assert_eq!(service, Some(""));
    assert!(probe(Transport::Tcp, &conn(Transport::Tcp, 40_103, 80), C, OPEN).is_none());
    assert!(probe(Transport::Tcp, &id, C, b"\x16\x03\x01").is_none());
}
