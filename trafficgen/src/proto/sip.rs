//! SIP messages (RFC 3261).

/// A request with the given headers; `Content-Length` is added.
pub fn request(method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    message(&format!("{method} {uri} SIP/2.0"), headers, body)
}

/// A response with the given headers; `Content-Length` is added.
pub fn response(code: u16, reason: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    message(&format!("SIP/2.0 {code} {reason}"), headers, body)
}

fn message(start: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut s = format!("{start}\r\n");
    for (n, v) in headers {
        s.push_str(&format!("{n}: {v}\r\n"));
    }
    s.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.into_bytes()
}
