use super::*;
use crate::over_ip::harness::{conn, field, rows, run, Step};
use crate::protocols::protocol;
use osect_trafficgen::proto::mqtt;
use osect_wire::protocol::Access;

fn connect() -> Vec<u8> {
    mqtt::connect("gw-01", Some(("plant/gw-01/status", "offline")))
}

fn publish(qos: u8, id: u16, topic: &str, payload: &[u8]) -> Vec<u8> {
    mqtt::publish(qos, false, id, topic, payload)
}

#[test]
fn logs_connect_subscribe_and_publish_as_zeek() {
    let id = conn(Transport::Tcp, 40_000, 1883);
    let long = [b'x'; 150];
    let steps = [
        connect(),
        mqtt::connack(0),
        mqtt::subscribe(7, &[("plant/+/setpoint", 1)]),
        mqtt::suback(7, &[1]),
        publish(0, 0, "plant/line1/temp", b"21.5"),
        publish(1, 3, "plant/line1/setpoint", &long),
        mqtt::publish_ack(4, 3),
        publish(2, 4, "plant/line1/mode", b"auto"),
        mqtt::publish_ack(5, 4),
        mqtt::publish_ack(6, 4),
        mqtt::publish_ack(7, 4),
        publish(1, 5, "plant/line1/never", b"x"),
    ];
    let dirs = [0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0];
    let steps: Vec<Step<'_>> = steps
        .iter()
        .zip(dirs)
        .map(|(p, d)| Step::Data(if d == 0 { Dir::Orig } else { Dir::Resp }, p))
        .collect();
    let (recs, service, _) = run(&id, &steps);
    assert_eq!(service, Some("mqtt"));
    let c = rows(&recs, "mqtt_connect");
    let got: Vec<String> = c
        .iter()
        .map(|r| {
            [
                "proto_name",
                "proto_version",
                "client_id",
                "connect_status",
                "will_topic",
                "will_payload",
            ]
            .map(|f| field(r, f))
            .join("|")
        })
        .collect();
    assert_eq!(
        got,
        ["MQTT|3.1.1|gw-01|Connection Accepted|plant/gw-01/status|offline"]
    );
    let sub = rows(&recs, "mqtt_subscribe");
    assert_eq!(sub.len(), 1);
    assert_eq!(field(sub[0], "action"), "MQTT::SUBSCRIBE");
    assert_eq!(field(sub[0], "topics"), "plant/+/setpoint");
    assert_eq!(field(sub[0], "qos_levels"), "1");
    assert_eq!(field(sub[0], "granted_qos_level"), "1");
    assert_eq!(field(sub[0], "ack"), "T");
    let p = rows(&recs, "mqtt_publish");
    let got: Vec<String> = p
        .iter()
        .map(|r| {
            ["from_client", "qos", "status", "topic", "payload_len"]
                .map(|f| field(r, f))
                .join("|")
        })
        .collect();
    assert_eq!(
        got,
        [
            "T|at most once|ok|plant/line1/temp|4",
            "T|at least once|ok|plant/line1/setpoint|150",
            "T|exactly once|ok|plant/line1/mode|4",
            "T|at least once|incomplete_qos|plant/line1/never|1",
        ]
    );
    assert_eq!(field(p[1], "payload").len(), 100);
    let info = protocol("mqtt")
        .expect("registered")
        .info
        .log("mqtt_publish")
        .expect("log");
    let op = info.operation.as_ref().expect("operations");
    assert_eq!((op.classify)(p[0]).access, Some(Access::Write));
}

#[test]
fn recognises_only_a_connect() {
    let id = conn(Transport::Tcp, 40_000, 1883);
    assert!(probe(Transport::Tcp, &id, Dir::Orig, &connect()).is_some());
    assert!(probe(Transport::Tcp, &id, Dir::Orig, &publish(0, 0, "a", b"b")).is_none());
    let mut bad = connect();
    bad[4] = b'X';
    assert!(probe(Transport::Tcp, &id, Dir::Orig, &bad).is_none());
}

#[test]
fn skips_oversized_packets_across_segments() {
    let id = conn(Transport::Tcp, 40_000, 1883);
    let big = publish(0, 0, "bulk", &vec![0u8; MAX_PACKET + 10]);
    let (a, b) = big.split_at(1000);
    let after = publish(0, 0, "after", b"1");
    let c = connect();
    let (recs, _, _) = run(
        &id,
        &[
            Step::Data(Dir::Orig, &c),
            Step::Data(Dir::Orig, a),
            Step::Data(Dir::Orig, b),
            Step::Data(Dir::Orig, &after),
        ],
    );
    let p = rows(&recs, "mqtt_publish");
    assert_eq!(p.len(), 1);
    assert_eq!(field(p[0], "topic"), "after");
}

#[test]
fn a_packet_split_across_segments_is_decoded_once_whole() {
    let id = conn(Transport::Tcp, 40_000, 1883);
    let c = connect();
    let p = publish(1, 3, "plant/line1/temp", b"72.5");
    let (c1, c2) = c.split_at(12);
    let (p1, p2) = p.split_at(5);
    let (recs, service, _) = run(
        &id,
        &[
            Step::Data(Dir::Orig, c1),
            Step::Data(Dir::Orig, c2),
            Step::Data(Dir::Resp, &mqtt::connack(0)),
            Step::Data(Dir::Orig, p1),
            Step::Data(Dir::Orig, p2),
            Step::Data(Dir::Resp, &mqtt::publish_ack(4, 3)),
        ],
    );
    assert_eq!(service, Some("mqtt"));
    let c = rows(&recs, "mqtt_connect");
    assert_eq!(c.len(), 1);
    assert_eq!(field(c[0], "client_id"), "gw-01");
    let p = rows(&recs, "mqtt_publish");
    assert_eq!(p.len(), 1);
    assert_eq!(field(p[0], "topic"), "plant/line1/temp");
    assert_eq!(field(p[0], "status"), "ok");
}
