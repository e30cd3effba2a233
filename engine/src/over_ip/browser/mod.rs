//! CIFS browser announcements (MS-BRWS) in NetBIOS datagrams on
//! 138/udp: the `mswin_browser` log, one row per browser message. Host and
//! master announcements name the sender, its Windows version and its server
//! roles; the names feed the asset ledger. The parse follows the NetBIOS
//! datagram header, the SMB transaction's data offset and the mailslot
//! payload, each cut to its declared length.

pub mod descriptor;

use crate::bytes::{be16, le16, le32};
use crate::flow::id::{ConnId, Transport};
use crate::flow_fields;
use crate::over_ip::common::{datagram_probe, sender, Datagram, Row};
use crate::over_ip::{AppParser, Ctx, Dir};
use crate::text;
use osect_wire::record::field;
use osect_wire::{FieldType as T, LogSchema, Value};

pub static MSWIN_BROWSER_LOG: LogSchema = LogSchema {
    path: "mswin_browser",
    fields: flow_fields![
        field("command", T::String),
        field("server_name", T::String),
        field("os_version", T::String),
        field("server_type", T::Count),
        field("browser_version", T::String),
        field("signature", T::String),
        field("host_comment", T::String),
    ],
};

const PORT: u16 = 138;
/// NetBIOS datagram header, source and destination names (RFC 1002 4.4.2).
const SMB_AT: usize = 14 + 34 + 34;
const SMB_HEADER_LEN: usize = 32;
const SMB_COM_TRANSACTION: u8 = 0x25;
const MAILSLOT: &[u8] = b"\\MAILSLOT\\BROWSE";

/// One browser message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repr<'a> {
    pub command: u8,
    pub server_name: Option<&'a [u8]>,
    pub os_version: Option<(u8, u8)>,
    pub server_type: Option<u32>,
    pub browser_version: Option<(u8, u8)>,
    pub signature: Option<u16>,
    pub comment: Option<&'a [u8]>,
}

/// The mailslot payload of a NetBIOS datagram carrying an SMB transaction.
pub fn mailslot_payload(b: &[u8]) -> Option<&[u8]> {
    if !matches!(b.first()?, 0x10..=0x12) {
        return None;
    }
    let dgm_len = usize::from(be16(b, 10)?);
    let b = b.get(..(14 + dgm_len).min(b.len()))?;
    let smb = b.get(SMB_AT..)?;
    if smb.get(..4)? != b"\xffSMB" || *smb.get(4)? != SMB_COM_TRANSACTION {
        return None;
    }
    let words = smb.get(SMB_HEADER_LEN + 1..)?;
    let data_count = usize::from(le16(words, 22)?);
    let data_offset = usize::from(le16(words, 24)?);
    let setup = usize::from(*words.get(26)?);
    // The byte area (after the setup words) starts with the mailslot name.
    let bytes = words.get(28 + setup * 2 + 2..)?;
    if !bytes.starts_with(MAILSLOT) {
        return None;
    }
    smb.get(data_offset..data_offset + data_count)
}

fn cstr(b: &[u8]) -> &[u8] {
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

impl<'a> Repr<'a> {
    pub fn parse(datagram: &'a [u8]) -> Option<Repr<'a>> {
        let p = mailslot_payload(datagram)?;
        let command = *p.first()?;
        let mut r = Repr {
            command,
            server_name: None,
            os_version: None,
            server_type: None,
            browser_version: None,
            signature: None,
            comment: None,
        };
        match command {
            // Host, domain, local master announcements share one layout.
            1 | 12 | 15 => {
                r.server_name = Some(cstr(p.get(6..22)?));
                r.os_version = Some((*p.get(22)?, *p.get(23)?));
                r.server_type = le32(p, 24);
                if command != 12 {
                    r.browser_version = Some((*p.get(28)?, *p.get(29)?));
                    r.signature = le16(p, 30);
                }
                r.comment = p.get(32..).map(cstr);
            }
            // Election request: version, criteria, uptime, reserved, name.
            8 => r.server_name = p.get(14..).map(cstr),
            _ => {}
        }
        Some(r)
    }
}

pub fn command_name(c: u8) -> String {
    let s = match c {
        1 => "HostAnnouncement",
        2 => "AnnouncementRequest",
        8 => "RequestElection",
        9 => "GetBackupListRequest",
        10 => "GetBackupListResponse",
        11 => "BecomeBackup",
        12 => "DomainAnnouncement",
        13 => "MasterAnnouncement",
        14 => "ResetStateRequest",
        15 => "LocalMasterAnnouncement",
        _ => return format!("unknown-{c}"),
    };
    s.to_owned()
}

/// Recognises browser datagrams on 138/udp.
pub fn probe(t: Transport, id: &ConnId, _: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    datagram_probe::<Browser>(t, id, data)
}

pub struct Browser;

impl Datagram for Browser {
    const SERVICE: &'static str = "cifs_browser";

    fn recognise(id: &ConnId, data: &[u8]) -> bool {
        id.has_port(PORT) && Repr::parse(data).is_some()
    }

    fn log(ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) {
        let Some(r) = Repr::parse(data) else {
            return;
        };
        let name = r.server_name.map(|n| text::bytes(n, 16));
        if let (Some(n), 1 | 15) = (&name, r.command) {
            let me = sender(ctx, dir);
            ctx.out.assets.observe_hostname(ctx.ts, me, n);
        }
        let version = |v: Option<(u8, u8)>| v.map(|(a, b)| format!("{a}.{b}"));
        Row::flow(ctx, &MSWIN_BROWSER_LOG)
            .push(command_name(r.command))
            .push(name)
            .push(version(r.os_version))
            .push(
                r.server_type
                    .map_or(Value::Unset, |t| Value::Count(u64::from(t))),
            )
            .push(version(r.browser_version))
            .push(r.signature.map(|s| format!("0x{s:04x}")))
            .push(
                r.comment
                    .filter(|c| !c.is_empty())
                    .map(|c| text::bytes(c, 256)),
            )
            .emit(ctx);
    }
}
