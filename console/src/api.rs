//! The JSON API (`/api/v1/...`): the same data and the same tenant rules as
//! the pages, for SIEMs and scripts with a per-user token. `openapi.json`
//! documents every route; a test holds the two together.

use crate::pages::{
    self, ActionForm, AlertQuery, DeviceDetail, DiffQuery, DiffView, KeyQuery, SettingsView,
    WindowForm, ZoneForm,
};
use crate::site::{self, AlertView, AssetFilter, BaselineView, DeviceView, MapData, PairView};
use crate::web::{App, Caller, Failure, SensorView, SiteQuery, SiteView};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use serde::Serialize;
use std::sync::Arc;

/// A failure as JSON (`code`, `error`, `message`) with the status.
pub struct ApiError(pub Failure);

impl From<Failure> for ApiError {
    fn from(f: Failure) -> ApiError {
        ApiError(f)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.into_json()
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// The API's router and the (method, path) of every route in it.
pub fn routes() -> (Router<Arc<App>>, Vec<(&'static str, &'static str)>) {
    let mut r = Routes {
        router: Router::new(),
        listed: Vec::new(),
    };
    r.add("get", "/api/v1/me", get(me));
    r.add("get", "/api/v1/sites", get(sites));
    r.add("get", "/api/v1/sensors", get(sensors));
    r.add("get", "/api/v1/sites/{site}/sensors", get(site_sensors));
    r.add("get", "/api/v1/sites/{site}/baseline", get(baseline));
    r.add("get", "/api/v1/sites/{site}/assets", get(assets));
    r.add("get", "/api/v1/sites/{site}/device", get(device));
    r.add("get", "/api/v1/sites/{site}/pairs", get(pairs));
    r.add("get", "/api/v1/sites/{site}/map", get(map));
    r.add("get", "/api/v1/sites/{site}/alerts", get(alerts));
    r.add("post", "/api/v1/sites/{site}/alerts/{id}", post(act));
    r.add("get", "/api/v1/sites/{site}/diff", get(diff));
    r.add("get", "/api/v1/sites/{site}/settings", get(settings));
    r.add(
        "post",
        "/api/v1/sites/{site}/maintenance",
        post(maintenance),
    );
    r.add("post", "/api/v1/sites/{site}/zones", post(zones));
    (r.router, r.listed)
}

struct Routes {
    router: Router<Arc<App>>,
    listed: Vec<(&'static str, &'static str)>,
}

impl Routes {
    fn add(&mut self, method: &'static str, path: &'static str, handler: MethodRouter<Arc<App>>) {
        self.listed.push((method, path));
        self.router = std::mem::take(&mut self.router).route(path, handler);
    }
}

#[derive(Serialize)]
struct Me {
    name: String,
    role: &'static str,
    customer: Option<String>,
    lang: &'static str,
}

async fn me(caller: Caller) -> ApiResult<Me> {
    Ok(Json(Me {
        role: caller.user.role.as_str(),
        customer: caller.user.role.customer().map(str::to_owned),
        name: caller.user.name,
        lang: caller.user.lang.code(),
    }))
}

async fn sites(State(app): State<Arc<App>>, caller: Caller) -> ApiResult<Vec<SiteView>> {
    let app2 = app.clone();
    Ok(Json(app.data(move |d| app2.sites(d, &caller)).await?))
}

async fn sensors(
    State(app): State<Arc<App>>,
    caller: Caller,
    Query(q): Query<SiteQuery>,
) -> ApiResult<Vec<SensorView>> {
    let app2 = app.clone();
    let site = q.site.filter(|s| !s.is_empty());
    Ok(Json(
        app.data(move |d| {
            if let Some(s) = &site {
                app2.site(d, &caller, s)?;
            }
            app2.sensors(d, &caller, site.as_deref())
        })
        .await?,
    ))
}

async fn site_sensors(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
) -> ApiResult<Vec<SensorView>> {
    let app2 = app.clone();
    Ok(Json(
        app.data(move |d| {
            app2.site(d, &caller, &site)?;
            app2.sensors(d, &caller, Some(&site))
        })
        .await?,
    ))
}

async fn baseline(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
) -> ApiResult<Option<BaselineView>> {
    let sd = pages::site_data(&app, &caller, &site).await?;
    Ok(Json(
        sd.state.as_ref().map(|s| site::baseline_view(s, &sd.tz)),
    ))
}

async fn assets(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
    Query(filter): Query<AssetFilter>,
) -> ApiResult<Vec<DeviceView>> {
    let sd = pages::site_data(&app, &caller, &site).await?;
    Ok(Json(pages::assets(&sd, &filter)?.0))
}

async fn device(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
    Query(q): Query<KeyQuery>,
) -> ApiResult<DeviceDetail> {
    Ok(Json(
        pages::device_detail(&app, &caller, &site, &q.key).await?,
    ))
}

async fn pairs(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
) -> ApiResult<Vec<PairView>> {
    let sd = pages::site_data(&app, &caller, &site).await?;
    Ok(Json(sd.state.as_ref().map_or_else(Vec::new, |s| {
        s.pairs
            .values()
            .map(|p| site::pair_view(s, p, &sd.tz))
            .collect()
    })))
}

async fn map(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
) -> ApiResult<MapData> {
    let sd = pages::site_data(&app, &caller, &site).await?;
    Ok(Json(sd.state.as_ref().map_or_else(
        || MapData {
            groups: Vec::new(),
            boxes: Vec::new(),
            nodes: Vec::new(),
            edges: Vec::new(),
        },
        |s| site::map_data(s),
    )))
}

async fn alerts(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
    Query(q): Query<AlertQuery>,
) -> ApiResult<Vec<AlertView>> {
    Ok(Json(pages::alerts(&app, &caller, &site, &q).await?))
}

async fn act(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path((site, id)): Path<(String, u64)>,
    Json(a): Json<ActionForm>,
) -> ApiResult<AlertView> {
    Ok(Json(
        pages::act(&app, &caller, &site, id, &a.action, a.note).await?,
    ))
}

async fn diff(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
    Query(q): Query<DiffQuery>,
) -> ApiResult<DiffView> {
    Ok(Json(pages::diff(&app, &caller, &site, &q).await?))
}

async fn settings(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
) -> ApiResult<Option<SettingsView>> {
    let sd = pages::site_data(&app, &caller, &site).await?;
    Ok(Json(pages::settings(&sd)))
}

async fn maintenance(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
    Json(w): Json<WindowForm>,
) -> ApiResult<Option<SettingsView>> {
    pages::maintenance(&app, &caller, &site, w).await?;
    let sd = pages::site_data(&app, &caller, &site).await?;
    Ok(Json(pages::settings(&sd)))
}

async fn zones(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(site): Path<String>,
    Json(z): Json<ZoneForm>,
) -> ApiResult<Option<SettingsView>> {
    pages::zones(&app, &caller, &site, z).await?;
    let sd = pages::site_data(&app, &caller, &site).await?;
    Ok(Json(pages::settings(&sd)))
}
