//! Page and API times on a generated site with a year of ledger history
//! (a benchmark that prints figures, not a timed test): `cargo test -p
//! osect-console --release --test speed -- --ignored --nocapture`.
//! OSECT_BENCH_DEVICES and OSECT_BENCH_PAIRS set the size (5,000 and 50,000
//! by default). Day 0 of 365: every device announced and every pair talks
//! (a week of learning); then each day some pairs talk again, a few new
//! pairs and devices appear and some devices change firmware, so alerts and
//! identity history spread over the year.

mod support;

use osect_collector::analyse::Analyser;
use osect_collector::store::{now_us, Store};
use std::time::Instant;

const DAY_S: i64 = 86_400;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

type Dev = (String, String, String, String, String);

fn device(i: usize) -> Dev {
    (
        format!(
            "02:00:00:{:02x}:{:02x}:{:02x}",
            i >> 16 & 0xff,
            i >> 8 & 0xff,
            i & 0xff
        ),
        format!("10.{}.{}.{}", i >> 16 & 0xff, i >> 8 & 0xff, i & 0xff),
        ["plc", "hmi", "engineering_workstation", "server"][i % 4].into(),
        ["Siemens", "Mitsubishi", "Omron", "Rockwell"][i % 4].into(),
        format!("V{}.{}", i % 5, i % 7),
    )
}

fn r(d: &Dev) -> (&str, &str, &str, &str, &str) {
    (&d.0, &d.1, &d.2, &d.3, &d.4)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

fn p95(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[(v.len() * 95 / 100).min(v.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored --nocapture"]
async fn page_times_on_a_large_site() {
    let devices = env("OSECT_BENCH_DEVICES", 5000);
    let pairs = env("OSECT_BENCH_PAIRS", 50_000);
    let c = support::start(|_| {}).await;
    let started = Instant::now();
    {
        let mut store = Store::open(c.store()).unwrap();
        store
            .change_site("big", "bench", "baseline", |s| {
                s.meta
                    .config
                    .set_learning(7 * DAY_S)
                    .map_err(|e| e.to_string())
            })
            .unwrap();
        let day_us = DAY_S * 1_000_000;
        let t0 = now_us() - 365 * day_us;
        let late = devices / 50;
        let all: Vec<Dev> = (0..devices + late).map(device).collect();
        let pair = |j: usize| {
            let (a, b) = (&all[j % devices], &all[(j * 7 + 1) % devices]);
            (a, b, 502 + (j / devices) as u16 % 100)
        };
        let mut days: Vec<Vec<osect_wire::record::Record>> = vec![Vec::new(); 365];
        for d in &all[..devices] {
            days[0].push(support::asset(t0, r(d), ""));
        }
        for j in 0..pairs {
            let (a, b, port) = pair(j);
            days[0].push(support::conn(t0 + j as i64, "C", r(a), r(b), port));
        }
        for (day, list) in days.iter_mut().enumerate().skip(8) {
            let t = t0 + day as i64 * day_us;
            // Known pairs talking again.
            for k in 0..200 {
                let (a, b, port) = pair((day * 211 + k * 13) % pairs);
                list.push(support::conn(t + k as i64, "R", r(a), r(b), port));
            }
            // Three new pairs a day between known devices.
            for k in 0..3 {
                let (a, b) = (
                    &all[(day * 31 + k) % devices],
                    &all[(day * 17 + k * 5 + 3) % devices],
                );
                list.push(support::conn(
                    t + 500 + k as i64,
                    "P",
                    r(a),
                    r(b),
                    4000 + k as u16,
                ));
            }
            // Firmware updates: two devices a day.
            for k in 0..2 {
                let mut d = all[(day * 37 + k * 1000) % devices].clone();
                d.4 = format!("V9.{day}");
                list.push(support::asset(t + 1000 + k as i64, r(&d), ""));
            }
        }
        // The new devices, spread over the year.
        for (k, d) in all[devices..].iter().enumerate() {
            let day = 8 + k * 356 / late.max(1);
            let t = t0 + day as i64 * day_us + 2000;
            days[day].push(support::asset(t, r(d), ""));
            days[day].push(support::conn(t + 1, "N", r(d), r(&all[0]), 502));
        }
        let mut seq = 100;
        for (day, list) in days.iter().enumerate() {
            let ago = (365 - day as i64) * DAY_S;
            for chunk in list.chunks(20_000) {
                let frame = support::frame_with("SN-BIG", "big", seq, "0.1.0", ago, chunk.to_vec());
                support::store_frame(&mut store, &frame, ago);
                seq += 1;
            }
        }
        let mut a = Analyser::new(osect_analysis::Registry::new(&[]));
        while a.run_pending(&mut store).unwrap() > 0 {}
        let s = store.site_state("big").unwrap();
        let alerts = store
            .alerts(Some("big"), &Default::default())
            .unwrap()
            .len();
        let history = store.history("big", None).unwrap().len();
        println!(
            "site: {} devices, {} pairs, {alerts} alerts, {history} identity changes over 365 days, built and analysed in {:.1} s",
            s.devices.len(),
            s.pairs.len(),
            started.elapsed().as_secs_f64()
        );
    }
    let token = c.token("op");
    let http = reqwest::Client::new();
    let key = format!("mac%3A{}", device(7).0.replace(':', "%3A"));
    for (name, path, runs) in [
        ("overview", "/".to_owned(), 20),
        ("assets", "/sites/big/assets".to_owned(), 20),
        (
            "assets, filtered",
            "/sites/big/assets?role=plc&vendor=Siemens".to_owned(),
            20,
        ),
        ("device", format!("/sites/big/device?key={key}"), 20),
        ("alerts", "/sites/big/alerts".to_owned(), 20),
        ("map data", "/api/v1/sites/big/map".to_owned(), 10),
    ] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let res = http
                .get(c.url(&path))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{path}");
            bytes = res.bytes().await.unwrap().len();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        // The first request of a page may read the site's state from the
        // store (cold); the others find it in memory.
        println!(
            "{name:<18} first {:>8.1} ms  then p95 {:>8.1} ms  {:>9} bytes",
            times[0],
            p95(times[1..].to_vec()),
            bytes
        );
    }
    // In the browser: each page until loaded; the map until its first
    // frame is drawn, then a device selected (its own lines drawn) and a
    // line selected, timed in the page.
    if let Some((chromium, driver)) = support::browser::chromium() {
        let downloads = tempfile::tempdir().unwrap();
        let (_driver, b) =
            support::browser::start_driver(&driver, &chromium, downloads.path()).await;
        support::browser::log_in(&b, &c.url(""), "op").await;
        // Two figures per page: the WebDriver round trip (what the test
        // waits, including leaving the page before, the map's among them)
        // and the page's own Navigation Timing, from the request to the end
        // of its load event.
        let mut pages: Vec<(&str, String, Vec<f64>, Vec<f64>)> = vec![
            ("overview", "/".into(), Vec::new(), Vec::new()),
            ("assets", "/sites/big/assets".into(), Vec::new(), Vec::new()),
            (
                "device",
                format!("/sites/big/device?key={key}"),
                Vec::new(),
                Vec::new(),
            ),
            ("alerts", "/sites/big/alerts".into(), Vec::new(), Vec::new()),
        ];
        let (mut drawn, mut select, mut map_data) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..20 {
            for (_, path, times, own) in pages.iter_mut() {
                let t = Instant::now();
                b.goto(&c.url(path)).await.unwrap();
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                let nav = b
                    .execute(
                        "var n = performance.getEntriesByType('navigation')[0]; \
                         return n.loadEventEnd - n.fetchStart;",
                        vec![],
                    )
                    .await
                    .unwrap();
                own.push(nav.as_f64().unwrap());
            }
            let t = Instant::now();
            b.goto(&c.url("/sites/big/map")).await.unwrap();
            b.wait()
                .at_most(std::time::Duration::from_secs(120))
                .for_element(fantoccini::Locator::Css("#map[data-ready='1']"))
                .await
                .unwrap();
            drawn.push(t.elapsed().as_secs_f64() * 1000.0);
            // The map's data as the page fetched it (Resource Timing).
            let fetched = b
                .execute(
                    "var src = document.getElementById('map').dataset.src; \
                     var r = performance.getEntriesByType('resource') \
                       .filter(function (e) { return e.name.indexOf(src) >= 0; })[0]; \
                     return r.responseEnd - r.startTime;",
                    vec![],
                )
                .await
                .unwrap();
            map_data.push(fetched.as_f64().unwrap());
            let ms = b
                .execute(
                    "var cy = window.osectMap; var t = performance.now(); \
                     cy.getElementById(arguments[0]).emit('tap'); \
                     var e = cy.edges().not('.grouped')[0]; e.emit('tap'); \
                     return [performance.now() - t, cy.edges().length, \
                       document.getElementById('map-selected').textContent];",
                    vec![serde_json::json!(format!("mac:{}", device(7).0))],
                )
                .await
                .unwrap();
            select.push(ms[0].as_f64().unwrap());
            assert!(ms[2].as_str().unwrap().contains(" → "), "{ms}");
        }
        for (name, _, times, own) in &pages {
            println!(
                "browser: {name:<9} loaded, median {:>6.0} ms, p95 {:>6.0} ms, max {:>6.0} ms; \
                 in the page (request to load event) median {:>6.0} ms, p95 {:>6.0} ms",
                median(times),
                p95(times.clone()),
                max(times),
                median(own),
                p95(own.clone())
            );
        }
        println!(
            "browser: map data fetched by the page, median {:>6.0} ms, p95 {:>6.0} ms",
            median(&map_data),
            p95(map_data.clone())
        );
        println!(
            "browser: map drawn, median {:>6.0} ms, p95 {:>6.0} ms, max {:>6.0} ms; a device then a line selected in {:.0} ms (median)",
            median(&drawn),
            p95(drawn.clone()),
            max(&drawn),
            median(&select)
        );
        b.close().await.unwrap();
    }
    c.stop().await;
}
