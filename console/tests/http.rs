//! The console's HTTP surface against a real listener and a real store:
//! nothing answers without a session or token, tenants never cross, CSRF,
//! expiry, throttling, headers, escaping of what devices send, bad input,
//! and the API's routes against openapi.json.

mod support;

use osect_collector::store::now_us;
use osect_console::auth;
use reqwest::{redirect::Policy, Client, StatusCode};
use support::{hidden, start, Console, HOSTILE_VERSION, PASSWORD};

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

/// Every page path (with a site filled in) and every API route.
fn protected_paths(site: &str) -> Vec<String> {
    let mut paths: Vec<String> = ["/", "/sensors", "/sensors.csv", "/audit"]
        .iter()
        .map(|p| p.to_string())
        .collect();
    paths.push(format!("/sites/{site}"));
    let (_, api) = osect_console::api::routes();
    paths.extend(api.iter().map(|(_, p)| p.replace("{site}", site)));
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
    let sensors: Vec<serde_json::Value> = api
        .get(c.url("/api/v1/sensors"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut devices: Vec<&str> = sensors
        .iter()
        .map(|s| s["device"].as_str().unwrap())
        .collect();
    devices.sort();
    assert_eq!(devices, ["SN-A1", "SN-EVIL"]);
    let sites: Vec<serde_json::Value> = api
        .get(c.url("/api/v1/sites"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0]["site"], "plant-a");
    assert_eq!(sites[0]["customer"], "acme");
    assert_eq!(sites[0]["silent"], 1);
    for path in ["/", "/sensors", "/sensors.csv"] {
        let body = alice
            .get(c.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
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
    let sites: Vec<serde_json::Value> = api
        .get(c.url("/api/v1/sites"))
        .bearer_auth(&op)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = sites.iter().map(|s| s["site"].as_str().unwrap()).collect();
    assert_eq!(names, ["plant-a", "plant-b"]);
    let moved: Vec<serde_json::Value> = api
        .get(c.url("/api/v1/sites/plant-b/sensors"))
        .bearer_auth(&op)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    let page = http
        .get(c.url("/sensors"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
        let body = http
            .get(c.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
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
    let csv = http.get(c.url("/sensors.csv")).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let evil = text.lines().find(|l| l.starts_with("SN-EVIL")).unwrap();
    let quoted = format!("\"'{}\"", HOSTILE_VERSION.replace('"', "\"\""));
    assert!(evil.contains(&quoted), "{evil}");
    let api: Vec<serde_json::Value> = client()
        .get(c.url("/api/v1/sensors"))
        .bearer_auth(c.token("op"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
