//! Attacker-chosen names through the real pipeline: the traffic generator's
//! `hostile-names` plant (names like `<script>` and `"><img onerror>`
//! announced through DHCP, SSDP, CIP identity and more) replayed by the
//! real agent into uplink batches, stored and analysed as the collector
//! does, then every page, the map's data, the report and the CSV downloads
//! of the console: markup stays text, and no CSV cell starts a formula.

mod support;

use osect_collector::store::{now_us, Store};
use osect_console::auth;
use osect_console::db::{ConsoleDb, Lang, Role};
use osect_trafficgen::hostile;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_from_the_wire_are_text_everywhere() {
    let dir = support::replay_into_store(&hostile::hostile_names(), "plant-h", |_| {});
    let db = ConsoleDb::open(dir.path()).unwrap();
    let hash = auth::hash_password(support::PASSWORD).unwrap();
    db.add_user("op", &Role::Operator, &hash, Lang::En, now_us())
        .unwrap();
    let site = Store::open(dir.path())
        .unwrap()
        .analysed_sites()
        .unwrap()
        .remove(0);
    let c = support::serve(dir, |_| {}).await;
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = page(&http, c.url("/login")).await;
    let token = support::hidden(&login, "csrf").unwrap();
    let res = http
        .post(c.url("/login"))
        .form(&[
            ("name", "op"),
            ("password", support::PASSWORD),
            ("csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());

    let api = |path: String| {
        let (http, url) = (http.clone(), c.url(&path));
        async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let s = osect_console::web::encode_component(&site);
    let devices = api(format!("/api/v1/sites/{s}/assets")).await;
    let devices = devices
        .as_array()
        .unwrap_or_else(|| panic!("assets of {site}: {devices}"));
    let mut pages = support::site_pages(&s);
    for d in devices {
        let key = osect_console::web::encode_component(d["key"].as_str().unwrap());
        pages.push(format!("/sites/{s}/device?key={key}"));
    }
    let mut shown = String::new();
    for path in &pages {
        let res = http.get(c.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let html = res.text().await.unwrap();
        for name in hostile::ALL.iter().filter(|n| n.contains('<')) {
            assert!(!html.contains(name), "{path} carries {name:?} as markup");
        }
        shown.push_str(&support::unescape(&html));
    }
    // Each name a device announced reached the pages, as text.
    let missing: Vec<&str> = hostile::ALL
        .iter()
        .copied()
        .filter(|name| !shown.contains(name))
        .collect();
    // Three stay in the agent's logs: the ledger keeps no SSDP server
    // string, PROFINET type of station or LLDP neighbour name.
    assert!(missing.is_empty(), "not shown: {missing:?}");

    // The SSDP SERVER string is the camera's product on its device page.
    let camera = devices
        .iter()
        .find(|d| {
            d["ips"]
                .as_array()
                .is_some_and(|a| a.contains(&"192.168.10.121".into()))
        })
        .unwrap_or_else(|| panic!("no camera among {devices:?}"));
    assert_eq!(camera["product"], hostile::IMG, "{camera}");
    let key = osect_console::web::encode_component(camera["key"].as_str().unwrap());
    let html = page(&http, c.url(&format!("/sites/{s}/device?key={key}"))).await;
    assert!(
        support::unescape(&html).contains(hostile::IMG) && !html.contains(hostile::IMG),
        "{html}"
    );

    // The map's data carries the names as JSON strings for the map to draw
    // with textContent and canvas text.
    let map = api(format!("/api/v1/sites/{s}/map")).await;
    let nodes = map["nodes"].as_array().unwrap();
    let field = |f: &str| -> Vec<&str> { nodes.iter().map(|n| n[f].as_str().unwrap()).collect() };
    assert!(field("label").contains(&hostile::SCRIPT), "{nodes:?}");
    assert!(field("label").contains(&hostile::LLDP_NAME), "{nodes:?}");
    assert!(field("product").contains(&hostile::IMG), "{nodes:?}");
    assert!(field("product").contains(&hostile::DCP_VENDOR), "{nodes:?}");

    // In Chromium, where there is one: the camera selected on the drawn map
    // shows its SERVER string as text and no element came of it.
    if let Some((chromium, driver)) = support::browser::chromium() {
        use fantoccini::Locator;
        let downloads = tempfile::tempdir().unwrap();
        let (_driver, b) =
            support::browser::start_driver(&driver, &chromium, downloads.path()).await;
        support::browser::log_in(&b, &c.url(""), "op").await;
        b.goto(&c.url(&format!("/sites/{s}/map"))).await.unwrap();
        b.wait()
            .at_most(std::time::Duration::from_secs(15))
            .for_element(Locator::Css("#map[data-ready='1']"))
            .await
            .expect("the map draws");
        let shown = b
            .execute(
                "window.osectMap.getElementById(arguments[0]).emit('tap'); \
                 return [document.getElementById('map-product').textContent, \
                   document.querySelectorAll('main img, main svg, main iframe, main script:not([src])').length];",
                vec![camera["key"].clone()],
            )
            .await
            .unwrap();
        assert_eq!(shown[0], hostile::IMG, "{shown}");
        assert_eq!(shown[1], 0, "markup from the wire became an element");
        b.close().await.unwrap();
    }

    // CSV downloads: every cell that would start a formula is neutralised.
    for csv in ["assets.csv", "alerts.csv?state=all"] {
        let text = page(&http, c.url(&format!("/sites/{s}/{csv}"))).await;
        let mut formulas = 0;
        for cell in cells(&text) {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{csv}: cell {cell:?} starts a formula"
            );
            formulas +=
                usize::from(cell.starts_with('\'') && cell[1..].starts_with(['=', '+', '-', '@']));
        }
        if csv == "assets.csv" {
            assert!(
                formulas >= 4,
                "{csv}: {formulas} neutralised cells:\n{text}"
            );
            assert!(
                text.contains(&format!("'{}", hostile::HYPERLINK.replace('"', "\"\""))),
                "{text}"
            );
            // Every name from the wire is in a cell whole, as text.
            let cells = cells(&text);
            for name in hostile::ALL {
                let neutral = format!("'{name}");
                assert!(
                    cells.iter().any(|c| *c == name || *c == neutral),
                    "{csv}: no cell holds {name:?}:\n{text}"
                );
            }
        }
    }
    c.stop().await;
}

async fn page(http: &reqwest::Client, url: String) -> String {
    http.get(url).send().await.unwrap().text().await.unwrap()
}

/// The cells of a CSV text (RFC 4180 quoting).
fn cells(text: &str) -> Vec<String> {
    let (mut out, mut cell, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(ch) = chars.next() {
        match ch {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' | '\n' if !quoted => out.push(std::mem::take(&mut cell)),
            '\r' if !quoted => {}
            _ => cell.push(ch),
        }
    }
    if !cell.is_empty() {
        out.push(cell);
    }
    out
}
