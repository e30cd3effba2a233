//! A site's pages: its summary, assets and device pages, communication
//! map, alerts with their actions, the printable report and the CSV
//! downloads. Each reads the site through [`site_data`], which answers 404
//! for a site the caller may not see.

use crate::csv::Table;
use crate::i18n::Msg;
use crate::site::{self, AlertView, AssetFilter, DeviceView, PairView};
use crate::web::{check_name, App, Caller, Data, Failure, SiteView};
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;
use osect_analysis::{AlertKind, AlertState, SiteState};
use osect_collector::ledger::{AlertFilter, LedgerError};
use osect_collector::store::now_us;
use serde::Deserialize;
use std::sync::Arc;

/// Most alerts one list or download holds.
const ALERTS_SHOWN: usize = 1000;
/// Alerts per page of the alerts page: each carries its evidence and
/// forms, and a browser draws 200 of them in well under the 300 ms a page
/// may take.
const ALERTS_PER_PAGE: usize = 100;

/// Page `page` (from 1, 1 when none) of `items`, `per` to a page, and the
/// number of pages; a page out of range is a 400 that names the range.
fn page_of<T>(
    items: Vec<T>,
    per: usize,
    page: Option<usize>,
) -> Result<(Vec<T>, usize, usize), Failure> {
    let pages = items.len().div_ceil(per).max(1);
    let page = page.unwrap_or(1);
    if page == 0 || page > pages {
        return Err(Failure::invalid(
            Msg::new("err_page").arg("pages", pages).arg("value", page),
        ));
    }
    let shown = items.into_iter().skip((page - 1) * per).take(per).collect();
    Ok((shown, page, pages))
}

/// A query without its page, ready for a page number: `a=1&` or empty.
fn page_query<Q: serde::Serialize>(q: &Q) -> String {
    let mut query = serde_urlencoded::to_string(q).unwrap_or_default();
    if !query.is_empty() {
        query.push('&');
    }
    query
}

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/sites/{site}", get(site_page))
        .route("/sites/{site}/assets", get(assets_page))
        .route("/sites/{site}/assets.csv", get(assets_csv))
        .route("/sites/{site}/device", get(device_page))
        .route("/sites/{site}/map", get(map_page))
        .route("/sites/{site}/pair", get(pair_page))
        .route("/sites/{site}/alerts", get(alerts_page))
        .route("/sites/{site}/alerts.csv", get(alerts_csv))
        .route("/sites/{site}/alerts/{id}", post(alert_action))
        .route("/sites/{site}/report", get(report_page))
        .route("/sites/{site}/diff", get(diff_page))
        .route("/sites/{site}/settings", get(settings_page))
        .route("/sites/{site}/maintenance", post(add_maintenance))
        .route("/sites/{site}/zones", post(change_zones))
}

/// A site as one request sees it.
pub(crate) struct SiteData {
    pub view: SiteView,
    pub state: Option<Arc<SiteState>>,
    pub tz: jiff::tz::TimeZone,
}

fn read_site(app: &App, d: &Data, caller: &Caller, site: &str) -> Result<SiteData, Failure> {
    let view = app.site(d, caller, site)?;
    let state = app.state(d, site)?;
    let tz = crate::i18n::time_zone(&view.time_zone).map_err(Failure::internal)?;
    Ok(SiteData { view, state, tz })
}

pub(crate) async fn site_data(
    app: &Arc<App>,
    caller: &Caller,
    site: &str,
) -> Result<SiteData, Failure> {
    let (a, c, s) = (app.clone(), caller.clone(), site.to_owned());
    app.data(move |d| read_site(&a, d, &c, &s)).await
}

/// The devices of a site that pass `filter`, and the filters' choices.
pub(crate) fn assets(
    sd: &SiteData,
    filter: &AssetFilter,
) -> Result<(Vec<DeviceView>, site::FilterChoices), Failure> {
    let since = filter.since_us(&sd.tz).map_err(Failure::invalid)?;
    let Some(s) = &sd.state else {
        return Ok((Vec::new(), site::FilterChoices::default()));
    };
    let all: Vec<DeviceView> = s
        .devices
        .values()
        .map(|d| site::device_view(s, d, &sd.tz))
        .collect();
    let choices = site::choices(&all);
    Ok((
        all.into_iter()
            .filter(|v| filter.matches(v, since))
            .collect(),
        choices,
    ))
}

/// Which alerts: a state (`active` by default: open and acknowledged, or
/// `all`), a kind, a severity.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub(crate) struct AlertQuery {
    pub state: Option<String>,
    pub kind: Option<String>,
    pub severity: Option<String>,
}

impl AlertQuery {
    fn filter(&self) -> Result<AlertFilter, Failure> {
        let mut f = AlertFilter {
            limit: Some(ALERTS_SHOWN),
            ..AlertFilter::default()
        };
        match self.state.as_deref().unwrap_or("active") {
            "active" | "" => f.active = true,
            "all" => {}
            s => {
                f.state = Some(
                    AlertState::parse(s)
                        .ok_or_else(|| Failure::invalid(Msg::new("err_state").arg("value", s)))?,
                )
            }
        }
        if let Some(k) = self.kind.as_deref().filter(|k| !k.is_empty()) {
            f.kind = Some(
                AlertKind::parse(k)
                    .ok_or_else(|| Failure::invalid(Msg::new("err_kind").arg("value", k)))?,
            );
        }
        if let Some(sev) = self.severity.as_deref().filter(|k| !k.is_empty()) {
            if !["low", "medium", "high", "critical"].contains(&sev) {
                return Err(Failure::invalid(Msg::new("err_severity").arg("value", sev)));
            }
        }
        Ok(f)
    }
}

pub(crate) async fn alerts(
    app: &Arc<App>,
    caller: &Caller,
    site: &str,
    q: &AlertQuery,
) -> Result<Vec<AlertView>, Failure> {
    let f = q.filter()?;
    let severity = q.severity.clone().filter(|s| !s.is_empty());
    let (a, c, s) = (app.clone(), caller.clone(), site.to_owned());
    app.data(move |d| {
        let sd = read_site(&a, d, &c, &s)?;
        let list = d.store.alerts(Some(&s), &f).map_err(ledger_failure)?;
        Ok(list
            .iter()
            .filter(|al| {
                severity
                    .as_deref()
                    .is_none_or(|x| al.severity.as_str() == x)
            })
            .map(|al| site::alert_view(sd.state.as_deref(), al, &sd.tz, c.user.lang))
            .collect())
    })
    .await
}

fn too_long(field: &str, max: usize) -> Failure {
    Failure::invalid(Msg::new("err_too_long").arg("field", field).arg("max", max))
}

fn ledger_failure(e: LedgerError) -> Failure {
    match e {
        LedgerError::UnknownAlert { .. } | LedgerError::UnknownSite(_) => Failure::not_found(),
        LedgerError::Rejected { message, .. } => Failure::bad_request(message),
        other => Failure::internal(other),
    }
}

/// Acknowledges, approves or dismisses an alert as `caller`, in the
/// store's and the console's audit logs.
pub(crate) async fn act(
    app: &Arc<App>,
    caller: &Caller,
    site: &str,
    id: u64,
    action: &str,
    note: Option<String>,
) -> Result<AlertView, Failure> {
    let state = match action {
        "acknowledge" => AlertState::Acknowledged,
        "approve" => AlertState::Approved,
        "dismiss" => AlertState::Dismissed,
        other => return Err(Failure::invalid(Msg::new("err_action").arg("value", other))),
    };
    if note.as_ref().is_some_and(|n| n.len() > 1000) {
        return Err(too_long("note", 1000));
    }
    let (a, c, s) = (app.clone(), caller.clone(), site.to_owned());
    let action = action.to_owned();
    app.data(move |d| {
        let sd = read_site(&a, d, &c, &s)?;
        let note = note.filter(|n| !n.is_empty());
        let alert = d
            .store
            .act_on_alert(&s, id, state, &c.user.name, note)
            .map_err(ledger_failure)?;
        d.db.audit(
            now_us(),
            &c.user.name,
            &c.address,
            &format!("alert-{action}"),
            &format!("site={s} alert={id}"),
        )?;
        Ok(site::alert_view(
            sd.state.as_deref(),
            &alert,
            &sd.tz,
            c.user.lang,
        ))
    })
    .await
}

fn render_site(
    app: &App,
    caller: &Caller,
    template: &str,
    path: &str,
    sd: &SiteData,
    tab: &str,
    page: minijinja::Value,
) -> Result<Html<String>, Failure> {
    app.render(
        template,
        Some(caller),
        caller.user.lang,
        path,
        context! { title => tab, site => sd.view, tab => tab, analysed => sd.state.is_some(), ..page },
    )
}

async fn site_page(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
) -> Result<Html<String>, Failure> {
    let sd = site_data(&app, &caller, &site).await?;
    let (a, c, s) = (app.clone(), caller.clone(), site.clone());
    let sensors = app.data(move |d| a.sensors(d, &c, Some(&s))).await?;
    let baseline = sd.state.as_ref().map(|s| site::baseline_view(s, &sd.tz));
    let active = alerts(&app, &caller, &site, &AlertQuery::default()).await?;
    render_site(
        &app,
        &caller,
        "site.html",
        &format!("/sites/{site}"),
        &sd,
        "site",
        context! { sensors => sensors, baseline => baseline, active_alerts => active.len() },
    )
}

async fn assets_page(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
    Query(filter): Query<AssetFilter>,
) -> Result<Html<String>, Failure> {
    let sd = site_data(&app, &caller, &site).await?;
    let (devices, choices) = assets(&sd, &filter)?;
    let total = devices.len();
    let (shown, page, pages) = page_of(devices, site::ASSETS_PER_PAGE, filter.page)?;
    // The filters as a query, for the page links.
    let query = page_query(&AssetFilter {
        page: None,
        ..filter.clone()
    });
    render_site(
        &app,
        &caller,
        "assets.html",
        &format!("/sites/{site}/assets"),
        &sd,
        "assets",
        context! {
            devices => shown, total => total, choices => choices, filter => filter,
            page => page, pages => pages, query => query,
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct KeyQuery {
    pub key: String,
}

/// One device with its history, pairs and alerts.
#[derive(serde::Serialize)]
pub(crate) struct DeviceDetail {
    pub device: DeviceView,
    pub history: Vec<minijinja::Value>,
    pub pairs: Vec<PairView>,
    pub alerts: Vec<AlertView>,
}

pub(crate) async fn device_detail(
    app: &Arc<App>,
    caller: &Caller,
    site: &str,
    key: &str,
) -> Result<DeviceDetail, Failure> {
    check_name("key", key)?;
    let (a, c, s, k) = (app.clone(), caller.clone(), site.to_owned(), key.to_owned());
    app.data(move |d| {
        let sd = read_site(&a, d, &c, &s)?;
        let state = sd.state.as_ref().ok_or_else(Failure::not_found)?;
        let dev = state
            .devices
            .get(&osect_analysis::DeviceKey(k.clone()))
            .ok_or_else(Failure::not_found)?;
        let history = d
            .store
            .history(&s, Some(&k))
            .map_err(ledger_failure)?
            .iter()
            .map(|h| {
                context! {
                    time => crate::i18n::local_time(h.ts, &sd.tz),
                    attribute => h.attribute,
                    old => h.old,
                    new => h.new,
                }
            })
            .collect();
        let pairs = state
            .pairs
            .values()
            .filter(|p| p.key.orig == dev.key || p.key.resp == dev.key)
            .map(|p| site::pair_view(state, p, &sd.tz))
            .collect();
        let f = AlertFilter {
            device: Some(k.clone()),
            limit: Some(ALERTS_SHOWN),
            ..AlertFilter::default()
        };
        let alerts = d
            .store
            .alerts(Some(&s), &f)
            .map_err(ledger_failure)?
            .iter()
            .map(|al| site::alert_view(Some(state), al, &sd.tz, c.user.lang))
            .collect();
        Ok(DeviceDetail {
            device: site::device_view(state, dev, &sd.tz),
            history,
            pairs,
            alerts,
        })
    })
    .await
}

async fn device_page(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
    Query(q): Query<KeyQuery>,
) -> Result<Html<String>, Failure> {
    let sd = site_data(&app, &caller, &site).await?;
    let detail = device_detail(&app, &caller, &site, &q.key).await?;
    render_site(
        &app,
        &caller,
        "device.html",
        &format!("/sites/{site}/assets"),
        &sd,
        "device",
        context! { d => detail },
    )
}

async fn map_page(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
) -> Result<Html<String>, Failure> {
    let sd = site_data(&app, &caller, &site).await?;
    // The roles' display names, for the map to show a selected device's.
    let role_names: std::collections::BTreeMap<&str, &str> = app
        .catalogues
        .get(caller.user.lang)
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("devrole_")?, v.as_str())))
        .collect();
    render_site(
        &app,
        &caller,
        "map.html",
        &format!("/sites/{site}/map"),
        &sd,
        "map",
        context! { role_names => serde_json::to_string(&role_names).map_err(Failure::internal)? },
    )
}

#[derive(Deserialize)]
struct PairQuery {
    orig: String,
    resp: String,
}

/// The pairs between two devices (either way) with their operations: what
/// a line of the map stands for.
async fn pair_page(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
    Query(q): Query<PairQuery>,
) -> Result<Html<String>, Failure> {
    check_name("orig", &q.orig)?;
    check_name("resp", &q.resp)?;
    let sd = site_data(&app, &caller, &site).await?;
    let state = sd.state.as_ref().ok_or_else(Failure::not_found)?;
    let (a, b) = (
        osect_analysis::DeviceKey(q.orig.clone()),
        osect_analysis::DeviceKey(q.resp.clone()),
    );
    let label = |k: &osect_analysis::DeviceKey| state.devices.get(k).map(|d| d.label());
    let (Some(orig_label), Some(resp_label)) = (label(&a), label(&b)) else {
        return Err(Failure::not_found());
    };
    let pairs: Vec<PairView> = state
        .pairs
        .values()
        .filter(|p| (p.key.orig == a && p.key.resp == b) || (p.key.orig == b && p.key.resp == a))
        .map(|p| site::pair_view(state, p, &sd.tz))
        .collect();
    render_site(
        &app,
        &caller,
        "pair.html",
        &format!("/sites/{site}/map"),
        &sd,
        "pair",
        context! {
            d => context! { pairs => pairs }, orig => q.orig, resp => q.resp,
            orig_label => orig_label, resp_label => resp_label,
        },
    )
}

async fn alerts_page(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
    Query(q): Query<AlertQuery>,
    Query(p): Query<PageQuery>,
) -> Result<Html<String>, Failure> {
    let sd = site_data(&app, &caller, &site).await?;
    let list = alerts(&app, &caller, &site, &q).await?;
    let total = list.len();
    let (list, page, pages) = page_of(list, ALERTS_PER_PAGE, p.page)?;
    let kinds: Vec<&str> = AlertKind::ALL.iter().map(|k| k.as_str()).collect();
    render_site(
        &app,
        &caller,
        "alerts.html",
        &format!("/sites/{site}/alerts"),
        &sd,
        "alerts",
        context! {
            alerts => list, total => total, q => q, kinds => kinds,
            page => page, pages => pages, query => page_query(&q),
        },
    )
}

/// The page of a paged list.
#[derive(Deserialize)]
struct PageQuery {
    page: Option<usize>,
}

/// An alert action from a form or the API.
#[derive(Deserialize)]
pub struct ActionForm {
    pub action: String,
    pub note: Option<String>,
}

async fn alert_action(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((site, id)): Path<(String, u64)>,
    Form(f): Form<ActionForm>,
) -> Result<Response, Failure> {
    act(&app, &caller, &site, id, &f.action, f.note).await?;
    let back = format!("/sites/{}/alerts", crate::web::encode_component(&site));
    Ok(Redirect::to(&back).into_response())
}

#[derive(Deserialize)]
struct Period {
    from: Option<String>,
    to: Option<String>,
}

async fn report_page(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
    Query(p): Query<Period>,
) -> Result<Html<String>, Failure> {
    let sd = site_data(&app, &caller, &site).await?;
    let day = |v: &Option<String>| -> Result<Option<i64>, Failure> {
        match v.as_deref().filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => site::parse_day(s, &sd.tz)
                .map(Some)
                .map_err(Failure::invalid),
        }
    };
    let to = day(&p.to)?.map_or(i64::MAX, |t| t + 86_400_000_000);
    let from = day(&p.from)?.unwrap_or(0);
    let (devices, _) = assets(&sd, &AssetFilter::default())?;
    let devices: Vec<DeviceView> = devices
        .into_iter()
        .filter(|d| d.first_seen_us < to && d.last_seen_us >= from)
        .collect();
    let mut protocols: std::collections::BTreeMap<String, usize> = Default::default();
    for d in &devices {
        for p in &d.server_protocols {
            *protocols.entry(p.clone()).or_default() += 1;
        }
    }
    let risky: Vec<(PairView, site::OperationView)> = sd
        .state
        .as_ref()
        .map(|s| {
            s.pairs
                .values()
                .map(|p| site::pair_view(s, p, &sd.tz))
                .flat_map(|pv| {
                    pv.operations
                        .clone()
                        .into_iter()
                        .filter(|o| o.access == "write" || !o.control.is_empty())
                        .map(move |o| (pv.clone(), o))
                })
                .collect()
        })
        .unwrap_or_default();
    let all = alerts(
        &app,
        &caller,
        &site,
        &AlertQuery {
            state: Some("all".into()),
            ..AlertQuery::default()
        },
    )
    .await?;
    let alerts_in: Vec<AlertView> = all.into_iter().filter(|a| a.first_seen_us < to).collect();
    let baseline = sd.state.as_ref().map(|s| site::baseline_view(s, &sd.tz));
    render_site(
        &app,
        &caller,
        "report.html",
        &format!("/sites/{site}/report"),
        &sd,
        "report",
        context! {
            devices => devices, protocols => protocols, risky => risky, alerts => alerts_in,
            baseline => baseline, from => p.from, to => p.to,
            generated => crate::i18n::local_time(now_us(), &sd.tz),
        },
    )
}

async fn assets_csv(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
    Query(filter): Query<AssetFilter>,
) -> Result<Response, Failure> {
    let sd = site_data(&app, &caller, &site).await?;
    let (devices, _) = assets(&sd, &filter)?;
    let mut t = Table::new(&[
        "key",
        "name",
        "mac",
        "vlan",
        "ips",
        "hostnames",
        "vendor",
        "product",
        "model",
        "firmware",
        "serial",
        "os",
        "roles",
        "zone",
        "client_protocols",
        "server_protocols",
        "first_seen",
        "last_seen",
        "baseline",
    ]);
    for d in &devices {
        t.row(&[
            &d.key,
            &d.label,
            &d.mac,
            &d.vlan,
            &d.ips.join(" "),
            &d.hostnames.join(" "),
            &d.vendor,
            &d.product,
            &d.model,
            &d.firmware,
            &d.serial,
            &d.os,
            &d.roles.join(" "),
            &d.zone,
            &d.client_protocols.join(" "),
            &d.server_protocols.join(" "),
            &d.first_seen,
            &d.last_seen,
            &d.learned,
        ]);
    }
    Ok(t.into_download(&format!("assets-{}.csv", file_safe(&site))))
}

async fn alerts_csv(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
    Query(q): Query<AlertQuery>,
) -> Result<Response, Failure> {
    let list = alerts(&app, &caller, &site, &q).await?;
    let mut t = Table::new(&[
        "id",
        "kind",
        "severity",
        "state",
        "title",
        "devices",
        "first_seen",
        "last_seen",
        "count",
        "handling",
    ]);
    for a in &list {
        let devices: Vec<&str> = a.devices.iter().map(|(_, l)| l.as_str()).collect();
        let handling: Vec<String> = a
            .actions
            .iter()
            .map(|x| format!("{} {} {}", x.state, x.by, x.at))
            .collect();
        t.row(&[
            &a.id.to_string(),
            &a.kind,
            &a.severity,
            &a.state,
            &a.title,
            &devices.join(" "),
            &a.first_seen,
            &a.last_seen,
            &a.count.to_string(),
            &handling.join("; "),
        ]);
    }
    Ok(t.into_download(&format!("alerts-{}.csv", file_safe(&site))))
}

/// A site name as part of a download's file name.
fn file_safe(site: &str) -> String {
    site.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Two periods of whole days (site time), `to` inclusive.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct DiffQuery {
    pub a_from: Option<String>,
    pub a_to: Option<String>,
    pub b_from: Option<String>,
    pub b_to: Option<String>,
}

/// A device, pair or operation in a diff: its key and what to show.
#[derive(Debug, serde::Serialize)]
pub struct DiffItem {
    pub key: String,
    pub label: String,
}

/// An attribute change: time, attribute, before, after.
pub type Change = (String, String, String, String);

#[derive(Debug, serde::Serialize)]
pub struct DiffView {
    pub a: (String, String),
    pub b: (String, String),
    pub devices_added: Vec<DiffItem>,
    pub devices_removed: Vec<DiffItem>,
    pub devices_changed: Vec<(DiffItem, Vec<Change>)>,
    pub pairs_added: Vec<String>,
    pub pairs_removed: Vec<String>,
    pub operations_added: Vec<String>,
    pub operations_removed: Vec<String>,
}

const DAY_US: i64 = 86_400_000_000;

/// The diff of period b against period a; without dates, the last day
/// with records against the day before.
pub(crate) async fn diff(
    app: &Arc<App>,
    caller: &Caller,
    site: &str,
    q: &DiffQuery,
) -> Result<DiffView, Failure> {
    let (a, c, s) = (app.clone(), caller.clone(), site.to_owned());
    let q = DiffQuery {
        a_from: q.a_from.clone(),
        a_to: q.a_to.clone(),
        b_from: q.b_from.clone(),
        b_to: q.b_to.clone(),
    };
    app.data(move |d| {
        let sd = read_site(&a, d, &c, &s)?;
        let state = sd.state.as_ref().ok_or_else(Failure::not_found)?;
        let day = |v: &Option<String>| -> Result<Option<i64>, Failure> {
            match v.as_deref().filter(|x| !x.is_empty()) {
                None => Ok(None),
                Some(x) => site::parse_day(x, &sd.tz)
                    .map(Some)
                    .map_err(Failure::invalid),
            }
        };
        let last = crate::i18n::local_time(state.meta.last_record.max(1), &sd.tz);
        let last_day = site::parse_day(&last[..10.min(last.len())], &sd.tz).unwrap_or(0);
        let b_from = day(&q.b_from)?.unwrap_or(last_day);
        let b_to = day(&q.b_to)?.unwrap_or(b_from) + DAY_US;
        let a_from = day(&q.a_from)?.unwrap_or(b_from - DAY_US);
        let a_to = day(&q.a_to)?.map_or(b_from, |t| t + DAY_US);
        if a_to <= a_from || b_to <= b_from {
            return Err(Failure::invalid(Msg::new("err_period")));
        }
        let history = d.store.history(&s, None).map_err(ledger_failure)?;
        let pa = osect_analysis::diff::Period {
            from: a_from,
            to: a_to,
        };
        let pb = osect_analysis::diff::Period {
            from: b_from,
            to: b_to,
        };
        let r = osect_analysis::diff::diff(state, &history, pa, pb);
        let item = |k: &osect_analysis::DeviceKey| DiffItem {
            key: k.0.clone(),
            label: state
                .devices
                .get(k)
                .map_or_else(|| k.0.clone(), |x| x.label()),
        };
        let show = |t: i64| crate::i18n::local_time(t, &sd.tz)[..10].to_owned();
        Ok(DiffView {
            a: (show(a_from), show(a_to - 1)),
            b: (show(b_from), show(b_to - 1)),
            devices_added: r.devices_added.iter().map(item).collect(),
            devices_removed: r.devices_removed.iter().map(item).collect(),
            devices_changed: r
                .devices_changed
                .iter()
                .map(|(k, hs)| {
                    (
                        item(k),
                        hs.iter()
                            .map(|h| {
                                (
                                    crate::i18n::local_time(h.ts, &sd.tz),
                                    h.attribute.clone(),
                                    h.old.clone().unwrap_or_default(),
                                    h.new.clone().unwrap_or_default(),
                                )
                            })
                            .collect(),
                    )
                })
                .collect(),
            pairs_added: r.pairs_added,
            pairs_removed: r.pairs_removed,
            operations_added: r.operations_added,
            operations_removed: r.operations_removed,
        })
    })
    .await
}

async fn diff_page(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
    Query(q): Query<DiffQuery>,
) -> Result<Html<String>, Failure> {
    let sd = site_data(&app, &caller, &site).await?;
    let view = match sd.state {
        Some(_) => Some(diff(&app, &caller, &site, &q).await?),
        None => None,
    };
    render_site(
        &app,
        &caller,
        "diff.html",
        &format!("/sites/{site}/diff"),
        &sd,
        "diff",
        context! { diff => view, q => q },
    )
}

/// A site's zones, allowed zone pairs, maintenance windows and learning.
#[derive(Debug, serde::Serialize)]
pub struct SettingsView {
    pub learning_days: f64,
    pub learning_start: String,
    pub zones: Vec<(String, String, String)>,
    pub allowed: Vec<(String, String)>,
    pub maintenance: Vec<(String, String, String, String)>,
}

pub(crate) fn settings(sd: &SiteData) -> Option<SettingsView> {
    let s = sd.state.as_ref()?;
    let c = &s.meta.config;
    let t = |us: i64| crate::i18n::local_time(us, &sd.tz);
    Some(SettingsView {
        learning_days: c.learning as f64 / DAY_US as f64,
        learning_start: c.learning_start.map_or_else(|| "-".into(), t),
        zones: c
            .zones
            .iter()
            .map(|z| {
                let subnets: Vec<String> = z.subnets.iter().map(|n| n.to_string()).collect();
                let vlans: Vec<String> = z.vlans.iter().map(|v| v.to_string()).collect();
                (z.name.clone(), subnets.join(", "), vlans.join(", "))
            })
            .collect(),
        allowed: c.allowed.clone(),
        maintenance: c
            .maintenance
            .iter()
            .map(|w| (t(w.start), t(w.end), w.note.clone(), w.by.clone()))
            .collect(),
    })
}

async fn settings_page(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
) -> Result<Html<String>, Failure> {
    let sd = site_data(&app, &caller, &site).await?;
    let view = settings(&sd);
    render_site(
        &app,
        &caller,
        "settings.html",
        &format!("/sites/{site}/settings"),
        &sd,
        "settings",
        context! { settings => view },
    )
}

#[derive(Deserialize)]
pub struct WindowForm {
    pub start: String,
    pub end: String,
    pub note: String,
}

/// Most subnets or VLANs one zone lists.
const ZONE_ITEMS: usize = 64;

/// A change to a site's zones: define one (`set`, refused for a name in
/// use unless `replace`), remove one, or allow two to talk.
#[derive(Debug, Deserialize)]
pub struct ZoneForm {
    pub action: String,
    #[serde(default)]
    pub name: String,
    /// Subnets separated by commas, spaces or new lines.
    #[serde(default)]
    pub subnets: String,
    /// VLAN ids separated by commas or spaces.
    #[serde(default)]
    pub vlans: String,
    #[serde(default)]
    pub replace: Option<String>,
    /// The second zone of an `allow`.
    #[serde(default)]
    pub other: String,
}

/// The site's settings after a check that the caller may change them:
/// operators and customer admins; other customer users get a 403 (a site
/// they may not see is a 404, as everywhere).
fn configurable(a: &App, d: &Data, c: &Caller, site: &str) -> Result<SiteData, Failure> {
    let sd = read_site(a, d, c, site)?;
    if !c.user.role.configures() {
        return Err(Failure::forbidden(Msg::new("err_not_admin")));
    }
    Ok(sd)
}

/// Changes a site's configuration with `change`, in the store's audit log
/// and the console's. As with `osect-collector zones` and `maintenance`,
/// nothing is analysed again: the pages show zones from the settings at
/// once and the analysis applies them to the batches that follow.
async fn configure(
    app: &Arc<App>,
    caller: &Caller,
    site: &str,
    what: &'static str,
    detail: String,
    change: impl FnOnce(&SiteData, &mut osect_analysis::SiteConfig) -> Result<(), Failure>
        + Send
        + 'static,
) -> Result<(), Failure> {
    let (a, c, s) = (app.clone(), caller.clone(), site.to_owned());
    app.data(move |d| {
        let sd = configurable(&a, d, &c, &s)?;
        let mut refused = None;
        let r = d.store.change_site(&s, &c.user.name, what, |st| {
            change(&sd, &mut st.meta.config).map_err(|f| {
                let m = f.message.clone();
                refused = Some(f);
                m
            })
        });
        if let Some(f) = refused {
            return Err(f);
        }
        r.map_err(ledger_failure)?;
        d.db.audit(
            now_us(),
            &c.user.name,
            &c.address,
            what,
            &format!("site={s} {detail}"),
        )?;
        Ok(())
    })
    .await
}

/// Adds a maintenance window (local date and time in the site's zone),
/// audited with the caller's name.
pub(crate) async fn maintenance(
    app: &Arc<App>,
    caller: &Caller,
    site: &str,
    f: WindowForm,
) -> Result<(), Failure> {
    if f.note.len() > 200 {
        return Err(too_long("note", 200));
    }
    if f.note.chars().any(char::is_control) {
        return Err(Failure::invalid(
            Msg::new("err_control").arg("field", "note"),
        ));
    }
    let detail = format!("{} to {}", f.start, f.end);
    let by = caller.user.name.clone();
    configure(
        app,
        caller,
        site,
        "maintenance-add",
        detail,
        move |sd, config| {
            let at = |v: &str| -> Result<i64, Failure> {
                let bad = || Failure::invalid(Msg::new("err_datetime").arg("value", v));
                let dt: jiff::civil::DateTime = v.parse().map_err(|_| bad())?;
                dt.to_zoned(sd.tz.clone())
                    .map(|z| z.timestamp().as_microsecond())
                    .map_err(|_| bad())
            };
            let (start, end) = (at(&f.start)?, at(&f.end)?);
            if end <= start {
                return Err(Failure::invalid(
                    Msg::new("err_window")
                        .arg("start", &f.start)
                        .arg("end", &f.end),
                ));
            }
            let w = osect_analysis::Window {
                start,
                end,
                note: f.note,
                by,
            };
            config.add_window(w).map_err(Failure::bad_request)
        },
    )
    .await
}

/// The zone `f` defines, checked: a valid name, at least one subnet or
/// VLAN, no more than [`ZONE_ITEMS`] of each.
fn zone_from(f: &ZoneForm) -> Result<osect_analysis::Zone, Failure> {
    if !osect_analysis::config::valid_name(&f.name) {
        return Err(Failure::invalid(
            Msg::new("err_zone_name").arg("value", &f.name),
        ));
    }
    let items = |text: &str| -> Vec<String> {
        text.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let subnets = items(&f.subnets)
        .iter()
        .map(|x| {
            osect_analysis::Subnet::parse(x)
                .map_err(|_| Failure::invalid(Msg::new("err_subnet").arg("value", x)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let vlans = items(&f.vlans)
        .iter()
        .map(|x| match x.parse::<u64>() {
            Ok(v) if v <= 4095 => Ok(v),
            _ => Err(Failure::invalid(Msg::new("err_vlan").arg("value", x))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if subnets.is_empty() && vlans.is_empty() {
        return Err(Failure::invalid(
            Msg::new("err_zone_empty").arg("zone", &f.name),
        ));
    }
    if subnets.len() > ZONE_ITEMS || vlans.len() > ZONE_ITEMS {
        return Err(Failure::invalid(
            Msg::new("err_zone_items").arg("max", ZONE_ITEMS),
        ));
    }
    Ok(osect_analysis::Zone {
        name: f.name.clone(),
        subnets,
        vlans,
    })
}

/// Refuses a zone that would make the zone of an address or VLAN
/// ambiguous: the same subnet (same network and prefix) or the same VLAN
/// as another zone. A subnet inside another zone's is fine: the longest
/// prefix wins.
fn check_overlap(
    config: &osect_analysis::SiteConfig,
    z: &osect_analysis::Zone,
) -> Result<(), Failure> {
    for other in config.zones.iter().filter(|o| o.name != z.name) {
        for n in &z.subnets {
            if other
                .subnets
                .iter()
                .any(|o| o.prefix == n.prefix && o.contains(n.addr))
            {
                return Err(Failure::invalid(
                    Msg::new("err_zone_overlap")
                        .arg("value", n)
                        .arg("zone", &other.name),
                ));
            }
        }
        if let Some(v) = z.vlans.iter().find(|v| other.vlans.contains(v)) {
            return Err(Failure::invalid(
                Msg::new("err_zone_overlap")
                    .arg("value", format!("VLAN {v}"))
                    .arg("zone", &other.name),
            ));
        }
    }
    Ok(())
}

/// Applies a zone form to a site's settings.
pub(crate) async fn zones(
    app: &Arc<App>,
    caller: &Caller,
    site: &str,
    f: ZoneForm,
) -> Result<(), Failure> {
    for (field, v) in [("name", &f.name), ("other", &f.other)] {
        if v.len() > MAX_ZONE_NAME {
            return Err(too_long(field, MAX_ZONE_NAME));
        }
    }
    for (field, v) in [("subnets", &f.subnets), ("vlans", &f.vlans)] {
        if v.len() > 4096 {
            return Err(too_long(field, 4096));
        }
    }
    match f.action.as_str() {
        "set" => {
            let zone = zone_from(&f)?;
            let replace = f.replace.as_deref().is_some_and(|r| !r.is_empty());
            let detail = format!("zone={} subnets={} vlans={}", f.name, f.subnets, f.vlans);
            configure(app, caller, site, "zone-set", detail, move |_, config| {
                if !replace && config.zones.iter().any(|z| z.name == zone.name) {
                    return Err(Failure::invalid(
                        Msg::new("err_zone_exists").arg("zone", &zone.name),
                    ));
                }
                check_overlap(config, &zone)?;
                config.set_zone(zone).map_err(Failure::bad_request)
            })
            .await
        }
        "remove" => {
            let detail = format!("zone={}", f.name);
            configure(
                app,
                caller,
                site,
                "zone-remove",
                detail,
                move |_, config| {
                    config.remove_zone(&f.name).map_err(|_| {
                        Failure::invalid(Msg::new("err_zone_unknown").arg("zone", &f.name))
                    })
                },
            )
            .await
        }
        "allow" => {
            let detail = format!("zones={} {}", f.name, f.other);
            configure(app, caller, site, "zone-allow", detail, move |_, config| {
                for z in [&f.name, &f.other] {
                    if !config.zones.iter().any(|x| &x.name == z) {
                        return Err(Failure::invalid(
                            Msg::new("err_zone_unknown").arg("zone", z),
                        ));
                    }
                }
                if f.name == f.other {
                    return Err(Failure::invalid(Msg::new("err_zone_same")));
                }
                config
                    .allow(&f.name, &f.other)
                    .map_err(Failure::bad_request)
            })
            .await
        }
        other => Err(Failure::invalid(
            Msg::new("err_zone_action").arg("value", other),
        )),
    }
}

/// Longest zone name the analysis accepts.
const MAX_ZONE_NAME: usize = 64;

async fn add_maintenance(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
    Form(f): Form<WindowForm>,
) -> Result<Response, Failure> {
    maintenance(&app, &caller, &site, f).await?;
    Ok(back_to_settings(&site))
}

async fn change_zones(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
    Form(f): Form<ZoneForm>,
) -> Result<Response, Failure> {
    zones(&app, &caller, &site, f).await?;
    Ok(back_to_settings(&site))
}

fn back_to_settings(site: &str) -> Response {
    let back = format!("/sites/{}/settings", crate::web::encode_component(site));
    Redirect::to(&back).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_page_in_range_only() {
        let items: Vec<usize> = (0..450).collect();
        let (shown, page, pages) = page_of(items.clone(), 200, None).unwrap();
        assert_eq!((shown.len(), shown[0], page, pages), (200, 0, 1, 3));
        let (shown, page, _) = page_of(items.clone(), 200, Some(3)).unwrap();
        assert_eq!((shown, page), ((400..450).collect(), 3));
        for bad in [0, 4] {
            let f = page_of(items.clone(), 200, Some(bad)).unwrap_err();
            assert_eq!(f.status, axum::http::StatusCode::BAD_REQUEST);
            assert_eq!(f.message, format!("Page: 1 to 3, not {bad}."));
        }
        let (shown, page, pages) = page_of(Vec::<u8>::new(), 200, None).unwrap();
        assert_eq!((shown.len(), page, pages), (0, 1, 1));
    }
}
