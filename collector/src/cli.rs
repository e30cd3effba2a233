//! The analysis commands of `osect-collector` (`assets`, `comms`, `alerts`,
//! `diff`, `baseline`, `zones`, `maintenance`, `analyse`, `reanalyse`):
//! aligned text tables by default, `--json` for scripts.

use crate::analyse::Analyser;
use crate::ledger::{AlertFilter, LedgerError};
use crate::store::{now_us, Store};
use clap::{Args, Subcommand};
use osect_analysis::coverage::coverage;
use osect_analysis::diff::{diff, Period};
use osect_analysis::{AlertKind, AlertState, Registry, SiteState, Subnet, Window, Zone};
use serde_json::json;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum AnalysisCmd {
    /// The asset ledger of a site: every device with its identity.
    Assets {
        #[command(flatten)]
        site: SiteArg,
        /// Only this device (its key, MAC or IP).
        #[arg(long)]
        device: Option<String>,
        /// Only devices with this role (`s7_plc`, `modbus_client`, ...).
        #[arg(long)]
        role: Option<String>,
        /// Only devices whose vendor contains this text.
        #[arg(long)]
        vendor: Option<String>,
        /// Only devices speaking this protocol, as client or server.
        #[arg(long)]
        protocol: Option<String>,
        #[command(flatten)]
        when: Between,
        #[arg(long)]
        json: bool,
    },
    /// The communication map: pairs, busiest first, with their operations.
    Comms {
        #[command(flatten)]
        site: SiteArg,
        /// Only pairs of this device.
        #[arg(long)]
        device: Option<String>,
        /// At most this many pairs.
        #[arg(long, default_value_t = 50)]
        top: usize,
        #[command(flatten)]
        when: Between,
        #[arg(long)]
        json: bool,
    },
    /// Alerts, newest first; acknowledge, approve into the baseline or dismiss one.
    Alerts {
        #[arg(long)]
        store: PathBuf,
        /// The site (all sites when absent, for listing).
        #[arg(long)]
        site: Option<String>,
        /// open, acknowledged, approved, dismissed, or active (open and acknowledged).
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        device: Option<String>,
        #[arg(long, value_parser = parse_time)]
        from: Option<i64>,
        #[arg(long, value_parser = parse_time)]
        to: Option<i64>,
        #[arg(long, conflicts_with_all = ["approve", "dismiss"])]
        ack: Option<u64>,
        #[arg(long, conflicts_with = "dismiss")]
        approve: Option<u64>,
        #[arg(long)]
        dismiss: Option<u64>,
        /// Who acts, for the alert's history and the audit log.
        #[arg(long, default_value = "cli")]
        by: String,
        #[arg(long)]
        note: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// What differs between two periods of a site.
    Diff {
        #[command(flatten)]
        site: SiteArg,
        #[arg(long, value_parser = parse_time)]
        a_from: i64,
        #[arg(long, value_parser = parse_time)]
        a_to: i64,
        #[arg(long, value_parser = parse_time)]
        b_from: i64,
        #[arg(long, value_parser = parse_time)]
        b_to: i64,
        #[arg(long)]
        json: bool,
    },
    /// Baseline status and coverage; set the learning period or restart it.
    Baseline {
        #[command(flatten)]
        site: SiteArg,
        /// The learning period in days (fractions allowed).
        #[arg(long)]
        learning_days: Option<f64>,
        /// Learn again from now (or from --at) for one learning period.
        #[arg(long)]
        restart: bool,
        #[arg(long, value_parser = parse_time, requires = "restart")]
        at: Option<i64>,
        #[arg(long, default_value = "cli")]
        by: String,
        #[arg(long)]
        json: bool,
    },
    /// Zones (subnets or VLANs) and the zone pairs allowed to talk.
    Zones {
        #[command(flatten)]
        site: SiteArg,
        /// Define or replace a zone.
        #[arg(long)]
        set: Option<String>,
        /// The zone's subnets (repeat), with --set.
        #[arg(long, requires = "set")]
        subnet: Vec<String>,
        /// The zone's VLANs (repeat), with --set.
        #[arg(long, requires = "set")]
        vlan: Vec<u64>,
        #[arg(long)]
        remove: Option<String>,
        /// Two zones allowed to talk.
        #[arg(long, num_args = 2, value_names = ["ZONE", "ZONE"])]
        allow: Option<Vec<String>>,
        #[arg(long, default_value = "cli")]
        by: String,
        #[arg(long)]
        json: bool,
    },
    /// Maintenance windows: new items are learned, not alerted.
    Maintenance {
        #[command(flatten)]
        site: SiteArg,
        /// Add a window from --from to --to.
        #[arg(long, requires_all = ["from", "to"])]
        add: bool,
        #[arg(long, value_parser = parse_time)]
        from: Option<i64>,
        #[arg(long, value_parser = parse_time)]
        to: Option<i64>,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long, default_value = "cli")]
        by: String,
        #[arg(long)]
        json: bool,
    },
    /// Analyse stored batches not analysed yet (the collector does this as
    /// batches arrive; after an import, or without `serve`, run it).
    Analyse {
        #[arg(long)]
        store: PathBuf,
    },
    /// Rebuild a site's analysis from its stored batches (settings and
    /// approvals are kept).
    Reanalyse {
        #[command(flatten)]
        site: SiteArg,
        #[arg(long, default_value = "cli")]
        by: String,
    },
}

/// Only items active between two times.
#[derive(Args)]
pub struct Between {
    /// Seen at or after this time (Unix seconds or YYYY-MM-DDTHH:MM:SSZ).
    #[arg(long, value_parser = parse_time)]
    pub from: Option<i64>,
    /// Seen before this time.
    #[arg(long, value_parser = parse_time)]
    pub to: Option<i64>,
}

impl Between {
    fn holds(&self, first_seen: i64, last_seen: i64) -> bool {
        self.from.is_none_or(|f| last_seen >= f) && self.to.is_none_or(|t| first_seen < t)
    }
}

#[derive(Args)]
pub struct SiteArg {
    #[arg(long)]
    pub store: PathBuf,
    #[arg(long)]
    pub site: String,
}

/// The analysis' view of the engine's protocol descriptors.
pub fn registry() -> Registry {
    let infos: Vec<&'static osect_wire::protocol::ProtocolInfo> = osect_engine::protocols::REGISTRY
        .iter()
        .map(|d| &d.info)
        .collect();
    Registry::new(&infos)
}

/// Unix seconds (with an optional fraction) or `YYYY-MM-DDTHH:MM:SS[Z]`, to µs.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() || f.abs() > 1e13 {
            return Err(format!("{s:?}: out of range"));
        }
        return Ok((f * 1e6) as i64);
    }
    let bad = || format!("{s:?}: expected Unix seconds or YYYY-MM-DDTHH:MM:SSZ");
    let t = s.trim_end_matches('Z');
    let (date, time) = t.split_once('T').ok_or_else(bad)?;
    let d: Vec<i64> = date
        .split('-')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let h: Vec<i64> = time
        .split(':')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let ([y, m, dd], [hh, mm, ss]) = (d.as_slice(), h.as_slice()) else {
        return Err(bad());
    };
    if !(1..=12).contains(m) || !(1..=31).contains(dd) || *hh > 23 || *mm > 59 || *ss > 60 {
        return Err(bad());
    }
    // Days from civil (H. Hinnant).
    let y = if *m <= 2 { y - 1 } else { *y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + dd - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1_000_000)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a time in µs.
pub fn utc(us: i64) -> String {
    let (date, time) = civil(us);
    format!("{date}T{time}Z")
}

/// `YYYY-MM-DD HH:MM:SS` in a zone `offset_secs` east of UTC.
pub fn local(us: i64, offset_secs: i32) -> String {
    let (date, time) = civil(us + i64::from(offset_secs) * 1_000_000);
    format!("{date} {time}")
}

fn civil(us: i64) -> (String, String) {
    let secs = us.div_euclid(1_000_000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil from days (H. Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60),
    )
}

/// A length of time for people: minutes, hours or days.
pub fn span(us: i64) -> String {
    let min = us / 60_000_000;
    if min < 120 {
        format!("{min} min")
    } else if min < 48 * 60 {
        format!("{:.1} h", min as f64 / 60.0)
    } else {
        format!("{:.1} days", min as f64 / 1440.0)
    }
}

/// Prints rows as columns padded to their widest cell.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        println!("{}", s.trim_end());
    };
    line(headers.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}

fn or_dash(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

fn join(set: &std::collections::BTreeSet<String>) -> String {
    if set.is_empty() {
        "-".into()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(",")
    }
}

/// Whether a device matches a `--device` argument: its key, MAC or an IP.
pub fn device_matches(d: &osect_analysis::Device, q: &str) -> bool {
    d.key.0 == q || d.mac.as_deref() == Some(q) || d.ips.contains(q)
}

fn state_of(store: &Store, site: &str) -> Result<SiteState, LedgerError> {
    store.site_state(site)
}

pub fn run(cmd: AnalysisCmd) -> Result<(), Box<dyn std::error::Error>> {
    match cmd {
        AnalysisCmd::Assets {
            site,
            device,
            role,
            vendor,
            protocol,
            when,
            json,
        } => {
            let store = Store::open(&site.store)?;
            let s = state_of(&store, &site.site)?;
            let off = s.meta.config.utc_offset_secs;
            let list: Vec<&osect_analysis::Device> = s
                .devices
                .values()
                .filter(|d| device.as_deref().is_none_or(|q| device_matches(d, q)))
                .filter(|d| when.holds(d.first_seen, d.last_seen))
                .filter(|d| role.as_deref().is_none_or(|r| d.roles.contains(r)))
                .filter(|d| {
                    vendor.as_deref().is_none_or(|v| {
                        let v = v.to_lowercase();
                        [&d.vendor, &d.oui_vendor]
                            .iter()
                            .any(|x| x.as_deref().is_some_and(|x| x.to_lowercase().contains(&v)))
                    })
                })
                .filter(|d| {
                    protocol.as_deref().is_none_or(|p| {
                        d.client_protocols.contains(p) || d.server_protocols.contains(p)
                    })
                })
                .collect();
            if json {
                let history = store.history(&site.site, device.as_deref())?;
                let v: Vec<_> = list
                    .iter()
                    .map(|d| {
                        let h: Vec<_> = history.iter().filter(|h| h.device == d.key).collect();
                        json!({"device": d, "history": h})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|d| {
                    vec![
                        d.key.0.clone(),
                        join(&d.ips),
                        join(&d.hostnames),
                        or_dash(&d.vendor.clone().or(d.oui_vendor.clone())),
                        or_dash(&d.model.clone().or(d.product.clone())),
                        or_dash(&d.firmware),
                        join(&d.roles),
                        join(&d.server_protocols),
                        local(d.first_seen, off),
                        local(d.last_seen, off),
                        if d.learned.is_some() { "yes" } else { "no" }.into(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "DEVICE",
                    "IPS",
                    "NAMES",
                    "VENDOR",
                    "MODEL",
                    "FIRMWARE",
                    "ROLES",
                    "SERVES",
                    "FIRST SEEN",
                    "LAST SEEN",
                    "BASELINE",
                ],
                &rows,
            );
            println!("{} devices", rows.len());
        }
        AnalysisCmd::Comms {
            site,
            device,
            top,
            when,
            json,
        } => {
            let store = Store::open(&site.store)?;
            let s = state_of(&store, &site.site)?;
            let mut pairs: Vec<&osect_analysis::Pair> = s
                .pairs
                .values()
                .filter(|p| when.holds(p.first_seen, p.last_seen))
                .filter(|p| {
                    device.as_deref().is_none_or(|q| {
                        [&p.key.orig, &p.key.resp]
                            .iter()
                            .any(|k| s.devices.get(*k).is_some_and(|d| device_matches(d, q)))
                    })
                })
                .collect();
            pairs.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.key.cmp(&b.key)));
            pairs.truncate(top);
            let ops_of = |id: String| -> Vec<&osect_analysis::Operation> {
                let prefix = format!("{id}#");
                s.operations
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .map(|(_, o)| o)
                    .collect()
            };
            if json {
                let v: Vec<_> = pairs
                    .iter()
                    .map(|p| json!({"pair": p, "operations": ops_of(p.key.id())}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(());
            }
            let label = |k: &osect_analysis::DeviceKey| {
                s.devices
                    .get(k)
                    .map(|d| d.label())
                    .unwrap_or_else(|| k.0.clone())
            };
            let mut rows = Vec::new();
            for p in &pairs {
                let ops = ops_of(p.key.id());
                let ops_text: Vec<String> = ops
                    .iter()
                    .map(|o| {
                        let cyc = o
                            .cycle
                            .period()
                            .map(|m| format!(" every {:.0} ms", m / 1000.0))
                            .unwrap_or_default();
                        format!("{}:{} x{}{cyc}", o.log, o.name, o.count)
                    })
                    .collect();
                rows.push(vec![
                    label(&p.key.orig),
                    label(&p.key.resp),
                    format!("{}/{}", p.key.proto, p.key.port),
                    join(&p.services),
                    p.connections.to_string(),
                    p.packets.to_string(),
                    p.bytes.to_string(),
                    if ops_text.is_empty() {
                        "-".into()
                    } else {
                        ops_text.join("; ")
                    },
                ]);
            }
            print_table(
                &[
                    "CLIENT",
                    "SERVER",
                    "PORT",
                    "SERVICES",
                    "CONNS",
                    "PACKETS",
                    "BYTES",
                    "OPERATIONS",
                ],
                &rows,
            );
            println!("{} of {} pairs", rows.len(), s.pairs.len());
        }
        AnalysisCmd::Alerts {
            store,
            site,
            state,
            kind,
            device,
            from,
            to,
            ack,
            approve,
            dismiss,
            by,
            note,
            json,
        } => {
            let mut store = Store::open(&store)?;
            let action = [
                (ack, AlertState::Acknowledged),
                (approve, AlertState::Approved),
                (dismiss, AlertState::Dismissed),
            ]
            .into_iter()
            .find_map(|(id, st)| id.map(|id| (id, st)));
            if let Some((id, st)) = action {
                let site = site.ok_or("--site is needed to act on an alert")?;
                let a = store.act_on_alert(&site, id, st, &by, note)?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&a)?);
                } else {
                    println!("alert {} of site {}: {}", a.id, a.site, a.state.as_str());
                }
                return Ok(());
            }
            let mut f = AlertFilter {
                from,
                to,
                device,
                ..AlertFilter::default()
            };
            match state.as_deref() {
                None => {}
                Some("active") => f.active = true,
                Some(s) => {
                    f.state = Some(AlertState::parse(s).ok_or_else(|| {
                        format!(
                        "--state {s:?}: expected open, acknowledged, approved, dismissed or active"
                    )
                    })?)
                }
            }
            if let Some(k) = &kind {
                f.kind = Some(AlertKind::parse(k).ok_or_else(|| {
                    let all: Vec<&str> = AlertKind::ALL.iter().map(|k| k.as_str()).collect();
                    format!("--kind {k:?}: expected one of {}", all.join(", "))
                })?);
            }
            let alerts = store.alerts(site.as_deref(), &f)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&alerts)?);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = alerts
                .iter()
                .map(|a| {
                    vec![
                        a.site.clone(),
                        a.id.to_string(),
                        a.severity.as_str().into(),
                        a.kind.as_str().into(),
                        a.state.as_str().into(),
                        utc(a.first_seen),
                        a.count.to_string(),
                        a.title.clone(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "SITE",
                    "ID",
                    "SEVERITY",
                    "KIND",
                    "STATE",
                    "FIRST SEEN (UTC)",
                    "COUNT",
                    "WHAT",
                ],
                &rows,
            );
            println!("{} alerts", rows.len());
        }
        AnalysisCmd::Diff {
            site,
            a_from,
            a_to,
            b_from,
            b_to,
            json,
        } => {
            for (f, t, n) in [(a_from, a_to, "a"), (b_from, b_to, "b")] {
                if t <= f {
                    return Err(format!("period {n} ends before it starts").into());
                }
            }
            let store = Store::open(&site.store)?;
            let s = state_of(&store, &site.site)?;
            let history = store.history(&site.site, None)?;
            let d = diff(
                &s,
                &history,
                Period {
                    from: a_from,
                    to: a_to,
                },
                Period {
                    from: b_from,
                    to: b_to,
                },
            );
            if json {
                println!("{}", serde_json::to_string_pretty(&d)?);
                return Ok(());
            }
            let [dev, pairs, ops] = d.counts();
            println!(
                "devices +{} -{} ~{}, pairs +{} -{}, operations +{} -{}",
                dev.0,
                dev.1,
                d.devices_changed.len(),
                pairs.0,
                pairs.1,
                ops.0,
                ops.1
            );
            let mut rows = Vec::new();
            for k in &d.devices_added {
                rows.push(vec!["+".into(), "device".into(), k.0.clone()]);
            }
            for k in &d.devices_removed {
                rows.push(vec!["-".into(), "device".into(), k.0.clone()]);
            }
            for (k, hs) in &d.devices_changed {
                for h in hs {
                    rows.push(vec![
                        "~".into(),
                        "device".into(),
                        format!(
                            "{k} {}: {} -> {}",
                            h.attribute,
                            or_dash(&h.old),
                            or_dash(&h.new)
                        ),
                    ]);
                }
            }
            for (sign, list) in [("+", &d.pairs_added), ("-", &d.pairs_removed)] {
                for p in list {
                    rows.push(vec![sign.into(), "pair".into(), p.clone()]);
                }
            }
            for (sign, list) in [("+", &d.operations_added), ("-", &d.operations_removed)] {
                for p in list {
                    rows.push(vec![sign.into(), "operation".into(), p.clone()]);
                }
            }
            print_table(&["", "ITEM", "WHAT"], &rows);
        }
        AnalysisCmd::Baseline {
            site,
            learning_days,
            restart,
            at,
            by,
            json,
        } => {
            let mut store = Store::open(&site.store)?;
            if learning_days.is_some() || restart {
                store.change_site(&site.site, &by, "baseline", |s| {
                    if let Some(d) = learning_days {
                        s.meta
                            .config
                            .set_learning((d * 86_400.0).round() as i64)
                            .map_err(|e| e.to_string())?;
                    }
                    if restart {
                        s.restart_learning(at.unwrap_or_else(now_us));
                    }
                    Ok(())
                })?;
            }
            let s = state_of(&store, &site.site)?;
            let c = coverage(&s);
            if json {
                println!("{}", serde_json::to_string_pretty(&c)?);
                return Ok(());
            }
            let off = s.meta.config.utc_offset_secs;
            println!("site {}: {}", site.site, c.status.as_str());
            println!(
                "learning: {} to {} ({} of {} learned)",
                c.learning_start.map_or("-".into(), |t| local(t, off)),
                c.learning_end.map_or("-".into(), |t| local(t, off)),
                span((c.days_learned * osect_analysis::DAY as f64) as i64),
                span(s.meta.config.learning)
            );
            println!(
                "baseline: {}/{} devices, {}/{} pairs, {}/{} operations",
                c.devices_learned,
                c.devices,
                c.pairs_learned,
                c.pairs,
                c.operations_learned,
                c.operations
            );
            let rows: Vec<Vec<String>> = c
                .curve
                .iter()
                .map(|(day, n)| {
                    vec![
                        local(day * osect_analysis::DAY - i64::from(off) * 1_000_000, off)[..10]
                            .to_owned(),
                        n.to_string(),
                    ]
                })
                .collect();
            print_table(&["DAY", "NEW ITEMS"], &rows);
        }
        AnalysisCmd::Zones {
            site,
            set,
            subnet,
            vlan,
            remove,
            allow,
            by,
            json,
        } => {
            let mut store = Store::open(&site.store)?;
            let zone = match &set {
                Some(name) => Some(Zone {
                    name: name.clone(),
                    subnets: subnet
                        .iter()
                        .map(|s| Subnet::parse(s))
                        .collect::<Result<_, _>>()?,
                    vlans: vlan.clone(),
                }),
                None => None,
            };
            let config = if zone.is_some() || remove.is_some() || allow.is_some() {
                store.change_site(&site.site, &by, "zones", |s| {
                    let c = &mut s.meta.config;
                    if let Some(z) = zone {
                        c.set_zone(z).map_err(|e| e.to_string())?;
                    }
                    if let Some(r) = &remove {
                        c.remove_zone(r).map_err(|e| e.to_string())?;
                    }
                    if let Some([a, b]) = allow.as_deref() {
                        c.allow(a, b).map_err(|e| e.to_string())?;
                    }
                    Ok(())
                })?
            } else {
                state_of(&store, &site.site)?.meta.config
            };
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &json!({"zones": config.zones, "allowed": config.allowed})
                    )?
                );
                return Ok(());
            }
            let rows: Vec<Vec<String>> = config
                .zones
                .iter()
                .map(|z| {
                    vec![
                        z.name.clone(),
                        z.subnets
                            .iter()
                            .map(|s| s.to_string())
                            .collect::<Vec<_>>()
                            .join(","),
                        z.vlans
                            .iter()
                            .map(|v| v.to_string())
                            .collect::<Vec<_>>()
                            .join(","),
                        config
                            .allowed
                            .iter()
                            .filter_map(|(a, b)| {
                                if a == &z.name {
                                    Some(b.clone())
                                } else if b == &z.name {
                                    Some(a.clone())
                                } else {
                                    None
                                }
                            })
                            .collect::<Vec<_>>()
                            .join(","),
                    ]
                })
                .collect();
            print_table(&["ZONE", "SUBNETS", "VLANS", "MAY TALK TO"], &rows);
        }
        AnalysisCmd::Maintenance {
            site,
            add,
            from,
            to,
            note,
            by,
            json,
        } => {
            let mut store = Store::open(&site.store)?;
            let config = if add {
                let (Some(start), Some(end)) = (from, to) else {
                    return Err("--add needs --from and --to".into());
                };
                let w = Window {
                    start,
                    end,
                    note: note.chars().take(200).collect(),
                    by: by.clone(),
                };
                store.change_site(&site.site, &by, "maintenance", |s| {
                    s.meta.config.add_window(w).map_err(|e| e.to_string())
                })?
            } else {
                state_of(&store, &site.site)?.meta.config
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&config.maintenance)?);
                return Ok(());
            }
            let off = config.utc_offset_secs;
            let rows: Vec<Vec<String>> = config
                .maintenance
                .iter()
                .map(|w| {
                    vec![
                        local(w.start, off),
                        local(w.end, off),
                        w.by.clone(),
                        w.note.clone(),
                    ]
                })
                .collect();
            print_table(&["FROM", "TO", "BY", "NOTE"], &rows);
        }
        AnalysisCmd::Analyse { store } => {
            let mut store = Store::open(&store)?;
            let mut a = Analyser::new(registry());
            let mut total = 0;
            loop {
                let n = a.run_pending(&mut store)?;
                if n == 0 {
                    break;
                }
                total += n;
            }
            println!("analysed {total} batches");
        }
        AnalysisCmd::Reanalyse { site, by } => {
            let mut store = Store::open(&site.store)?;
            let mut a = Analyser::new(registry());
            let n = a.reanalyse(&mut store, &site.site, &by)?;
            println!("site {}: analysed {n} batches again", site.site);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_and_print() {
        assert_eq!(parse_time("1700000000"), Ok(1_700_000_000_000_000));
        assert_eq!(parse_time("1700000000.5"), Ok(1_700_000_000_500_000));
        assert_eq!(
            parse_time("2023-11-14T22:13:20Z"),
            Ok(1_700_000_000_000_000)
        );
        assert_eq!(parse_time("2024-02-29T00:00:00"), Ok(1_709_164_800_000_000));
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("2024-02-29").is_err());
        assert!(parse_time("2024-13-01T00:00:00Z").is_err());
        assert!(parse_time("1e300").is_err());
        assert_eq!(utc(1_700_000_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc(1_709_164_800_000_000), "2024-02-29T00:00:00Z");
        assert_eq!(
            local(1_700_000_000_000_000, 9 * 3600),
            "2023-11-15 07:13:20"
        );
    }
}
