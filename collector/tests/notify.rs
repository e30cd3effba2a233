//! Notifications through real sinks: an HTTP receiver that checks the
//! signature and fails the first attempts, a deliverer stopped and started
//! again, and UDP and TCP syslog listeners that parse what they get.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use hmac::{Hmac, Mac};
use osect_collector::notify::{self, Config, Deliverer, OutboxRow, State};
use osect_collector::store::{Store, DB_FILE};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::watch;

const SITE: &str = "plant \"A\" ]north[";
const SECRET: &str = "s3cret shared with the receiver";
/// A token in the webhook URL's query, as some receivers take one.
const URL_TOKEN: &str = "t0ken-in-the-url";
/// Every wait for a delivery gives up after this.
const PATIENCE: Duration = Duration::from_secs(10);

/// A store in a fresh folder; the folder goes when the value is dropped.
fn store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).unwrap();
    dir
}

fn payload(alert_id: i64) -> Value {
    json!({
        "site": SITE,
        "alert_id": alert_id,
        "kind": "new_device",
        "severity": "high",
        "title": format!("New device 10.0.0.{alert_id} \"PLC\" [rack \\ 2]"),
        "devices": ["00:11:22:33:44:55", "plc] \"7\" \\x"],
        "first_seen": 1_700_000_000_000_000i64 + alert_id,
        "last_seen": 1_700_000_060_000_000i64 + alert_id,
        "count": 3,
        "evidence": [{"log": "conn", "uid": format!("C{alert_id}"), "ts": 1_700_000_000.5}],
    })
}

/// Queues notifications for alerts `ids` in one transaction, as the
/// analysis does when it stores them.
fn enqueue(dir: &Path, ids: impl IntoIterator<Item = i64>) {
    let mut db = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    let tx = db.transaction().unwrap();
    for id in ids {
        notify::enqueue(&tx, SITE, id, "new", &payload(id)).unwrap();
    }
    tx.commit().unwrap();
}

fn config(dir: &Path, sinks: &str) -> Config {
    let secret = dir.join("webhook.secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let file = dir.join("notify.toml");
    let text = sinks.replace("SECRET_FILE", &secret.display().to_string())
        + "[delivery]\ninitial_backoff_ms = 40\nmax_backoff_ms = 160\npoll_ms = 20\n";
    std::fs::write(&file, text).unwrap();
    Config::load(&file).unwrap()
}

/// A deliverer running until the returned sender is dropped or set.
struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

fn start(dir: &Path, config: &Config) -> Running {
    let deliverer = Deliverer::new(dir, config).unwrap();
    let (stop, stopped) = watch::channel(false);
    Running {
        stop,
        task: tokio::spawn(deliverer.run(stopped)),
    }
}

impl Running {
    async fn stop(self) {
        self.stop.send_replace(true);
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("the deliverer stops")
            .unwrap();
    }
}

fn outbox(dir: &Path) -> Vec<OutboxRow> {
    notify::list(dir, None, 1000).unwrap()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------- webhook

/// What the test receiver saw.
#[derive(Default)]
struct Receiver {
    /// Answer 503 to everything while false.
    accepting: bool,
    /// Answer 500 to this many attempts of each delivery before accepting it.
    fail_first: usize,
    /// Attempt times per delivery id.
    attempts: HashMap<String, Vec<Instant>>,
    /// Accepted bodies, in arrival order.
    accepted: Vec<Value>,
    /// Requests whose signature, timestamp or delivery header was wrong.
    refused: Vec<String>,
}

/// The webhook receiver's routes.
fn receiver_app(state: Arc<Mutex<Receiver>>) -> axum::Router {
    axum::Router::new().route(
        "/hook",
        axum::routing::post(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move { answer(&mut state.lock().unwrap(), &uri, &headers, &body) }
        }),
    )
}

/// A webhook receiver on 127.0.0.1; returns its URL.
async fn receiver(state: Arc<Mutex<Receiver>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = receiver_app(state);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// The receiver over HTTPS, with a certificate for `localhost` under a CA
/// of its own; returns its URL and the CA certificate (PEM).
async fn https_receiver(state: Arc<Mutex<Receiver>>) -> (String, String) {
    // Several tests may install it; the first one does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem(
        leaf.pem().into_bytes(),
        key.serialize_pem().into_bytes(),
    )
    .await
    .unwrap();
    let handle = axum_server::Handle::new();
    let server = axum_server::bind_rustls("127.0.0.1:0".parse().unwrap(), tls)
        .handle(handle.clone())
        .serve(receiver_app(state).into_make_service());
    tokio::spawn(async move { server.await.unwrap() });
    let port = handle.listening().await.unwrap().port();
    (format!("https://localhost:{port}/hook"), ca.pem())
}

fn answer(r: &mut Receiver, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let delivery = header(notify::DELIVERY_HEADER);
    if header(notify::SIGNATURE_HEADER) != expected
        || uri.query() != Some(format!("token={URL_TOKEN}").as_str())
        || header("content-type") != "application/json"
        || parsed["delivery_id"] != delivery.as_str()
        || parsed["sent_at"].as_i64() != header(notify::TIMESTAMP_HEADER).parse().ok()
    {
        r.refused.push(String::from_utf8_lossy(body).into_owned());
        return StatusCode::UNAUTHORIZED;
    }
    let seen = r.attempts.entry(delivery).or_default();
    seen.push(Instant::now());
    if !r.accepting {
        StatusCode::SERVICE_UNAVAILABLE
    } else if seen.len() <= r.fail_first {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        r.accepted.push(parsed);
        StatusCode::OK
    }
}

fn webhook_sink(url: &str) -> String {
    format!(
        "[[webhook]]\nname = \"soc\"\nurl = \"{url}?token={URL_TOKEN}\"\n\
         secret_file = \"SECRET_FILE\"\ntimeout_ms = 5000\n"
    )
}

/// Delivery ids accepted more than once or never, of those in the outbox.
fn accepted_once(dir: &Path, r: &Receiver) -> Result<(), String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for body in &r.accepted {
        *counts
            .entry(body["delivery_id"].as_str().unwrap_or(""))
            .or_default() += 1;
    }
    let rows = outbox(dir);
    for row in &rows {
        match counts.get(row.delivery_id.as_str()) {
            Some(1) => {}
            n => return Err(format!("alert {} accepted {n:?} times", row.alert_id)),
        }
    }
    if counts.len() != rows.len() {
        return Err(format!("{} accepted, {} queued", counts.len(), rows.len()));
    }
    Ok(())
}

/// Runs a deliverer until the receiver has accepted `n` notifications, and
/// a little longer, for a stray repeat to show.
async fn deliver_until_accepted(dir: &Path, config: &Config, state: &Mutex<Receiver>, n: usize) {
    let running = start(dir, config);
    wait_until(&format!("{n} accepted deliveries"), || {
        state.lock().unwrap().accepted.len() >= n
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    running.stop().await;
}

#[tokio::test]
async fn webhook_retries_failed_attempts_and_delivers_each_once() {
    let dir = store();
    let state = Arc::new(Mutex::new(Receiver {
        accepting: true,
        fail_first: 2,
        ..Receiver::default()
    }));
    let url = receiver(state.clone()).await;
    let config = config(dir.path(), &webhook_sink(&url));
    enqueue(dir.path(), [11, 12, 13]);

    deliver_until_accepted(dir.path(), &config, &state, 3).await;

    let r = state.lock().unwrap();
    assert!(r.refused.is_empty(), "refused: {:?}", r.refused);
    accepted_once(dir.path(), &r).unwrap();
    for (id, times) in &r.attempts {
        assert_eq!(times.len(), 3, "delivery {id}: two refusals, then accepted");
        // The backoff's lower bounds: half of 40 ms, then half of 80 ms.
        let gaps: Vec<_> = times.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(
            gaps[0] >= Duration::from_millis(20) && gaps[1] >= Duration::from_millis(40),
            "delivery {id}: retried after {gaps:?}"
        );
    }
    let mut ids: Vec<i64> = r
        .accepted
        .iter()
        .map(|b| b["alert_id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [11, 12, 13]);
    for body in &r.accepted {
        let id = body["alert_id"].as_i64().unwrap();
        assert_eq!(body["site"], SITE);
        assert_eq!(body["event"], "new");
        assert_eq!(body["attempt"], 3);
        assert_eq!(body["alert"], payload(id), "the analysis's payload, whole");
    }
    for row in outbox(dir.path()) {
        assert_eq!(row.sink.as_deref(), Some("soc"));
        assert_eq!((row.state, row.attempts), (State::Delivered, 3));
        assert_eq!(row.last_error, None);
    }
}

#[tokio::test]
async fn a_restarted_deliverer_delivers_what_the_stopped_one_left_once() {
    let dir = store();
    let state = Arc::new(Mutex::new(Receiver::default()));
    let url = receiver(state.clone()).await;
    let config = config(dir.path(), &webhook_sink(&url));
    enqueue(dir.path(), 1..=4);

    // The receiver is down: the deliverer tries, records, and is stopped.
    let running = start(dir.path(), &config);
    wait_until("a first attempt", || {
        !state.lock().unwrap().attempts.is_empty()
    })
    .await;
    running.stop().await;
    assert!(state.lock().unwrap().accepted.is_empty());
    let rows = outbox(dir.path());
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.state == State::Pending));
    let tried: Vec<_> = rows.iter().filter(|r| r.attempts > 0).collect();
    assert!(!tried.is_empty());
    assert!(tried.iter().all(|r| r
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("503") && !e.contains(URL_TOKEN))));

    // Alerts keep coming while it is stopped; the receiver comes back.
    enqueue(dir.path(), 5..=6);
    state.lock().unwrap().accepting = true;
    deliver_until_accepted(dir.path(), &config, &state, 6).await;

    // A third start finds nothing left to send.
    let requests = |s: &Receiver| s.attempts.values().map(Vec::len).sum::<usize>();
    let before = requests(&state.lock().unwrap());
    let running = start(dir.path(), &config);
    tokio::time::sleep(Duration::from_millis(200)).await;
    running.stop().await;

    let r = state.lock().unwrap();
    assert_eq!(requests(&r), before, "nothing sent again");
    accepted_once(dir.path(), &r).unwrap();
    let rows = outbox(dir.path());
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r.state == State::Delivered));
}

#[tokio::test]
async fn a_notification_not_accepted_in_time_is_marked_failed_and_left() {
    let dir = store();
    let state = Arc::new(Mutex::new(Receiver::default()));
    let url = receiver(state.clone()).await;
    let mut config = config(dir.path(), &webhook_sink(&url));
    config.delivery.give_up_after_secs = 0;
    enqueue(dir.path(), [41, 42]);

    let running = start(dir.path(), &config);
    wait_until("both given up", || {
        outbox(dir.path()).iter().all(|r| r.state == State::Failed)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    running.stop().await;
    let r = state.lock().unwrap();
    assert_eq!(r.attempts.len(), 2);
    assert!(
        r.attempts.values().all(|a| a.len() == 1),
        "no retry once given up"
    );
    for row in outbox(dir.path()) {
        assert_eq!(row.attempts, 1);
        assert!(row.failed_us.is_some() && row.next_attempt_us.is_none());
        assert!(row.last_error.unwrap().contains("503"));
    }
}

#[tokio::test]
async fn a_large_payload_goes_without_its_evidence_and_old_ones_are_pruned() {
    let dir = store();
    let state = Arc::new(Mutex::new(Receiver {
        accepting: true,
        ..Receiver::default()
    }));
    let url = receiver(state.clone()).await;
    let config = config(dir.path(), &webhook_sink(&url));
    let mut big = payload(51);
    big["evidence"] = json!((0..2000)
        .map(|i| json!({"log": "modbus", "uid": format!("C{i:0>60}"), "ts": i}))
        .collect::<Vec<_>>());
    assert!(big.to_string().len() > notify::MAX_PAYLOAD_BYTES);
    let mut db = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    let tx = db.transaction().unwrap();
    notify::enqueue(&tx, SITE, 51, "new", &big).unwrap();
    tx.commit().unwrap();

    deliver_until_accepted(dir.path(), &config, &state, 1).await;
    let alert = state.lock().unwrap().accepted[0]["alert"].clone();
    assert_eq!(alert["evidence_omitted"], 2000);
    assert!(alert.get("evidence").is_none());
    assert_eq!(alert["title"], big["title"]);

    // Past the retention, a notification and its deliveries go at the next enqueue.
    db.execute(
        "UPDATE notify_outbox SET created = created - ?1",
        [notify::RETAIN_US + 1],
    )
    .unwrap();
    enqueue(dir.path(), [52]);
    let rows = outbox(dir.path());
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].alert_id, rows[0].sink.as_deref()), (52, None));
    let deliveries: i64 = db
        .query_row("SELECT COUNT(*) FROM notify_delivery", [], |r| r.get(0))
        .unwrap();
    assert_eq!(deliveries, 0);
}

#[tokio::test]
async fn an_https_receiver_under_a_private_ca_is_trusted_through_ca_file() {
    let dir = store();
    let state = Arc::new(Mutex::new(Receiver {
        accepting: true,
        ..Receiver::default()
    }));
    let (url, ca_pem) = https_receiver(state.clone()).await;
    let mut config = config(dir.path(), &webhook_sink(&url));

    // Without its CA, the receiver's certificate is refused.
    config.delivery.give_up_after_secs = 0;
    enqueue(dir.path(), [61]);
    let running = start(dir.path(), &config);
    wait_until("the attempt given up", || {
        outbox(dir.path()).iter().all(|r| r.state == State::Failed)
    })
    .await;
    running.stop().await;
    assert!(state.lock().unwrap().attempts.is_empty());
    let error = outbox(dir.path())[0].last_error.clone().unwrap();
    assert!(error.contains("certificate"), "{error}");

    // With it, the next notification is accepted.
    let ca_file = dir.path().join("soc-ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    config.webhook[0].ca_file = Some(ca_file);
    config.delivery.give_up_after_secs = 60;
    enqueue(dir.path(), [62]);
    deliver_until_accepted(dir.path(), &config, &state, 1).await;
    let r = state.lock().unwrap();
    assert_eq!(r.accepted.len(), 1);
    assert_eq!(r.accepted[0]["alert_id"], 62);
}

#[test]
fn the_signature_is_hmac_sha256_of_the_body() {
    // RFC 4231 test case 2.
    assert_eq!(
        notify::sign(b"Jefe", b"what do ya want for nothing?").unwrap(),
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

// ---------------------------------------------------------------- syslog

/// An RFC 5424 message taken apart.
#[derive(Debug)]
struct Syslog5424 {
    pri: u16,
    timestamp: String,
    hostname: String,
    app_name: String,
    procid: String,
    msgid: String,
    sd_id: String,
    params: Vec<(String, String)>,
    msg: String,
}

impl Syslog5424 {
    fn param(&self, name: &str) -> Vec<&str> {
        self.params
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Parses one message with a single SD element, unescaping its values;
/// panics naming what is wrong.
fn parse_5424(bytes: &[u8]) -> Syslog5424 {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    let rest = text.strip_prefix('<').expect("PRI opens with <");
    let (pri, rest) = rest.split_once('>').expect("PRI closes with >");
    assert!(
        pri.len() <= 3 && pri.bytes().all(|b| b.is_ascii_digit()),
        "PRI {pri:?}"
    );
    let rest = rest.strip_prefix("1 ").expect("VERSION 1");
    let mut fields = rest.splitn(6, ' ');
    let mut next = || fields.next().expect("header field").to_owned();
    let (timestamp, hostname, app_name, procid, msgid, rest) =
        (next(), next(), next(), next(), next(), next());
    for f in [&hostname, &app_name, &procid, &msgid] {
        assert!(
            !f.is_empty() && f.bytes().all(|b| b.is_ascii_graphic()),
            "field {f:?}"
        );
    }
    let sd = rest.strip_prefix('[').expect("one SD element");
    let (sd_id, mut sd) = sd.split_once(' ').expect("SD-ID then params");
    let mut params = Vec::new();
    loop {
        if let Some(after) = sd.strip_prefix(']') {
            sd = after;
            break;
        }
        let (name, after) = sd
            .trim_start_matches(' ')
            .split_once("=\"")
            .expect("PARAM-NAME=\"");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("closing quote") {
                (_, '\\') => {
                    let (_, c) = chars.next().expect("escaped character");
                    assert!(matches!(c, '"' | '\\' | ']'), "only \" \\ ] are escaped");
                    value.push(c);
                }
                (i, '"') => break i,
                (_, ']') => panic!("unescaped ] in a value"),
                (_, c) => value.push(c),
            }
        };
        params.push((name.to_owned(), value));
        sd = &after[end + 1..];
    }
    let msg = sd
        .strip_prefix(" \u{feff}")
        .expect("a space and a BOM before the text")
        .to_owned();
    Syslog5424 {
        pri: pri.parse().unwrap(),
        timestamp,
        hostname,
        app_name,
        procid,
        msgid,
        sd_id: sd_id.to_owned(),
        params,
        msg,
    }
}

fn syslog_sink(transport: &str, address: &str) -> String {
    format!(
        "[[syslog]]\nname = \"siem\"\naddress = \"{address}\"\ntransport = \"{transport}\"\n\
         facility = \"local4\"\napp_name = \"osect-test\"\nhostname = \"core-1\"\n"
    )
}

/// Checks a received message against alert `alert_id`'s notification.
fn check_message(m: &Syslog5424, dir: &Path) {
    let alert_id: i64 = m.param("alert")[0].parse().unwrap();
    let row = outbox(dir)
        .into_iter()
        .find(|r| r.alert_id == alert_id)
        .expect("a queued alert");
    // local4 (20) * 8 + error (3, for "high").
    assert_eq!(m.pri, 163);
    assert_eq!(m.timestamp, notify::rfc3339(row.queued_us));
    assert_eq!(
        (m.hostname.as_str(), m.app_name.as_str(), m.msgid.as_str()),
        ("core-1", "osect-test", "new_device")
    );
    assert_eq!(m.procid, std::process::id().to_string());
    assert_eq!(m.sd_id, "osect@32473");
    let p = payload(alert_id);
    assert_eq!(m.param("site"), [SITE]);
    assert_eq!(m.param("event"), ["new"]);
    assert_eq!(m.param("delivery"), [row.delivery_id.as_str()]);
    assert_eq!(m.param("severity"), ["high"]);
    assert_eq!(m.param("count"), ["3"]);
    let time = |k: &str| notify::rfc3339(p[k].as_i64().unwrap());
    assert_eq!(m.param("first_seen"), [time("first_seen")]);
    assert_eq!(m.param("last_seen"), [time("last_seen")]);
    assert_eq!(m.param("device"), ["00:11:22:33:44:55", "plc] \"7\" \\x"]);
    assert_eq!(m.msg, p["title"].as_str().unwrap());
}

#[tokio::test]
async fn syslog_over_udp_is_rfc_5424_with_escaped_structured_data() {
    let dir = store();
    let listener = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let config = config(dir.path(), &syslog_sink("udp", &address));
    enqueue(dir.path(), [21, 22]);

    let running = start(dir.path(), &config);
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while seen.len() < 2 {
        let n = tokio::time::timeout(PATIENCE, listener.recv(&mut buf))
            .await
            .expect("a datagram")
            .unwrap();
        assert!(n <= 2048, "within max_message_bytes: {n}");
        let m = parse_5424(&buf[..n]);
        check_message(&m, dir.path());
        seen.push(m.param("alert")[0].to_owned());
    }
    wait_until("both marked delivered", || {
        outbox(dir.path())
            .iter()
            .all(|r| r.state == State::Delivered)
    })
    .await;
    running.stop().await;
    seen.sort();
    assert_eq!(seen, ["21", "22"]);
}

/// Reads one octet-counted frame (RFC 6587 3.4.1): digits, a space, that
/// many bytes. None at the end of the stream.
async fn read_frame(r: &mut BufReader<tokio::net::TcpStream>) -> Option<Vec<u8>> {
    let mut len = Vec::new();
    let n = r.read_until(b' ', &mut len).await.unwrap();
    if n == 0 {
        return None;
    }
    let len = std::str::from_utf8(&len[..n - 1]).unwrap();
    assert!(
        !len.starts_with('0') && len.bytes().all(|b| b.is_ascii_digit()),
        "MSG-LEN {len:?}"
    );
    let mut frame = vec![0u8; len.parse().unwrap()];
    r.read_exact(&mut frame).await.unwrap();
    Some(frame)
}

#[tokio::test]
async fn syslog_over_tcp_is_octet_counted_and_reconnects() {
    let dir = store();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let config = config(dir.path(), &syslog_sink("tcp", &address));
    enqueue(dir.path(), [31, 32, 33]);
    let running = start(dir.path(), &config);

    let accept = || async {
        let (conn, _) = tokio::time::timeout(PATIENCE, listener.accept())
            .await
            .expect("a connection")
            .unwrap();
        BufReader::new(conn)
    };
    let mut conn = accept().await;
    let mut alerts = Vec::new();
    while alerts.len() < 3 {
        let frame = tokio::time::timeout(PATIENCE, read_frame(&mut conn))
            .await
            .expect("a frame")
            .expect("the connection stays open");
        let m = parse_5424(&frame);
        check_message(&m, dir.path());
        alerts.push(m.param("alert")[0].to_owned());
    }
    assert_eq!(
        alerts,
        ["31", "32", "33"],
        "in queue order on one connection"
    );

    // The receiver restarts: the next notification comes on a new connection.
    drop(conn);
    wait_until("the first three marked delivered", || {
        outbox(dir.path())
            .iter()
            .all(|r| r.state == State::Delivered)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    enqueue(dir.path(), [34]);
    let mut conn = accept().await;
    let frame = tokio::time::timeout(PATIENCE, read_frame(&mut conn))
        .await
        .expect("a frame")
        .expect("a message on the new connection");
    let m = parse_5424(&frame);
    check_message(&m, dir.path());
    assert_eq!(m.param("alert"), ["34"]);
    running.stop().await;
    let rows = outbox(dir.path());
    assert_eq!(rows.len(), 4);
    assert!(rows
        .iter()
        .all(|r| r.state == State::Delivered && r.attempts == 1));
}

#[test]
fn a_long_syslog_message_is_cut_to_its_limit_devices_first() {
    let config = notify::SyslogConfig {
        name: "siem".into(),
        address: "127.0.0.1:514".into(),
        transport: notify::Transport::Udp,
        facility: notify::Facility(16),
        app_name: "osect-test".into(),
        hostname: Some("core-1".into()),
        sd_id: "osect@32473".into(),
        max_message_bytes: 480,
        timeout_ms: 1000,
    };
    let sink = notify::Syslog::new(&config).unwrap();
    let mut p = payload(7);
    p["title"] = json!("ü".repeat(400));
    p["devices"] = json!((0..40)
        .map(|i| format!("device-{i}-{}", "x".repeat(40)))
        .collect::<Vec<_>>());
    let n = notify::Notification {
        outbox_id: 1,
        site: SITE.into(),
        alert_id: 7,
        event: "new".into(),
        delivery_id: "0123456789abcdef0123456789abcdef".into(),
        created_us: 1_700_000_000_000_000,
        payload: p,
        attempts: 0,
    };
    let bytes = sink.message(&n);
    assert!(bytes.len() <= 480, "{} bytes", bytes.len());
    let m = parse_5424(&bytes);
    assert_eq!(m.pri, 16 * 8 + 3);
    assert_eq!(m.param("alert"), ["7"]);
    assert_eq!(m.param("site"), [SITE]);
    let devices = m.param("device");
    assert!(devices.len() < 40, "devices left out to fit");
    assert!(
        m.msg.len() >= 120 && m.msg.chars().all(|c| c == 'ü'),
        "the title, cut on a character"
    );
}

#[test]
fn a_bad_sinks_file_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notify.toml");
    let refused = |text: &str| {
        std::fs::write(&file, text).unwrap();
        Config::load(&file).unwrap_err().to_string()
    };
    let syslog = "[[syslog]]\nname = \"a\"\naddress = \"h:514\"\ntransport = \"udp\"\n";
    assert!(refused("").contains("no sink"));
    assert!(refused(&format!("{syslog}{syslog}")).contains("\"a\" is used twice"));
    assert!(refused(&format!("{syslog}facility = \"local9\"\n")).contains("local9"));
    assert!(refused(&format!("{syslog}facility = 24\n")).contains("24"));
    assert!(refused(&syslog.replace("udp", "sctp")).contains("sctp"));
    assert!(refused(&format!("{syslog}colour = 1\n")).contains("colour"));
    let err = refused(&format!(
        "{syslog}[delivery]\ngive_up_after_secs = 99999999\n"
    ));
    assert!(err.contains("give_up_after_secs") && err.contains(&file.display().to_string()));

    std::fs::write(dir.path().join("empty.secret"), "\n").unwrap();
    std::fs::write(
        &file,
        format!(
            "[[webhook]]\nname = \"w\"\nurl = \"http://127.0.0.1:9/\"\nsecret_file = \"{}\"\n",
            dir.path().join("empty.secret").display()
        ),
    )
    .unwrap();
    let config = Config::load(&file).unwrap();
    let store = store();
    let err = Deliverer::new(store.path(), &config)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("empty.secret") && err.contains("empty"),
        "{err}"
    );
}

// ---------------------------------------------------------------- serve

/// `osect-collector serve --notify FILE` on 127.0.0.1, its log in the
/// store folder. A self-signed certificate serves as the collector's and as
/// the device CA: no device connects here.
fn serve(dir: &Path, notify_file: &Path) -> Serving {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("serve.log"))
        .unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_osect-collector"))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--store"])
        .arg(dir)
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .arg("--client-ca")
        .arg(&cert)
        .arg("--notify")
        .arg(notify_file)
        .stderr(log)
        .spawn()
        .map(Serving)
        .unwrap()
}

/// A serve process, killed when dropped, so a failed test leaves none
/// behind.
struct Serving(std::process::Child);

impl Serving {
    /// `kill -9`, then reaps it.
    fn kill(&mut self) {
        // It may have exited already.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `osect-collector outbox --store DIR [--json]`'s output.
fn outbox_command(dir: &Path, json: bool) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_osect-collector"))
        .arg("outbox")
        .arg("--store")
        .arg(dir)
        .args(json.then_some("--json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_delivers_the_outbox_and_a_killed_serve_loses_nothing() {
    let dir = store();
    let state = Arc::new(Mutex::new(Receiver {
        fail_first: 1,
        ..Receiver::default()
    }));
    let url = receiver(state.clone()).await;
    config(dir.path(), &webhook_sink(&url));
    let notify_file = dir.path().join("notify.toml");
    enqueue(dir.path(), 1..=3);

    // The receiver is down; serve tries, and is killed.
    let mut first = serve(dir.path(), &notify_file);
    wait_until("a first attempt", || {
        !state.lock().unwrap().attempts.is_empty()
    })
    .await;
    first.kill();
    let text = outbox_command(dir.path(), false);
    assert!(text.contains("0 delivered"), "{text}");
    assert!(text.contains(" soc ") && text.contains("503"), "{text}");

    enqueue(dir.path(), 4..=5);
    state.lock().unwrap().accepting = true;
    let mut second = serve(dir.path(), &notify_file);
    wait_until("five accepted deliveries", || {
        state.lock().unwrap().accepted.len() >= 5
    })
    .await;
    wait_until("five marked delivered", || {
        outbox(dir.path())
            .iter()
            .all(|r| r.state == State::Delivered)
    })
    .await;
    second.kill();

    accepted_once(dir.path(), &state.lock().unwrap()).unwrap();
    let listed: Value = serde_json::from_str(&outbox_command(dir.path(), true)).unwrap();
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    for row in rows {
        assert_eq!(row["state"], "delivered");
        assert_eq!(row["sink"], "soc");
        assert!(row["attempts"].as_u64().unwrap() >= 2, "{row}");
    }
    assert!(outbox_command(dir.path(), false).contains("0 pending, 5 delivered, 0 failed"));
}

#[test]
fn serve_refuses_a_sinks_file_it_cannot_use() {
    let dir = store();
    let notify_file = dir.path().join("notify.toml");
    std::fs::write(
        &notify_file,
        "[[webhook]]\nname = \"soc\"\nurl = \"http://127.0.0.1:9/\"\n\
         secret_file = \"/nonexistent/secret\"\n",
    )
    .unwrap();
    let status = serve(dir.path(), &notify_file).0.wait().unwrap();
    assert!(!status.success());
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert!(
        log.contains("soc") && log.contains("/nonexistent/secret"),
        "{log}"
    );
}
