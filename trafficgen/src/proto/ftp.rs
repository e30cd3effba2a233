//! FTP control messages (RFC 959, RFC 2428).

use std::net::Ipv4Addr;

/// A client command line.
pub fn command(cmd: &str, arg: &str) -> Vec<u8> {
    if arg.is_empty() {
        format!("{cmd}\r\n").into_bytes()
    } else {
        format!("{cmd} {arg}\r\n").into_bytes()
    }
}

/// A one-line server reply.
pub fn reply(code: u16, text: &str) -> Vec<u8> {
    format!("{code} {text}\r\n").into_bytes()
}

/// A multi-line reply (RFC 959 4.2): `code-first`, the middle lines, and
/// `code last`.
pub fn multiline_reply(code: u16, lines: &[&str]) -> Vec<u8> {
    let mut s = String::new();
    for (i, l) in lines.iter().enumerate() {
        let sep = if i + 1 == lines.len() { ' ' } else { '-' };
        if i == 0 || i + 1 == lines.len() {
            s.push_str(&format!("{code}{sep}{l}\r\n"));
        } else {
            s.push_str(&format!(" {l}\r\n"));
        }
    }
    s.into_bytes()
}

/// `h1,h2,h3,h4,p1,p2`: the address of PORT and of the 227 reply.
pub fn host_port(ip: Ipv4Addr, port: u16) -> String {
    let o = ip.octets();
    format!(
        "{},{},{},{},{},{}",
        o[0],
        o[1],
        o[2],
        o[3],
        port >> 8,
        port & 0xff
    )
}
