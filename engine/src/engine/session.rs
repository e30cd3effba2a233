//! Application glue: a connection's payload to its parser session, and the
//! records of a connection that ended.

use super::expected::ExpectedConns;
use super::*;

/// Hands payload to the connection's application session, creating it when
/// a parser recognises the payload and `limits.app_flows` allows.
#[allow(clippy::too_many_arguments)]
pub(super) fn app_data(
    c: &mut Conn,
    ts: i64,
    dir: Dir,
    data: &[u8],
    sink: &mut RecordSink,
    assets: &mut AssetTable,
    app_live: &mut usize,
    app_limit: usize,
    stats: &mut Stats,
    expected: &mut ExpectedConns,
    feed: impl FnOnce(&mut Session, &mut over_ip::Ctx<'_, '_>, &[u8]),
) {
    if data.is_empty() {
        return;
    }
    let partial = c.tcp.as_ref().is_some_and(|t| t.partial());
    if c.app.is_none() {
        // Recognised on the first payloads of either direction (possibly
        // the middle of a session whose start the sensor never saw).
        if c.app_probes_left == 0 {
            return;
        }
        c.app_probes_left -= 1;
        let Some(parser) = over_ip::probe(c.id.proto, &c.id, dir, data) else {
            return;
        };
        if partial && parser.needs_start() {
            return;
        }
        if *app_live >= app_limit {
            stats.app_flows_denied += 1;
            return;
        }
        *app_live += 1;
        c.app = Some(Box::new(Session::new(parser, uid_string(c.uid))));
    }
    if partial && c.app.as_ref().is_some_and(|s| s.needs_start()) {
        return;
    }
    let Some(mut session) = c.app.take() else {
        return;
    };
    let before = session.overflowed;
    in_context(c, &mut session, ts, sink, assets, |s, ctx| {
        feed(s, ctx, data)
    });
    stats.app_bytes_overflowed += session.overflowed - before;
    for e in session.expected() {
        expected.add(ts, e);
    }
    note_service(c, &session);
    c.app = Some(session);
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
    app_live: &mut usize,
) {
    if let Some(mut s) = c.app.take() {
        *app_live = app_live.saturating_sub(1);
        in_context(&c, &mut s, ts, sink, assets, |s, ctx| s.finish(ctx));
        note_service(&mut c, &s);
    }
    if let Some(m) = c.orig_mac {
        if c.orig.pkts > 0 {
            assets.observe_host(c.start, m, Some(c.id.orig_h), c.vlan);
        }
    }
    if let Some(m) = c.resp_mac {
        if c.resp.pkts > 0 {
            assets.observe_host(c.start, m, Some(c.id.resp_h), c.vlan);
        }
    }
    sink.push(c.record(false, evicted));
}
