//! SSDP (UPnP discovery, 1900/udp): the `ssdp` log, one row per message
//! (`M-SEARCH`, `NOTIFY` or a search reply) with the announcing device's
//! `SERVER` or the searcher's `USER-AGENT`, and what was searched for or
//! announced. An announcing device's `SERVER` gives the asset ledger its
//! product and, when it follows UPnP's `OS/version UPnP/1.0 product/version`
//! form, its operating system.

pub mod descriptor;

use crate::asset::Identity;
use crate::flow::id::{ConnId, Transport};
use crate::flow_fields;
use crate::over_ip::common::{datagram_probe, sender, Datagram, Row};
use crate::over_ip::http::{split_head, upper, RequestLine, StatusLine};
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text::{self, MAX_TEXT};
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema};

pub static SSDP_LOG: LogSchema = LogSchema {
    path: "ssdp",
    fields: flow_fields![
        field("method", T::String),
        field("server_or_user_agent", T::String),
        field("target", T::String),
        field("usn", T::String),
        field("location", T::String),
        field("nts", T::String),
    ],
};

const PORT: u16 = 1900;

/// What one SSDP message says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Repr<'a> {
    /// `M-SEARCH`, `NOTIFY`, or the status code of a reply (`200`).
    pub method: String,
    pub agent: Option<&'a [u8]>,
    /// `ST` (search target) or `NT` (notification type).
    pub target: Option<&'a [u8]>,
    pub usn: Option<&'a [u8]>,
    pub location: Option<&'a [u8]>,
    pub nts: Option<&'a [u8]>,
}

impl<'a> Repr<'a> {
    pub fn parse(b: &'a [u8]) -> Option<Repr<'a>> {
        let (_, mut lines) = split_head(b)?;
        let first = lines.next()?;
        let method = match (RequestLine::parse(first), StatusLine::parse(first)) {
            (Some(r), _) if r.version.is_some() => text::bytes(r.method, 32),
            (_, Some(s)) => s.code.to_string(),
            _ => return None,
        };
        let mut r = Repr {
            method,
            ..Repr::default()
        };
        for l in lines {
            let Some(colon) = l.iter().position(|&c| c == b':') else {
                continue;
            };
            let v = l[colon + 1..].trim_ascii();
            let mut buf = [0u8; 32];
            match upper(&l[..colon], &mut buf) {
                b"SERVER" | b"USER-AGENT" => r.agent = Some(v),
                b"ST" | b"NT" => r.target = Some(v),
                b"USN" => r.usn = Some(v),
                b"LOCATION" => r.location = Some(v),
                b"NTS" => r.nts = Some(v),
                _ => {}
            }
        }
        Some(r)
    }
}

/// A `SERVER` header split at its `UPnP/x.y` token into the operating
/// system before it and the product after it (UPnP 1.0 section 1.1.2;
/// devices separate the three with spaces or commas); a header of another
/// form is all product.
pub fn server_parts(server: &str) -> (Option<&str>, &str) {
    let sep = |c: char| c == ' ' || c == ',';
    let mut at = 0;
    for token in server.split(sep) {
        let start = at;
        at += token.len() + 1;
        if !token
            .get(..5)
            .is_some_and(|t| t.eq_ignore_ascii_case("upnp/"))
        {
            continue;
        }
        let os = server[..start].trim_matches(sep);
        let product = server.get(at..).unwrap_or("").trim_matches(sep);
        if !os.is_empty() && !product.is_empty() {
            return (Some(os), product);
        }
    }
    (None, server.trim())
}

/// Recognises SSDP on 1900/udp.
pub fn probe(t: Transport, id: &ConnId, _: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    datagram_probe::<Ssdp>(t, id, data)
}

pub struct Ssdp;

impl Datagram for Ssdp {
    const SERVICE: &'static str = "ssdp";

    fn recognise(id: &ConnId, data: &[u8]) -> bool {
        id.has_port(PORT) && Repr::parse(data).is_some()
    }

    fn log(ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) {
        if let Some(r) = Repr::parse(data) {
            let t = |v: Option<&[u8]>| v.map(|v| text::bytes(v, MAX_TEXT));
            // A search's USER-AGENT names the searching client, not a device.
            if let Some(server) = t(r.agent).filter(|_| r.method != "M-SEARCH") {
                let (os, product) = server_parts(&server);
                let host = sender(ctx, dir);
                if let Some(os) = os {
                    ctx.out.assets.observe_announced_os(ctx.ts, host, os);
                }
                let id = Identity {
                    source: descriptor::IDENTITY,
                    product: Some(product),
                    ..Identity::default()
                };
                ctx.out.assets.observe_identity(ctx.ts, host, &id);
            }
            Row::flow(ctx, &SSDP_LOG)
                .push(r.method)
                .push(t(r.agent))
                .push(t(r.target))
                .push(t(r.usn))
                .push(t(r.location))
                .push(t(r.nts))
                .emit(ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::server_parts;

    #[test]
    fn server_header_splits_at_the_upnp_token() {
        let cases = [
            (
                "Linux/3.14 UPnP/1.0 IpBridge/1.26.0",
                (Some("Linux/3.14"), "IpBridge/1.26.0"),
            ),
            (
                "Linux/2.6.32, UPnP/1.0, Portable SDK for UPnP devices/1.6.18",
                (Some("Linux/2.6.32"), "Portable SDK for UPnP devices/1.6.18"),
            ),
            (
                "Microsoft-Windows/10.0 upnp/2.0 UPnP-Device-Host/1.0",
                (Some("Microsoft-Windows/10.0"), "UPnP-Device-Host/1.0"),
            ),
            // Not UPnP's form: all of it is the product.
            ("UPnP/1.0", (None, "UPnP/1.0")),
            (" AXIS Q1615 ", (None, "AXIS Q1615")),
            ("é UPnP/1.0 x", (Some("é"), "x")),
        ];
        for (header, want) in cases {
            assert_eq!(server_parts(header), want, "{header}");
        }
    }
}
