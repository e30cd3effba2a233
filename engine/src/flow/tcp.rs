//! Zeek's TCP endpoint state machine: what `conn_state`, `history` and the
//! payload byte counts of conn.log are computed from.
//!
//! The rules follow Zeek's TCP session analyzer: endpoint states, sequence
//! tracking in a 64-bit space (so wrapped sequence numbers count right),
//! history letters with the repeat rule, and content gaps found when the peer
//! acknowledges data the sensor never saw.

use super::history::History;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

/// Sequence deltas beyond this are not trusted on SYN or RST packets.
const TOO_LARGE_SEQ_DELTA: i32 = 1_048_576;

/// Signed distance from `b` to `a` in sequence space.
#[inline]
pub fn seq_delta(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// Received ranges beyond a hole; more holes than this are not tracked.
type Pending = heapless::Vec<(u64, u64), 4>;

/// One side of a TCP connection.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub state: State,
    pub prev_state: State,
    start_seq: u32,
    last_seq: u32,
    last_wraps: u32,
    ack_seq: u32,
    ack_wraps: u32,
    pub fin_cnt: u32,
    /// Relative sequence number just past the FIN.
    fin_seq: u64,
    hist_last_syn: u64,
    hist_last_fin: u64,
    hist_last_rst: u64,
    /// Next relative sequence number the reassembly expects.
    pub next_seq: u64,
    /// Ranges received beyond a hole, kept until acknowledged or filled;
    /// allocated only while there is a hole.
    pending: Option<Box<Pending>>,
    pub window_scale: u8,
    /// Whether this side's first segment was seen.
    seen: bool,
    /// This side's part in the connection's partial status (see
    /// [`TcpConn::partial`]); kept here, where the struct has room.
    partial: bool,
}

impl Default for Endpoint {
    fn default() -> Self {
        Endpoint {
            state: State::Inactive,
            prev_state: State::Inactive,
            start_seq: 0,
            last_seq: 0,
            last_wraps: 0,
            ack_seq: 0,
            ack_wraps: 0,
            fin_cnt: 0,
            fin_seq: 0,
            hist_last_syn: u64::MAX,
            hist_last_fin: u64::MAX,
            hist_last_rst: u64::MAX,
            next_seq: 1,
            pending: None,
            window_scale: 0,
            seen: false,
            partial: false,
        }
    }
}

impl Endpoint {
    fn set_state(&mut self, s: State) {
        if s != self.state {
            self.prev_state = self.state;
            self.state = s;
        }
    }

    fn init_seqs(&mut self, start: u32, last: u32) {
        self.start_seq = start;
        self.ack_seq = start;
        self.ack_wraps = 0;
        self.last_seq = last;
        self.last_wraps = 0;
        self.next_seq = 1;
        self.pending = None;
    }

    fn update_last_seq(&mut self, seq: u32) {
        if seq < self.last_seq {
            self.last_wraps += 1;
        }
        self.last_seq = seq;
    }

    fn update_ack_seq(&mut self, seq: u32) {
        if seq < self.ack_seq {
            self.ack_wraps += 1;
        }
        self.ack_seq = seq;
    }

    /// `seq` relative to the start, in the 64-bit space around the last
    /// sequence number seen.
    pub fn relative(&self, seq: u32) -> u64 {
        let last_rel = self.last_rel();
        let d = i64::from(seq_delta(seq, self.last_seq));
        (last_rel as i64 + d).max(0) as u64
    }

    fn last_rel(&self) -> u64 {
        ((u64::from(self.last_wraps) << 32) | u64::from(self.last_seq))
            .wrapping_sub(u64::from(self.start_seq))
    }

    fn ack_rel(&self) -> u64 {
        ((u64::from(self.ack_wraps) << 32) | u64::from(self.ack_seq))
            .wrapping_sub(u64::from(self.start_seq))
    }

    fn no_data_acked(&self) -> bool {
        let a = self.ack_rel();
        a == 0 || a == 1
    }

    /// Payload bytes sent, from sequence numbers (Zeek's `Size()`).
    pub fn size(&self, peer_state: State) -> u64 {
        if self.prev_state == State::SynSent
            && self.state == State::Reset
            && peer_state == State::Inactive
            && !self.no_data_acked()
        {
            return 0;
        }
        let last = self.last_rel();
        let ack = self.ack_rel();
        let mut size = if last > ack { last } else { ack };
        if size > (1 << 62) {
            // A start beyond the last sequence number: nothing sensible.
            return 0;
        }
        // The SYN and the FIN take a sequence number each but carry no data.
        size = size.saturating_sub(1);
        if self.fin_cnt > 0 {
            size = size.saturating_sub(1);
        }
        size
    }
}

/// What one segment did, for the caller.
#[derive(Default, Debug)]
pub struct Outcome {
    /// In-order payload to hand to the application parser:
    /// `(offset into the payload, length)`.
    pub deliver: Option<(usize, usize)>,
    /// Bytes of this direction lost before the delivered data.
    pub gap_before: u64,
    /// Bytes of this direction received beyond a hole and not kept, which
    /// the delivered data now reaches: the application never sees them,
    /// right after the delivered data.
    pub unkept_after: u64,
    /// Bytes of the other direction the application will not see, found
    /// by this segment's ACK: the missing ones and those received beyond
    /// them and not kept.
    pub peer_gap: u64,
    /// The connection was closed or reset by this segment.
    pub closed: bool,
}

/// The TCP part of a connection: both endpoints and the history.
#[derive(Clone, Debug, Default)]
pub struct TcpConn {
    pub orig: Endpoint,
    pub resp: Endpoint,
    pub missed_bytes: u64,
}

/// A segment as the state machine needs it.
#[derive(Clone, Copy, Debug)]
pub struct Seg {
    pub seq: u32,
    pub ack: u32,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub ackf: bool,
    /// Payload length from the IP header.
    pub len: u32,
    /// Whether the whole payload is in the capture.
    pub complete: bool,
    pub window: u16,
}

impl TcpConn {
    pub fn conn_state(&self, history: &History) -> &'static str {
        let os = self.orig.state;
        let rs = self.resp.state;
        let o_inactive = matches!(os, State::Inactive | State::Partial);
        let r_inactive = matches!(rs, State::Inactive | State::Partial);
        if rs == State::Reset {
            if matches!(os, State::SynSent | State::SynAckSent)
                || (os == State::Reset && self.orig.size(rs) == 0 && self.resp.size(os) == 0)
            {
                "REJ"
            } else if o_inactive {
                "RSTRH"
            } else {
                "RSTR"
            }
        } else if os == State::Reset {
            if r_inactive {
                if history.is_syn_then_reset() {
                    "RSTOS0"
                } else {
                    "OTH"
                }
            } else {
                "RSTO"
            }
        } else if rs == State::Closed && os == State::Closed {
            "SF"
        } else if os == State::Closed {
            if r_inactive {
                "SH"
            } else {
                "S2"
            }
        } else if rs == State::Closed {
            if o_inactive {
                "SHR"
            } else {
                "S3"
            }
        } else if os == State::SynSent && rs == State::Inactive {
            "S0"
        } else if os == State::Established && rs == State::Established {
            "S1"
        } else {
            "OTH"
        }
    }

    /// Whether the connection is over: a side reset it, both sides closed
    /// it, or one closed it and the other never spoke. It is then forgotten
    /// after a short delay, and a new SYN on the tuple starts a new one.
    pub fn is_finished(&self) -> bool {
        let (o, r) = (self.orig.state, self.resp.state);
        let quiet = |s: State| matches!(s, State::Inactive | State::Partial);
        o == State::Reset
            || r == State::Reset
            || (o == State::Closed && (r == State::Closed || quiet(r)))
            || (r == State::Closed && quiet(o))
    }

    /// Whether the connection is an attempt nobody answered: the
    /// originator's first segment was its SYN, and the responder has not
    /// been seen. Zeek's attempt timer removes such a connection
    /// `TCP_ATTEMPT_US` after that SYN.
    pub fn unanswered_attempt(&self) -> bool {
        matches!(self.orig.state, State::SynSent | State::SynAckSent)
            && self.orig.prev_state == State::Inactive
            && self.resp.state == State::Inactive
    }

    /// Zeek's partial connection: its start was not seen (the
    /// originator's first segment was not a bare SYN, or the responder's
    /// first had no SYN). Zeek's HTTP, SSL and SSH analyzers ignore the
    /// payload of such a connection.
    pub fn partial(&self) -> bool {
        self.orig.partial || self.resp.partial
    }

    /// A side's first segment decides whether the connection is partial,
    /// as Zeek's `SetPartialStatus` does: the originator's alone, the
    /// responder's only to make it so.
    fn note_first_segment(&mut self, is_orig: bool, s: &Seg) {
        let (ep, peer) = if is_orig {
            (&mut self.orig, &mut self.resp)
        } else {
            (&mut self.resp, &mut self.orig)
        };
        if !ep.seen {
            ep.seen = true;
            if is_orig {
                ep.partial = !s.syn || s.ackf;
                peer.partial = false;
            } else {
                ep.partial = !s.syn;
            }
        }
    }

    /// Processes one segment from `is_orig`'s side.
    pub fn segment(&mut self, is_orig: bool, s: &Seg, history: &mut History) -> Outcome {
        let mut out = Outcome::default();
        self.note_first_segment(is_orig, s);
        let (ep, peer) = if is_orig {
            (&mut self.orig, &self.resp)
        } else {
            (&mut self.resp, &self.orig)
        };
        let seg_len = s.len + u32::from(s.syn) + u32::from(s.fin);
        let past = s.seq.wrapping_add(seg_len);

        // Initial sequence numbers.
        match ep.state {
            State::Inactive => {
                if s.syn {
                    ep.init_seqs(s.seq, past);
                } else {
                    // A partial connection: number bytes as if a SYN was seen,
                    // and do not count the first segment as a retransmission.
                    ep.init_seqs(s.seq.wrapping_sub(1), s.seq);
                }
            }
            State::SynSent | State::SynAckSent | State::Established | State::Partial => {
                if s.syn && s.seq != ep.start_seq {
                    ep.init_seqs(s.seq, past);
                }
            }
            State::Reset => {
                if s.syn && ep.prev_state == State::Inactive {
                    ep.init_seqs(s.seq, past);
                }
            }
            State::Closed => {}
        }

        let rel_seq = ep.relative(s.seq);
        update_history(ep, is_orig, s, rel_seq, history);
        let ep_reset = ep.state == State::Reset;
        let _ = peer;

        // Zero windows are only interesting outside SYNs and resets.
        if s.window == 0 && !s.syn && !s.rst && !ep_reset {
            history.scaled(is_orig, 'W');
        }
        let (ep, peer) = if is_orig {
            (&mut self.orig, &mut self.resp)
        } else {
            (&mut self.resp, &mut self.orig)
        };

        if s.fin {
            ep.fin_cnt += 1;
            ep.fin_seq = rel_seq + u64::from(s.len) + 1;
        }

        // Last sequence number and retransmissions.
        let delta_last = seq_delta(past, ep.last_seq);
        let mut rxmit = false;
        if (s.syn || s.rst) && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&delta_last) {
            // Not trusted.
        } else if s.fin && ep.last_rel() == 1 {
            ep.update_last_seq(past);
        } else if ep.state == State::Reset {
            // Nothing after a reset is trusted.
        } else if delta_last > 0 {
            ep.update_last_seq(past);
        } else if s.len > 0 {
            rxmit = true;
        }

        let was_inactive = ep.state == State::Inactive;
        let closed = update_state(ep, peer, is_orig, s, history);
        out.closed = closed;
        if was_inactive && !s.syn && ep.state == State::Established {
            // The ack completing a handshake whose SYN was missed: Zeek
            // takes the connection as started after all.
            ep.partial = false;
            peer.partial = false;
        }

        if s.ackf && peer.state != State::Inactive {
            let d = seq_delta(s.ack, peer.ack_seq);
            if !(s.ack == 0 && d > TOO_LARGE_SEQ_DELTA) && d > 0 {
                peer.update_ack_seq(s.ack);
            }
        }
        let peer_ack_rel = if s.ackf && peer.state != State::Inactive {
            Some(peer.relative(s.ack))
        } else {
            None
        };

        // Payload in order for the application, and holes it leaves.
        let ep = if is_orig {
            &mut self.orig
        } else {
            &mut self.resp
        };
        if s.len > 0 && s.complete {
            let data_start = rel_seq + u64::from(s.syn);
            (out.deliver, out.unkept_after) = ep.receive(data_start, u64::from(s.len));
        }
        if rxmit {
            history.scaled(is_orig, 'T');
        }

        if let Some(ack) = peer_ack_rel {
            let (missing, unkept) = self.ack_received(!is_orig, ack, history);
            out.peer_gap = missing + unkept;
        }
        out
    }

    /// The peer acknowledged up to `ack` of `of_orig`'s data: holes below it
    /// are content gaps. Returns the bytes missing and those received
    /// beyond them and not kept.
    fn ack_received(&mut self, of_orig: bool, ack: u64, history: &mut History) -> (u64, u64) {
        let report = {
            let ok = |e: &Endpoint| matches!(e.state, State::Established | State::Closed);
            ok(&self.orig) && ok(&self.resp)
        };
        let ep = if of_orig {
            &mut self.orig
        } else {
            &mut self.resp
        };
        let mut up_to = ack;
        if ep.fin_cnt > 0 && up_to >= ep.fin_seq {
            up_to = ep.fin_seq.saturating_sub(1);
        }
        if up_to <= 2
            && ep.next_seq <= 1
            && ep.prev_state == State::Inactive
            && ep.state == State::Partial
        {
            ep.next_seq = ep.next_seq.max(up_to);
            return (0, 0);
        }
        let (missing, unkept) = ep.trim_to(up_to);
        if missing > 0 && report {
            self.missed_bytes += missing;
            history.scaled(of_orig, 'G');
        }
        (missing, unkept)
    }
}

impl Endpoint {
    /// Records `len` bytes at relative `seq`; returns the part that is new
    /// and in order, as (offset, length) within the segment, and the bytes
    /// received beyond a hole that it now reaches (not kept).
    fn receive(&mut self, seq: u64, len: u64) -> (Option<(usize, usize)>, u64) {
        let end = seq + len;
        if end <= self.next_seq {
            return (None, 0);
        }
        if seq > self.next_seq {
            // Beyond a hole: remember the range until it is acked or filled.
            remember(self.pending.get_or_insert_with(Default::default), seq, end);
            return (None, 0);
        }
        let off = (self.next_seq - seq) as usize;
        self.next_seq = end;
        let unkept = self.absorb_pending();
        (Some((off, (end - seq) as usize - off)), unkept)
    }

    /// Moves `next_seq` over pending ranges that now touch it; returns how
    /// far it moved.
    fn absorb_pending(&mut self) -> u64 {
        let from = self.next_seq;
        let Some(p) = self.pending.as_mut() else {
            return 0;
        };
        loop {
            let mut moved = false;
            let mut i = 0;
            while i < p.len() {
                let (s, e) = p[i];
                if s <= self.next_seq {
                    self.next_seq = self.next_seq.max(e);
                    p.swap_remove(i);
                    moved = true;
                } else {
                    i += 1;
                }
            }
            if !moved {
                break;
            }
        }
        if p.is_empty() {
            self.pending = None;
        }
        self.next_seq - from
    }

    /// Declares everything below `up_to` received; returns the bytes that
    /// never arrived and those received beyond them (not kept).
    fn trim_to(&mut self, up_to: u64) -> (u64, u64) {
        let (mut missing, mut unkept) = (0, 0);
        while self.next_seq < up_to {
            // The nearest pending range above next_seq, if below up_to.
            let next = self
                .pending
                .iter()
                .flat_map(|p| p.iter().copied())
                .filter(|&(s, _)| s < up_to)
                .min_by_key(|&(s, _)| s);
            match next {
                Some((s, _)) => {
                    missing += s - self.next_seq;
                    self.next_seq = s;
                    unkept += self.absorb_pending();
                }
                None => {
                    missing += up_to - self.next_seq;
                    self.next_seq = up_to;
                }
            }
        }
        (missing, unkept)
    }
}

/// Adds the range `seq..end` to `p`, merged with the ranges it overlaps or
/// touches, so that a run of segments after one hole takes one entry; a
/// range beyond as many holes as `p` holds is forgotten.
fn remember(p: &mut Pending, seq: u64, end: u64) {
    let (mut s, mut e) = (seq, end);
    let mut i = 0;
    while i < p.len() {
        let (a, b) = p[i];
        if a <= e && s <= b {
            s = s.min(a);
            e = e.max(b);
            p.swap_remove(i);
        } else {
            i += 1;
        }
    }
    let _ = p.push((s, e));
}

fn update_history(ep: &mut Endpoint, is_orig: bool, s: &Seg, rel_seq: u64, h: &mut History) {
    let bits = u8::from(s.syn) + u8::from(s.fin) + u8::from(s.rst);
    if bits > 1 {
        if s.fin && s.rst {
            h.once(is_orig, 'I');
        } else {
            h.once(is_orig, 'Q');
        }
    } else if bits == 1 {
        if s.syn {
            let code = if s.ackf { 'H' } else { 'S' };
            if h.once_masked(is_orig, 'S', code) && rel_seq != ep.hist_last_syn {
                h.add(is_orig, code);
            }
            ep.hist_last_syn = rel_seq;
        }
        if s.fin {
            let at = rel_seq + u64::from(s.len);
            if h.once(is_orig, 'F') && at != ep.hist_last_fin {
                h.add(is_orig, 'F');
            }
            ep.hist_last_fin = at;
        }
        if s.rst {
            if h.once(is_orig, 'R') && rel_seq != ep.hist_last_rst {
                h.add(is_orig, 'R');
            }
            ep.hist_last_rst = rel_seq;
        }
    } else if s.len > 0 {
        h.once(is_orig, 'D');
    } else if s.ackf {
        h.once(is_orig, 'A');
    }
}

/// Zeek's per-state transitions; returns whether the segment closed or reset
/// the connection.
fn update_state(
    ep: &mut Endpoint,
    peer: &mut Endpoint,
    is_orig: bool,
    s: &Seg,
    _h: &mut History,
) -> bool {
    let mut do_close = false;
    match ep.state {
        State::Inactive => {
            if s.syn {
                if is_orig {
                    ep.set_state(if s.ackf {
                        State::SynAckSent
                    } else {
                        State::SynSent
                    });
                } else {
                    if peer.state == State::SynSent {
                        peer.set_state(State::Established);
                    }
                    ep.set_state(State::Established);
                }
            }
            if s.fin {
                ep.set_state(State::Closed);
                do_close = true;
            }
            if s.rst {
                ep.set_state(State::Reset);
                do_close = true;
            }
            if ep.state == State::Inactive {
                if !is_orig && s.len == 0 && peer.state == State::SynSent {
                    // Eccentric stacks ack a SYN before replying to it: that
                    // ack alone does not make a partial connection.
                } else if s.ackf && peer.state == State::Established {
                    // The ack completing a handshake whose SYN was not seen.
                    ep.set_state(State::Established);
                } else {
                    ep.set_state(State::Partial);
                }
            }
        }
        State::SynSent | State::SynAckSent => {
            if s.fin {
                ep.set_state(State::Closed);
                do_close = true;
            }
            if s.rst {
                ep.set_state(State::Reset);
                do_close = true;
            }
        }
        State::Established | State::Partial => {
            if s.syn && ep.state == State::Partial && peer.state == State::Inactive && !s.ackf {
                ep.set_state(State::SynSent);
            }
            if s.fin && !s.rst {
                ep.set_state(State::Closed);
                if peer.state == State::Reset && peer.prev_state == State::Closed {
                    // A FIN then RST from the peer was a normal close.
                    peer.set_state(State::Closed);
                }
                do_close = true;
            }
            if s.rst {
                ep.set_state(State::Reset);
                do_close = true;
            }
        }
        State::Closed => {
            // A reset after both sides closed ends nothing more.
            if s.rst && peer.state != State::Closed {
                ep.set_state(State::Reset);
                do_close = true;
            }
        }
        State::Reset => {}
    }
    do_close
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_segments_after_one_hole_leaves_only_the_hole_missing() {
        let mut ep = Endpoint {
            next_seq: 1,
            ..Endpoint::default()
        };
        assert_eq!(ep.receive(1, 100), (Some((0, 100)), 0));
        // 101..1541 is lost; ten segments follow it in order.
        for i in 0..10 {
            assert_eq!(ep.receive(1541 + i * 1440, 1440), (None, 0));
        }
        assert_eq!(ep.trim_to(1541 + 10 * 1440), (1440, 10 * 1440));
        assert_eq!(ep.next_seq, 1541 + 10 * 1440);
        assert!(ep.pending.is_none());
    }

    #[test]
    fn disjoint_holes_are_counted_each() {
        let mut ep = Endpoint {
            next_seq: 1,
            ..Endpoint::default()
        };
        // Holes at 1..11, 21..31 and 41..51; ranges out of order.
        ep.receive(31, 10);
        ep.receive(11, 10);
        ep.receive(51, 10);
        assert_eq!(ep.trim_to(61), (30, 30));
        // A segment filling the gap between two ranges joins them.
        let mut ep = Endpoint {
            next_seq: 1,
            ..Endpoint::default()
        };
        ep.receive(11, 10);
        ep.receive(31, 10);
        ep.receive(21, 10);
        assert_eq!(ep.pending.as_ref().map(|p| p.len()), Some(1));
        // The filler is delivered; the joined range after it was not kept.
        assert_eq!(ep.receive(1, 10), (Some((0, 10)), 30));
        assert_eq!(ep.next_seq, 41);
    }
}
