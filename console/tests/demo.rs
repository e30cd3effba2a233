//! How the demo ends: `osect-console serve --demo-login` over the demo's
//! plant (two days of the traffic generator's plant through the real
//! agent, the first learned, the second with incidents) listens on
//! 127.0.0.1, prints its URL and a throw-away login, shows what the sensor
//! found on every page, and stops cleanly on Ctrl-C (SIGINT), removing the
//! login; and the commands that manage the console's users.

mod support;

use osect_trafficgen::day::{parse_events, plant_day};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SITE: &str = "demo-plant";

#[tokio::test]
async fn the_demo_ends_in_the_console_and_stops_on_ctrl_c() {
    let events =
        parse_events("new-plc,new-pair,s7-stop,modbus-write-range,firmware-change").unwrap();
    // Day 0 then day 1, one capture as the demo's sensor sees them; day 0
    // is learned, as the demo sets its learning to day 0's length.
    let mut days = plant_day(0, 120, 1, &[]);
    for (ts, frame) in plant_day(1, 120, 1, &events).frames() {
        days.push(ts, frame.to_vec());
    }
    let store = support::replay_into_store(&days, SITE, |c| c.set_learning(180).unwrap());

    let mut console = Command::new(env!("CARGO_BIN_EXE_osect-console"))
        .arg("serve")
        .arg("--store")
        .arg(store.path())
        .args(["--listen", "127.0.0.1:0", "--demo-login"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(console.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    // "console: http://127.0.0.1:PORT/  user: NAME  password: PASSWORD"
    let words: Vec<&str> = line.split_whitespace().collect();
    let [_, url, _, user, _, password] = words[..] else {
        panic!("no URL and login in {line:?}");
    };
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    let url = url.trim_end_matches('/');

    // The pages, a device's among them, from the store the console reads.
    let state = osect_collector::store::Store::open(store.path())
        .unwrap()
        .site_state(SITE)
        .unwrap();
    let key_of = |d: &osect_analysis::Device| d.key.0.clone();
    let first = state.devices.values().next().map(key_of).unwrap();
    let plc = state
        .devices
        .values()
        .find(|d| d.vendor.as_deref() == Some("Siemens"))
        .map(key_of)
        .unwrap();
    let device = osect_console::web::encode_component(&first);
    let mut pages = support::site_pages(SITE);
    for p in [
        "/audit",
        "/sites/demo-plant/assets.csv",
        "/sites/demo-plant/alerts.csv?state=all",
    ] {
        pages.push(p.to_owned());
    }
    pages.push(format!("/sites/{SITE}/device?key={device}"));
    // In Chromium (where installed), the first visit: every page of the
    // demo's plant, the map drawn and a PLC selected on it, with
    // screenshots for the README.
    if let Some((chromium, driver)) = support::browser::chromium() {
        use fantoccini::Locator;
        let shots = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-demo");
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();
        let (_driver, b) = support::browser::start_driver(&driver, &chromium, &shots).await;
        support::browser::log_in_with(&b, url, user, password).await;
        b.wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("header .user"))
            .await
            .unwrap();
        // The throw-away login reads Japanese, as the plant's staff would.
        for path in &pages {
            if path.ends_with(".csv") {
                continue;
            }
            b.goto(&format!("{url}{path}")).await.unwrap();
            let h1 = b
                .wait()
                .at_most(Duration::from_secs(10))
                .for_element(Locator::Css("h1"))
                .await
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            let heading = h1.text().await.unwrap();
            assert!(
                !heading.is_empty() && !heading.starts_with("Error"),
                "{path}: {heading}"
            );
            let name = match path.as_str() {
                "/" => Some("overview"),
                p if p.contains("/device?") => Some("device"),
                _ => None,
            };
            if let Some(name) = name {
                std::fs::write(
                    shots.join(format!("{name}.png")),
                    b.screenshot().await.unwrap(),
                )
                .unwrap();
            }
        }
        b.goto(&format!("{url}/sites/{SITE}/map")).await.unwrap();
        b.wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css("#map[data-ready='1']"))
            .await
            .expect("the map draws");
        let shown = b
            .execute(
                "var cy = window.osectMap; cy.getElementById(arguments[0]).select().emit('tap'); \
                 return [document.getElementById('map-selected').textContent, \
                   document.getElementById('map-roles').textContent];",
                vec![serde_json::json!(plc)],
            )
            .await
            .unwrap();
        assert!(!shown[0].as_str().unwrap().is_empty(), "{shown}");
        assert!(shown[1].as_str().unwrap().contains("PLC（S7）"), "{shown}");
        std::fs::write(shots.join("map.png"), b.screenshot().await.unwrap()).unwrap();
        b.close().await.unwrap();
        println!("screenshots in {}", shots.display());
    }

    // The throw-away login works and every page shows the demo's plant.
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = http.get(format!("{url}/login")).send().await.unwrap();
    let csrf = support::hidden(&login.text().await.unwrap(), "csrf").unwrap();
    let res = http
        .post(format!("{url}/login"))
        .form(&[("name", user), ("password", password), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let api = |path: String| {
        let (http, url) = (http.clone(), format!("{url}{path}"));
        async move {
            let res = http.get(url).send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.json::<serde_json::Value>().await.unwrap()
        }
    };
    let assets = api(format!("/api/v1/sites/{SITE}/assets")).await;
    let assets = assets.as_array().unwrap();
    assert!(assets.len() >= 8, "{} devices", assets.len());
    assert!(
        assets
            .iter()
            .any(|d| d["vendor"] == "Siemens" && !d["firmware"].as_str().unwrap_or("").is_empty()),
        "no S7 PLC with its firmware: {assets:?}"
    );
    let alerts = api(format!("/api/v1/sites/{SITE}/alerts")).await;
    let kinds: Vec<&str> = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "new_device",
        "new_pair",
        "controller_change",
        "identity_change",
    ] {
        assert!(kinds.contains(&kind), "no {kind} alert among {kinds:?}");
    }
    for path in &pages {
        let res = http.get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(!res.text().await.unwrap().is_empty(), "{path}");
    }

    // Ctrl-C: the console stops by itself, and the login is gone.
    let pid = console.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = console.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the console did not stop on SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    while out.read_line(&mut rest).unwrap() > 0 {}
    assert!(
        rest.contains(&format!("demo login {user} removed")),
        "{rest}"
    );
    let db = osect_console::db::ConsoleDb::open(store.path()).unwrap();
    assert!(db.user(user).unwrap().is_none(), "{user} is still there");
}

/// `osect-console user ...`: users added (password on standard input or
/// generated), listed, given a token, and disabled from the command line.
#[test]
fn users_are_added_and_disabled_from_the_command_line() {
    use osect_console::db::{ConsoleDb, Role};
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let cli = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_osect-console"))
            .arg("user")
            .args(args)
            .args(["--store", store])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let (ok, out) = cli(
        &["add", "alice", "--customer", "acme"],
        &format!("{}\n", support::PASSWORD),
    );
    assert!(ok && out.contains("user alice added"), "{out}");
    let (ok, out) = cli(
        &[
            "add",
            "carol",
            "--customer",
            "acme",
            "--admin",
            "--generate",
        ],
        "",
    );
    assert!(ok && out.contains("password: "), "{out}");
    let (ok, out) = cli(&["add", "op", "--operator", "--lang", "en"], "short\n");
    assert!(
        !ok && out.contains("assword"),
        "a short password is refused: {out}"
    );
    let (ok, out) = cli(&["add", "mallory", "--customer", "<b>"], "x\n");
    assert!(!ok, "a customer name with markup is refused: {out}");
    let (ok, out) = cli(&["token", "alice"], "");
    assert!(
        ok && out.lines().next().is_some_and(|t| t.len() == 64),
        "{out}"
    );

    let db = ConsoleDb::open(dir.path()).unwrap();
    let (alice, hash) = db.user("alice").unwrap().unwrap();
    assert_eq!(alice.role, Role::Customer("acme".into()));
    assert!(osect_console::auth::verify_password(
        support::PASSWORD,
        &hash
    ));
    assert_eq!(
        db.user("carol").unwrap().unwrap().0.role,
        Role::CustomerAdmin("acme".into())
    );
    assert!(db.user("op").unwrap().is_none() && db.user("mallory").unwrap().is_none());

    let (ok, out) = cli(&["disable", "alice"], "");
    assert!(ok && out.contains("disabled"), "{out}");
    assert!(db.user("alice").unwrap().unwrap().0.disabled);
    let (ok, out) = cli(&["list"], "");
    assert!(ok, "{out}");
    let row = out.lines().find(|l| l.starts_with("alice ")).unwrap();
    assert!(row.contains("disabled") && row.contains("acme"), "{row}");
}
