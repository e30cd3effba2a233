//! The console in a real browser: Debian's Chromium, headless, driven over
//! WebDriver (chromedriver). Logs in, opens every page, filters, downloads a
//! CSV, switches language, and saves screenshots under target/tmp.
//! Skips, saying so, only where Chromium or chromedriver is not installed
//! (CI installs both from ci/deps/apt-console.txt).

mod support;

use fantoccini::actions::InputSource;
use fantoccini::{Client, Locator};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::browser::{chromium, start_driver};

struct Shots {
    dir: PathBuf,
}

impl Shots {
    async fn take(&self, b: &Client, name: &str) {
        let png = b.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
        std::fs::write(self.dir.join(format!("{name}.png")), png).unwrap();
    }
}

async fn text_of(b: &Client, css: &str) -> String {
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn wait_for_url(b: &Client, part: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = b.current_url().await.unwrap();
        if url.as_str().contains(part) {
            return;
        }
        assert!(Instant::now() < deadline, "{url} never contained {part}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn click(b: &Client, css: &str) {
    b.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Waits for a download to land in full.
async fn downloaded(file: PathBuf) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !file.exists() {
        assert!(Instant::now() < deadline, "no {}", file.display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    std::fs::read_to_string(&file).unwrap()
}

/// Clicks the map where the JavaScript `point` (of the map `cy` and the
/// key `k`) is drawn.
async fn press_on(b: &Client, point: &str, key: &str) {
    let at = b
        .execute(
            &format!(
                "var k = arguments[0]; var cy = window.osectMap; var p = {point}; \
                 var r = document.getElementById('map'); \
                 return [p.x - r.clientWidth / 2, p.y - r.clientHeight / 2];"
            ),
            vec![serde_json::json!(key)],
        )
        .await
        .unwrap();
    press_at(b, at[0].as_f64().unwrap(), at[1].as_f64().unwrap()).await;
}

/// Waits up to 10 s for an element's text to pass `ok`. The element may be
/// missing or stale for a moment while a page loads: read as empty then.
async fn wait_text(b: &Client, css: &str, ok: impl Fn(&str) -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = match b.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if ok(&text) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {css} never changed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A left click at an offset from the map's centre (what the map draws
/// is on a canvas: no element to click).
async fn press_at(b: &Client, dx: f64, dy: f64) {
    let map = b.find(Locator::Css("#map")).await.unwrap();
    let press = fantoccini::actions::MouseActions::new("mouse".into())
        .then(fantoccini::actions::PointerAction::MoveToElement {
            element: map,
            duration: None,
            x: dx as i64,
            y: dy as i64,
        })
        .then(fantoccini::actions::PointerAction::Down {
            button: fantoccini::actions::MOUSE_BUTTON_LEFT,
        })
        .then(fantoccini::actions::PointerAction::Up {
            button: fantoccini::actions::MOUSE_BUTTON_LEFT,
        });
    b.perform_actions(press).await.unwrap();
}

/// Fills a form's text inputs by name and submits it.
async fn submit(b: &Client, form: &str, fields: &[(&str, &str)]) {
    let f = b.find(Locator::Css(form)).await.unwrap();
    for (name, value) in fields {
        let input = f
            .find(Locator::Css(&format!("[name='{name}']")))
            .await
            .unwrap();
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }
    f.find(Locator::Css("button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_works_through_the_console_in_chromium() {
    let Some((chromium, driver)) = chromium() else {
        return;
    };
    let c = support::start(|_| {}).await;
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-browser");
    let downloads = out.join("downloads");
    let shots = Shots {
        dir: out.join("screenshots"),
    };
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&downloads).unwrap();
    std::fs::create_dir_all(&shots.dir).unwrap();

    let (_driver, b) = start_driver(&driver, &chromium, &downloads).await;

    // Any page sends the browser to the login page first.
    b.goto(&c.url("/sites/plant-a")).await.unwrap();
    wait_for_url(&b, "/login?next=%2Fsites%2Fplant-a").await;
    b.goto(&c.url("/login?lang=en&next=%2F")).await.unwrap();
    shots.take(&b, "login").await;
    support::browser::log_in(&b, &c.url(""), "op").await;
    let who = text_of(&b, "header .user").await;
    assert!(who.starts_with("op"), "{who}");

    // Overview: both sites, the silent sensor named as text.
    let sites = text_of(&b, "#sites").await;
    assert!(
        sites.contains("plant-a") && sites.contains("plant-b"),
        "{sites}"
    );
    let warn = text_of(&b, "section.warn").await;
    assert!(warn.contains("SN-EVIL"), "{warn}");
    shots.take(&b, "overview").await;

    // Sensors, filtered to one site by the select (app.js submits it).
    b.goto(&c.url("/sensors")).await.unwrap();
    let all = text_of(&b, "#sensors").await;
    assert!(all.contains("SN-B1") && all.contains("SN-A1"));
    let filter = b.find(Locator::Css("#site-filter")).await.unwrap();
    filter.select_by_value("plant-a").await.unwrap();
    wait_for_url(&b, "site=plant-a").await;
    let filtered = text_of(&b, "#sensors").await;
    assert!(
        filtered.contains("SN-A1") && !filtered.contains("SN-B1"),
        "{filtered}"
    );
    // The hostile version is text in the cell, and no element came of it.
    assert!(filtered.contains("<script>alert(2)</script>"), "{filtered}");
    let imgs = b.find_all(Locator::Css("#sensors img")).await.unwrap();
    assert!(imgs.is_empty(), "markup from a device became an element");
    shots.take(&b, "sensors").await;

    // The CSV download, with the formula cell neutralised.
    click(&b, "#sensors-csv").await;
    let text = downloaded(downloads.join("sensors.csv")).await;
    assert!(text.contains("SN-A1") && !text.contains("SN-B1"), "{text}");
    assert!(text.contains("\"'=1+1"), "{text}");

    // A site page and the audit log (the login is in it).
    b.goto(&c.url("/sites/plant-a")).await.unwrap();
    let h1 = text_of(&b, "h1").await;
    assert!(h1.contains("plant-a"), "{h1}");
    assert!(!text_of(&b, "#baseline-status").await.is_empty());
    shots.take(&b, "site").await;

    // Assets, filtered by role: only the PLC stays.
    click(&b, "#tab-assets").await;
    let all = text_of(&b, "#assets").await;
    assert!(
        all.contains(support::HMI.1) && all.contains(support::ROGUE.1),
        "{all}"
    );
    assert!(
        all.contains("<script>alert(3)</script>"),
        "the rogue's vendor is text"
    );
    shots.take(&b, "assets").await;
    b.find(Locator::Css("#filter-role"))
        .await
        .unwrap()
        .select_by_value("plc")
        .await
        .unwrap();
    wait_for_url(&b, "role=plc").await;
    let plcs = text_of(&b, "#assets").await;
    assert!(
        plcs.contains(support::PLC.1) && !plcs.contains(support::HMI.1),
        "{plcs}"
    );
    // Its device page, through the link.
    click(&b, "#assets a").await;
    wait_for_url(&b, "/device?key=").await;
    let identity = text_of(&b, "#identity").await;
    assert!(
        identity.contains("V4.2") && identity.contains("Siemens"),
        "{identity}"
    );
    let pairs = text_of(&b, "#pairs").await;
    assert!(pairs.contains(support::ROGUE_NAME), "{pairs}");
    shots.take(&b, "device").await;

    // The map: wait for it to draw, then click the rogue device's node.
    click(&b, "#tab-map").await;
    b.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("#map[data-ready='1']"))
        .await
        .expect("the map draws");
    let rogue_key = format!("mac:{}", support::ROGUE.0);
    press_on(&b, "cy.getElementById(k).renderedPosition()", &rogue_key).await;
    wait_text(
        &b,
        "#map-selected",
        |t| t == support::ROGUE_NAME,
        "clicking the node",
    )
    .await;
    // Its role by its display name.
    assert_eq!(text_of(&b, "#map-roles").await, "engineering workstation");
    // The name drawn on the canvas and shown beside it made no element.
    assert!(b
        .find_all(Locator::Css("#map-info img, main img"))
        .await
        .unwrap()
        .is_empty());
    shots.take(&b, "map").await;
    click(&b, "#map-link").await;
    wait_for_url(&b, "/device?key=mac%3A02").await;

    // Back on the map, a click on the rogue's line opens its pair.
    b.back().await.unwrap();
    b.wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("#map[data-ready='1']"))
        .await
        .expect("the map draws again");
    press_on(
        &b,
        "cy.edges().filter(function (x) { return x.data('source') === k; })[0].renderedMidpoint()",
        &rogue_key,
    )
    .await;
    wait_text(
        &b,
        "#map-selected",
        |t| t.contains(" → "),
        "clicking the line",
    )
    .await;
    click(&b, "#map-pair-link").await;
    wait_for_url(&b, "/pair?orig=mac%3A02").await;
    let pair = text_of(&b, "#pairs").await;
    assert!(
        pair.contains("tcp/502") && pair.contains(support::ROGUE_NAME),
        "{pair}"
    );

    // Alerts: approve the new device; it leaves the open list.
    click(&b, "#tab-alerts").await;
    let before = b
        .find_all(Locator::Css("#alert-list > tbody > tr"))
        .await
        .unwrap()
        .len();
    assert!(before >= 2, "{before} open alerts");
    shots.take(&b, "alerts").await;
    let row = b
        .find(Locator::XPath(
            "//tr[contains(@id, 'alert-')][.//a[contains(., 'onerror=alert(4)')]]",
        ))
        .await
        .unwrap();
    let row_id = row.attr("id").await.unwrap().unwrap();
    row.find(Locator::Css("button.approve"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The form posts and the alerts page loads again at the same URL: wait
    // for the approved row to leave rather than for the address.
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.find(Locator::Id(&row_id)).await.is_ok() {
        assert!(Instant::now() < deadline, "{row_id} still open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_for_url(&b, "/sites/plant-a/alerts").await;
    let after = b
        .find_all(Locator::Css("#alert-list > tbody > tr"))
        .await
        .unwrap();
    assert_eq!(after.len(), before - 1);
    assert!(
        b.find(Locator::Id(&row_id)).await.is_err(),
        "{row_id} still open"
    );
    b.find(Locator::Css("#filter-state"))
        .await
        .unwrap()
        .select_by_value("approved")
        .await
        .unwrap();
    wait_for_url(&b, "state=approved").await;
    let approved = text_of(&b, &format!("#{row_id}")).await;
    assert!(approved.contains("approved"), "{approved}");

    // The alerts CSV and the printable report.
    click(&b, "#alerts-csv").await;
    let alerts = downloaded(downloads.join("alerts-plant-a.csv")).await;
    assert!(alerts.contains("new_device"), "{alerts}");
    click(&b, "#tab-report").await;
    let report = text_of(&b, "#report").await;
    assert!(
        report.contains(support::PLC.1) && report.contains("approved op"),
        "{report}"
    );
    shots.take(&b, "report").await;
    b.goto(&c.url("/audit")).await.unwrap();
    let audit = text_of(&b, "#audit").await;
    assert!(audit.contains("login"), "{audit}");

    // Switch to Japanese: the same page comes back in Japanese, and stays so.
    b.goto(&c.url("/")).await.unwrap();
    click(&b, "#lang-switch").await;
    // The switch posts a form and the page comes back: read the heading of
    // the new page, not the one still showing while it loads.
    wait_text(&b, "h1", |h| h == "概要", "the overview in Japanese").await;
    b.goto(&c.url("/sensors")).await.unwrap();
    assert_eq!(text_of(&b, "h1").await, "センサー");
    shots.take(&b, "sensors-ja").await;

    // Zones from the settings page, in Japanese: one added, a bad subnet
    // refused with a Japanese message.
    b.goto(&c.url("/sites/plant-a/settings")).await.unwrap();
    submit(
        &b,
        "#add-zone",
        &[("name", "control"), ("subnets", "192.168.10.0/24")],
    )
    .await;
    // The settings page comes back with the zone: the page before it has
    // the same list without it.
    wait_text(
        &b,
        "#zones",
        |z| z.contains("control") && z.contains("192.168.10.0/24"),
        "the zone added",
    )
    .await;
    shots.take(&b, "settings-ja").await;
    submit(
        &b,
        "#add-zone",
        &[("name", "office"), ("subnets", "10.0.0.0/40")],
    )
    .await;
    let error = text_of(&b, "p.error").await;
    assert!(
        error.contains("「10.0.0.0/40」はサブネットではありません"),
        "{error}"
    );
    b.goto(&c.url("/sites/plant-a/assets?zone=control"))
        .await
        .unwrap();
    let in_zone = text_of(&b, "#assets").await;
    assert!(in_zone.contains(support::PLC.1), "{in_zone}");

    // Log out: the session is gone.
    click(&b, "#logout").await;
    wait_for_url(&b, "/login").await;
    b.goto(&c.url("/sensors")).await.unwrap();
    wait_for_url(&b, "/login?next=").await;

    b.close().await.unwrap();
    c.stop().await;
    println!("screenshots in {}", shots.dir.display());
}
