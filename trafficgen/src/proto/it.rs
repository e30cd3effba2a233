//! Background IT traffic of a plant network: DHCP and DNS.

/// DHCP DISCOVER (`offer == false`) or OFFER with a host name option.
pub fn dhcp(offer: bool, xid: u32, mac: [u8; 6], yiaddr: [u8; 4], hostname: &str) -> Vec<u8> {
    let mut v = vec![if offer { 2 } else { 1 }, 1, 6, 0];
    v.extend_from_slice(&xid.to_be_bytes());
    v.extend_from_slice(&[0; 4]);
    v.extend_from_slice(&[0; 4]);
    v.extend_from_slice(if offer { &yiaddr } else { &[0; 4] });
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&mac);
    v.extend_from_slice(&[0; 10]);
    v.extend_from_slice(&[0; 192]);
    v.extend_from_slice(&[0x63, 0x82, 0x53, 0x63, 53, 1, if offer { 2 } else { 1 }]);
    if !offer {
        v.extend_from_slice(&[12, u8::try_from(hostname.len()).unwrap_or(0)]);
        v.extend_from_slice(hostname.as_bytes());
        v.extend_from_slice(&[55, 4, 1, 3, 6, 15]);
    }
    v.push(255);
    v
}

/// DNS query (`answer == None`) or response with one A record.
pub fn dns(id: u16, name: &str, answer: Option<[u8; 4]>) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    v.extend_from_slice(if answer.is_some() {
        &[0x81, 0x80]
    } else {
        &[0x01, 0x00]
    });
    v.extend_from_slice(&[0, 1, 0, u8::from(answer.is_some()), 0, 0, 0, 0]);
    for label in name.split('.') {
        v.push(u8::try_from(label.len()).unwrap_or(0));
        v.extend_from_slice(label.as_bytes());
    }
    v.extend_from_slice(&[0, 0, 1, 0, 1]);
    if let Some(a) = answer {
        v.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
        v.extend_from_slice(&a);
    }
    v
}

/// An NTPv4 message of `mode` (3 client, 4 server), stratum 2, with
/// `transmit` (NTP seconds) as its transmit timestamp.
pub fn ntp(mode: u8, transmit: u32) -> Vec<u8> {
    let mut v = vec![0u8; 48];
    v[0] = (4 << 3) | (mode & 7);
    v[1] = 2; // stratum
    v[2] = 6; // poll 64 s
    v[3] = 0xec; // precision 2^-20
    v[12..16].copy_from_slice(&[192, 0, 2, 123]); // reference id
    v[40..44].copy_from_slice(&transmit.to_be_bytes());
    v
}

/// NetBIOS name registration request (RFC 1002 4.2.2): `name` (up to 15
/// bytes, suffix 0x00, workstation) for `ip`, broadcast.
pub fn nbns_registration(id: u16, name: &str, ip: [u8; 4]) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    // Opcode 5 (registration), recursion desired, broadcast.
    v.extend_from_slice(&[0x29, 0x10, 0, 1, 0, 0, 0, 0, 0, 1]);
    let mut raw = name.as_bytes()[..name.len().min(15)].to_vec();
    raw.resize(15, b' ');
    raw.push(0x00);
    v.push(32);
    for b in raw {
        v.extend_from_slice(&[b'A' + (b >> 4), b'A' + (b & 0x0f)]);
    }
    v.push(0);
    v.extend_from_slice(&[0, 0x20, 0, 1]); // NB, IN
                                           // The additional record points back at the question's name.
    v.extend_from_slice(&[0xc0, 0x0c, 0, 0x20, 0, 1]);
    v.extend_from_slice(&300_000u32.to_be_bytes());
    v.extend_from_slice(&[0, 6, 0, 0]); // length, flags: B-node, unique
    v.extend_from_slice(&ip);
    v
}

/// SSDP `NOTIFY * HTTP/1.1` announcing `alive`, with the given headers.
pub fn ssdp_notify(location: &str, nt: &str, server: &str, usn: &str) -> Vec<u8> {
    format!(
        "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n\
         LOCATION: {location}\r\nNT: {nt}\r\nNTS: ssdp:alive\r\nSERVER: {server}\r\nUSN: {usn}\r\n\r\n"
    )
    .into_bytes()
}
