//! Notifications: every new alert goes to the configured sinks (webhooks,
//! syslog) at least once, through a durable outbox in the store.
//!
//! - The analysis calls [`enqueue`] in the transaction that stores an
//!   alert, so the alert and its notification commit together.
//! - A [`Deliverer`] (started by `osect-collector serve --notify FILE`)
//!   runs one task per sink on its own SQLite connection: each round it
//!   takes up newly queued notifications, sends the due ones in queue order
//!   (at most `batch`), and records per sink the attempts, the next attempt
//!   (exponential backoff with jitter, capped), the delivery time and the
//!   last error. A notification is marked delivered only after the sink
//!   accepted it, so a crash between sending and recording sends it again:
//!   receivers drop repeats by the delivery id. A failure pauses that sink
//!   until the failed notification's next attempt; one not accepted within
//!   `give_up_after_secs` of being queued is marked failed.
//! - [`list`] reads the outbox for `osect-collector outbox`.

mod config;
mod outbox;
mod syslog;
mod webhook;

pub use config::{Config, Delivery, Facility, SyslogConfig, Transport, WebhookConfig};
pub use outbox::{create_tables, enqueue, list, OutboxRow, State, MAX_PAYLOAD_BYTES, RETAIN_US};
pub use syslog::Syslog;
pub use webhook::{sign, Webhook, DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

use crate::store::now_us;
use outbox::Outbox;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The sinks file cannot be read or is not valid.
    #[error("notify config {file}: {message}")]
    Config { file: String, message: String },
    /// A sink cannot be set up (its secret file, its URL).
    #[error("sink {sink}: {message}")]
    Sink { sink: String, message: String },
    /// The store's database cannot be opened.
    #[error("outbox {file}: {message}")]
    Open { file: String, message: String },
    /// SQLite failed.
    #[error("outbox: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A database call panicked.
    #[error("outbox: a database call failed abnormally")]
    Panicked,
}

/// A queued notification as one sink is sent it.
#[derive(Debug, Clone)]
pub struct Notification {
    pub outbox_id: i64,
    pub site: String,
    pub alert_id: i64,
    pub event: String,
    pub delivery_id: String,
    pub created_us: i64,
    /// What the analysis queued.
    pub payload: Value,
    /// Attempts already made to this sink.
    pub attempts: u32,
}

impl Notification {
    /// The webhook body: the analysis's payload under `alert`, wrapped with
    /// the delivery's metadata; `sent_at` is the attempt's Unix time.
    pub fn envelope(&self, sent_at: i64) -> Value {
        json!({
            "delivery_id": self.delivery_id,
            "event": self.event,
            "site": self.site,
            "alert_id": self.alert_id,
            "queued_at": rfc3339(self.created_us),
            "sent_at": sent_at,
            "attempt": self.attempts + 1,
            "alert": self.payload,
        })
    }
}

enum Sink {
    Webhook(Webhook),
    Syslog(Syslog),
}

impl Sink {
    fn name(&self) -> &str {
        match self {
            Sink::Webhook(w) => w.name(),
            Sink::Syslog(s) => s.name(),
        }
    }

    async fn send(&mut self, n: &Notification) -> Result<(), String> {
        match self {
            Sink::Webhook(w) => w.send(n).await,
            Sink::Syslog(s) => s.send(n).await,
        }
    }
}

/// Sends queued notifications to every configured sink.
pub struct Deliverer {
    workers: Vec<SinkWorker>,
}

impl Deliverer {
    /// Sets up every sink (reading secret files) and one connection each to
    /// the store in `store_dir`, which `Store::open` has created.
    pub fn new(store_dir: &Path, config: &Config) -> Result<Deliverer, NotifyError> {
        let mut sinks = Vec::new();
        for w in &config.webhook {
            sinks.push(Sink::Webhook(Webhook::new(w)?));
        }
        for s in &config.syslog {
            sinks.push(Sink::Syslog(Syslog::new(s)?));
        }
        let names: Arc<[String]> = config.sink_names().into_iter().map(String::from).collect();
        let mut workers = Vec::new();
        for sink in sinks {
            let outbox = Outbox::open(store_dir)?;
            workers.push(SinkWorker {
                cursor: outbox.taken_up_to(sink.name())?,
                sink,
                outbox: Arc::new(Mutex::new(outbox)),
                names: names.clone(),
                delivery: config.delivery.clone(),
            });
        }
        Ok(Deliverer { workers })
    }

    /// Delivers until `shutdown` turns true or its sender is dropped.
    /// Stopping never interrupts a send whose result is not yet recorded.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let mut tasks = tokio::task::JoinSet::new();
        for worker in self.workers {
            log::info!("notifications: delivering to sink {}", worker.sink.name());
            tasks.spawn(worker.run(shutdown.clone()));
        }
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done {
                log::error!("notifications: a sink's task ended abnormally: {e}");
            }
        }
    }
}

struct SinkWorker {
    sink: Sink,
    outbox: Arc<Mutex<Outbox>>,
    /// Every configured sink: a notification is done when all of them are.
    names: Arc<[String]>,
    delivery: Delivery,
    /// The last queued notification taken up for this sink.
    cursor: i64,
}

fn stopping(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

impl SinkWorker {
    async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let poll = Duration::from_millis(self.delivery.poll_ms);
        while !stopping(&shutdown) {
            let pause = self.round(&shutdown).await.unwrap_or_else(|e| {
                log::error!("notifications: sink {}: {e}", self.sink.name());
                poll
            });
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Sends what is due, in queue order; returns how long to wait before
    /// the next round.
    async fn round(&mut self, shutdown: &watch::Receiver<bool>) -> Result<Duration, NotifyError> {
        let name: Arc<str> = self.sink.name().into();
        let limit = self.delivery.batch;
        let (sink, cursor) = (name.clone(), self.cursor);
        self.cursor = self.db(move |o| o.take_up(&sink, cursor, limit)).await?;
        let sink = name.clone();
        let due = self.db(move |o| o.due(&sink, now_us(), limit)).await?;
        for n in &due {
            if stopping(shutdown) {
                break;
            }
            let result = self.sink.send(n).await;
            let (sink, names, id) = (name.clone(), self.names.clone(), n.outbox_id);
            let now = now_us();
            match result {
                Ok(()) => {
                    self.db(move |o| o.delivered(id, &sink, &names, now))
                        .await?;
                }
                Err(error) => {
                    let attempts = n.attempts.saturating_add(1);
                    let give_up = now - n.created_us
                        >= (self.delivery.give_up_after_secs as i64).saturating_mul(1_000_000);
                    let wait = backoff(&self.delivery, attempts);
                    let next = now.saturating_add(wait.as_micros() as i64);
                    if give_up {
                        log::error!(
                            "notifications: sink {name}: gave up on alert {} of site {} after \
                             {attempts} attempts: {error}",
                            n.alert_id,
                            n.site
                        );
                    } else {
                        log::warn!(
                            "notifications: sink {name}: alert {} of site {}, attempt {attempts} \
                             failed, next in {} ms: {error}",
                            n.alert_id,
                            n.site,
                            wait.as_millis()
                        );
                    }
                    self.db(move |o| {
                        o.attempt_failed(id, &sink, &names, now, next, give_up, &error)
                    })
                    .await?;
                    if !give_up {
                        return Ok(wait);
                    }
                }
            }
        }
        Ok(if due.len() as u32 >= limit {
            Duration::ZERO
        } else {
            Duration::from_millis(self.delivery.poll_ms)
        })
    }

    /// Runs `f` on the outbox connection off the async workers.
    async fn db<T, F>(&self, f: F) -> Result<T, NotifyError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Outbox) -> rusqlite::Result<T> + Send + 'static,
    {
        let outbox = self.outbox.clone();
        tokio::task::spawn_blocking(move || {
            let mut o = outbox.lock().map_err(|_| NotifyError::Panicked)?;
            Ok(f(&mut o)?)
        })
        .await
        .map_err(|_| NotifyError::Panicked)?
    }
}

/// The wait after `attempts` failed attempts: the initial backoff doubled
/// per further attempt, capped, then drawn from its upper half so sinks
/// recovering together are not hit by every retry at once.
fn backoff(d: &Delivery, attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(32);
    let full = d
        .initial_backoff_ms
        .saturating_mul(1u64 << doublings)
        .min(d.max_backoff_ms);
    Duration::from_millis(fastrand::u64(full / 2..=full))
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` for a time in µs since the Unix epoch.
pub fn rfc3339(us: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// Writes `rows` as an aligned table with a count per state, or as JSON.
pub fn write_outbox(
    rows: &[OutboxRow],
    json: bool,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, rows)?;
        return writeln!(out);
    }
    writeln!(
        out,
        "{:>8} {:<14} {:>8} {:<8} {:<20} {:<12} {:<9} {:>8} {:<20}  last_error",
        "id", "site", "alert", "event", "queued_utc", "sink", "state", "attempts", "at_utc"
    )?;
    let seconds = |us: i64| rfc3339(us).chars().take(19).collect::<String>() + "Z";
    let mut counts = [0usize; 3];
    for r in rows {
        counts[r.state as usize] += 1;
        let at = r.delivered_us.or(r.failed_us).or(r.next_attempt_us);
        writeln!(
            out,
            "{:>8} {:<14} {:>8} {:<8} {:<20} {:<12} {:<9} {:>8} {:<20}  {}",
            r.id,
            r.site,
            r.alert_id,
            r.event,
            seconds(r.queued_us),
            r.sink.as_deref().unwrap_or("-"),
            r.state.as_str(),
            r.attempts,
            at.map_or_else(|| "-".into(), seconds),
            r.last_error.as_deref().unwrap_or("")
        )?;
    }
    writeln!(
        out,
        "{} pending, {} delivered, {} failed",
        counts[State::Pending as usize],
        counts[State::Delivered as usize],
        counts[State::Failed as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_cap() {
        let d = Delivery {
            initial_backoff_ms: 100,
            max_backoff_ms: 1000,
            ..Delivery::default()
        };
        for (attempts, full) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (80, 1000),
        ] {
            for _ in 0..50 {
                let ms = backoff(&d, attempts).as_millis() as u64;
                assert!(
                    (full / 2..=full).contains(&ms),
                    "attempt {attempts}: {ms} ms"
                );
            }
        }
    }

    #[test]
    fn times_are_rfc3339_with_microseconds() {
        assert_eq!(
            rfc3339(1_700_000_000_123_456),
            "2023-11-14T22:13:20.123456Z"
        );
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
    }
}
