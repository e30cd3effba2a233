//! The send budget: a token-bucket rate limit and a monthly byte cap. The
//! month's count is persisted on the data partition so a restart does not
//! reset it. Bytes counted are batch bytes acknowledged (QUIC and TLS
//! overhead, a few percent, is not counted).

use crate::spool::write_atomic;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

pub struct Budget {
    rate: u64,
    tokens: f64,
    last: Instant,
    cap: u64,
    month: u32,
    used: u64,
    state: PathBuf,
}

/// Months since 1970-01 for a Unix time in seconds (UTC).
fn month_index(unix_secs: i64) -> u32 {
    let days = unix_secs.div_euclid(86_400) + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    ((y - 1970) * 12 + m - 1).max(0) as u32
}

fn now_month() -> u32 {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    month_index(secs)
}

impl Budget {
    /// `rate` bytes/s (0: none), `cap` bytes per month (0: none); `state`
    /// holds `<month index> <bytes used>`.
    pub fn new(rate: u64, cap: u64, state: PathBuf) -> Budget {
        let month = now_month();
        let used = std::fs::read_to_string(&state)
            .ok()
            .and_then(|s| {
                let mut it = s.split_whitespace().map(str::parse::<u64>);
                match (it.next(), it.next()) {
                    (Some(Ok(m)), Some(Ok(u))) if m == u64::from(month) => Some(u),
                    _ => None,
                }
            })
            .unwrap_or(0);
        Budget {
            rate,
            tokens: rate as f64,
            last: Instant::now(),
            cap,
            month,
            used,
            state,
        }
    }

    /// How long to wait before `n` bytes may be sent under the rate limit;
    /// zero means now (and the bytes are taken). A batch larger than one
    /// second's worth goes when the bucket is full and leaves it in debt.
    pub fn rate_wait(&mut self, n: u64) -> Duration {
        if self.rate == 0 {
            return Duration::ZERO;
        }
        let now = Instant::now();
        let cap = self.rate as f64;
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * cap).min(cap);
        self.last = now;
        let need = (n as f64).min(cap);
        if self.tokens >= need {
            self.tokens -= n as f64;
            Duration::ZERO
        } else {
            Duration::from_secs_f64((need - self.tokens) / cap)
        }
    }

    /// Whether `n` more bytes fit in this month's cap.
    pub fn cap_allows(&mut self, n: u64) -> bool {
        let m = now_month();
        if m != self.month {
            self.month = m;
            self.used = 0;
        }
        self.cap == 0 || self.used.saturating_add(n) <= self.cap
    }

    /// Counts bytes sent and persists the month's total.
    pub fn spent(&mut self, n: u64) {
        self.used = self.used.saturating_add(n);
        if let Err(e) = write_atomic(
            &self.state,
            format!("{} {}\n", self.month, self.used).as_bytes(),
        ) {
            log::warn!(
                "uplink: cannot persist monthly byte count to {}: {e}",
                self.state.display()
            );
        }
    }

    pub fn used(&self) -> u64 {
        self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_index_of_known_dates() {
        assert_eq!(month_index(0), 0);
        // 2026-11-24 and 2026-12-01T00:00:00Z
        assert_eq!(month_index(1_795_521_600), 56 * 12 + 10);
        assert_eq!(month_index(1_796_083_200), 56 * 12 + 11);
        assert_eq!(month_index(1_796_083_199), 56 * 12 + 10);
    }

    #[test]
    fn cap_persists_and_rate_limits() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("budget");
        let mut b = Budget::new(1000, 5000, p.clone());
        assert!(b.cap_allows(4000));
        b.spent(4000);
        let mut b = Budget::new(1000, 5000, p);
        assert_eq!(b.used(), 4000);
        assert!(!b.cap_allows(1001));
        assert!(b.cap_allows(1000));
        assert_eq!(b.rate_wait(800), Duration::ZERO);
        let w = b.rate_wait(800);
        assert!(
            w > Duration::from_millis(500) && w <= Duration::from_millis(800),
            "{w:?}"
        );
    }
}
