//! SSDP (UPnP discovery, 1900/udp): the `ssdp` log, one row per message
//! (`M-SEARCH`, `NOTIFY` or a search reply) with the announcing device's
//! `SERVER` or the searcher's `USER-AGENT`, and what was searched for or
//! announced.

pub mod descriptor;

use crate::flow::id::{ConnId, Transport};
use crate::flow_fields;
use crate::over_ip::common::Row;
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

/// Recognises SSDP on 1900/udp.
pub fn probe(
    transport: Transport,
    id: &ConnId,
    _dir: Dir,
    data: &[u8],
) -> Option<Box<dyn AppParser>> {
    let ok = transport == Transport::Udp && id.has_port(PORT) && Repr::parse(data).is_some();
    ok.then(|| Box::new(Ssdp) as Box<dyn AppParser>)
}

pub struct Ssdp;

impl AppParser for Ssdp {
    fn service(&self) -> &'static str {
        "ssdp"
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, _dir: Dir, data: &[u8]) -> usize {
        if let Some(r) = Repr::parse(data) {
            let t = |v: Option<&[u8]>| v.map(|v| text::bytes(v, MAX_TEXT));
            Row::flow(ctx, &SSDP_LOG)
                .push(r.method)
                .push(t(r.agent))
                .push(t(r.target))
                .push(t(r.usn))
                .push(t(r.location))
                .push(t(r.nts))
                .emit(ctx);
        }
        data.len()
    }
}
