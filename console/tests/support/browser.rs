//! Debian's Chromium, headless, under chromedriver.

use fantoccini::{Client, ClientBuilder};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
const DRIVER: [&str; 2] = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];

fn first_existing(paths: &[&str]) -> Option<PathBuf> {
    paths.iter().map(PathBuf::from).find(|p| p.exists())
}

/// Chromium and chromedriver, or `None` with a message saying the test is
/// skipped and why.
pub fn chromium() -> Option<(PathBuf, PathBuf)> {
    let found = first_existing(&CHROMIUM).zip(first_existing(&DRIVER));
    if found.is_none() {
        println!(
            "SKIPPED: the browser test needs Debian's chromium and chromium-driver \
             (apt-get install chromium chromium-driver; CI installs them from ci/deps/apt-console.txt)"
        );
    }
    found
}

/// chromedriver, ended when the test ends however it ends.
pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts chromedriver on a free loopback port and a headless Chromium
/// session through it that saves downloads in `downloads`.
pub async fn start_driver(driver: &Path, chromium: &Path, downloads: &Path) -> (Driver, Client) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{url}/status")).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not answer on {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--lang=en-US"],
            "prefs": {
                "download.default_directory": downloads,
                "download.prompt_for_download": false
            }
        }
    });
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps.as_object().unwrap().clone())
        .connect(&url)
        .await
        .expect("a Chromium session through chromedriver");
    (driver, client)
}

/// Logs `user` in through the login form of the console at `base`.
pub async fn log_in(b: &Client, base: &str, user: &str) {
    log_in_with(b, base, user, super::PASSWORD).await
}

/// Logs `user` in with `password` through the login form.
pub async fn log_in_with(b: &Client, base: &str, user: &str, password: &str) {
    use fantoccini::Locator;
    b.goto(&format!("{base}/login?lang=en&next=%2F"))
        .await
        .unwrap();
    b.find(Locator::Css("#name"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    b.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    b.find(Locator::Css("#login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}
