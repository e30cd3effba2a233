//! TLS 1.3 handshake messages (RFC 8446) and the records that carry them
//! over TCP.

use super::be16;

fn extension(v: &mut Vec<u8>, ty: u16, body: &[u8]) {
    be16(v, ty);
    be16(v, u16::try_from(body.len()).unwrap_or(0));
    v.extend_from_slice(body);
}

/// A handshake message of `ty` with its 24-bit length.
fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![ty];
    v.extend_from_slice(&u32::try_from(body.len()).unwrap_or(0).to_be_bytes()[1..]);
    v.extend_from_slice(body);
    v
}

/// A TLS 1.3 ClientHello naming `sni` and offering the ALPN protocols
/// `alpn`; over QUIC (`quic`) with no legacy session id and a transport
/// parameters extension.
pub fn client_hello(sni: &str, alpn: &[&str], quic: bool) -> Vec<u8> {
    let mut b = vec![0x03, 0x03];
    b.extend((0..32u8).map(|i| i.wrapping_mul(29)));
    // QUIC has no legacy session id; over TCP a random one for middleboxes.
    if quic {
        b.push(0);
    } else {
        b.push(32);
        b.extend((0..32u8).map(|i| i.wrapping_mul(13)));
    }
    b.extend_from_slice(&[0x00, 0x06, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03]);
    b.extend_from_slice(&[0x01, 0x00]);
    let mut ext = Vec::new();
    let mut name = vec![0];
    be16(&mut name, u16::try_from(sni.len()).unwrap_or(0));
    name.extend_from_slice(sni.as_bytes());
    let mut list = Vec::new();
    be16(&mut list, u16::try_from(name.len()).unwrap_or(0));
    list.extend_from_slice(&name);
    extension(&mut ext, 0, &list);
    extension(&mut ext, 10, &[0x00, 0x02, 0x00, 0x1d]);
    extension(&mut ext, 13, &[0x00, 0x04, 0x04, 0x03, 0x08, 0x04]);
    let mut protos = Vec::new();
    for p in alpn {
        protos.push(u8::try_from(p.len()).unwrap_or(0));
        protos.extend_from_slice(p.as_bytes());
    }
    if !protos.is_empty() {
        let mut alpn_ext = Vec::new();
        be16(&mut alpn_ext, u16::try_from(protos.len()).unwrap_or(0));
        alpn_ext.extend_from_slice(&protos);
        extension(&mut ext, 16, &alpn_ext);
    }
    extension(&mut ext, 43, &[0x02, 0x03, 0x04]);
    let mut share = vec![0x00, 0x24, 0x00, 0x1d, 0x00, 0x20];
    share.extend((0..32u8).map(|i| i.wrapping_mul(7)));
    extension(&mut ext, 51, &share);
    // initial_max_data (0x04) of 1 MiB, idle timeout (0x01) of 30 s.
    extension(
        &mut ext,
        0x39,
        &[0x04, 0x04, 0x80, 0x10, 0x00, 0x00, 0x01, 0x02, 0x75, 0x30],
    );
    be16(&mut b, u16::try_from(ext.len()).unwrap_or(0));
    b.extend_from_slice(&ext);
    handshake(1, &b)
}

/// A TLS 1.3 ServerHello choosing TLS_AES_128_GCM_SHA256 and x25519,
/// echoing the client's legacy session id (`session_id`: over TCP).
pub fn server_hello(session_id: bool) -> Vec<u8> {
    let mut b = vec![0x03, 0x03];
    b.extend((0..32u8).map(|i| i.wrapping_mul(31)));
    if session_id {
        b.push(32);
        b.extend((0..32u8).map(|i| i.wrapping_mul(13)));
    } else {
        b.push(0);
    }
    b.extend_from_slice(&[0x13, 0x01, 0x00]);
    let mut ext = Vec::new();
    extension(&mut ext, 43, &[0x03, 0x04]);
    let mut share = vec![0x00, 0x1d, 0x00, 0x20];
    share.extend((0..32u8).map(|i| i.wrapping_mul(11)));
    extension(&mut ext, 51, &share);
    be16(&mut b, u16::try_from(ext.len()).unwrap_or(0));
    b.extend_from_slice(&ext);
    handshake(2, &b)
}

/// A TLS record of content type `ty` (22 handshake, 20 change cipher
/// spec, 23 application data) with the legacy record version.
pub fn record(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![ty, 0x03, if ty == 22 { 0x01 } else { 0x03 }];
    be16(&mut v, u16::try_from(body.len()).unwrap_or(0));
    v.extend_from_slice(body);
    v
}
