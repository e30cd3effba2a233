//! TCP conversations: handshake, data with acknowledgements, close.

use crate::frame::{ethernet, flags, ipv4, tcp, Host};
use crate::pcap::Capture;

/// Bytes of payload per segment.
pub const MSS: usize = 1460;

/// One TCP connection between a client and a server.
pub struct TcpConn {
    pub client: Host,
    pub server: Host,
    pub cport: u16,
    pub sport: u16,
    pub vlan: Option<u16>,
    cseq: u32,
    sseq: u32,
    ident: u16,
}

/// Microseconds between a segment and the peer's acknowledgement.
const ACK_DELAY: i64 = 150;

impl TcpConn {
    /// A connection whose initial sequence numbers are `isn`.
    pub fn new(
        client: Host,
        cport: u16,
        server: Host,
        sport: u16,
        vlan: Option<u16>,
        isn: (u32, u32),
    ) -> Self {
        TcpConn {
            client,
            server,
            cport,
            sport,
            vlan,
            cseq: isn.0,
            sseq: isn.1,
            ident: (isn.0 >> 16) as u16,
        }
    }

    fn segment(&mut self, cap: &mut Capture, ts: i64, from_client: bool, fl: u8, payload: &[u8]) {
        let (src, dst, sp, dp, seq, ack) = if from_client {
            (
                self.client,
                self.server,
                self.cport,
                self.sport,
                self.cseq,
                self.sseq,
            )
        } else {
            (
                self.server,
                self.client,
                self.sport,
                self.cport,
                self.sseq,
                self.cseq,
            )
        };
        let ack_flag = if fl & flags::SYN != 0 && from_client {
            0
        } else {
            flags::ACK
        };
        let ackno = if ack_flag == 0 { 0 } else { ack };
        let seg = tcp(src.ip, dst.ip, sp, dp, seq, ackno, fl | ack_flag, payload);
        self.ident = self.ident.wrapping_add(1);
        cap.push(
            ts,
            ethernet(
                dst.mac,
                src.mac,
                self.vlan,
                0x0800,
                &ipv4(src.ip, dst.ip, 6, self.ident, &seg),
            ),
        );
        let used = payload.len() as u32 + u32::from(fl & (flags::SYN | flags::FIN) != 0);
        if from_client {
            self.cseq = self.cseq.wrapping_add(used);
        } else {
            self.sseq = self.sseq.wrapping_add(used);
        }
    }

    /// SYN, SYN-ACK, ACK. Returns the time after the handshake.
    pub fn handshake(&mut self, cap: &mut Capture, ts: i64) -> i64 {
        self.segment(cap, ts, true, flags::SYN, &[]);
        self.segment(cap, ts + ACK_DELAY, false, flags::SYN, &[]);
        self.segment(cap, ts + 2 * ACK_DELAY, true, 0, &[]);
        ts + 3 * ACK_DELAY
    }

    /// Sends `payload` in MSS-sized segments, each acknowledged by the peer.
    /// Returns the time after the last acknowledgement.
    pub fn send(&mut self, cap: &mut Capture, ts: i64, from_client: bool, payload: &[u8]) -> i64 {
        let cuts: Vec<usize> = (MSS..payload.len()).step_by(MSS).collect();
        self.send_split(cap, ts, from_client, payload, &cuts)
    }

    /// Sends `payload` cut at the given offsets, one segment per piece, as a
    /// stack that splits a message across segments does.
    pub fn send_split(
        &mut self,
        cap: &mut Capture,
        mut ts: i64,
        from_client: bool,
        payload: &[u8],
        cuts: &[usize],
    ) -> i64 {
        let mut start = 0;
        for end in cuts.iter().copied().chain([payload.len()]) {
            let end = end.clamp(start, payload.len());
            if end > start {
                self.segment(cap, ts, from_client, flags::PSH, &payload[start..end]);
                self.segment(cap, ts + ACK_DELAY, !from_client, 0, &[]);
                ts += 2 * ACK_DELAY;
            }
            start = end;
        }
        ts
    }

    /// FIN from the client, FIN from the server, last ACK.
    pub fn close(&mut self, cap: &mut Capture, ts: i64) -> i64 {
        self.segment(cap, ts, true, flags::FIN, &[]);
        self.segment(cap, ts + ACK_DELAY, false, flags::FIN, &[]);
        self.segment(cap, ts + 2 * ACK_DELAY, true, 0, &[]);
        ts + 3 * ACK_DELAY
    }
}
