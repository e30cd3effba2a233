//! The webhook sink: one HTTP POST of JSON per notification. Accepted means
//! a 2xx answer; anything else (another status, a timeout, no connection)
//! is retried. Each request carries
//! - `X-Osect-Signature: sha256=<hex>`, the HMAC-SHA256 of the exact body
//!   under the shared secret;
//! - `X-Osect-Timestamp`, the Unix time of the attempt, also the body's
//!   `sent_at`, so the signature covers it and a receiver can refuse replays;
//! - `X-Osect-Delivery`, the notification's delivery id, also the body's
//!   `delivery_id`, the same for every attempt, for dropping repeats.

use super::config::WebhookConfig;
use super::{Notification, NotifyError};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

pub const SIGNATURE_HEADER: &str = "x-osect-signature";
pub const TIMESTAMP_HEADER: &str = "x-osect-timestamp";
pub const DELIVERY_HEADER: &str = "x-osect-delivery";

/// The shared secret; never printed.
struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Debug)]
pub struct Webhook {
    name: String,
    url: reqwest::Url,
    /// The URL as logged and recorded: scheme, host and port only, since
    /// many receivers take a token in the path or query.
    shown: String,
    secret: Secret,
    client: reqwest::Client,
}

impl Webhook {
    /// Reads the secret file and builds the client.
    pub fn new(c: &WebhookConfig) -> Result<Webhook, NotifyError> {
        let fail = |message: String| NotifyError::Sink {
            sink: c.name.clone(),
            message,
        };
        let url = reqwest::Url::parse(&c.url).map_err(|e| fail(format!("url: {e}")))?;
        let raw = std::fs::read(&c.secret_file)
            .map_err(|e| fail(format!("secret file {}: {e}", c.secret_file.display())))?;
        let secret = raw.trim_ascii().to_vec();
        if secret.is_empty() {
            return Err(fail(format!(
                "secret file {} is empty",
                c.secret_file.display()
            )));
        }
        warn_if_readable_by_others(&c.name, &c.secret_file);
        let shown = format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap_or("-"),
            url.port().map_or(String::new(), |p| format!(":{p}"))
        );
        if url.scheme() == "http" {
            log::warn!(
                "webhook {}: {shown} is plain HTTP; alerts cross the network unencrypted",
                c.name
            );
        }
        let mut client = reqwest::Client::builder()
            .timeout(Duration::from_millis(c.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("osect-collector/", env!("CARGO_PKG_VERSION")));
        if let Some(file) = &c.ca_file {
            let bad = |e: String| fail(format!("ca_file {}: {e}", file.display()));
            let pem = std::fs::read(file).map_err(|e| bad(e.to_string()))?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(e.to_string()))?;
            if certs.is_empty() {
                return Err(bad("no PEM certificate in it".into()));
            }
            for cert in certs {
                client = client.add_root_certificate(cert);
            }
        }
        let client = client
            .build()
            .map_err(|e| fail(format!("HTTP client: {e}")))?;
        Ok(Webhook {
            name: c.name.clone(),
            url,
            shown,
            secret: Secret(secret),
            client,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// One attempt; `Err` says why it was not accepted.
    pub async fn send(&self, n: &Notification) -> Result<(), String> {
        let sent_at = super::now_us().div_euclid(1_000_000);
        let body = n.envelope(sent_at).to_string();
        let signature = sign(&self.secret.0, body.as_bytes())?;
        let resp = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(TIMESTAMP_HEADER, sent_at.to_string())
            .header(DELIVERY_HEADER, n.delivery_id.as_str())
            .body(body)
            .send()
            .await
            .map_err(|e| format!("POST {}: {}", self.shown, causes(&e.without_url())))?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("POST {}: answered {status}", self.shown))
        }
    }
}

/// An error and its causes, `: `-separated ("error sending request" alone
/// does not say that the connection was refused).
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> Result<String, String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|e| format!("HMAC key: {e}"))?;
    mac.update(body);
    Ok(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

fn warn_if_readable_by_others(sink: &str, path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path) {
        if m.permissions().mode() & 0o077 != 0 {
            log::warn!(
                "webhook {sink}: secret file {} is readable by group or others (mode {:o})",
                path.display(),
                m.permissions().mode() & 0o777
            );
        }
    }
}
