//! An LTE-like link between the agent and the collector, as a UDP relay
//! (QUIC is UDP, so the relay sees every datagram). The CI kernel has no
//! `netem`, so the impairments are made here:
//!
//! - one-way delay drawn per datagram from `[delay_min, delay_max]`, which
//!   also reorders datagrams, plus an extra reordering delay for a fraction;
//! - burst loss (Gilbert–Elliott: a good state without loss and a bad state
//!   that loses everything; `loss` is the long-run fraction, `burst` the
//!   mean burst length in datagrams);
//! - a rate limit per direction (serialisation at `rate_bps`, with a
//!   bounded queue like a modem's buffer: tail drop past it);
//! - outages (everything dropped), scheduled or commanded;
//! - "rebind": the relay's upstream socket is replaced by a new one (new
//!   port, and the next source address from `source_ips`), which is what
//!   the collector sees when the modem reconnects with a new address.
//!
//! Commands on the control channel: `down`, `up`, `rebind`.

use crate::Rng;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

#[derive(Clone, Debug)]
pub struct Impairments {
    pub delay_min: Duration,
    pub delay_max: Duration,
    /// Long-run fraction of datagrams lost, in bursts.
    pub loss: f64,
    /// Mean burst length in datagrams.
    pub burst: f64,
    /// Fraction of datagrams held back an extra `delay_max`.
    pub reorder: f64,
    /// Bits per second per direction; 0 for no limit.
    pub rate_bps: u64,
    /// Bytes queued per direction before tail drop.
    pub queue_bytes: usize,
    pub seed: u64,
}

impl Default for Impairments {
    fn default() -> Self {
        Impairments {
            delay_min: Duration::ZERO,
            delay_max: Duration::ZERO,
            loss: 0.0,
            burst: 1.0,
            reorder: 0.0,
            rate_bps: 0,
            queue_bytes: 256 * 1024,
            seed: 1,
        }
    }
}

impl Impairments {
    /// The LTE link: 100–800 ms (RTT: 50–400 ms each way), 5 %
    /// loss in bursts of 3, 2 % reordering, 1 Mbit/s.
    pub fn lte(seed: u64) -> Impairments {
        Impairments {
            delay_min: Duration::from_millis(50),
            delay_max: Duration::from_millis(400),
            loss: 0.05,
            burst: 3.0,
            reorder: 0.02,
            rate_bps: 1_000_000,
            queue_bytes: 256 * 1024,
            seed,
        }
    }
}

/// What the relay did, per direction (0: agent→collector, 1: back).
#[derive(Debug, Default)]
pub struct Counters {
    pub forwarded: [AtomicU64; 2],
    pub bytes: [AtomicU64; 2],
    pub lost: [AtomicU64; 2],
    pub outage_dropped: [AtomicU64; 2],
    pub queue_dropped: [AtomicU64; 2],
    pub reordered: [AtomicU64; 2],
    pub rebinds: AtomicU64,
}

impl Counters {
    pub fn line(&self) -> String {
        let g = |a: &[AtomicU64; 2]| (a[0].load(Ordering::Relaxed), a[1].load(Ordering::Relaxed));
        format!(
            "forwarded {:?} bytes {:?} lost(burst) {:?} outage-dropped {:?} queue-dropped {:?} reordered {:?} rebinds {}",
            g(&self.forwarded),
            g(&self.bytes),
            g(&self.lost),
            g(&self.outage_dropped),
            g(&self.queue_dropped),
            g(&self.reordered),
            self.rebinds.load(Ordering::Relaxed)
        )
    }
}

#[derive(Debug)]
pub enum Command {
    Down,
    Up,
    Rebind,
}

/// One direction's impairment state.
struct Lane {
    imp: Impairments,
    rng: Rng,
    bad: bool,
    /// When the link is free to serialise the next datagram.
    free_at: Instant,
    dir: usize,
}

impl Lane {
    /// When to deliver a datagram of `len` bytes, or `None` to drop it.
    fn schedule(&mut self, len: usize, counters: &Counters) -> Option<Instant> {
        // Gilbert–Elliott: leave the bad state after `burst` datagrams on
        // average; enter it so that the long-run loss is `loss`.
        let p_exit = 1.0 / self.imp.burst.max(1.0);
        let p_enter = if self.imp.loss >= 1.0 {
            1.0
        } else {
            self.imp.loss * p_exit / (1.0 - self.imp.loss)
        };
        self.bad = if self.bad {
            self.rng.unit() >= p_exit
        } else {
            self.rng.unit() < p_enter
        };
        if self.bad {
            counters.lost[self.dir].fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let now = Instant::now();
        let mut send_at = now;
        if self.imp.rate_bps > 0 {
            let start = self.free_at.max(now);
            let queued =
                start.saturating_duration_since(now).as_secs_f64() * self.imp.rate_bps as f64 / 8.0;
            if queued + len as f64 > self.imp.queue_bytes as f64 {
                counters.queue_dropped[self.dir].fetch_add(1, Ordering::Relaxed);
                return None;
            }
            self.free_at =
                start + Duration::from_secs_f64(len as f64 * 8.0 / self.imp.rate_bps as f64);
            send_at = self.free_at;
        }
        let lo = self.imp.delay_min.as_micros() as u64;
        let hi = self.imp.delay_max.as_micros() as u64;
        let mut delay = Duration::from_micros(self.rng.range(lo, hi.max(lo)));
        if self.rng.unit() < self.imp.reorder {
            delay += self.imp.delay_max.max(Duration::from_millis(20));
            counters.reordered[self.dir].fetch_add(1, Ordering::Relaxed);
        }
        Some(send_at + delay)
    }
}

pub struct Relay {
    pub listen: SocketAddr,
    pub upstream: SocketAddr,
    pub imp: Impairments,
    /// Source addresses the upstream side cycles through on rebind.
    pub source_ips: Vec<IpAddr>,
    pub counters: Arc<Counters>,
}

/// The upstream socket, swapped on rebind.
struct Upstream {
    sock: Arc<UdpSocket>,
    ip_index: usize,
}

impl Relay {
    /// Binds the listening socket; returns its address and the running future.
    pub async fn run(self, mut control: mpsc::Receiver<Command>) -> std::io::Result<()> {
        let down_sock = Arc::new(UdpSocket::bind(self.listen).await?);
        let source_ips = if self.source_ips.is_empty() {
            vec![self.listen.ip()]
        } else {
            self.source_ips.clone()
        };
        let up = Arc::new(Mutex::new(Upstream {
            sock: Arc::new(UdpSocket::bind((source_ips[0], 0)).await?),
            ip_index: 0,
        }));
        let down = Arc::new(AtomicBool::new(false));
        // The agent's address: the last one heard from (one agent per relay).
        let client: Arc<Mutex<Option<SocketAddr>>> = Arc::new(Mutex::new(None));
        let lanes = [0usize, 1].map(|dir| {
            Arc::new(tokio::sync::Mutex::new(Lane {
                imp: self.imp.clone(),
                rng: Rng::new(self.imp.seed.wrapping_add(dir as u64 * 7919)),
                bad: false,
                free_at: Instant::now(),
                dir,
            }))
        });
        let (up_tx, mut up_rx) = mpsc::channel::<Arc<UdpSocket>>(4);
        let first = up.lock().map_err(poisoned)?.sock.clone();
        let _ = up_tx.send(first).await;

        // Agent → collector.
        {
            let (down_sock, up, down, client, lane, counters) = (
                down_sock.clone(),
                up.clone(),
                down.clone(),
                client.clone(),
                lanes[0].clone(),
                self.counters.clone(),
            );
            let upstream = self.upstream;
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65_536];
                while let Ok((n, from)) = down_sock.recv_from(&mut buf).await {
                    if let Ok(mut c) = client.lock() {
                        *c = Some(from);
                    }
                    let up = up.clone();
                    forward(
                        &buf[..n],
                        &lane,
                        &down,
                        &counters,
                        0,
                        move |data| async move {
                            let sock = up.lock().ok().map(|u| u.sock.clone());
                            if let Some(s) = sock {
                                let _ = s.send_to(&data, upstream).await;
                            }
                        },
                    )
                    .await;
                }
            });
        }
        // Collector → agent: one reader per upstream socket (old sockets
        // keep reading so late datagrams to the old port still arrive,
        // as a NAT would drop them: they are dropped).
        {
            let (down_sock, up, down, client, lane, counters) = (
                down_sock.clone(),
                up.clone(),
                down.clone(),
                client.clone(),
                lanes[1].clone(),
                self.counters.clone(),
            );
            tokio::spawn(async move {
                while let Some(sock) = up_rx.recv().await {
                    let (down_sock, up, down, client, lane, counters) = (
                        down_sock.clone(),
                        up.clone(),
                        down.clone(),
                        client.clone(),
                        lane.clone(),
                        counters.clone(),
                    );
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 65_536];
                        while let Ok((n, _)) = sock.recv_from(&mut buf).await {
                            let current =
                                up.lock().ok().is_some_and(|u| Arc::ptr_eq(&u.sock, &sock));
                            if !current {
                                return;
                            }
                            let Some(to) = client.lock().ok().and_then(|c| *c) else {
                                continue;
                            };
                            let ds = down_sock.clone();
                            forward(
                                &buf[..n],
                                &lane,
                                &down,
                                &counters,
                                1,
                                move |data| async move {
                                    let _ = ds.send_to(&data, to).await;
                                },
                            )
                            .await;
                        }
                    });
                }
            });
        }
        while let Some(cmd) = control.recv().await {
            match cmd {
                Command::Down => {
                    log::info!("relay: link down");
                    down.store(true, Ordering::SeqCst)
                }
                Command::Up => {
                    log::info!("relay: link up");
                    down.store(false, Ordering::SeqCst)
                }
                Command::Rebind => {
                    let next = { up.lock().map_err(poisoned)?.ip_index + 1 };
                    let ip = source_ips[next % source_ips.len()];
                    let sock = Arc::new(UdpSocket::bind((ip, 0)).await?);
                    log::info!("relay: upstream rebound to {}", sock.local_addr()?);
                    {
                        let mut u = up.lock().map_err(poisoned)?;
                        u.sock = sock.clone();
                        u.ip_index = next;
                    }
                    self.counters.rebinds.fetch_add(1, Ordering::Relaxed);
                    let _ = up_tx.send(sock).await;
                }
            }
        }
        Ok(())
    }
}

fn poisoned<T>(_: T) -> std::io::Error {
    std::io::Error::other("relay state poisoned")
}

async fn forward<F, Fut>(
    data: &[u8],
    lane: &tokio::sync::Mutex<Lane>,
    down: &AtomicBool,
    counters: &Arc<Counters>,
    dir: usize,
    send: F,
) where
    F: FnOnce(Vec<u8>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    if down.load(Ordering::SeqCst) {
        counters.outage_dropped[dir].fetch_add(1, Ordering::Relaxed);
        return;
    }
    let at = lane.lock().await.schedule(data.len(), counters);
    let Some(at) = at else { return };
    counters.forwarded[dir].fetch_add(1, Ordering::Relaxed);
    counters.bytes[dir].fetch_add(data.len() as u64, Ordering::Relaxed);
    let data = data.to_vec();
    tokio::spawn(async move {
        tokio::time::sleep_until(at).await;
        send(data).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_loss_matches_the_long_run_rate_and_comes_in_bursts() {
        let counters = Counters::default();
        let mut lane = Lane {
            imp: Impairments {
                loss: 0.1,
                burst: 4.0,
                ..Impairments::default()
            },
            rng: Rng::new(7),
            bad: false,
            free_at: Instant::now(),
            dir: 0,
        };
        let n = 200_000;
        let mut lost = 0;
        let mut runs = 0;
        let mut prev = false;
        for _ in 0..n {
            let l = lane.schedule(100, &counters).is_none();
            lost += usize::from(l);
            runs += usize::from(l && !prev);
            prev = l;
        }
        let rate = lost as f64 / n as f64;
        assert!((0.09..0.11).contains(&rate), "loss {rate}");
        let mean_burst = lost as f64 / runs as f64;
        assert!((3.5..4.5).contains(&mean_burst), "burst {mean_burst}");
    }

    #[tokio::test]
    async fn rate_limit_spaces_datagrams() {
        let counters = Counters::default();
        let mut lane = Lane {
            imp: Impairments {
                rate_bps: 1_000_000,
                ..Impairments::default()
            },
            rng: Rng::new(1),
            bad: false,
            free_at: Instant::now(),
            dir: 0,
        };
        let t0 = Instant::now();
        let mut last = t0;
        for _ in 0..100 {
            last = lane.schedule(1250, &counters).unwrap();
        }
        // 100 × 1250 bytes at 1 Mbit/s = 1 s.
        let d = last.duration_since(t0).as_secs_f64();
        assert!((0.99..1.05).contains(&d), "{d}");
        // The queue is bounded: a burst past 256 KiB is tail-dropped.
        let dropped = (0..300)
            .filter(|_| lane.schedule(1250, &counters).is_none())
            .count();
        assert!(dropped > 0);
    }
}
