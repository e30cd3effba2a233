//! One connection's application-layer state: the recognised parser and the
//! unconsumed stream bytes of each direction, bounded per flow. A session
//! exists only once a parser recognised the connection; until then the
//! connection just counts its probes.
//!
//! This is the streaming contract every parser is driven by, in the engine,
//! in the parsers' tests (`harness`) and in the fuzz targets: a TCP
//! direction's unconsumed bytes are presented again with its next segment,
//! up to `limit` bytes (beyond it they are dropped and the parser told of a
//! gap); a lost segment drops them and calls `gap`; a UDP datagram is one
//! call.

use super::{AppParser, Ctx, Dir, Expected};
use crate::flow::id::ConnId;
use osect_wire::Text;

pub struct Session {
    parser: Box<dyn AppParser>,
    /// Unconsumed TCP stream bytes, per direction.
    bufs: [Vec<u8>; 2],
    /// The connection's uid as logs print it.
    pub uid: Text,
    /// Stream bytes discarded because a message outgrew the window (or
    /// the bound of a message the parser reassembles itself).
    pub overflowed: u64,
    /// The connection's packet counts (originator, responder) when the
    /// parser flipped its roles.
    flipped_at: Option<(u64, u64)>,
}

fn slot(dir: Dir) -> usize {
    usize::from(!dir.is_orig())
}

impl Session {
    pub fn new(parser: Box<dyn AppParser>, uid: Text) -> Self {
        Session {
            parser,
            bufs: [Vec::new(), Vec::new()],
            uid,
            overflowed: 0,
            flipped_at: None,
        }
    }

    /// conn.log's `service`; empty while the parser has not confirmed it.
    pub fn service(&self) -> &'static str {
        self.parser.service()
    }

    /// Whether the datagram flips the connection's roles; true once at
    /// most (see [`AppParser::flips_roles`]). `pkts` are the connection's
    /// packet counts so far, originator's first.
    pub fn flips_roles(&mut self, id: &ConnId, dir: Dir, data: &[u8], pkts: (u64, u64)) -> bool {
        // TCP data after unconsumed bytes continues a message: it says
        // nothing of who sent the message.
        if self.flipped_at.is_some()
            || !self.bufs[slot(dir)].is_empty()
            || !self.parser.flips_roles(id, dir, data)
        {
            return false;
        }
        self.flipped_at = Some(pkts);
        // The unconsumed bytes go with the side that sent them.
        self.bufs.swap(0, 1);
        true
    }

    /// Whether the originator and the responder sent anything, from the
    /// connection's packet counts: those counted before a flip belong to
    /// the other side (see `Conn::flip_midway`).
    pub fn senders(&self, pkts: (u64, u64)) -> (bool, bool) {
        match self.flipped_at {
            None => (pkts.0 > 0, pkts.1 > 0),
            Some((o, r)) => (r > 0 || pkts.0 > o, o > 0 || pkts.1 > r),
        }
    }

    /// See [`AppParser::needs_start`].
    pub fn needs_start(&self) -> bool {
        self.parser.needs_start()
    }

    /// Connections the parser announced since the last call.
    pub fn expected(&mut self) -> Vec<Expected> {
        self.parser.expected()
    }

    /// One UDP datagram (or other message-oriented payload).
    pub fn datagram(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) {
        self.parser.parse(ctx, dir, data);
        self.overflowed += self.parser.discarded();
    }

    /// In-order TCP bytes of `dir`. `limit` bounds what is kept unconsumed.
    pub fn stream(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8], limit: usize) {
        self.feed(ctx, dir, data, limit);
        self.overflowed += self.parser.discarded();
    }

    fn feed(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8], limit: usize) {
        let p = &mut self.parser;
        let buf = &mut self.bufs[slot(dir)];
        if !buf.is_empty() {
            if buf.len() + data.len() <= limit {
                buf.extend_from_slice(data);
                let used = consumed(p.parse(ctx, dir, buf), buf.len());
                buf.drain(..used);
                return;
            }
            // The pending message outgrew the window: drop it and let the
            // parser resynchronise on this segment.
            self.overflowed += buf.len() as u64;
            buf.clear();
            p.gap(dir);
        }
        // Common case: parse straight from the segment, keep the rest.
        let used = consumed(p.parse(ctx, dir, data), data.len());
        keep(
            buf,
            &data[used..],
            limit,
            &mut self.overflowed,
            p.as_mut(),
            dir,
        );
    }

    /// Bytes of `dir` were lost: drop what was pending and tell the parser.
    pub fn gap(&mut self, dir: Dir) {
        self.bufs[slot(dir)].clear();
        self.parser.gap(dir);
    }

    /// `len` bytes of `dir` were lost (a TCP content gap): drop what was
    /// pending and tell the parser how many.
    pub fn content_gap(&mut self, dir: Dir, len: u64) {
        self.bufs[slot(dir)].clear();
        self.parser.content_gap(dir, len);
    }

    pub fn finish(&mut self, ctx: &mut Ctx<'_, '_>) {
        self.parser.finish(ctx);
    }
}

/// What a parser says it consumed of `len` bytes: never more than it was
/// given (a parser bug that tests and fuzzing catch; clamped in release).
fn consumed(used: usize, len: usize) -> usize {
    debug_assert!(used <= len, "a parser consumed {used} of {len} bytes");
    used.min(len)
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
