//! SMTP commands, replies and messages (RFC 5321, RFC 5322).

/// A client command line.
pub fn command(line: &str) -> Vec<u8> {
    format!("{line}\r\n").into_bytes()
}

/// A reply: every line but the last with `code-`, the last with `code `.
pub fn reply(code: u16, lines: &[&str]) -> Vec<u8> {
    let mut s = String::new();
    for (i, l) in lines.iter().enumerate() {
        let sep = if i + 1 == lines.len() { ' ' } else { '-' };
        s.push_str(&format!("{code}{sep}{l}\r\n"));
    }
    s.into_bytes()
}

/// A message as sent after DATA: the headers, a blank line, the body with
/// lines that start with a dot doubled (RFC 5321 4.5.2), and the final
/// `.` line.
pub fn message(headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut s = String::new();
    for (n, v) in headers {
        s.push_str(&format!("{n}: {v}\r\n"));
    }
    s.push_str("\r\n");
    for line in body.lines() {
        if line.starts_with('.') {
            s.push('.');
        }
        s.push_str(line);
        s.push_str("\r\n");
    }
    s.push_str(".\r\n");
    s.into_bytes()
}
