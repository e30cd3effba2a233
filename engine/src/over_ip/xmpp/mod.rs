//! XMPP (RFC 6120) as Zeek's XMPP analyzer follows it: attached by port
//! (5222 client to server, 5269 server to server), confirmed once the
//! client opens its stream (`<stream:stream`), and after the client's
//! `<starttls>` and the server's `<proceed>` the rest of both directions is
//! TLS (RFC 6120 5.4), handed to the TLS parser: conn.log names
//! `xmpp,ssl` once the handshake is seen. After `<success>` (SASL done,
//! past the point where STARTTLS could come) nothing more is read.

pub mod descriptor;

#[cfg(test)]
mod tests;

use crate::flow::id::{ConnId, Transport};
use crate::over_ip::tls::Tls;
use crate::over_ip::{AppParser, Ctx, Dir};

/// Client and server ports Zeek attaches its XMPP analyzer to.
const PORTS: [u16; 2] = [5222, 5269];

pub fn probe(
    transport: Transport,
    id: &ConnId,
    _dir: Dir,
    data: &[u8],
) -> Option<Box<dyn AppParser>> {
    // Zeek attaches by port; the stream still has to look like XML.
    let xml = data
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'<');
    (transport == Transport::Tcp && PORTS.contains(&id.resp_p) && xml)
        .then(|| Box::new(Xmpp::default()) as Box<dyn AppParser>)
}

#[derive(Default)]
pub struct Xmpp {
    /// The client opened its stream.
    confirmed: bool,
    client_starttls: bool,
    /// Past `<success>`: nothing more to learn.
    done: bool,
    /// The TLS session after `<proceed>`.
    tls: Option<Tls>,
}

/// The element names of the start tags in `data`, each with the offset just
/// past its tag; an unfinished last tag is left out.
fn tags(data: &[u8]) -> impl Iterator<Item = (&[u8], usize)> {
    let mut pos = 0;
    std::iter::from_fn(move || loop {
        let lt = pos + data.get(pos..)?.iter().position(|b| *b == b'<')?;
        let gt = lt + data[lt..].iter().position(|b| *b == b'>')?;
        pos = gt + 1;
        let inner = &data[lt + 1..gt];
        // End tags, declarations and processing instructions name no element.
        if inner.first().is_some_and(|b| matches!(b, b'/' | b'?' | b'!')) {
            continue;
        }
        let end = inner
            .iter()
            .position(|b| b.is_ascii_whitespace() || *b == b'/')
            .unwrap_or(inner.len());
        return Some((&inner[..end], pos));
    })
}

/// An element name without its namespace prefix.
fn local(name: &[u8]) -> &[u8] {
    name.iter()
        .position(|b| *b == b':')
        .map_or(name, |i| &name[i + 1..])
}

impl AppParser for Xmpp {
    fn service(&self) -> &'static str {
        match (self.confirmed, self.tls.as_ref().is_some_and(Tls::confirmed)) {
            (false, false) => "",
            (false, true) => "ssl",
            (true, false) => "xmpp",
            (true, true) => "xmpp,ssl",
        }
    }

    fn needs_start(&self) -> bool {
        true
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        if let Some(t) = self.tls.as_mut() {
            return t.parse(ctx, dir, data);
        }
        if self.done {
            return data.len();
        }
        let mut used = 0;
        for (name, past) in tags(data) {
            used = past;
            let orig = dir.is_orig();
            if orig && name == b"stream:stream" {
                self.confirmed = true;
            }
            if local(name) == b"success" {
                self.done = true;
                return data.len();
            }
            if orig && local(name) == b"starttls" {
                self.client_starttls = true;
            }
            if !orig && local(name) == b"proceed" && self.client_starttls {
                // What follows the server's proceed is TLS.
                let mut t = Tls::default();
                let rest = t.parse(ctx, dir, &data[past..]);
                self.tls = Some(t);
                return past + rest;
            }
        }
        // Text between tags is not needed; keep only an unfinished tag.
        match data[used..].iter().position(|b| *b == b'<') {
            Some(lt) => used + lt,
            None => data.len(),
        }
    }

    fn gap(&mut self, dir: Dir) {
        if let Some(t) = self.tls.as_mut() {
            t.gap(dir);
        }
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, '_>) {
        if let Some(t) = self.tls.as_mut() {
            t.finish(ctx);
        }
    }
}
