//! The console's HTTP surface: the application state, authentication and
//! CSRF middleware, security headers, the pages, and static files.

use crate::auth::{self, Throttle, ThrottleLimits};
use crate::db::{ConsoleDb, Lang, Role, Session, User};
use crate::fleet::{Fleet, FleetSource};
use crate::i18n::{self, Catalogues, Msg};
use crate::site::VersionCache;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;
use osect_analysis::SiteState;
use osect_collector::store::{self, DeviceRow, Store};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The templates, embedded; auto-escaping is on for every one (`.html`).
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    (
        "sensor_table.html",
        include_str!("../templates/sensor_table.html"),
    ),
    (
        "site_tabs.html",
        include_str!("../templates/site_tabs.html"),
    ),
    ("pages.html", include_str!("../templates/pages.html")),
    ("assets.html", include_str!("../templates/assets.html")),
    ("device.html", include_str!("../templates/device.html")),
    (
        "pair_table.html",
        include_str!("../templates/pair_table.html"),
    ),
    (
        "alert_list.html",
        include_str!("../templates/alert_list.html"),
    ),
    ("alerts.html", include_str!("../templates/alerts.html")),
    ("map.html", include_str!("../templates/map.html")),
    ("pair.html", include_str!("../templates/pair.html")),
    ("report.html", include_str!("../templates/report.html")),
    ("diff.html", include_str!("../templates/diff.html")),
    ("settings.html", include_str!("../templates/settings.html")),
    ("overview.html", include_str!("../templates/overview.html")),
    ("sensors.html", include_str!("../templates/sensors.html")),
    ("site.html", include_str!("../templates/site.html")),
    ("audit.html", include_str!("../templates/audit.html")),
];

/// Static files served under `/static/`, embedded at build time.
const STATIC: &[(&str, &str, &[u8])] = &[
    ("app.css", "text/css", include_bytes!("../static/app.css")),
    (
        "app.js",
        "text/javascript",
        include_bytes!("../static/app.js"),
    ),
    (
        "map.js",
        "text/javascript",
        include_bytes!("../static/map.js"),
    ),
    (
        "vendor/cytoscape-3.35.0.min.js",
        "text/javascript",
        include_bytes!("../static/vendor/cytoscape-3.35.0.min.js"),
    ),
];

/// Longest request path and query accepted; longer ones get a 400.
pub const MAX_PATH: usize = 1024;
pub const MAX_QUERY: usize = 2048;
/// Longest site name, user name or other short parameter.
pub const MAX_NAME: usize = 128;
/// Largest form body (a login or an alert action is a few hundred bytes).
const MAX_FORM: usize = 64 * 1024;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub struct Config {
    pub store: PathBuf,
    pub fleet_list: Option<PathBuf>,
    /// Whether the console is served over HTTPS (cookies get `Secure` and
    /// the `__Host-` prefix).
    pub https: bool,
    pub session_ttl_us: i64,
    pub silent_after_us: i64,
    pub default_time_zone: String,
    pub throttle: ThrottleLimits,
}

impl Config {
    pub fn new(store: PathBuf) -> Config {
        Config {
            store,
            fleet_list: None,
            https: false,
            session_ttl_us: 8 * 3600 * 1_000_000,
            silent_after_us: 300 * 1_000_000,
            default_time_zone: i18n::DEFAULT_TIME_ZONE.into(),
            throttle: ThrottleLimits::default(),
        }
    }

    fn session_cookie(&self) -> &'static str {
        if self.https {
            "__Host-osect_session"
        } else {
            "osect_session"
        }
    }

    fn login_cookie(&self) -> &'static str {
        if self.https {
            "__Host-osect_login"
        } else {
            "osect_login"
        }
    }

    fn cookie(&self, name: &str, value: &str, max_age_s: i64) -> String {
        format!(
            "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{}",
            if self.https { "; Secure" } else { "" }
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Catalogue(#[from] i18n::CatalogueError),
    #[error("template {0}")]
    Template(#[from] minijinja::Error),
    #[error("--time-zone: {0}")]
    TimeZone(String),
}

pub(crate) struct Data {
    pub(crate) store: Store,
    pub(crate) db: ConsoleDb,
}

pub struct App {
    pub(crate) cfg: Config,
    data: Mutex<Data>,
    fleet: FleetSource,
    templates: minijinja::Environment<'static>,
    pub(crate) catalogues: &'static Catalogues,
    throttle: Mutex<Throttle>,
    states: VersionCache<SiteState>,
    /// Per site, the time of each device's latest attribute change.
    last_changes: VersionCache<std::collections::HashMap<String, i64>>,
}

/// A failure shown to the user: a status and a message that says what was
/// wrong, kept as a catalogue message so that pages show it in the user's
/// language. Pages render it as HTML, the API as JSON ([`json_failure`]).
#[derive(Debug)]
pub struct Failure {
    pub status: StatusCode,
    /// The message in English (the API's and the log's).
    pub message: String,
    msg: Msg,
}

/// A failure's message on its response, for [`localize`] to render in the
/// caller's language.
#[derive(Debug, Clone)]
struct Localized(Msg);

impl Failure {
    pub fn new(status: StatusCode, msg: Msg) -> Failure {
        Failure {
            status,
            message: msg.text(Lang::En),
            msg,
        }
    }

    pub fn not_found() -> Failure {
        Failure::new(StatusCode::NOT_FOUND, Msg::new("err_not_found"))
    }

    /// A 400 for a parameter or form value.
    pub fn invalid(msg: Msg) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, msg)
    }

    /// A 400 whose detail comes from elsewhere (in English): the analysis'
    /// refusal of a setting, say.
    pub fn bad_request(detail: impl std::fmt::Display) -> Failure {
        Failure::invalid(Msg::new("err_rejected").arg("detail", detail))
    }

    pub fn forbidden(msg: Msg) -> Failure {
        Failure::new(StatusCode::FORBIDDEN, msg)
    }

    pub(crate) fn internal(what: impl std::fmt::Display) -> Failure {
        log::error!("{what}");
        Failure::new(StatusCode::INTERNAL_SERVER_ERROR, Msg::new("err_internal"))
    }
}

impl Failure {
    /// The failure as the API's JSON, its message in English until
    /// [`localize_api`] knows the caller's language.
    pub(crate) fn into_json(self) -> Response {
        let mut res = json_failure(self.status, &self.msg, Lang::En);
        res.extensions_mut().insert(Localized(self.msg));
        res
    }
}

/// The API's error body: `code`, stable for scripts (the message's
/// catalogue key without its `err_` prefix), `error` in English as the
/// API always gave it, and `message` in the caller's language.
fn json_failure(status: StatusCode, msg: &Msg, lang: Lang) -> Response {
    let body = serde_json::json!({
        "code": msg.key.strip_prefix("err_").unwrap_or(msg.key),
        "error": msg.text(Lang::En),
        "message": msg.text(lang),
    });
    (status, axum::Json(body)).into_response()
}

/// An API response in the caller's language: a failure's message, and a
/// request the framework refused before a handler ran (plain text in
/// English) as the same JSON.
async fn localize_api(res: Response, lang: Lang) -> Response {
    let status = res.status();
    if let Some(Localized(msg)) = res.extensions().get::<Localized>() {
        return if lang == Lang::En {
            res
        } else {
            json_failure(status, msg, lang)
        };
    }
    match refusal(res).await {
        Ok(msg) => json_failure(status, &msg, lang),
        Err(res) => res,
    }
}

/// The language an API client asked for with Accept-Language, if it named
/// Japanese or English.
fn asked_lang(headers: &HeaderMap) -> Option<Lang> {
    let accept = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    (accept.contains("ja") || accept.contains("en")).then(|| browser_lang(headers))
}

/// A status and a message as a small HTML page.
fn failure_page(status: StatusCode, title: &str, message: &str, home: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{0}</title>\
         <link rel=\"stylesheet\" href=\"/static/app.css\"></head><body><main>\
         <h1>{0}</h1><p class=\"error\">{1}</p><p><a href=\"/\">{2}</a></p>\
         </main></body></html>",
        minijinja::HtmlEscape(title),
        minijinja::HtmlEscape(message),
        minijinja::HtmlEscape(home),
    );
    (status, Html(body)).into_response()
}

fn failure_title(status: StatusCode, lang: Lang) -> String {
    Msg::new("err_title")
        .arg("status", status.as_u16())
        .text(lang)
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut res = failure_page(
            self.status,
            &failure_title(self.status, Lang::En),
            &self.message,
            &Msg::new("product").text(Lang::En),
        );
        res.extensions_mut().insert(Localized(self.msg));
        res
    }
}

/// A page's failure in the caller's language; a request the framework
/// refused before a handler ran (a malformed query or form: plain text in
/// English) gets the same page, its detail kept.
async fn localize(res: Response, lang: Lang) -> Response {
    let status = res.status();
    if let Some(Localized(msg)) = res.extensions().get::<Localized>() {
        if lang == Lang::En {
            return res;
        }
        let text = msg.text(lang);
        return failure_page(
            status,
            &failure_title(status, lang),
            &text,
            &Msg::new("product").text(lang),
        );
    }
    match refusal(res).await {
        Ok(msg) => failure_page(
            status,
            &failure_title(status, lang),
            &msg.text(lang),
            &Msg::new("product").text(lang),
        ),
        Err(res) => res,
    }
}

/// A request the framework refused before a handler ran (a client error
/// in plain English text) as a message with its detail; any other
/// response back as it is.
async fn refusal(res: Response) -> Result<Msg, Response> {
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    if !res.status().is_client_error() || !plain {
        return Err(res);
    }
    let detail = axum::body::to_bytes(res.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    Ok(Msg::new("err_malformed").arg("detail", detail))
}

impl From<crate::db::DbError> for Failure {
    fn from(e: crate::db::DbError) -> Failure {
        Failure::internal(e)
    }
}

impl From<store::StoreError> for Failure {
    fn from(e: store::StoreError) -> Failure {
        Failure::internal(e)
    }
}

impl From<minijinja::Error> for Failure {
    fn from(e: minijinja::Error) -> Failure {
        Failure::internal(format!("template: {e:#}"))
    }
}

/// Who is asking: set by the authentication middleware on every request
/// past it.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    /// The session's CSRF token; `None` for an API token.
    pub csrf: Option<String>,
    pub prev_visit_us: Option<i64>,
    pub address: String,
}

impl Caller {
    /// Whether this caller may see a site: operators see every site, a
    /// customer's users the sites the fleet list gives their customer.
    pub fn sees(&self, fleet: &Fleet, site: &str) -> bool {
        match self.user.role.customer() {
            None => true,
            Some(c) => fleet.customer_of(site) == Some(c),
        }
    }

    pub fn is_operator(&self) -> bool {
        self.user.role == Role::Operator
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Failure;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Caller, Failure> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| Failure::new(StatusCode::UNAUTHORIZED, Msg::new("err_not_logged_in")))
    }
}

/// One sensor as the pages and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct SensorView {
    pub device: String,
    pub site: String,
    pub customer: String,
    pub agent_version: String,
    pub batches: u64,
    pub last_seq: u64,
    pub last_interval_end_us: i64,
    pub last_received_us: i64,
    pub last_interval_end: String,
    pub last_received: String,
    /// Batches waiting in the sensor's spool.
    pub backlog: u64,
    pub packets: u64,
    pub kernel_drops: u64,
    /// Packets the kernel dropped as a share of those seen, in percent.
    pub capture_loss_pct: f64,
    pub records_dropped: u64,
    pub spool_evictions: u64,
    pub lost_intervals: u64,
    pub silent: bool,
    pub silent_for_s: i64,
}

/// One site as the overview and the API list it.
#[derive(Debug, Clone, Serialize)]
pub struct SiteView {
    pub site: String,
    pub customer: String,
    pub time_zone: String,
    pub sensors: usize,
    pub silent: usize,
    pub last_received: String,
    pub last_received_us: i64,
}

impl App {
    pub fn new(cfg: Config) -> Result<Arc<App>, StartError> {
        i18n::time_zone(&cfg.default_time_zone).map_err(StartError::TimeZone)?;
        let db = ConsoleDb::open(&cfg.store)?;
        let store = Store::open(&cfg.store).map_err(crate::db::DbError::from)?;
        let mut templates = minijinja::Environment::new();
        templates.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        // A role's display name and a duration in seconds, in the page's
        // language (its code).
        let lang_of = |code: &str| Lang::parse(code).unwrap_or(Lang::En);
        templates.add_filter("role", move |role: &str, lang: &str| {
            i18n::word(lang_of(lang), "devrole_", role)
        });
        templates.add_filter("duration", move |secs: f64, lang: &str| {
            i18n::duration(secs, lang_of(lang))
        });
        for (name, text) in TEMPLATES {
            templates.add_template(name, text)?;
        }
        Ok(Arc::new(App {
            fleet: FleetSource::new(cfg.fleet_list.clone()),
            cfg,
            data: Mutex::new(Data { store, db }),
            templates,
            catalogues: i18n::catalogues()?,
            throttle: Mutex::new(Throttle::default()),
            states: VersionCache::default(),
            last_changes: VersionCache::default(),
        }))
    }

    /// Runs `f` on the store and the console tables off the async threads.
    pub(crate) async fn data<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Data) -> Result<T, Failure> + Send + 'static,
    ) -> Result<T, Failure> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut data = app
                .data
                .lock()
                .map_err(|_| Failure::internal("store lock poisoned"))?;
            f(&mut data)
        })
        .await
        .map_err(Failure::internal)?
    }

    pub(crate) fn fleet(&self) -> Arc<Fleet> {
        self.fleet.current()
    }

    /// A site's analysis, `None` before its first analysed batch.
    pub(crate) fn state(&self, data: &Data, site: &str) -> Result<Option<Arc<SiteState>>, Failure> {
        let version = data.db.site_version(site)?;
        if version == 0 {
            return Ok(None);
        }
        if let Some(s) = self.states.get(site, version) {
            return Ok(Some(s));
        }
        let s = Arc::new(data.store.site_state(site).map_err(Failure::internal)?);
        self.states.put(site, version, s.clone());
        Ok(Some(s))
    }

    /// When each device of a site last changed an attribute.
    fn last_changes(
        &self,
        data: &Data,
        site: &str,
    ) -> Result<Arc<std::collections::HashMap<String, i64>>, Failure> {
        let version = data.db.site_version(site)?;
        if let Some(c) = self.last_changes.get(site, version) {
            return Ok(c);
        }
        let mut last = std::collections::HashMap::new();
        for h in data.store.history(site, None).map_err(Failure::internal)? {
            let t = last.entry(h.device.0).or_insert(h.ts);
            *t = (*t).max(h.ts);
        }
        let last = Arc::new(last);
        self.last_changes.put(site, version, last.clone());
        Ok(last)
    }

    /// The time zone of each site: its analysis settings', else the
    /// console's default.
    pub(crate) fn zones(&self, data: &Data) -> Result<Zones, Failure> {
        let default = i18n::time_zone(&self.cfg.default_time_zone).map_err(Failure::internal)?;
        let mut by_site = std::collections::HashMap::new();
        for site in data.store.analysed_sites().map_err(Failure::internal)? {
            let Some(state) = self.state(data, &site)? else {
                continue;
            };
            let name = state.meta.config.time_zone.clone();
            match i18n::time_zone(&name) {
                Ok(tz) => {
                    by_site.insert(site, (name, tz));
                }
                Err(e) => log::warn!("site {site}: {e}; the default zone is used"),
            }
        }
        Ok(Zones {
            default_name: self.cfg.default_time_zone.clone(),
            default,
            by_site,
        })
    }

    /// Every sensor the caller may see, on `site` when given.
    pub(crate) fn sensors(
        &self,
        data: &Data,
        caller: &Caller,
        site: Option<&str>,
    ) -> Result<Vec<SensorView>, Failure> {
        let fleet = self.fleet();
        let zones = self.zones(data)?;
        let now = store::now_us();
        let rows = data.store.devices()?;
        Ok(rows
            .into_iter()
            .filter_map(|d| {
                let s = fleet.site_of(&d.device, &d.site).to_owned();
                (caller.sees(&fleet, &s) && site.is_none_or(|want| want == s))
                    .then(|| self.sensor_view(d, s, &fleet, &zones, now))
            })
            .collect())
    }

    fn sensor_view(
        &self,
        d: DeviceRow,
        site: String,
        fleet: &Fleet,
        zones: &Zones,
        now: i64,
    ) -> SensorView {
        let tz = zones.of(&site);
        let h = &d.health;
        let silent_for = now - d.last_received_us;
        SensorView {
            customer: fleet.customer_of(&site).unwrap_or("").to_owned(),
            last_interval_end: i18n::local_time(d.last_interval_end_us, tz),
            last_received: i18n::local_time(d.last_received_us, tz),
            site,
            device: d.device,
            agent_version: d.agent_version,
            batches: d.batches,
            last_seq: d.last_seq,
            last_interval_end_us: d.last_interval_end_us,
            last_received_us: d.last_received_us,
            backlog: h.spool_depth,
            packets: h.packets,
            kernel_drops: h.kernel_drops,
            capture_loss_pct: if h.packets + h.kernel_drops == 0 {
                0.0
            } else {
                (h.kernel_drops as f64 * 10_000.0 / (h.packets + h.kernel_drops) as f64).round()
                    / 100.0
            },
            records_dropped: h.records_dropped,
            spool_evictions: h.spool_evictions,
            lost_intervals: h.lost_intervals,
            silent: silent_for > self.cfg.silent_after_us,
            silent_for_s: silent_for.max(0) / 1_000_000,
        }
    }

    /// Every site the caller may see: those with sensors and those the
    /// fleet list names.
    pub(crate) fn sites(&self, data: &Data, caller: &Caller) -> Result<Vec<SiteView>, Failure> {
        let fleet = self.fleet();
        let zones = self.zones(data)?;
        let sensors = self.sensors(data, caller, None)?;
        let mut names: Vec<String> = sensors.iter().map(|s| s.site.clone()).collect();
        names.extend(
            data.store
                .analysed_sites()
                .map_err(Failure::internal)?
                .into_iter()
                .filter(|s| caller.sees(&fleet, s)),
        );
        names.extend(
            fleet
                .sites()
                .filter(|s| caller.sees(&fleet, s))
                .map(str::to_owned),
        );
        names.sort();
        names.dedup();
        Ok(names
            .into_iter()
            .map(|site| {
                let here: Vec<&SensorView> = sensors.iter().filter(|s| s.site == site).collect();
                let last = here.iter().map(|s| s.last_received_us).max().unwrap_or(0);
                SiteView {
                    customer: fleet.customer_of(&site).unwrap_or("").to_owned(),
                    time_zone: zones.name_of(&site).to_owned(),
                    sensors: here.len(),
                    silent: here.iter().filter(|s| s.silent).count(),
                    last_received: i18n::local_time(last, zones.of(&site)),
                    last_received_us: last,
                    site,
                }
            })
            .collect())
    }

    /// The site if the caller may see it and it exists; a 404 otherwise, the
    /// same for another customer's site as for one that does not exist.
    pub(crate) fn site(
        &self,
        data: &Data,
        caller: &Caller,
        site: &str,
    ) -> Result<SiteView, Failure> {
        check_name("site", site)?;
        self.sites(data, caller)?
            .into_iter()
            .find(|s| s.site == site)
            .ok_or_else(Failure::not_found)
    }

    pub(crate) fn render(
        &self,
        name: &str,
        caller: Option<&Caller>,
        lang: Lang,
        path: &str,
        page: minijinja::Value,
    ) -> Result<Html<String>, Failure> {
        let user = caller.map(|c| {
            context! {
                name => c.user.name,
                operator => c.is_operator(),
                customer => c.user.role.customer().unwrap_or(""),
                configures => c.user.role.configures(),
            }
        });
        let ctx = context! {
            tr => self.catalogues.get(lang),
            lang => lang.code(),
            other_lang => match lang { Lang::Ja => "en", Lang::En => "ja" },
            user => user,
            csrf => caller.and_then(|c| c.csrf.clone()).unwrap_or_default(),
            path => path,
            ..page
        };
        Ok(Html(self.templates.get_template(name)?.render(ctx)?))
    }
}

/// The time zones of sites.
pub(crate) struct Zones {
    default_name: String,
    default: jiff::tz::TimeZone,
    by_site: std::collections::HashMap<String, (String, jiff::tz::TimeZone)>,
}

impl Zones {
    pub(crate) fn of(&self, site: &str) -> &jiff::tz::TimeZone {
        self.by_site.get(site).map_or(&self.default, |(_, tz)| tz)
    }

    pub(crate) fn name_of(&self, site: &str) -> &str {
        self.by_site
            .get(site)
            .map_or(self.default_name.as_str(), |(n, _)| n.as_str())
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for a
/// path segment or a query value.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A short parameter (site, user name): at most [`MAX_NAME`] bytes, no
/// control characters.
pub fn check_name(what: &str, value: &str) -> Result<(), Failure> {
    if value.is_empty() || value.len() > MAX_NAME {
        return Err(Failure::invalid(
            Msg::new("err_length")
                .arg("field", what)
                .arg("max", MAX_NAME)
                .arg("len", value.len()),
        ));
    }
    if value.contains('\u{fffd}') {
        return Err(Failure::invalid(Msg::new("err_utf8").arg("field", what)));
    }
    if value.chars().any(char::is_control) {
        return Err(Failure::invalid(Msg::new("err_control").arg("field", what)));
    }
    Ok(())
}

/// The router with every page and the API, its middleware, and its state.
pub fn router(app: Arc<App>) -> Router {
    let (api, _) = crate::api::routes();
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/", get(overview))
        .route("/sensors", get(sensors_page))
        .route("/sensors.csv", get(sensors_csv))
        .merge(crate::pages::routes())
        .route("/audit", get(audit_page))
        .route("/settings/lang", post(set_lang))
        .route("/static/{*file}", get(static_file))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .merge(api)
        .fallback(|| async { Failure::not_found() })
        .layer(middleware::from_fn_with_state(app.clone(), authenticate))
        .layer(middleware::from_fn(limit_request))
        .layer(middleware::map_response(security_headers))
        .with_state(app)
}

async fn security_headers(mut res: Response) -> Response {
    // A form or JSON body the framework could not read (a field missing or
    // of the wrong type) is a bad request like any other.
    if res.status() == StatusCode::UNPROCESSABLE_ENTITY {
        *res.status_mut() = StatusCode::BAD_REQUEST;
    }
    let h = res.headers_mut();
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Over-long paths and queries get a clear 400 before anything parses them.
async fn limit_request(req: Request, next: Next) -> Response {
    let path = req.uri().path().len();
    let query = req.uri().query().map_or(0, str::len);
    if path > MAX_PATH || query > MAX_QUERY {
        let f = Failure::invalid(
            Msg::new("err_request_long")
                .arg("path", path)
                .arg("max_path", MAX_PATH)
                .arg("query", query)
                .arg("max_query", MAX_QUERY),
        );
        if req.uri().path().starts_with("/api/") {
            let lang = asked_lang(req.headers()).unwrap_or(Lang::En);
            return localize_api(f.into_json(), lang).await;
        }
        return f.into_response();
    }
    next.run(req).await
}

fn is_public(path: &str) -> bool {
    path == "/login" || path == "/favicon.ico" || path.starts_with("/static/")
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn unauthorized(api: Option<Lang>, method: &Method, path_and_query: &str) -> Response {
    if let Some(lang) = api {
        let msg = Msg::new("err_need_login");
        return json_failure(StatusCode::UNAUTHORIZED, &msg, lang);
    }
    let target = if method == Method::GET {
        format!("/login?next={}", encode_component(path_and_query))
    } else {
        "/login".to_owned()
    };
    Redirect::to(&target).into_response()
}

/// Every request but the login page and static files needs a live session
/// (cookie) or an API token (Bearer). A form posted in a session must carry
/// the session's CSRF token.
async fn authenticate(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    if is_public(&path) {
        return next.run(req).await;
    }
    let api = path.starts_with("/api/");
    let pq = req
        .uri()
        .path_and_query()
        .map_or(path.clone(), |p| p.as_str().to_owned());
    let address = peer.ip().to_string();
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or("").trim().to_owned());
    // An API client's language: the one it asks for, else its user's.
    let asked = asked_lang(req.headers());
    if let Some(token) = bearer {
        let hash = auth::secret_sha256(&token);
        let user = if token.is_empty() || token.len() > MAX_NAME {
            Ok(None)
        } else {
            app.data(move |d| Ok(d.db.token_user(&hash)?)).await
        };
        return match user {
            Ok(Some(user)) => {
                let lang = asked.unwrap_or(user.lang);
                req.extensions_mut().insert(Caller {
                    user,
                    csrf: None,
                    prev_visit_us: None,
                    address,
                });
                let res = next.run(req).await;
                if api {
                    localize_api(res, lang).await
                } else {
                    res
                }
            }
            Ok(None) => unauthorized(Some(asked.unwrap_or(Lang::En)), req.method(), &pq),
            Err(f) => f.into_json(),
        };
    }
    let sid = cookie(req.headers(), app.cfg.session_cookie()).map(str::to_owned);
    let session: Option<Session> = match sid {
        Some(sid) if sid.len() <= MAX_NAME => {
            let hash = auth::secret_sha256(&sid);
            match app
                .data(move |d| Ok(d.db.session(&hash, store::now_us())?))
                .await
            {
                Ok(s) => s,
                Err(f) if api => return f.into_json(),
                Err(f) => return f.into_response(),
            }
        }
        _ => None,
    };
    let Some(session) = session else {
        let api = api.then(|| asked.unwrap_or(Lang::En));
        return unauthorized(api, req.method(), &pq);
    };
    let lang = session.user.lang;
    // A failure before the handler, as a page or as the API's JSON.
    let refuse = |f: Failure| async move {
        if api {
            localize_api(f.into_json(), lang).await
        } else {
            localize(f.into_response(), lang).await
        }
    };
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_FORM).await {
            Ok(b) => b,
            Err(_) => {
                return refuse(Failure::invalid(Msg::new("err_body").arg("max", MAX_FORM))).await;
            }
        };
        let sent = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| form_field(&bytes, "csrf"));
        if !sent.is_some_and(|t| auth::same_secret(&t, &session.csrf)) {
            return refuse(Failure::forbidden(Msg::new("err_csrf"))).await;
        }
        req = Request::from_parts(parts, Body::from(bytes));
    }
    req.extensions_mut().insert(Caller {
        user: session.user,
        csrf: Some(session.csrf),
        prev_visit_us: session.prev_visit_us,
        address,
    });
    let res = next.run(req).await;
    if api {
        localize_api(res, lang).await
    } else {
        localize(res, lang).await
    }
}

fn form_field(body: &Bytes, name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// A redirect target from a form or query: a path on this site only.
fn local_target(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/",
    }
}

/// The language for a page before login: the browser's first choice of
/// Japanese or English.
fn browser_lang(headers: &HeaderMap) -> Lang {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ja = accept.find("ja");
    let en = accept.find("en");
    match (ja, en) {
        (_, Some(e)) if ja.is_none_or(|j| e < j) => Lang::En,
        _ => Lang::Ja,
    }
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
    lang: Option<String>,
}

async fn login_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, Failure> {
    let lang = q
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_else(|| browser_lang(&headers));
    login_form(
        &app,
        &headers,
        lang,
        local_target(q.next.as_deref()),
        None,
        StatusCode::OK,
    )
}

/// The login page with its form token. A token the browser already holds
/// is kept, so that another tab or a background request that lands on the
/// login page does not void a form already shown.
fn login_form(
    app: &App,
    headers: &HeaderMap,
    lang: Lang,
    next: &str,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, Failure> {
    let held = cookie(headers, app.cfg.login_cookie())
        .filter(|t| t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()));
    let token = match held {
        Some(t) => t.to_owned(),
        None => auth::random_hex(16).map_err(Failure::internal)?,
    };
    let page = app.render(
        "login.html",
        None,
        lang,
        "/login",
        context! { title => "login", login_csrf => token, next => next, error => error },
    )?;
    let mut res = (status, page).into_response();
    let c = app.cfg.cookie(app.cfg.login_cookie(), &token, 600);
    if let Ok(v) = HeaderValue::from_str(&c) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    csrf: String,
    next: Option<String>,
    lang: Option<String>,
}

async fn login(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = f
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_else(|| browser_lang(&headers));
    match try_login(app, peer, headers, f, lang).await {
        Ok(res) => res,
        Err(f) => localize(f.into_response(), lang).await,
    }
}

async fn try_login(
    app: Arc<App>,
    peer: SocketAddr,
    headers: HeaderMap,
    f: LoginForm,
    lang: Lang,
) -> Result<Response, Failure> {
    let next = local_target(f.next.as_deref()).to_owned();
    let expected = cookie(&headers, app.cfg.login_cookie()).unwrap_or("");
    if expected.is_empty() || !auth::same_secret(&f.csrf, expected) {
        return Err(Failure::forbidden(Msg::new("err_csrf")));
    }
    check_name("name", &f.name)?;
    if f.password.len() > auth::MAX_PASSWORD * 4 {
        return Err(Failure::invalid(
            Msg::new("err_password_long").arg("max", auth::MAX_PASSWORD),
        ));
    }
    let address = peer.ip().to_string();
    let now = store::now_us();
    let limits = app.cfg.throttle;
    let blocked = app
        .throttle
        .lock()
        .map_err(|_| Failure::internal("throttle lock poisoned"))?
        .blocked_for(&f.name, &address, now, &limits);
    let tr = app.catalogues.get(lang);
    if let Some(wait) = blocked {
        let (name, addr) = (f.name.clone(), address.clone());
        app.data(move |d| {
            let _ = d.db.audit(now, &name, &addr, "login-throttled", "");
            Ok(())
        })
        .await?;
        let minutes = (wait / 60_000_000 + 1).to_string();
        let msg = tr
            .get("login_throttled")
            .map_or(String::new(), |m| m.replace("{minutes}", &minutes));
        return login_form(
            &app,
            &headers,
            lang,
            &next,
            Some(msg),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let name = f.name.clone();
    let found = app.data(move |d| Ok(d.db.user(&name)?)).await?;
    let password = f.password;
    let ok = tokio::task::spawn_blocking(move || match found {
        Some((user, hash)) if !user.disabled => {
            auth::verify_password(&password, &hash).then_some(user)
        }
        Some(_) => None,
        None => {
            // Same work for an unknown name as for a known one.
            auth::verify_password(&password, auth::decoy_hash());
            None
        }
    })
    .await
    .map_err(Failure::internal)?;
    let Some(user) = ok else {
        if let Ok(mut t) = app.throttle.lock() {
            t.failed(&f.name, &address, now, &limits);
        }
        let (name, addr) = (f.name.clone(), address.clone());
        app.data(move |d| {
            let _ = d.db.audit(now, &name, &addr, "login-failed", "");
            Ok(())
        })
        .await?;
        let msg = tr.get("login_failed").cloned();
        return login_form(&app, &headers, lang, &next, msg, StatusCode::UNAUTHORIZED);
    };
    if let Ok(mut t) = app.throttle.lock() {
        t.succeeded(&user.name);
    }
    let sid = auth::random_hex(32).map_err(Failure::internal)?;
    let csrf = auth::random_hex(32).map_err(Failure::internal)?;
    let hash = auth::secret_sha256(&sid);
    let ttl = app.cfg.session_ttl_us;
    let uname = user.name.clone();
    app.data(move |d| {
        d.db.create_session(&uname, &hash, &csrf, now, now + ttl)?;
        d.db.audit(now, &uname, &address, "login", "")?;
        Ok(())
    })
    .await?;
    let mut res = Redirect::to(&next).into_response();
    for c in [
        app.cfg
            .cookie(app.cfg.session_cookie(), &sid, ttl / 1_000_000),
        app.cfg.cookie(app.cfg.login_cookie(), "", 0),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(res)
}

async fn logout(
    State(app): State<Arc<App>>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    if let Some(sid) = cookie(&headers, app.cfg.session_cookie()) {
        let hash = auth::secret_sha256(sid);
        app.data(move |d| {
            d.db.end_session(&hash)?;
            d.db.audit(
                store::now_us(),
                &caller.user.name,
                &caller.address,
                "logout",
                "",
            )?;
            Ok(())
        })
        .await?;
    }
    let mut res = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&app.cfg.cookie(app.cfg.session_cookie(), "", 0)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

#[derive(Deserialize)]
struct LangForm {
    lang: String,
    next: Option<String>,
}

async fn set_lang(
    State(app): State<Arc<App>>,
    caller: Caller,
    Form(f): Form<LangForm>,
) -> Result<Response, Failure> {
    let lang = Lang::parse(&f.lang)
        .ok_or_else(|| Failure::invalid(Msg::new("err_lang").arg("value", &f.lang)))?;
    let name = caller.user.name.clone();
    app.data(move |d| Ok(d.db.set_lang(&name, lang)?)).await?;
    Ok(Redirect::to(local_target(f.next.as_deref())).into_response())
}

/// What changed on one site since a time: the overview's first table.
#[derive(Debug, Serialize)]
struct SinceView {
    site: String,
    new_alerts: usize,
    new_devices: usize,
    changed_devices: usize,
    new_pairs: usize,
    baseline: &'static str,
}

fn since_view(app: &App, data: &Data, state: &SiteState, since: i64) -> Result<SinceView, Failure> {
    let site = state.site.clone();
    let filter = osect_collector::ledger::AlertFilter {
        from: Some(since),
        ..Default::default()
    };
    let alerts = data
        .store
        .alerts(Some(&site), &filter)
        .map_err(Failure::internal)?;
    // A device that arrived since is new, not changed.
    let changed = app
        .last_changes(data, &site)?
        .iter()
        .filter(|(k, t)| {
            **t > since
                && state
                    .devices
                    .get(&osect_analysis::DeviceKey((*k).clone()))
                    .is_some_and(|d| d.first_seen <= since)
        })
        .count();
    Ok(SinceView {
        new_alerts: alerts.iter().filter(|a| a.first_seen > since).count(),
        new_devices: state
            .devices
            .values()
            .filter(|d| d.first_seen > since)
            .count(),
        changed_devices: changed,
        new_pairs: state
            .pairs
            .values()
            .filter(|p| p.first_seen > since)
            .count(),
        baseline: osect_analysis::coverage::coverage(state).status.as_str(),
        site,
    })
}

async fn overview(State(app): State<Arc<App>>, caller: Caller) -> Result<Html<String>, Failure> {
    let c = caller.clone();
    let app2 = app.clone();
    let since = caller.prev_visit_us.unwrap_or(0);
    let (sites, sensors, prev, changes) = app
        .data(move |d| {
            let sites = app2.sites(d, &c)?;
            let sensors = app2.sensors(d, &c, None)?;
            let zones = app2.zones(d)?;
            let prev = c
                .prev_visit_us
                .map(|us| i18n::local_time(us, &zones.default));
            let mut changes = Vec::new();
            for s in &sites {
                if let Some(state) = app2.state(d, &s.site)? {
                    changes.push(since_view(&app2, d, &state, since)?);
                }
            }
            Ok((sites, sensors, prev, changes))
        })
        .await?;
    let silent: Vec<&SensorView> = sensors.iter().filter(|s| s.silent).collect();
    let reported = sensors
        .iter()
        .filter(|s| since > 0 && s.last_received_us > since)
        .count();
    app.render(
        "overview.html",
        Some(&caller),
        caller.user.lang,
        "/",
        context! {
            title => "overview",
            sites => sites,
            silent => silent,
            sensor_count => sensors.len(),
            reporting_since_visit => reported,
            prev_visit => prev,
            changes => changes,
        },
    )
}

/// `?site=`: one site's sensors.
#[derive(Deserialize)]
pub(crate) struct SiteQuery {
    pub(crate) site: Option<String>,
}

async fn sensors_page(
    State(app): State<Arc<App>>,
    caller: Caller,
    Query(q): Query<SiteQuery>,
) -> Result<Html<String>, Failure> {
    let c = caller.clone();
    let app2 = app.clone();
    let site = q.site.filter(|s| !s.is_empty());
    let filter = site.clone();
    let (sensors, sites) = app
        .data(move |d| {
            if let Some(s) = &filter {
                app2.site(d, &c, s)?;
            }
            Ok((app2.sensors(d, &c, filter.as_deref())?, app2.sites(d, &c)?))
        })
        .await?;
    app.render(
        "sensors.html",
        Some(&caller),
        caller.user.lang,
        "/sensors",
        context! { title => "sensors", sensors => sensors, sites => sites, site => site },
    )
}

async fn sensors_csv(
    State(app): State<Arc<App>>,
    caller: Caller,
    Query(q): Query<SiteQuery>,
) -> Result<Response, Failure> {
    let app2 = app.clone();
    let site = q.site.filter(|s| !s.is_empty());
    let sensors = app
        .data(move |d| {
            if let Some(s) = &site {
                app2.site(d, &caller, s)?;
            }
            app2.sensors(d, &caller, site.as_deref())
        })
        .await?;
    let mut out = crate::csv::Table::new(&[
        "device",
        "site",
        "customer",
        "agent_version",
        "batches",
        "last_batch",
        "last_received",
        "backlog",
        "packets",
        "kernel_drops",
        "capture_loss_pct",
        "records_dropped",
        "spool_evictions",
        "silent",
    ]);
    for s in &sensors {
        out.row(&[
            &s.device,
            &s.site,
            &s.customer,
            &s.agent_version,
            &s.batches.to_string(),
            &s.last_interval_end,
            &s.last_received,
            &s.backlog.to_string(),
            &s.packets.to_string(),
            &s.kernel_drops.to_string(),
            &s.capture_loss_pct.to_string(),
            &s.records_dropped.to_string(),
            &s.spool_evictions.to_string(),
            if s.silent { "yes" } else { "no" },
        ]);
    }
    Ok(out.into_download("sensors.csv"))
}

async fn audit_page(State(app): State<Arc<App>>, caller: Caller) -> Result<Html<String>, Failure> {
    if !caller.is_operator() {
        return Err(Failure::not_found());
    }
    let app2 = app.clone();
    let rows = app
        .data(move |d| {
            let zones = app2.zones(d)?;
            Ok(d.db
                .audit_rows(500)?
                .into_iter()
                .map(|r| {
                    context! {
                        at => i18n::local_time(r.at_us, &zones.default),
                        who => r.who,
                        address => r.address,
                        action => r.action,
                        detail => r.detail,
                    }
                })
                .collect::<Vec<_>>())
        })
        .await?;
    app.render(
        "audit.html",
        Some(&caller),
        caller.user.lang,
        "/audit",
        context! { title => "audit", rows => rows },
    )
}

async fn static_file(Path(file): Path<String>) -> Response {
    match STATIC.iter().find(|(name, _, _)| *name == file) {
        Some((_, mime, bytes)) => (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => Failure::not_found().into_response(),
    }
}
