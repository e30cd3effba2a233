//! Syslog (RFC 3164 and RFC 5424 messages; on TCP, RFC 6587's octet
//! counting and line framing) as Zeek's `syslog.log`: one row a message,
//! with the facility and severity from the `<PRI>` prefix and the rest as
//! the message. As in Zeek, syslog is recognised by its port (514, UDP and
//! TCP): a message need not carry a PRI, and then both are `UNSPECIFIED`.

pub mod descriptor;

use crate::flow::id::{ConnId, Transport};
use crate::flow_fields;
use crate::over_ip::common::{next_line, Row};
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text;
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema};

pub static SYSLOG_LOG: LogSchema = LogSchema {
    path: "syslog",
    fields: flow_fields![
        field("proto", T::Enum),
        field("facility", T::String),
        field("severity", T::String),
        field("message", T::String),
    ],
};

const PORT: u16 = 514;
/// Longest message kept (RFC 5424 asks receivers to take at least 2048
/// bytes; longer TCP frames are cut).
const MAX_MESSAGE: usize = 8192;

const FACILITIES: [&str; 24] = [
    "KERN", "USER", "MAIL", "DAEMON", "AUTH", "SYSLOG", "LPR", "NEWS", "UUCP", "CRON", "AUTHPRIV",
    "FTP", "NTP", "AUDIT", "ALERT", "CLOCK", "LOCAL0", "LOCAL1", "LOCAL2", "LOCAL3", "LOCAL4",
    "LOCAL5", "LOCAL6", "LOCAL7",
];
const SEVERITIES: [&str; 8] = [
    "EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG",
];

/// A message split into its PRI (`None` when absent) and text.
pub fn split_pri(msg: &[u8]) -> (Option<u32>, &[u8]) {
    let Some(rest) = msg.strip_prefix(b"<") else {
        return (None, msg);
    };
    let digits = rest
        .iter()
        .take(4)
        .take_while(|c| c.is_ascii_digit())
        .count();
    match rest.get(digits) {
        Some(b'>') if digits > 0 => {
            let pri = rest[..digits]
                .iter()
                .fold(0u32, |n, &c| n * 10 + u32::from(c - b'0'));
            (Some(pri), &rest[digits + 1..])
        }
        _ => (None, msg),
    }
}

/// Facility and severity names as Zeek writes them (`?-N` past the
/// tables' ends).
pub fn names(pri: Option<u32>) -> (String, String) {
    let Some(pri) = pri else {
        return ("UNSPECIFIED".into(), "UNSPECIFIED".into());
    };
    let (f, s) = (pri >> 3, pri & 7);
    let facility = FACILITIES
        .get(f as usize)
        .map_or_else(|| format!("?-{f}"), |n| (*n).to_owned());
    (facility, SEVERITIES[s as usize].to_owned())
}

/// Recognises syslog on its port, as Zeek registers it.
pub fn probe(t: Transport, id: &ConnId, _: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    if id.resp_p != PORT || data.is_empty() {
        return None;
    }
    // A TCP stream starts with a PRI or an octet count; a datagram may be
    // anything printable.
    let plausible = match t {
        Transport::Tcp => data[0] == b'<' || data[0].is_ascii_digit(),
        _ => data[0] == b'<' || data[0].is_ascii_graphic() || data[0] == b' ',
    };
    plausible.then(|| Box::new(Syslog::default()) as Box<dyn AppParser>)
}

#[derive(Default)]
pub struct Syslog {
    seen: bool,
}

impl Syslog {
    fn message(&mut self, ctx: &mut Ctx<'_, '_>, msg: &[u8]) {
        self.seen = true;
        let (pri, text) = split_pri(msg);
        let (facility, severity) = names(pri);
        let proto = match ctx.flow.id.proto {
            Transport::Tcp => "tcp",
            _ => "udp",
        };
        Row::flow(ctx, &SYSLOG_LOG)
            .push(proto)
            .push(facility)
            .push(severity)
            .push(text::bytes(text, MAX_MESSAGE))
            .emit(ctx);
    }
}

/// The length of an RFC 6587 octet-counted frame at the start of `b`:
/// `Some((header, len))` for `LEN SP`, `None` for another framing.
fn octet_count(b: &[u8]) -> Option<(usize, usize)> {
    let digits = b.iter().take(10).take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || b.get(digits) != Some(&b' ') {
        return None;
    }
    let len = std::str::from_utf8(&b[..digits]).ok()?.parse().ok()?;
    Some((digits + 1, len))
}

impl AppParser for Syslog {
    fn service(&self) -> &'static str {
        if self.seen {
            "syslog"
        } else {
            ""
        }
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        // Messages go to the collector; what comes back is not syslog.
        if dir == Dir::Resp {
            return data.len();
        }
        if ctx.flow.id.proto != Transport::Tcp {
            let msg = data.strip_suffix(b"\n").unwrap_or(data);
            let msg = msg.strip_suffix(b"\0").unwrap_or(msg);
            self.message(ctx, msg);
            return data.len();
        }
        let mut pos = 0;
        loop {
            let rest = &data[pos..];
            if rest.is_empty() {
                return pos;
            }
            match octet_count(rest) {
                Some((head, len)) => {
                    let Some(end) = head.checked_add(len) else {
                        return data.len();
                    };
                    match rest.get(head..end) {
                        Some(frame) => {
                            self.message(ctx, &frame[..frame.len().min(MAX_MESSAGE)]);
                            pos += end;
                        }
                        // Longer than the stream window can hold: cut it.
                        None if len > MAX_MESSAGE && rest.len() >= head + MAX_MESSAGE => {
                            self.message(ctx, &rest[head..head + MAX_MESSAGE]);
                            return data.len();
                        }
                        None => return pos,
                    }
                }
                None => match next_line(data, &mut pos, MAX_MESSAGE) {
                    Some([]) => {}
                    Some(line) => self.message(ctx, line),
                    None => return pos,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::over_ip::harness::{conn, field, rows, run, Step};

    fn fields(r: &osect_wire::Record) -> String {
        ["proto", "facility", "severity", "message"]
            .map(|f| field(r, f))
            .join("|")
    }

    #[test]
    fn udp_messages_with_and_without_pri() {
        let id = conn(Transport::Udp, 60_786, 514);
        let (recs, service, _) = run(
            &id,
            &[
                Step::Data(Dir::Orig, b"<34>Oct 11 22:14:15 plc1 fw: update\n"),
                Step::Data(Dir::Orig, b"no pri here"),
                Step::Data(Dir::Orig, b"<999>odd"),
                Step::Data(Dir::Orig, b"<191>1 2026-01-05T09:00:00Z h app - - msg"),
            ],
        );
        assert_eq!(service, Some("syslog"));
        let got: Vec<String> = rows(&recs, "syslog").iter().map(|r| fields(r)).collect();
        assert_eq!(
            got,
            [
                "udp|AUTH|CRIT|Oct 11 22:14:15 plc1 fw: update",
                "udp|UNSPECIFIED|UNSPECIFIED|no pri here",
                "udp|?-124|DEBUG|odd",
                "udp|LOCAL7|DEBUG|1 2026-01-05T09:00:00Z h app - - msg",
            ]
        );
    }

    #[test]
    fn tcp_octet_counting_and_lines_mixed_and_split() {
        let id = conn(Transport::Tcp, 12_345, 514);
        let (recs, _, _) = run(
            &id,
            &[
                Step::Data(Dir::Orig, b"10 <13>first "),
                Step::Data(Dir::Orig, b"<14>second\n<15>thi"),
                Step::Data(Dir::Orig, b"rd\r\n4 <8>x"),
            ],
        );
        let got: Vec<String> = rows(&recs, "syslog").iter().map(|r| fields(r)).collect();
        assert_eq!(
            got,
            [
                "tcp|USER|NOTICE|first ",
                "tcp|USER|INFO|second",
                "tcp|USER|DEBUG|third",
                "tcp|USER|EMERG|x",
            ]
        );
    }

    #[test]
    fn only_on_its_port() {
        let id = conn(Transport::Udp, 514, 5000);
        assert!(probe(Transport::Udp, &id, Dir::Orig, b"<13>x").is_none());
        let id = conn(Transport::Tcp, 5000, 514);
        assert!(probe(Transport::Tcp, &id, Dir::Orig, b"\x16\x03\x01").is_none());
    }
}
