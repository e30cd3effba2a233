//! Application glue: a connection's payload to its parser session, and the
//! records of a connection that ended.

use super::expected::ExpectedConns;
use super::*;
use crate::over_ip::detect::{Gathered, DPD_BUFFER_BYTES};
use crate::over_ip::AppParser;

/// Connections with application state, and their bounds.
pub(super) struct AppFlows {
    /// Connections followed by a parser, at most `limit`.
    pub live: usize,
    pub limit: usize,
    /// Undecided TCP connections gathering their first bytes, at most
    /// `gather_limit`.
    pub gathering: usize,
    pub gather_limit: usize,
}

impl AppFlows {
    /// A connection ends: what it held is given back.
    fn release(&mut self, c: &Conn) {
        if c.app.is_some() {
            self.live = self.live.saturating_sub(1);
        }
        if c.gathered.is_some() {
            self.gathering = self.gathering.saturating_sub(1);
        }
    }
}

/// Hands payload to the connection's application session, creating it when
/// a parser recognises the payload and `limits.app_flows` allows.
#[allow(clippy::too_many_arguments)]
pub(super) fn app_data(
    c: &mut Conn,
    ts: i64,
    dir: Dir,
    data: &[u8],
    ip_len: u32,
    sink: &mut RecordSink,
    assets: &mut AssetTable,
    apps: &mut AppFlows,
    stats: &mut Stats,
    expected: &mut ExpectedConns,
    mut feed: impl FnMut(&mut Session, &mut over_ip::Ctx<'_, '_>, Dir, &[u8]),
) {
    if data.is_empty() {
        return;
    }
    let partial = c.tcp.as_ref().is_some_and(|t| t.partial());
    // The bytes gathered before the parser was chosen, and how many of
    // `data`'s are among them: the parser is given them first.
    let mut replay = None;
    if c.app.is_none() {
        let Some((parser, gathered)) = recognise(c, dir, data, partial, apps, stats) else {
            return;
        };
        if apps.live >= apps.limit {
            stats.app_flows_denied += 1;
            return;
        }
        apps.live += 1;
        replay = gathered;
        c.app = Some(Box::new(Session::new(parser, uid_string(c.uid))));
    }
    if partial && c.app.as_ref().is_some_and(|s| s.needs_start()) {
        return;
    }
    let Some(mut session) = c.app.take() else {
        return;
    };
    let mut dir = dir;
    // Data gathered before the parser was chosen started the stream: the
    // flip is asked of a message's start only.
    if replay.is_none() {
        match c.tcp {
            None if session.flips_roles(&c.id, dir, data, (c.orig.pkts, c.resp.pkts)) => {
                c.flip_midway();
                dir = dir.other();
            }
            // The counts go with their hosts but for this packet (see
            // `Conn::flip_stream_midway`): the responder's so far, and
            // this one, are the new originator's.
            Some(_) if session.flips_roles(&c.id, dir, data, (1, c.resp.pkts)) => {
                c.flip_stream_midway(ip_len);
                dir = dir.other();
            }
            _ => {}
        }
    }
    let before = session.overflowed;
    in_context(c, &mut session, ts, sink, assets, |s, ctx| match replay {
        Some((g, kept)) => {
            g.replay(|d, b| feed(s, ctx, d, b));
            if let Some(rest) = data.get(kept..).filter(|r| !r.is_empty()) {
                feed(s, ctx, dir, rest);
            }
        }
        None => feed(s, ctx, dir, data),
    });
    stats.app_bytes_overflowed += session.overflowed - before;
    for e in session.expected() {
        expected.add(ts, e);
    }
    note_service(c, &session);
    c.app = Some(session);
}

/// The bytes an undecided connection gathered, and how many of the
/// current payload's are among them.
type Replay = (Box<Gathered>, usize);

/// Looks for the connection's protocol in `data`, as Zeek's DPD does over
/// the first bytes of each TCP direction put back together (see
/// [`over_ip::detect`]), and in each of the first payloads on its own
/// (which also finds a session whose start the sensor never saw). Returns
/// the parser, with the gathered bytes when it was found on them.
fn recognise(
    c: &mut Conn,
    dir: Dir,
    data: &[u8],
    partial: bool,
    apps: &mut AppFlows,
    stats: &mut Stats,
) -> Option<(Box<dyn AppParser>, Option<Replay>)> {
    let accept = |p: Box<dyn AppParser>| (!partial || !p.needs_start()).then_some(p);
    let probe = |bytes: &[u8]| over_ip::probe(c.id.proto, &c.id, dir, bytes).and_then(accept);
    let alone = c.app_probes_left > 0;
    c.app_probes_left = c.app_probes_left.saturating_sub(1);
    if let Some(mut g) = c.gathered.take() {
        let earlier = !g.bytes(dir).is_empty();
        let kept = g.push(dir, data);
        // The direction's first payload is looked at whole, kept or not.
        let joined = if earlier { g.bytes(dir) } else { data };
        if let Some(p) = probe(joined) {
            apps.gathering -= 1;
            c.gather_done = true;
            return Some((p, Some((g, kept))));
        }
        if g.full() {
            apps.gathering -= 1;
            c.gather_done = true;
        } else {
            c.gathered = Some(g);
        }
        // Found on this payload alone, the bytes before it are not the
        // protocol's start: they are left out.
        let p = if earlier && alone { probe(data) } else { None }?;
        if c.gathered.take().is_some() {
            apps.gathering -= 1;
            c.gather_done = true;
        }
        return Some((p, None));
    }
    if alone {
        if let Some(p) = probe(data) {
            return Some((p, None));
        }
    }
    if c.tcp.is_none() || c.gather_done {
        return None;
    }
    // The first payload did not tell: gather from it on.
    c.gather_done = true;
    if data.len() > DPD_BUFFER_BYTES {
        return None;
    }
    if apps.gathering >= apps.gather_limit {
        stats.dpd_buffers_refused += 1;
        return None;
    }
    let mut g = Box::<Gathered>::default();
    g.push(dir, data);
    apps.gathering += 1;
    c.gathered = Some(g);
    c.gather_done = false;
    None
}

/// `len` bytes of `dir` were lost (a TCP content gap): the parser is told,
/// and an undecided connection's first bytes can no longer be put back
/// together.
pub(super) fn gap(c: &mut Conn, dir: Dir, len: u64, apps: &mut AppFlows) {
    if let Some(a) = c.app.as_mut() {
        a.content_gap(dir, len);
    }
    if c.gathered.take().is_some() {
        apps.gathering -= 1;
        c.gather_done = true;
    }
}

/// Runs `f` on a connection's session with the application context; the
/// session's uid is lent to the context meanwhile.
pub(super) fn in_context(
    c: &Conn,
    session: &mut Session,
    ts: i64,
    sink: &mut RecordSink,
    assets: &mut AssetTable,
    f: impl FnOnce(&mut Session, &mut over_ip::Ctx<'_, '_>),
) {
    let uid = std::mem::take(&mut session.uid);
    let mut out = Output {
        records: sink,
        assets,
    };
    let mut ctx = over_ip::Ctx {
        ts,
        flow: FlowRef {
            uid: &uid,
            id: &c.id,
            orig_mac: c.orig_mac,
            resp_mac: c.resp_mac,
            vlan: c.vlan,
        },
        out: &mut out,
    };
    f(session, &mut ctx);
    session.uid = uid;
}

/// A parser may learn more as it goes (cotp, then s7comm-plus); an empty
/// name means not confirmed yet.
pub(super) fn note_service(c: &mut Conn, session: &Session) {
    let name = session.service();
    if !name.is_empty() {
        c.service = Some(name);
    }
}

/// Logs a connection that ended, expired or was evicted.
pub(super) fn close_conn(
    mut c: Conn,
    ts: i64,
    evicted: bool,
    sink: &mut RecordSink,
    assets: &mut AssetTable,
    apps: &mut AppFlows,
) {
    let mut sent = (c.orig.pkts > 0, c.resp.pkts > 0);
    apps.release(&c);
    if let Some(mut s) = c.app.take() {
        in_context(&c, &mut s, ts, sink, assets, |s, ctx| s.finish(ctx));
        note_service(&mut c, &s);
        sent = s.senders((c.orig.pkts, c.resp.pkts));
    }
    if let Some(m) = c.orig_mac {
        if sent.0 {
            assets.observe_host(c.start, m, Some(c.id.orig_h), c.vlan);
        }
    }
    if let Some(m) = c.resp_mac {
        if sent.1 {
            assets.observe_host(c.start, m, Some(c.id.resp_h), c.vlan);
        }
    }
    sink.push(c.record(false, evicted));
}

#[cfg(test)]
mod tests {
    use crate::engine::{Engine, Options};
    use crate::limits::Limits;
    use crate::packet::LinkType;
    use osect_trafficgen::frame::Host;
    use osect_trafficgen::pcap::Capture;
    use osect_trafficgen::tcp::TcpConn;
    use osect_wire::Value;
    use std::net::Ipv4Addr;

    const T0: i64 = 1_700_000_000_000_000;

    fn host(last: u8) -> Host {
        Host {
            mac: [0x00, 0x1b, 0x1b, 0x00, 0x04, last],
            ip: Ipv4Addr::new(10, 6, 0, last),
        }
    }

    /// A client on `port` sending an HTTP request line in pieces from `t`.
    fn pieces(cap: &mut Capture, client: u8, port: u16, t: i64) {
        let mut c = TcpConn::new(host(client), port, host(80), 80, None, (1_000, 9_000));
        let t = c.handshake(cap, t);
        let request = b"GET /a HTTP/1.1\r\nHost: plc\r\n\r\n";
        let t = c.send_split(cap, t + 1_000, true, request, &[1, 2, 3]);
        c.close(cap, t + 1_000);
    }

    /// The services conn.log names, by client port.
    fn services(frames: &[(i64, Vec<u8>)], limits: &Limits) -> (Vec<(i64, String)>, u64) {
        let mut e = Engine::new(limits, Options::default());
        for (ts, f) in frames {
            e.handle_packet(*ts, LinkType::ETHERNET, f);
        }
        e.finish(T0 + 60_000_000);
        let mut out: Vec<(i64, String)> = e
            .take_records()
            .into_iter()
            .filter(|r| r.schema.path == "conn")
            .map(|r| {
                let port = match r.get("id.orig_p") {
                    Some(Value::Port(p)) => i64::from(*p),
                    _ => -1,
                };
                let service = match r.get("service") {
                    Some(Value::Str(s)) => s.to_string(),
                    _ => "-".to_owned(),
                };
                (port, service)
            })
            .collect();
        out.sort();
        (out, e.stats().dpd_buffers_refused)
    }

    /// With room for one gathering connection, a second one undecided at
    /// the same time is refused and counted; once the first is decided its
    /// buffer is free again for a third.
    #[test]
    fn gathering_is_bounded_and_freed_when_decided() {
        let mut cap = Capture::new();
        pieces(&mut cap, 1, 40001, T0);
        pieces(&mut cap, 2, 40002, T0 + 100);
        pieces(&mut cap, 3, 40003, T0 + 1_000_000);
        let mut frames: Vec<(i64, Vec<u8>)> =
            cap.frames().map(|(ts, f)| (ts, f.to_vec())).collect();
        frames.sort_by_key(|(ts, _)| *ts);
        let one = Limits {
            dpd_buffers: 1,
            ..Limits::default()
        };
        let (named, refused) = services(&frames, &one);
        let want = |second: &str| {
            vec![
                (40001, "http".to_owned()),
                (40002, second.to_owned()),
                (40003, "http".to_owned()),
            ]
        };
        assert_eq!(named, want("-"));
        assert_eq!(refused, 1);
        let (named, refused) = services(&frames, &Limits::default());
        assert_eq!(named, want("http"));
        assert_eq!(refused, 0);
    }
}
