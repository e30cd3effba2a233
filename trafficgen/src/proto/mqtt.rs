//! MQTT 3.1.1 control packets (OASIS MQTT Version 3.1.1, section 3).

use super::be16;

/// A packet: the fixed header's first byte, the remaining length, the rest.
pub fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![first];
    let mut n = body.len();
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        v.push(if n > 0 { b | 0x80 } else { b });
        if n == 0 {
            break;
        }
    }
    v.extend_from_slice(body);
    v
}

fn string(v: &mut Vec<u8>, s: &[u8]) {
    be16(v, u16::try_from(s.len()).unwrap_or(u16::MAX));
    v.extend_from_slice(&s[..s.len().min(usize::from(u16::MAX))]);
}

/// CONNECT, clean session, with a will when given (topic, message).
pub fn connect(client_id: &str, will: Option<(&str, &str)>) -> Vec<u8> {
    let mut b = Vec::new();
    string(&mut b, b"MQTT");
    b.push(4);
    b.push(if will.is_some() { 0x06 } else { 0x02 });
    be16(&mut b, 60);
    string(&mut b, client_id.as_bytes());
    if let Some((topic, msg)) = will {
        string(&mut b, topic.as_bytes());
        string(&mut b, msg.as_bytes());
    }
    packet(0x10, &b)
}

/// CONNACK with a return code.
pub fn connack(code: u8) -> Vec<u8> {
    packet(0x20, &[0, code])
}

/// PUBLISH at `qos` (the packet id is sent for QoS 1 and 2).
pub fn publish(qos: u8, retain: bool, id: u16, topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    string(&mut b, topic.as_bytes());
    if qos > 0 {
        be16(&mut b, id);
    }
    b.extend_from_slice(payload);
    packet(0x30 | (qos & 3) << 1 | u8::from(retain), &b)
}

/// PUBACK (4), PUBREC (5), PUBREL (6, flags 2) or PUBCOMP (7).
pub fn publish_ack(kind: u8, id: u16) -> Vec<u8> {
    let first = kind << 4 | if kind == 6 { 2 } else { 0 };
    packet(first, &id.to_be_bytes())
}

/// SUBSCRIBE to topics with their requested QoS.
pub fn subscribe(id: u16, topics: &[(&str, u8)]) -> Vec<u8> {
    let mut b = Vec::new();
    be16(&mut b, id);
    for (t, q) in topics {
        string(&mut b, t.as_bytes());
        b.push(*q);
    }
    packet(0x82, &b)
}

/// SUBACK with one return code per topic.
pub fn suback(id: u16, codes: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    be16(&mut b, id);
    b.extend_from_slice(codes);
    packet(0x90, &b)
}
