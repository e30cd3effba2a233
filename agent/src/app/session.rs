//! One connection's application-layer state: the recognised parser and the
//! unconsumed stream bytes of each direction, bounded per flow.

use super::{probe, AppParser, Ctx, Dir};
use crate::flow::id::{ConnId, Transport};

/// Payloads looked at per connection before giving up on recognising it.
const PROBE_ATTEMPTS: u8 = 4;

pub struct Session {
    parser: Option<Box<dyn AppParser>>,
    /// Unconsumed TCP stream bytes, per direction.
    bufs: [Vec<u8>; 2],
    probes_left: u8,
    /// The connection's uid as logs print it.
    pub uid: String,
    /// Stream bytes discarded because a message outgrew the window.
    pub overflowed: u64,
}

fn slot(dir: Dir) -> usize {
    usize::from(!dir.is_orig())
}

impl Session {
    pub fn new(uid: String) -> Self {
        Session {
            parser: None,
            bufs: [Vec::new(), Vec::new()],
            probes_left: PROBE_ATTEMPTS,
            uid,
            overflowed: 0,
        }
    }

    pub fn service(&self) -> Option<&'static str> {
        self.parser.as_ref().map(|p| p.service())
    }

    /// Whether the session still wants payload.
    pub fn active(&self) -> bool {
        self.parser.is_some() || self.probes_left > 0
    }

    fn recognise(&mut self, transport: Transport, id: &ConnId, dir: Dir, data: &[u8]) -> bool {
        if self.parser.is_none() && self.probes_left > 0 && !data.is_empty() {
            self.probes_left -= 1;
            self.parser = probe(transport, id, dir, data);
        }
        self.parser.is_some()
    }

    /// One UDP datagram (or other message-oriented payload).
    pub fn datagram(&mut self, ctx: &mut Ctx<'_, '_>, transport: Transport, dir: Dir, data: &[u8]) {
        if self.recognise(transport, ctx.flow.id, dir, data) {
            if let Some(p) = self.parser.as_mut() {
                p.parse(ctx, dir, data);
            }
        }
    }

    /// In-order TCP bytes of `dir`. `limit` bounds what is kept unconsumed.
    pub fn stream(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8], limit: usize) {
        let i = slot(dir);
        if self.parser.is_none() {
            // Recognise on the first payload of the direction (possibly the
            // middle of a session whose start the sensor never saw).
            if !self.recognise(Transport::Tcp, ctx.flow.id, dir, data) {
                return;
            }
        }
        let Some(p) = self.parser.as_mut() else {
            return;
        };
        if self.bufs[i].is_empty() {
            // Common case: parse straight from the segment, keep the rest.
            let used = p.parse(ctx, dir, data).min(data.len());
            keep(
                &mut self.bufs[i],
                &data[used..],
                limit,
                &mut self.overflowed,
                p.as_mut(),
                dir,
            );
            return;
        }
        let buf = &mut self.bufs[i];
        if buf.len() + data.len() > limit {
            self.overflowed += buf.len() as u64;
            buf.clear();
            p.gap(dir);
            let used = p.parse(ctx, dir, data).min(data.len());
            keep(
                buf,
                &data[used..],
                limit,
                &mut self.overflowed,
                p.as_mut(),
                dir,
            );
            return;
        }
        buf.extend_from_slice(data);
        let used = p.parse(ctx, dir, buf).min(buf.len());
        buf.drain(..used);
    }

    /// Bytes of `dir` were lost: drop what was pending and tell the parser.
    pub fn gap(&mut self, dir: Dir) {
        self.bufs[slot(dir)].clear();
        if let Some(p) = self.parser.as_mut() {
            p.gap(dir);
        }
    }

    pub fn finish(&mut self, ctx: &mut Ctx<'_, '_>) {
        if let Some(p) = self.parser.as_mut() {
            p.finish(ctx);
        }
    }
}

/// Keeps an unconsumed tail for the next segment, unless it outgrows the
/// window (then it is dropped and the parser resynchronises).
fn keep(
    buf: &mut Vec<u8>,
    rest: &[u8],
    limit: usize,
    overflowed: &mut u64,
    p: &mut dyn AppParser,
    dir: Dir,
) {
    if rest.is_empty() {
        return;
    }
    if rest.len() > limit {
        *overflowed += rest.len() as u64;
        p.gap(dir);
        return;
    }
    buf.extend_from_slice(rest);
}
