//! The first bytes of an undecided TCP connection, gathered for protocol
//! detection as Zeek's DPD gathers them (`PIA_TCP`): each direction's
//! in-order bytes put back together, so that a request line sent a few
//! bytes at a time is recognised, and kept in arrival order so that the
//! parser chosen is given them once, as they came.
//!
//! Zeek stops matching once more than `dpd_buffer_size` (1,024) bytes or
//! more than `dpd_max_packets` (100) pieces came, both directions together
//! (with `dpd_match_only_beginning`, its default, it then never matches
//! again): [`Gathered::push`] says so by [`Gathered::full`].

use super::Dir;

/// Zeek's `dpd_buffer_size`: bytes gathered, both directions together.
pub const DPD_BUFFER_BYTES: usize = 1024;
/// Zeek's `dpd_max_packets`: pieces gathered, both directions together.
pub const DPD_MAX_PIECES: u16 = 100;

/// A connection's first bytes, until a parser is chosen or detection gives
/// up. Lives boxed and only while the connection is undecided.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Each direction's bytes (originator's first), together at most
    /// [`DPD_BUFFER_BYTES`].
    bytes: [Vec<u8>; 2],
    /// The bytes in arrival order: runs of one direction and their length.
    runs: Vec<(Dir, u16)>,
    /// Bytes offered, kept or not.
    seen: usize,
    pieces: u16,
}

fn slot(dir: Dir) -> usize {
    usize::from(!dir.is_orig())
}

impl Gathered {
    /// Adds a piece of `dir`'s stream; returns how many of its bytes were
    /// kept (those past [`DPD_BUFFER_BYTES`] are not).
    pub fn push(&mut self, dir: Dir, data: &[u8]) -> usize {
        let kept = self.bytes[0].len() + self.bytes[1].len();
        let n = data.len().min(DPD_BUFFER_BYTES.saturating_sub(kept));
        self.seen = self.seen.saturating_add(data.len());
        self.pieces = self.pieces.saturating_add(1);
        if n == 0 {
            return 0;
        }
        self.bytes[slot(dir)].extend_from_slice(&data[..n]);
        // n <= DPD_BUFFER_BYTES, and a run never outgrows the buffer.
        match self.runs.last_mut() {
            Some((d, len)) if *d == dir => *len += n as u16,
            _ => self.runs.push((dir, n as u16)),
        }
        n
    }

    /// `dir`'s bytes gathered so far, in order.
    pub fn bytes(&self, dir: Dir) -> &[u8] {
        &self.bytes[slot(dir)]
    }

    /// Whether detection is over for this connection once the last piece
    /// was matched: more bytes or pieces came than Zeek looks at.
    pub fn full(&self) -> bool {
        self.seen > DPD_BUFFER_BYTES || self.pieces > DPD_MAX_PIECES
    }

    /// Hands the bytes gathered to `f` in arrival order, each run of one
    /// direction as one slice.
    pub fn replay(&self, mut f: impl FnMut(Dir, &[u8])) {
        let mut at = [0usize; 2];
        for &(dir, len) in &self.runs {
            let s = slot(dir);
            let end = at[s] + usize::from(len);
            if let Some(b) = self.bytes[s].get(at[s]..end) {
                f(dir, b);
            }
            at[s] = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replayed(g: &Gathered) -> Vec<(Dir, Vec<u8>)> {
        let mut out = Vec::new();
        g.replay(|d, b| out.push((d, b.to_vec())));
        out
    }

    #[test]
    fn pieces_join_per_direction_and_replay_in_arrival_order() {
        let mut g = Gathered::default();
        for piece in [&b"G"[..], b"ET", b" / HTTP/1.1\r\n"] {
            assert_eq!(g.push(Dir::Orig, piece), piece.len());
        }
        g.push(Dir::Resp, b"HTTP/1.1 200");
        g.push(Dir::Orig, b"\r\n");
        assert_eq!(g.bytes(Dir::Orig), b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(g.bytes(Dir::Resp), b"HTTP/1.1 200");
        assert_eq!(
            replayed(&g),
            vec![
                (Dir::Orig, b"GET / HTTP/1.1\r\n".to_vec()),
                (Dir::Resp, b"HTTP/1.1 200".to_vec()),
                (Dir::Orig, b"\r\n".to_vec()),
            ]
        );
        assert!(!g.full());
    }

    #[test]
    fn it_keeps_at_most_the_buffer_and_is_full_past_it() {
        let mut g = Gathered::default();
        assert_eq!(g.push(Dir::Resp, &[b'a'; 1000]), 1000);
        assert!(!g.full());
        assert_eq!(g.push(Dir::Orig, &[b'b'; 24]), 24);
        assert!(!g.full(), "exactly the buffer is still looked at");
        assert_eq!(g.push(Dir::Orig, b"cd"), 0);
        assert!(g.full());
        let total: usize = replayed(&g).iter().map(|(_, b)| b.len()).sum();
        assert_eq!(total, DPD_BUFFER_BYTES);
    }

    #[test]
    fn it_is_full_past_the_pieces_zeek_looks_at() {
        let mut g = Gathered::default();
        for _ in 0..DPD_MAX_PIECES {
            g.push(Dir::Orig, b"x");
        }
        assert!(!g.full());
        g.push(Dir::Orig, b"x");
        assert!(g.full());
        assert_eq!(replayed(&g), vec![(Dir::Orig, vec![b'x'; 101])]);
    }
}
