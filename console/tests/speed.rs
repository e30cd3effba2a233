//! Page and API times on a generated site (a benchmark that prints figures,
//! not a timed test): `cargo test -p osect-console --release --test speed
//! -- --ignored --nocapture`. OSECT_BENCH_DEVICES and OSECT_BENCH_PAIRS set
//! the size (5,000 and 50,000 by default): every device announced, a pair
//! per (client, server, port), an hour of learning, then 2% new devices
//! that alert.

mod support;

use osect_collector::analyse::Analyser;
use osect_collector::store::{now_us, Store};
use std::time::Instant;

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
                s.meta.config.set_learning(3600).map_err(|e| e.to_string())
            })
            .unwrap();
        let t0 = now_us() - 3 * 3600 * 1_000_000;
        let all: Vec<Dev> = (0..devices + devices / 50).map(device).collect();
        let mut records = Vec::new();
        for d in &all[..devices] {
            records.push(support::asset(t0, r(d), ""));
        }
        for j in 0..pairs {
            let (a, b) = (&all[j % devices], &all[(j * 7 + 1) % devices]);
            let port = 502 + (j / devices) as u16 % 100;
            records.push(support::conn(t0 + j as i64, "C", r(a), r(b), port));
        }
        let late = t0 + 2 * 3600 * 1_000_000;
        for (k, d) in all[devices..].iter().enumerate() {
            records.push(support::asset(late, r(d), ""));
            records.push(support::conn(late + k as i64, "N", r(d), r(&all[0]), 502));
        }
        for (seq, chunk) in records.chunks(20_000).enumerate() {
            let frame = support::frame_with(
                "SN-BIG",
                "big",
                100 + seq as u64,
                "0.1.0",
                60,
                chunk.to_vec(),
            );
            support::store_frame(&mut store, &frame, 60);
        }
        let mut a = Analyser::new(osect_analysis::Registry::new(&[]));
        while a.run_pending(&mut store).unwrap() > 0 {}
        let s = store.site_state("big").unwrap();
        println!(
            "site: {} devices, {} pairs, built and analysed in {:.1} s",
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
    // In the browser: the map page until the map has drawn, and the
    // assets page until loaded.
    if let Some((chromium, driver)) = support::browser::chromium() {
        let downloads = tempfile::tempdir().unwrap();
        let (_driver, b) =
            support::browser::start_driver(&driver, &chromium, downloads.path()).await;
        support::browser::log_in(&b, &c.url(""), "op").await;
        for _ in 0..3 {
            let t = Instant::now();
            b.goto(&c.url("/sites/big/map")).await.unwrap();
            b.wait()
                .at_most(std::time::Duration::from_secs(120))
                .for_element(fantoccini::Locator::Css("#map[data-ready='1']"))
                .await
                .unwrap();
            let map = t.elapsed().as_secs_f64() * 1000.0;
            let t = Instant::now();
            b.goto(&c.url("/sites/big/assets")).await.unwrap();
            let assets = t.elapsed().as_secs_f64() * 1000.0;
            println!("browser: map drawn in {map:.0} ms, assets page loaded in {assets:.0} ms");
        }
        b.close().await.unwrap();
    }
    c.stop().await;
}
