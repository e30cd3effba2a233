//! TLS records and the two hello messages (RFC 8446 sections 4.1.2,
//! 4.1.3 and 5.1), as checked views; every length is checked before use.

use crate::bytes::be16;

pub const RECORD_HEADER_LEN: usize = 5;
pub const CONTENT_CCS: u8 = 20;
pub const CONTENT_ALERT: u8 = 21;
pub const CONTENT_HANDSHAKE: u8 = 22;
pub const CONTENT_APPDATA: u8 = 23;
pub const HS_CLIENT_HELLO: u8 = 1;
pub const HS_SERVER_HELLO: u8 = 2;
pub const HS_SERVER_KEY_EXCHANGE: u8 = 12;
pub const HS_SERVER_HELLO_DONE: u8 = 14;
/// Largest record body (2^14 plus the expansion TLS 1.2 allows).
pub const MAX_RECORD: usize = 16384 + 2048;

const EXT_SERVER_NAME: u16 = 0;
const EXT_SUPPORTED_GROUPS: u16 = 10;
const EXT_EC_POINT_FORMATS: u16 = 11;
const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
const EXT_ALPN: u16 = 16;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
const EXT_KEY_SHARE: u16 = 51;

/// A record header: content type, version and body length.
pub fn record_header(b: &[u8]) -> Option<(u8, u16, usize)> {
    let ty = *b.first()?;
    let version = be16(b, 1)?;
    let len = usize::from(be16(b, 3)?);
    Some((ty, version, len))
}

/// Whether `b` starts with a plausible TLS handshake record.
pub fn is_handshake_record(b: &[u8]) -> bool {
    matches!(record_header(b), Some((CONTENT_HANDSHAKE, v, len))
        if v >> 8 == 3 && (v & 0xff) <= 4 && (4..=MAX_RECORD).contains(&len)
            && matches!(b.get(5), Some(&HS_CLIENT_HELLO) | Some(&HS_SERVER_HELLO)))
}

/// A `u8`/`u16`-length-prefixed vector at `at`: its bytes and where the
/// next field starts.
fn vec8(b: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let len = usize::from(*b.get(at)?);
    Some((b.get(at + 1..at + 1 + len)?, at + 1 + len))
}
fn vec16(b: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let len = usize::from(be16(b, at)?);
    Some((b.get(at + 2..at + 2 + len)?, at + 2 + len))
}

fn u16s(b: &[u8]) -> impl Iterator<Item = u16> + '_ {
    b.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]))
}

/// GREASE values (RFC 8701) are noise for fingerprints and versions.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// The extensions block: `(type, data)` pairs.
fn extensions(b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let ty = be16(b, at)?;
        let (data, next) = vec16(b, at + 2)?;
        at = next;
        Some((ty, data))
    })
}

/// A ClientHello body (after the 4-byte handshake header).
#[derive(Clone, Copy, Debug)]
pub struct ClientHello<'a> {
    pub legacy_version: u16,
    pub ciphers: &'a [u8],
    pub extensions: &'a [u8],
}

impl<'a> ClientHello<'a> {
    pub fn parse(b: &'a [u8]) -> Option<ClientHello<'a>> {
        let legacy_version = be16(b, 0)?;
        let (_, at) = vec8(b, 34)?; // after random: session id
        let (ciphers, at) = vec16(b, at)?;
        let (_, at) = vec8(b, at)?; // compression methods
        let extensions = match vec16(b, at) {
            Some((e, _)) => e,
            None => &[],
        };
        Some(ClientHello {
            legacy_version,
            ciphers,
            extensions,
        })
    }

    pub fn ciphers(&self) -> impl Iterator<Item = u16> + 'a {
        u16s(self.ciphers)
    }

    pub fn extension_types(&self) -> impl Iterator<Item = u16> + 'a {
        extensions(self.extensions).map(|(t, _)| t)
    }

    fn extension(&self, ty: u16) -> Option<&'a [u8]> {
        extensions(self.extensions)
            .find(|(t, _)| *t == ty)
            .map(|(_, d)| d)
    }

    /// The first host name of the server_name extension.
    pub fn server_name(&self) -> Option<&'a [u8]> {
        let (list, _) = vec16(self.extension(EXT_SERVER_NAME)?, 0)?;
        let mut at = 0;
        while at < list.len() {
            let kind = *list.get(at)?;
            let (name, next) = vec16(list, at + 1)?;
            if kind == 0 {
                return Some(name);
            }
            at = next;
        }
        None
    }

    /// The highest non-GREASE supported_versions entry, else the legacy
    /// version.
    pub fn max_version(&self) -> u16 {
        self.extension(EXT_SUPPORTED_VERSIONS)
            .and_then(|d| vec8(d, 0))
            .and_then(|(v, _)| u16s(v).filter(|v| !is_grease(*v)).max())
            .unwrap_or(self.legacy_version)
    }

    pub fn signature_algorithms(&self) -> impl Iterator<Item = u16> + 'a {
        let d = self
            .extension(EXT_SIGNATURE_ALGORITHMS)
            .and_then(|d| vec16(d, 0))
            .map_or(&[][..], |(v, _)| v);
        u16s(d)
    }

    /// The first ALPN protocol offered.
    pub fn first_alpn(&self) -> Option<&'a [u8]> {
        let (list, _) = vec16(self.extension(EXT_ALPN)?, 0)?;
        vec8(list, 0).map(|(p, _)| p)
    }

    pub fn groups(&self) -> impl Iterator<Item = u16> + 'a {
        let d = self
            .extension(EXT_SUPPORTED_GROUPS)
            .and_then(|d| vec16(d, 0))
            .map_or(&[][..], |(v, _)| v);
        u16s(d)
    }

    pub fn point_formats(&self) -> &'a [u8] {
        self.extension(EXT_EC_POINT_FORMATS)
            .and_then(|d| vec8(d, 0))
            .map_or(&[][..], |(v, _)| v)
    }
}

/// A ServerHello body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerHello {
    /// The negotiated version: supported_versions if present, else the
    /// legacy version field.
    pub version: u16,
    pub cipher: u16,
    /// The key_share group (TLS 1.3).
    pub group: Option<u16>,
}

impl ServerHello {
    pub fn parse(b: &[u8]) -> Option<ServerHello> {
        let legacy = be16(b, 0)?;
        let (_, at) = vec8(b, 34)?;
        let cipher = be16(b, at)?;
        let ext = vec16(b, at + 3).map_or(&[][..], |(e, _)| e);
        let mut version = legacy;
        let mut group = None;
        for (ty, d) in extensions(ext) {
            match ty {
                EXT_SUPPORTED_VERSIONS => version = be16(d, 0).unwrap_or(legacy),
                EXT_KEY_SHARE => group = be16(d, 0),
                _ => {}
            }
        }
        Some(ServerHello {
            version,
            cipher,
            group,
        })
    }
}

/// The named curve of an ECDHE ServerKeyExchange.
pub fn ske_curve(b: &[u8]) -> Option<u16> {
    (*b.first()? == 3).then(|| be16(b, 1)).flatten()
}
