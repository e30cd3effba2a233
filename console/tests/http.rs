//! The console's HTTP surface against a real listener and a real store:
//! nothing answers without a session or token, tenants never cross, CSRF,
//! expiry, throttling, headers, escaping of what devices send, bad input,
//! and the API's routes against openapi.json.

mod support;

use osect_collector::store::now_us;
use osect_console::auth;
use reqwest::{redirect::Policy, Client, StatusCode};
use support::{hidden, start, Console, HOSTILE_VERSION, PASSWORD, ROGUE, ROGUE_NAME};

/// A page's text.
async fn text(http: &Client, url: String) -> String {
    http.get(url).send().await.unwrap().text().await.unwrap()
}

fn client() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

/// Logs `user` in and returns the client holding the session and the
/// session's CSRF token (read from a page's forms).
async fn login(c: &Console, user: &str) -> (Client, String) {
    let http = client();
    let page = http.get(c.url("/login")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let body = page.text().await.unwrap();
    let token = hidden(&body, "csrf").expect("login form has a csrf field");
    let res = http
        .post(c.url("/login"))
        .form(&[
            ("name", user),
            ("password", PASSWORD),
            ("csrf", &token),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "login of {user}");
    let overview = http.get(c.url("/")).send().await.unwrap();
    assert_eq!(overview.status(), StatusCode::OK);
    let csrf = hidden(&overview.text().await.unwrap(), "csrf").unwrap();
    (http, csrf)
}

/// A response's JSON.
async fn get_json<T: serde::de::DeserializeOwned>(req: reqwest::RequestBuilder) -> T {
    req.send().await.unwrap().json().await.unwrap()
}

/// Posts a form in a session (`fields` without the CSRF token, added here).
async fn post_form(
    http: &Client,
    url: String,
    csrf: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut all = fields.to_vec();
    all.push(("csrf", csrf));
    http.post(url).form(&all).send().await.unwrap()
}

/// An API GET with a new token of `user`, as JSON.
async fn api_get(c: &Console, user: &str, path: &str) -> serde_json::Value {
    let res = client()
        .get(c.url(path))
        .bearer_auth(c.token(user))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path} as {user}");
    res.json().await.unwrap()
}

/// An API POST of JSON with a new token of `user`.
async fn api_post(
    c: &Console,
    user: &str,
    path: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    client()
        .post(c.url(path))
        .bearer_auth(c.token(user))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A device of plant-a (the PLC), as a URL's query value.
const DEVICE: &str = "mac%3A00%3A1b%3A1b%3A00%3A00%3A66";

/// Every page path (with a site filled in) and every API route that GETs.
fn protected_paths(site: &str) -> Vec<String> {
    let mut paths: Vec<String> = ["/", "/sensors", "/sensors.csv", "/audit"]
        .iter()
        .map(|p| p.to_string())
        .collect();
    for page in [
        "",
        "/assets",
        "/assets.csv",
        "/map",
        "/alerts",
        "/alerts.csv",
        "/report",
        "/diff",
        "/settings",
    ] {
        paths.push(format!("/sites/{site}{page}"));
    }
    let (_, api) = osect_console::api::routes();
    paths.extend(
        api.iter()
            .filter(|(m, _)| *m == "get")
            .map(|(_, p)| p.replace("{site}", site)),
    );
    for p in paths.iter_mut().filter(|p| p.ends_with("/device")) {
        p.push_str("?key=");
        p.push_str(DEVICE);
    }
    paths.push(format!("/sites/{site}/device?key={DEVICE}"));
    paths.push(format!(
        "/sites/{site}/pair?orig=mac%3A{}&resp={DEVICE}",
        support::HMI.0.replace(':', "%3A")
    ));
    paths
}

#[tokio::test]
async fn nothing_answers_without_a_session_or_token() {
    let c = start(|_| {}).await;
    let http = client();
    for path in protected_paths("plant-a") {
        let res = http.get(c.url(&path)).send().await.unwrap();
        if path.starts_with("/api/") {
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
            let body: serde_json::Value = res.json().await.unwrap();
            assert!(body["error"].as_str().unwrap().contains("Bearer"), "{path}");
        } else {
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
            let to = res.headers()["location"].to_str().unwrap();
            assert!(to.starts_with("/login?next="), "{path} -> {to}");
        }
        let bad = http
            .get(c.url(&path))
            .bearer_auth("0123456789abcdef")
            .send()
            .await
            .unwrap();
        assert_eq!(
            bad.status(),
            StatusCode::UNAUTHORIZED,
            "{path} with a wrong token"
        );
    }
    for path in ["/logout", "/settings/lang"] {
        let res = http.post(c.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.headers()["location"], "/login");
    }
    // A page that does not exist tells nothing before login either.
    let res = http.get(c.url("/no/such/page")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    c.stop().await;
}

/// A page's visible text: tags dropped, references read back.
fn visible(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(ch),
            _ => {}
        }
    }
    support::unescape(&out)
}

#[tokio::test]
async fn in_japanese_no_page_shows_an_english_interface_string() {
    let c = start(|_| {}).await;
    c.db().set_lang("op", osect_console::db::Lang::Ja).unwrap();
    let (http, csrf) = login(&c, "op").await;
    // A zone, a window and an approved alert, so that every part of the
    // pages has something to show.
    let zone = [
        ("action", "set"),
        ("name", "control"),
        ("subnets", "192.168.10.0/24"),
    ];
    post_form(&http, c.url("/sites/plant-a/zones"), &csrf, &zone).await;
    let window = [
        ("start", "2026-12-24T08:00"),
        ("end", "2026-12-24T18:00"),
        ("note", "x"),
    ];
    post_form(&http, c.url("/sites/plant-a/maintenance"), &csrf, &window).await;
    let mut pages = Vec::new();
    for path in protected_paths("plant-a")
        .into_iter()
        .filter(|p| !p.starts_with("/api/") && !p.ends_with(".csv"))
        .chain([
            "/sites/plant-a/alerts?state=all".to_owned(),
            "/sites/plant-a/assets?page=9".to_owned(),
            "/sites/plant-a/alerts?kind=nonsense".to_owned(),
            "/sites/plant-b/diff?a_from=2026-13-01".to_owned(),
            "/sites/elsewhere".to_owned(),
            "/sites/plant-a/device?key=nothing".to_owned(),
        ])
    {
        let res = http.get(c.url(&path)).send().await.unwrap();
        assert_ne!(res.status(), StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        pages.push((path, visible(&res.text().await.unwrap())));
    }
    for (form, path) in [
        (
            vec![
                ("action", "set"),
                ("name", "bad"),
                ("subnets", "1.2.3.4/99"),
            ],
            "/sites/plant-a/zones",
        ),
        (
            vec![("start", "x"), ("end", "y"), ("note", "z")],
            "/sites/plant-a/maintenance",
        ),
    ] {
        let res = post_form(&http, c.url(path), &csrf, &form).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        pages.push((format!("POST {path}"), visible(&res.text().await.unwrap())));
    }
    let res = http
        .post(c.url("/sites/plant-a/zones"))
        .form(&zone)
        .send()
        .await
        .unwrap();
    pages.push((
        "POST without CSRF".into(),
        visible(&res.text().await.unwrap()),
    ));

    let cat = osect_console::i18n::Catalogues::load().unwrap();
    let (ja, en) = (
        cat.get(osect_console::db::Lang::Ja),
        cat.get(osect_console::db::Lang::En),
    );
    let mut checked = 0;
    for (key, text) in en {
        if ja.get(key) == Some(text) {
            continue;
        }
        // The message's fixed parts long enough not to occur in data.
        for part in text.split(['{', '}']).step_by(2).map(str::trim) {
            if part.chars().filter(char::is_ascii_alphabetic).count() < 8 {
                continue;
            }
            checked += 1;
            for (path, page) in &pages {
                assert!(
                    !page.contains(part),
                    "{path} shows {key}'s English text {part:?}:\n{page}"
                );
            }
        }
    }
    assert!(checked > 150, "{checked} English strings checked");
    let alerts = &pages
        .iter()
        .find(|(p, _)| p.ends_with("alerts?state=all"))
        .unwrap()
        .1;
    assert!(
        alerts.contains("新しい機器 ") && alerts.contains("新しい通信 "),
        "{alerts}"
    );
    // No detail shows the microseconds the analysis keeps.
    let digits = alerts
        .split(|ch: char| !ch.is_ascii_digit())
        .map(str::len)
        .max();
    assert!(
        digits < Some(10),
        "a raw number on the alerts page:\n{alerts}"
    );
    // Roles by their Japanese names; the CSV keeps the raw ones.
    let assets = &pages
        .iter()
        .find(|(p, _)| p.ends_with("/sites/plant-a/assets"))
        .unwrap()
        .1;
    assert!(
        assets.contains("PLC（制御装置）") && assets.contains("HMI（表示器）"),
        "{assets}"
    );
    let csv = text(&http, c.url("/sites/plant-a/assets.csv")).await;
    assert!(csv.contains(",plc,") && !csv.contains("制御装置"), "{csv}");
    c.stop().await;
}

#[tokio::test]
async fn every_page_renders_for_an_operator_with_security_headers() {
    let c = start(|_| {}).await;
    let (http, _) = login(&c, "op").await;
    let anonymous = client();
    let mut checked = Vec::new();
    for path in protected_paths("plant-a") {
        checked.push((http.get(c.url(&path)).send().await.unwrap(), path));
    }
    for path in ["/login", "/static/app.css", "/nowhere"] {
        checked.push((
            anonymous.get(c.url(path)).send().await.unwrap(),
            path.into(),
        ));
    }
    for (res, path) in checked {
        assert!(
            res.status() == StatusCode::OK || path == "/nowhere",
            "{path}: {}",
            res.status()
        );
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        let html = h
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
        let body = res.text().await.unwrap();
        assert!(
            !html || !body.contains("<script>"),
            "{path} has an inline script"
        );
    }
    c.stop().await;
}

#[tokio::test]
async fn a_customer_sees_only_its_sites_by_url_and_by_api() {
    let c = start(|_| {}).await;
    let (alice, _) = login(&c, "alice").await;
    let token = c.token("alice");
    let api = client();
    for path in protected_paths("plant-b")
        .into_iter()
        .filter(|p| p.contains("plant-b"))
        .chain([
            "/sensors?site=plant-b".into(),
            "/sensors.csv?site=plant-b".into(),
        ])
        .chain(["/api/v1/sensors?site=plant-b".into()])
    {
        let res = alice.get(c.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "alice, page {path}");
        let res = api
            .get(c.url(&path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "alice, token {path}");
        // The same answer as for a site that does not exist at all.
        let none = path.replace("plant-b", "plant-zz");
        let res = alice.get(c.url(&none)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "alice, {none}");
    }
    // The operator-only audit page does not exist for a customer.
    let res = alice.get(c.url("/audit")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Lists hold only her sites; the registry's site wins over the header's.
    let sensors: Vec<serde_json::Value> =
        get_json(api.get(c.url("/api/v1/sensors")).bearer_auth(&token)).await;
    let mut devices: Vec<&str> = sensors
        .iter()
        .map(|s| s["device"].as_str().unwrap())
        .collect();
    devices.sort();
    assert_eq!(devices, ["SN-A1", "SN-EVIL"]);
    let sites: Vec<serde_json::Value> =
        get_json(api.get(c.url("/api/v1/sites")).bearer_auth(&token)).await;
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0]["site"], "plant-a");
    assert_eq!(sites[0]["customer"], "acme");
    assert_eq!(sites[0]["silent"], 1);
    for path in ["/", "/sensors", "/sensors.csv"] {
        let body = text(&alice, c.url(path)).await;
        assert!(body.contains("SN-A1") || path == "/", "{path}");
        assert!(
            !body.contains("plant-b") && !body.contains("SN-B1"),
            "{path} shows globex"
        );
        assert!(
            !body.contains("SN-MOVED"),
            "{path} shows a device the registry put in plant-b"
        );
    }

    // The operator sees both customers.
    let op = c.token("op");
    let sites: Vec<serde_json::Value> =
        get_json(api.get(c.url("/api/v1/sites")).bearer_auth(&op)).await;
    let names: Vec<&str> = sites.iter().map(|s| s["site"].as_str().unwrap()).collect();
    assert_eq!(names, ["plant-a", "plant-b"]);
    let moved: Vec<serde_json::Value> = get_json(
        api.get(c.url("/api/v1/sites/plant-b/sensors"))
            .bearer_auth(&op),
    )
    .await;
    assert_eq!(moved.len(), 2, "SN-B1 and SN-MOVED are plant-b's");
    c.stop().await;
}

#[tokio::test]
async fn forms_without_their_csrf_token_are_refused() {
    let c = start(|_| {}).await;
    let (http, csrf) = login(&c, "alice").await;
    for form in [
        vec![("lang", "ja"), ("next", "/")],
        vec![("lang", "ja"), ("next", "/"), ("csrf", "0000")],
        vec![("lang", "ja"), ("next", "/"), ("csrf", "")],
    ] {
        let res = http
            .post(c.url("/settings/lang"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{form:?}");
        assert!(res.text().await.unwrap().contains("CSRF"));
    }
    let res = http.post(c.url("/logout")).send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "logout without a token"
    );
    // With the token the language changes.
    let res = http
        .post(c.url("/settings/lang"))
        .form(&[("lang", "ja"), ("next", "/sensors"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/sensors");
    let page = text(&http, c.url("/sensors")).await;
    assert!(page.contains("<html lang=\"ja\">") && page.contains("センサー"));

    // The login form needs the token its page set in a cookie.
    let fresh = client();
    let res = fresh
        .post(c.url("/login"))
        .form(&[("name", "alice"), ("password", PASSWORD), ("csrf", "abc")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    c.stop().await;
}

#[tokio::test]
async fn an_expired_or_ended_session_goes_to_the_login_page() {
    let c = start(|_| {}).await;
    let now = now_us();
    let sid = auth::random_hex(32).unwrap();
    c.db()
        .create_session(
            "alice",
            &auth::secret_sha256(&sid),
            "x",
            now - 20_000_000,
            now - 1,
        )
        .unwrap();
    let res = client()
        .get(c.url("/sensors?site=plant-a"))
        .header("cookie", format!("osect_session={sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        "/login?next=%2Fsensors%3Fsite%3Dplant-a"
    );

    // Logging out ends the session on the server, not only in the browser.
    let (http, csrf) = login(&c, "bob").await;
    assert_eq!(
        http.get(c.url("/")).send().await.unwrap().status(),
        StatusCode::OK
    );
    let res = http
        .post(c.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = http.get(c.url("/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // A disabled user's sessions and tokens stop working at once.
    let (op_http, _) = login(&c, "op").await;
    let token = c.token("op");
    c.db().disable_user("op").unwrap();
    assert_eq!(
        op_http.get(c.url("/")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let res = client()
        .get(c.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    c.stop().await;
}

#[tokio::test]
async fn failed_logins_are_throttled_and_audited() {
    let c = start(|cfg| cfg.throttle.per_user = 3).await;
    let http = client();
    let attempt = |password: &'static str| {
        let http = http.clone();
        let url = c.url("/login");
        async move {
            let page = http.get(&url).send().await.unwrap().text().await.unwrap();
            let token = hidden(&page, "csrf").unwrap();
            http.post(&url)
                .form(&[("name", "bob"), ("password", password), ("csrf", &token)])
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..3 {
        let res = attempt("wrong password!").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.text().await.unwrap().contains("login-error"));
    }
    // Now even the right password waits.
    let res = attempt(PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let rows = c.db().audit_rows(10).unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "login-throttled",
            "login-failed",
            "login-failed",
            "login-failed"
        ]
    );
    assert!(rows
        .iter()
        .all(|r| r.who == "bob" && r.address == "127.0.0.1"));
    // Another user from the same address is not held up (its limit is 20).
    let (_, _) = login(&c, "alice").await;
    assert_eq!(c.db().audit_rows(1).unwrap()[0].action, "login");
    c.stop().await;
}

#[tokio::test]
async fn what_devices_send_is_shown_as_text_and_csv_cells_are_neutralised() {
    let c = start(|_| {}).await;
    let (http, _) = login(&c, "op").await;
    for path in ["/", "/sensors", "/sites/plant-a"] {
        let body = text(&http, c.url(path)).await;
        assert!(!body.contains("<img src=x"), "{path} lets markup through");
        assert!(
            !body.contains("<script>alert"),
            "{path} lets a script through"
        );
        if path != "/" {
            assert!(
                body.contains("&lt;script&gt;alert(2)&lt;&#x2f;script&gt;"),
                "{path} does not show the version as text"
            );
        }
    }
    let rogue = format!(
        "/sites/plant-a/device?key=mac%3A{}",
        ROGUE.0.replace(':', "%3A")
    );
    for path in [
        "/sites/plant-a/assets",
        rogue.as_str(),
        "/sites/plant-a/report",
    ] {
        let res = http.get(c.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let body = res.text().await.unwrap();
        assert!(
            !body.contains("<script>alert"),
            "{path} lets a script through"
        );
        assert!(
            body.contains("&lt;script&gt;alert(3)&lt;&#x2f;script&gt;"),
            "{path} does not show the rogue's vendor as text"
        );
        assert!(
            !body.contains("<img src=x"),
            "{path} lets the rogue's name through"
        );
        assert!(
            body.contains("&quot;&gt;&lt;img src=x onerror=alert(4)&gt;"),
            "{path} does not show the rogue's name as text"
        );
    }
    let assets = text(&http, c.url("/sites/plant-a/assets.csv")).await;
    let line = assets.lines().find(|l| l.contains(ROGUE.1)).unwrap();
    assert!(line.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{line}");
    let csv = http.get(c.url("/sensors.csv")).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let evil = text.lines().find(|l| l.starts_with("SN-EVIL")).unwrap();
    let quoted = format!("\"'{}\"", HOSTILE_VERSION.replace('"', "\"\""));
    assert!(evil.contains(&quoted), "{evil}");
    let api: Vec<serde_json::Value> = get_json(
        client()
            .get(c.url("/api/v1/sensors"))
            .bearer_auth(c.token("op")),
    )
    .await;
    assert!(api.iter().any(|s| s["agent_version"] == HOSTILE_VERSION));
    c.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_400_never_a_500() {
    let c = start(|_| {}).await;
    let (http, csrf) = login(&c, "op").await;
    let token = c.token("op");
    let long = "x".repeat(5000);
    let cases = [
        format!("/sites/{}", "s".repeat(200)),
        format!("/sites/{long}"),
        format!("/sensors?site={long}"),
        "/sensors?site=%ff%fe".into(),
        "/sensors?site=a%01b".into(),
        "/sites/a%00b".into(),
        format!("/api/v1/sites/{}/sensors", "s".repeat(300)),
        "/api/v1/sensors?site=%C0".into(),
        "/api/v1/sites/%ff/sensors".into(),
        "/sites/plant-a/assets?page=0".into(),
        "/sites/plant-a/assets?page=2".into(),
        "/sites/plant-a/assets?page=x".into(),
        format!("/sites/plant-a/assets?q={}", "q".repeat(200)),
        format!("/sites/plant-a/pair?orig={}&resp=x", "k".repeat(300)),
        "/sites/plant-a/pair?orig=x".into(),
        "/sites/plant-a/device".into(),
        "/sites/plant-a/report?from=2026-02-30".into(),
        "/sites/plant-a/diff?b_from=yesterday".into(),
        "/sites/plant-a/alerts?severity=%00".into(),
        "/sites/plant-a/alerts?page=0".into(),
        "/sites/plant-a/alerts?page=2".into(),
        "/sites/plant-a/alerts?page=-1".into(),
    ];
    for path in &cases {
        for authorised in [true, false] {
            let req = if authorised {
                http.get(c.url(path))
            } else {
                client().get(c.url(path)).bearer_auth(&token)
            };
            let res = req.send().await.unwrap();
            assert_eq!(
                res.status(),
                StatusCode::BAD_REQUEST,
                "{}",
                &path[..path.len().min(60)]
            );
            let body = res.text().await.unwrap();
            assert!(body.len() < 10_000 && !body.is_empty());
        }
    }
    let long_name = "z".repeat(5000);
    for form in [
        vec![
            ("action", "set"),
            ("name", long_name.as_str()),
            ("subnets", "10.0.0.0/8"),
        ],
        vec![
            ("action", "set"),
            ("name", "z"),
            ("subnets", long_name.as_str()),
        ],
        vec![("action", long_name.as_str())],
        vec![("name", "z")],
    ] {
        let res = post_form(&http, c.url("/sites/plant-a/zones"), &csrf, &form).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{:?}", &form[0]);
    }
    let res = http
        .post(c.url("/settings/lang"))
        .form(&[("lang", "klingon"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("ja or en"));
    let res = http
        .post(c.url("/settings/lang"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&lang=ja&next={}", "a".repeat(70_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    c.stop().await;
}

#[tokio::test]
async fn api_errors_carry_a_stable_code_and_a_message_in_the_callers_language() {
    use osect_console::db::Lang;
    use osect_console::i18n::Msg;
    let c = start(|_| {}).await;
    c.db().set_lang("alice", Lang::Ja).unwrap();
    let token = c.token("alice");
    let state = Msg::new("err_state").arg("value", "nonsense");
    let url = c.url("/api/v1/sites/plant-a/alerts?state=nonsense");
    let error = |res: reqwest::Response| async move {
        let status = res.status();
        let body: serde_json::Value = res.json().await.unwrap();
        (status, body)
    };
    // The token's owner reads Japanese; a client asking for English gets it.
    for (accept, lang) in [(None, Lang::Ja), (Some("en-US,en;q=0.9"), Lang::En)] {
        let mut req = client().get(&url).bearer_auth(&token);
        if let Some(a) = accept {
            req = req.header("accept-language", a);
        }
        let (status, body) = error(req.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "state", "{body}");
        assert_eq!(body["error"], state.text(Lang::En), "{body}");
        assert_eq!(body["message"], state.text(lang), "{body}");
    }
    // Before any login: the language asked for, English by default.
    let anonymous = client().get(c.url("/api/v1/sites"));
    let (status, body) = error(anonymous.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "need_login");
    assert_eq!(body["message"], body["error"]);
    let req = client()
        .get(c.url("/api/v1/sites"))
        .header("accept-language", "ja,en;q=0.5");
    let (_, body) = error(req.send().await.unwrap()).await;
    assert_eq!(body["message"], Msg::new("err_need_login").text(Lang::Ja));
    // A parameter the framework cannot read, and another customer's site.
    let req = client()
        .get(c.url("/api/v1/sites/plant-a/assets?page=x"))
        .bearer_auth(&token);
    let (status, body) = error(req.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "malformed", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("リクエストの"),
        "{body}"
    );
    let req = client()
        .get(c.url("/api/v1/sites/plant-b/assets"))
        .bearer_auth(&token);
    let (status, body) = error(req.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["message"], Msg::new("err_not_found").text(Lang::Ja));
    // In a session: the user's language, and JSON for a refused form too.
    let (http, _) = login(&c, "alice").await;
    let (status, body) = error(http.get(&url).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], state.text(Lang::Ja));
    let res = http
        .post(c.url("/api/v1/sites/plant-a/alerts/1"))
        .json(&serde_json::json!({"action": "approve"}))
        .send()
        .await
        .unwrap();
    let (status, body) = error(res).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "csrf");
    assert_eq!(body["message"], Msg::new("err_csrf").text(Lang::Ja));
    c.stop().await;
}

#[test]
fn every_api_route_is_in_openapi_json_and_back() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../openapi.json")).expect("openapi.json parses");
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                documented.push((method.clone(), path.clone()));
            }
        }
    }
    documented.sort();
    let (_, routes) = osect_console::api::routes();
    let mut served: Vec<(String, String)> = routes
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    served.sort();
    assert_eq!(
        served, documented,
        "router (left) and openapi.json (right) differ"
    );
}

#[tokio::test]
async fn alerts_are_acted_on_by_their_tenant_only_and_audited() {
    let c = start(|_| {}).await;
    let op = c.token("op");
    let api = client();
    let list = |token: String, q: &'static str| {
        let (api, url) = (
            api.clone(),
            c.url(&format!("/api/v1/sites/plant-a/alerts{q}")),
        );
        async move {
            let v: Vec<serde_json::Value> = get_json(api.get(url).bearer_auth(token)).await;
            v
        }
    };
    let open = list(op.clone(), "").await;
    let kinds: Vec<&str> = open.iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"new_device"), "{kinds:?}");
    assert!(kinds.contains(&"new_pair"), "{kinds:?}");
    let new_device = open.iter().find(|a| a["kind"] == "new_device").unwrap();
    let id = new_device["id"].as_u64().unwrap();
    assert!(!new_device["evidence"].as_array().unwrap().is_empty());

    // Another customer cannot act on it, by form or by token: 404.
    let (bob, bob_csrf) = login(&c, "bob").await;
    let res = bob
        .post(c.url(&format!("/sites/plant-a/alerts/{id}")))
        .form(&[("action", "approve"), ("csrf", &bob_csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = api
        .post(c.url(&format!("/api/v1/sites/plant-a/alerts/{id}")))
        .bearer_auth(c.token("bob"))
        .json(&serde_json::json!({"action": "approve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Alice approves it with the form; it leaves the active list.
    let (alice, csrf) = login(&c, "alice").await;
    let res = alice
        .post(c.url(&format!("/sites/plant-a/alerts/{id}")))
        .form(&[("action", "launch"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = alice
        .post(c.url(&format!("/sites/plant-a/alerts/{id}")))
        .form(&[("action", "approve"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let after = list(op.clone(), "").await;
    assert!(after.iter().all(|a| a["id"].as_u64() != Some(id)));
    let approved = list(op.clone(), "?state=approved").await;
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0]["actions"][0]["by"], "alice");
    let page = text(&alice, c.url("/sites/plant-a/alerts?state=approved")).await;
    assert!(page.contains(&format!("id=\"alert-{id}\"")));

    // The operator dismisses another through the API.
    let other = after[0]["id"].as_u64().unwrap();
    let res = api
        .post(c.url(&format!("/api/v1/sites/plant-a/alerts/{other}")))
        .bearer_auth(&op)
        .json(&serde_json::json!({"action": "dismiss", "note": "test traffic"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let a: serde_json::Value = res.json().await.unwrap();
    assert_eq!(a["state"], "dismissed");
    let res = api
        .post(c.url("/api/v1/sites/plant-a/alerts/999999"))
        .bearer_auth(&op)
        .json(&serde_json::json!({"action": "dismiss"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let audit = c.db().audit_rows(20).unwrap();
    let acts: Vec<(&str, &str)> = audit
        .iter()
        .filter(|r| r.action.starts_with("alert-"))
        .map(|r| (r.who.as_str(), r.action.as_str()))
        .collect();
    assert_eq!(acts, [("op", "alert-dismiss"), ("alice", "alert-approve")]);
    c.stop().await;
}

#[tokio::test]
async fn the_overview_counts_what_changed_since_the_last_visit() {
    let c = start(|_| {}).await;
    let row = |page: &str| {
        let at = page
            .find("<table class=\"grid\" id=\"changes\">")
            .expect("changes table");
        let rest = &page[at..];
        let row = &rest[rest.find("<tbody>").unwrap()..rest.find("</tbody>").unwrap()];
        row.split("<td class=\"n")
            .skip(1)
            .map(|cell| {
                let cell = &cell[cell.find('>').unwrap() + 1..];
                let cell = cell.trim_start_matches(|ch: char| ch != '>' && cell.starts_with("<a"));
                let text: String = cell
                    .trim_start_matches('>')
                    .chars()
                    .take_while(|ch| ch.is_ascii_digit())
                    .collect();
                text.parse::<usize>().unwrap()
            })
            .collect::<Vec<_>>()
    };
    let alerts: Vec<serde_json::Value> = get_json(
        client()
            .get(c.url("/api/v1/sites/plant-a/alerts?state=all"))
            .bearer_auth(c.token("alice")),
    )
    .await;
    let kinds: Vec<&str> = alerts.iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"new_device") && kinds.contains(&"new_pair"),
        "{kinds:?}"
    );
    // First visit: everything is new (every alert, three devices, three pairs).
    let (http, _) = login(&c, "alice").await;
    let first = text(&http, c.url("/")).await;
    assert_eq!(
        row(&first),
        [alerts.len(), 3, 0, 3],
        "new alerts, devices, changed, pairs"
    );
    // A later visit: nothing happened in between.
    let (again, _) = login(&c, "alice").await;
    let second = text(&again, c.url("/")).await;
    assert_eq!(row(&second), [0, 0, 0, 0]);
    // The PLC's firmware changes; the next visit shows one changed device
    // (the site's new version is read, not the state kept in memory).
    {
        let mut store = osect_collector::store::Store::open(c.store()).unwrap();
        let plc = (support::PLC.0, support::PLC.1, "plc", "Siemens", "V4.3");
        // Record time after the second visit began (records carry their own time).
        let rec = vec![support::asset(now_us() + 1_000, plc, "")];
        let frame = support::frame_with("SN-A1", "plant-a", 12, "0.1.0", 1, rec);
        support::store_frame(&mut store, &frame, 1);
        let mut a = osect_collector::analyse::Analyser::new(osect_analysis::Registry::new(&[]));
        while a.run_pending(&mut store).unwrap() > 0 {}
    }
    let (again, _) = login(&c, "alice").await;
    let second = text(&again, c.url("/")).await;
    let changed = row(&second);
    assert_eq!(changed[1..], [0, 1, 0], "{changed:?}");
    c.stop().await;
}

#[tokio::test]
async fn the_map_groups_devices_lays_them_out_and_opens_pairs() {
    let c = start(|_| {}).await;
    let map = api_get(&c, "alice", "/api/v1/sites/plant-a/map").await;
    let nodes = map["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3, "{map}");
    assert_eq!(map["groups"], serde_json::json!(["192.168.10.0/24"]));
    let new: Vec<&str> = nodes
        .iter()
        .filter(|n| n["new"] == true)
        .map(|n| n["label"].as_str().unwrap())
        .collect();
    // The announced name goes out as data, for the map to draw as text.
    assert_eq!(new, [ROGUE_NAME]);
    // Laid out by the server: distinct places, all inside the group's box.
    let b = &map["boxes"][0];
    assert_eq!(b["devices"], 3);
    let at = |n: &serde_json::Value| (n["x"].as_f64().unwrap(), n["y"].as_f64().unwrap());
    let places: std::collections::BTreeSet<(i64, i64)> = nodes
        .iter()
        .map(|n| (at(n).0 as i64, at(n).1 as i64))
        .collect();
    assert_eq!(places.len(), 3, "{map}");
    let (bx, by, bw, bh) = ["x", "y", "w", "h"].map(|k| b[k].as_f64().unwrap()).into();
    for n in nodes {
        let (x, y) = at(n);
        assert!(
            (x - bx).abs() < bw / 2.0 && (y - by).abs() < bh / 2.0,
            "{n} outside {b}"
        );
    }
    let edges = map["edges"].as_array().unwrap();
    // One edge per device pair and protocol: HMI-PLC holds the learned
    // port 502 and the new 503 (so it is new), rogue-PLC is new.
    assert_eq!(edges.len(), 2, "{map}");
    assert!(edges
        .iter()
        .all(|e| e["protocol"] == "modbus" && e["new"] == true));
    let pairs: Vec<u64> = edges.iter().map(|e| e["pairs"].as_u64().unwrap()).collect();
    assert_eq!(pairs, [2, 1]);

    // An edge's pair page lists both pairs between the HMI and the PLC.
    let (alice, _) = login(&c, "alice").await;
    let e = &edges[0];
    let pair = format!(
        "/sites/plant-a/pair?orig={}&resp={}",
        osect_console::web::encode_component(e["source"].as_str().unwrap()),
        osect_console::web::encode_component(e["target"].as_str().unwrap())
    );
    let page = visible(&text(&alice, c.url(&pair)).await);
    assert!(
        page.contains("tcp/502") && page.contains("tcp/503"),
        "{page}"
    );
    let (bob, _) = login(&c, "bob").await;
    let res = bob.get(c.url(&pair)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = alice
        .get(c.url("/sites/plant-a/pair?orig=x&resp=y"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    c.stop().await;
}

#[tokio::test]
async fn maintenance_windows_are_added_by_operators_and_customer_admins_only() {
    let c = start(|_| {}).await;
    let url = c.url("/sites/plant-a/maintenance");
    let window = |start| {
        [
            ("start", start),
            ("end", "2026-12-24T18:00"),
            ("note", "line 2 retrofit"),
        ]
    };
    // A customer's plain user sees the settings but may not change them.
    let (alice, csrf) = login(&c, "alice").await;
    let page = text(&alice, c.url("/sites/plant-a/settings")).await;
    assert!(!page.contains("id=\"add-window\"") && !page.contains("id=\"add-zone\""));
    let res = post_form(&alice, url.clone(), &csrf, &window("2026-12-24T08:00")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("customer admins"));

    let (carol, csrf) = login(&c, "carol").await;
    let res = post_form(&carol, url.clone(), &csrf, &window("2026-12-24T08:00")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = text(&carol, c.url("/sites/plant-a/settings")).await;
    assert!(page.contains("2026-12-24 08:00:00 JST") && page.contains("line 2 retrofit"));
    for (bad, says) in [
        ("tomorrow", "is not a date and time"),
        (
            "2026-12-25T08:00",
            "ends (2026-12-24T18:00) before it starts (2026-12-25T08:00)",
        ),
    ] {
        let res = post_form(&carol, url.clone(), &csrf, &window(bad)).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(res.text().await.unwrap().contains(says), "{bad}");
    }
    // Bob (globex) cannot, by API either: the site is not his.
    let w =
        serde_json::json!({"start": "2026-12-24T08:00", "end": "2026-12-24T09:00", "note": "x"});
    let res = api_post(&c, "bob", "/api/v1/sites/plant-a/maintenance", w.clone()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = api_post(&c, "alice", "/api/v1/sites/plant-a/maintenance", w.clone()).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = api_post(&c, "op", "/api/v1/sites/plant-a/maintenance", w).await;
    assert_eq!(res.status(), StatusCode::OK);
    let settings = api_get(&c, "op", "/api/v1/sites/plant-a/settings").await;
    let by: Vec<&str> = settings["maintenance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w[3].as_str().unwrap())
        .collect();
    assert_eq!(by, ["carol", "op"]);
    let audit = c.db().audit_rows(20).unwrap();
    let adds: Vec<&str> = audit
        .iter()
        .filter(|r| r.action == "maintenance-add")
        .map(|r| r.who.as_str())
        .collect();
    assert_eq!(adds, ["op", "carol"]);
    c.stop().await;
}

#[tokio::test]
async fn zones_are_edited_validated_and_audited_like_the_cli() {
    let c = start(|_| {}).await;
    let url = c.url("/sites/plant-a/zones");
    let alerts_before = api_get(&c, "op", "/api/v1/sites/plant-a/alerts?state=all").await;
    let (carol, csrf) = login(&c, "carol").await;
    let set = |name, subnets, vlans| {
        [
            ("action", "set"),
            ("name", name),
            ("subnets", subnets),
            ("vlans", vlans),
        ]
    };
    let res = post_form(
        &carol,
        url.clone(),
        &csrf,
        &set("control", "192.168.10.0/24", ""),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = post_form(
        &carol,
        url.clone(),
        &csrf,
        &set("office", "10.1.0.0/16, 10.2.0.0/16", "20"),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    for (form, says) in [
        (
            set("bad", "192.168.300.0/24", ""),
            "\"192.168.300.0/24\" is not a subnet",
        ),
        (
            set("bad", "10.9.0.0/33", ""),
            "\"10.9.0.0/33\" is not a subnet",
        ),
        (set("", "10.9.0.0/16", ""), "Zone name \"\""),
        (set("a b", "10.9.0.0/16", ""), "Zone name \"a b\""),
        (set("empty", "", ""), "give at least one subnet or VLAN"),
        (set("bad", "", "5000"), "\"5000\" is not a VLAN id"),
        (
            set("control", "192.168.11.0/24", ""),
            "Zone control already exists",
        ),
        (
            set("twin", "192.168.10.0/24", ""),
            "192.168.10.0/24 is already in zone control",
        ),
        (set("twin", "", "20"), "VLAN 20 is already in zone office"),
    ] {
        let res = post_form(&carol, url.clone(), &csrf, &form).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{form:?}");
        let body = res.text().await.unwrap();
        assert!(support::unescape(&body).contains(says), "{form:?}: {body}");
    }
    // A nested subnet is not ambiguous (the longest prefix wins).
    let res = post_form(
        &carol,
        url.clone(),
        &csrf,
        &set("hmi", "192.168.10.16/28", ""),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mut replace = set("office", "10.1.0.0/16", "").to_vec();
    replace.push(("replace", "1"));
    assert_eq!(
        post_form(&carol, url.clone(), &csrf, &replace)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let allow = [
        ("action", "allow"),
        ("name", "control"),
        ("other", "office"),
    ];
    assert_eq!(
        post_form(&carol, url.clone(), &csrf, &allow).await.status(),
        StatusCode::SEE_OTHER
    );
    let allow_unknown = [("action", "allow"), ("name", "control"), ("other", "dmz")];
    let res = post_form(&carol, url.clone(), &csrf, &allow_unknown).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Zone dmz is not defined"));
    let remove = [("action", "remove"), ("name", "hmi")];
    assert_eq!(
        post_form(&carol, url.clone(), &csrf, &remove)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let res = post_form(&carol, url.clone(), &csrf, &remove).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = post_form(&carol, url.clone(), &csrf, &[("action", "rename")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // The settings as the CLI would leave them; the pages place devices in
    // the zones at once (the PLC and the HMI are in 192.168.10.0/24) and
    // nothing was analysed again.
    let settings = api_get(&c, "op", "/api/v1/sites/plant-a/settings").await;
    assert_eq!(
        settings["zones"],
        serde_json::json!([
            ["control", "192.168.10.0/24", ""],
            ["office", "10.1.0.0/16", ""]
        ])
    );
    assert_eq!(
        settings["allowed"],
        serde_json::json!([["control", "office"]])
    );
    let assets = api_get(&c, "op", "/api/v1/sites/plant-a/assets?zone=control").await;
    assert_eq!(assets.as_array().unwrap().len(), 3, "{assets}");
    let alerts_after = api_get(&c, "op", "/api/v1/sites/plant-a/alerts?state=all").await;
    assert_eq!(alerts_after, alerts_before);

    // Alice (plain user) may not; Bob (globex) does not see the site; a
    // form without its token is refused.
    let (alice, alice_csrf) = login(&c, "alice").await;
    let res = post_form(
        &alice,
        url.clone(),
        &alice_csrf,
        &set("x", "10.5.0.0/16", ""),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (bob, bob_csrf) = login(&c, "bob").await;
    let res = post_form(&bob, url.clone(), &bob_csrf, &set("x", "10.5.0.0/16", "")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = carol
        .post(url.clone())
        .form(&set("x", "10.5.0.0/16", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let z = serde_json::json!({"action": "set", "name": "x", "subnets": "10.5.0.0/16"});
    assert_eq!(
        api_post(&c, "bob", "/api/v1/sites/plant-a/zones", z.clone())
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api_post(&c, "alice", "/api/v1/sites/plant-a/zones", z.clone())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        api_post(&c, "op", "/api/v1/sites/plant-a/zones", z)
            .await
            .status(),
        StatusCode::OK
    );

    let audit = c.db().audit_rows(50).unwrap();
    let zone_acts: Vec<(&str, &str)> = audit
        .iter()
        .filter(|r| r.action.starts_with("zone-"))
        .map(|r| (r.who.as_str(), r.action.as_str()))
        .collect();
    assert_eq!(
        zone_acts,
        [
            ("op", "zone-set"),
            ("carol", "zone-remove"),
            ("carol", "zone-allow"),
            ("carol", "zone-set"),
            ("carol", "zone-set"),
            ("carol", "zone-set"),
            ("carol", "zone-set"),
        ]
    );
    c.stop().await;
}

#[tokio::test]
async fn the_diff_shows_what_a_period_added() {
    let c = start(|_| {}).await;
    let diff: serde_json::Value = get_json(client().get(c.url(
            "/api/v1/sites/plant-a/diff?a_from=2000-01-01&a_to=2000-01-01&b_from=2000-01-02&b_to=2100-01-01",
        )).bearer_auth(c.token("alice"))).await;
    // Against a day long before, everything the site saw is added.
    assert_eq!(diff["devices_added"].as_array().unwrap().len(), 3, "{diff}");
    assert!(diff["devices_removed"].as_array().unwrap().is_empty());
    assert_eq!(diff["pairs_added"].as_array().unwrap().len(), 3);
    let res = client()
        .get(c.url("/api/v1/sites/plant-a/diff?a_from=2026-13-01"))
        .bearer_auth(c.token("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    c.stop().await;
}

#[tokio::test]
async fn over_https_cookies_are_secure_and_host_bound() {
    let dir = tempfile::tempdir().unwrap();
    support::populate(dir.path());
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (crt, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&crt, cert.cert.pem()).unwrap();
    std::fs::write(&key, cert.key_pair.serialize_pem()).unwrap();
    let tls = osect_console::server::Tls {
        cert: crt,
        key: key.clone(),
    };
    let mut cfg = osect_console::web::Config::new(dir.path().to_owned());
    cfg.https = true;
    let app = osect_console::web::App::new(cfg).unwrap();
    let listener = osect_console::server::bind("127.0.0.1:0".parse().unwrap(), Some(&tls)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        osect_console::server::serve(app, listener, Some(&tls), async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let https = Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .redirect(Policy::none())
        .build()
        .unwrap();
    let res = https
        .get(format!("https://localhost:{port}/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let set = res.headers()["set-cookie"].to_str().unwrap();
    assert!(set.starts_with("__Host-osect_login="), "{set}");
    for attr in ["; Secure", "; HttpOnly", "; SameSite=Strict", "; Path=/"] {
        assert!(set.contains(attr), "{set} lacks {attr}");
    }
    // A key that is not the certificate's is refused with the file named.
    let other = rcgen::KeyPair::generate().unwrap();
    std::fs::write(&key, other.serialize_pem()).unwrap();
    let bad = osect_console::server::Tls {
        cert: dir.path().join("c.pem"),
        key: key.clone(),
    };
    let e = osect_console::server::rustls_config(&bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("k.pem"), "{e}");
    let _ = stop.send(());
    task.await.unwrap();
}
