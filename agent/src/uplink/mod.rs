//! The uplink: drains the spool to the collector over QUIC with mutual TLS.
//!
//! One bidirectional stream per batch, oldest first, a few in flight at a
//! time so a long round trip does not idle the link. A batch leaves the
//! spool only when the collector replies [`Reply::Stored`], which it sends
//! after its durable write. On any connection failure the uplink backs off
//! (exponential, full jitter) and connects afresh from a new local socket
//! connected to the collector's freshly resolved address, which also
//! survives the modem's address changing; batches that were in
//! flight are still in the spool and are sent again (the collector
//! deduplicates by sequence number).
//!
//! The spool holds every batch in full. The uplink sends each as a delta on
//! the newest batch the collector acknowledged (kept by the spool as its
//! base, across restarts) when that is smaller: rows the base holds go as
//! references and what changed. A collector without that base answers
//! [`Reply::NeedFull`] and the batch goes again in full. Deltas are
//! compressed with the newest dictionary this build knows (trained on
//! deltas too); a collector that answers such a delta "malformed" (older
//! than the agent, without that dictionary) gets deltas with the batches'
//! own dictionary, and one that refuses those too (it does not read deltas
//! at all) gets every batch in full from then on. While deltas are sent,
//! one batch is in flight at a time, so each goes on the one before (a
//! backlog sent eight at a time went on the same older base).
//!
//! The uplink runs on its own tokio runtime; capture and batching never
//! wait for it: they only push to the spool and ring [`Uplink::wake`].

pub mod budget;
pub mod tls;

use crate::config;
use crate::spool::{LoadError, Spool};
use budget::Budget;
use osect_wire::batch::{self, Base, Batch, Compressor, Dictionary, Reply, MAX_REPLY_BYTES};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

/// Batches sent at once on one connection.
const MAX_IN_FLIGHT: usize = 8;
/// How often a paused uplink (cap reached) looks again.
const CAP_RECHECK: Duration = Duration::from_secs(60);
/// How often a live link checks that the route to the collector still
/// leaves from the address its socket was connected from.
const SOURCE_RECHECK: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum UplinkError {
    /// TLS material could not be loaded.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The collector's address could not be resolved.
    #[error("cannot resolve collector {0}")]
    Resolve(String),
    /// Local socket trouble.
    #[error("local socket: {0}")]
    Io(#[from] std::io::Error),
    /// The QUIC connection could not be set up.
    #[error("connect: {0}")]
    Connect(#[from] quinn::ConnectError),
    /// The handshake or the connection failed.
    #[error("connection: {0}")]
    Connection(#[from] quinn::ConnectionError),
    /// A stream failed while sending.
    #[error("send: {0}")]
    Write(#[from] quinn::WriteError),
    /// The stream was closed before the reply.
    #[error("stream closed: {0}")]
    Closed(#[from] quinn::ClosedStream),
    /// The reply could not be read.
    #[error("reading reply: {0}")]
    Read(#[from] quinn::ReadToEndError),
    /// The reply was not a reply.
    #[error("bad reply: {0}")]
    Reply(#[from] osect_wire::batch::DecodeError),
    /// No reply in time.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
}

/// A live connection to the collector.
pub struct Link {
    /// Kept so the socket lives as long as the connection.
    endpoint: quinn::Endpoint,
    pub conn: quinn::Connection,
}

impl Link {
    /// Whether the route to the collector now leaves from another local
    /// address than the one the socket was connected from (the modem came
    /// back with a new address). A connected socket keeps its old source,
    /// so the link is rebuilt rather than left to its idle timeout.
    pub fn source_moved(&self) -> bool {
        self.endpoint
            .local_addr()
            .is_ok_and(|local| source_moved(local, self.conn.remote_address()))
    }
}

/// The wildcard address of `peer`'s family, any port.
fn wildcard_for(peer: SocketAddr) -> SocketAddr {
    if peer.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    }
}

/// Whether the kernel would now send to `peer` from another address than
/// `local`'s. Connecting a UDP socket only looks up the route and sends
/// nothing; no route at all is not a move (the link may come back as it was).
fn source_moved(local: SocketAddr, peer: SocketAddr) -> bool {
    let now = std::net::UdpSocket::bind(wildcard_for(peer))
        .and_then(|s| s.connect(peer).and_then(|()| s.local_addr()));
    now.is_ok_and(|now| now.ip() != local.ip())
}

/// A new UDP socket connected to `peer`. quinn-udp sends with sendmsg naming
/// the destination; Linux accepts an address on a connected UDP socket, and
/// here it is always the peer.
fn connected_socket(peer: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    let socket = std::net::UdpSocket::bind(wildcard_for(peer))?;
    socket.connect(peer)?;
    Ok(socket)
}

/// Connects to the collector from a fresh local socket, `connect()`ed to
/// the address just resolved: the kernel then hands it only the collector's
/// datagrams and lists it as a connection, not as a socket open to anyone
/// (nothing shows in `ss -lu`). A socket is never reused, so a reconnect
/// resolves the collector again and takes the sensor's current address.
pub async fn connect(
    cfg: &config::Uplink,
    client: &quinn::ClientConfig,
) -> Result<Link, UplinkError> {
    let addr: SocketAddr = tokio::net::lookup_host(&cfg.endpoint)
        .await
        .map_err(|e| UplinkError::Resolve(format!("{}: {e}", cfg.endpoint)))?
        .next()
        .ok_or_else(|| UplinkError::Resolve(cfg.endpoint.clone()))?;
    let mut endpoint = quinn::Endpoint::new(
        quinn::EndpointConfig::default(),
        None,
        connected_socket(addr)?,
        Arc::new(quinn::TokioRuntime),
    )?;
    endpoint.set_default_client_config(client.clone());
    let conn = endpoint.connect(addr, &cfg.server_name)?.await?;
    Ok(Link { endpoint, conn })
}

/// Sends one batch on its own stream and waits for the collector's reply.
/// The reply is read while the batch is still being written, so a batch
/// the collector refuses early (too large) gets its answer at once.
pub async fn send_batch(
    conn: &quinn::Connection,
    bytes: &[u8],
    timeout: Duration,
) -> Result<Reply, UplinkError> {
    let exchange = async {
        let (mut send, mut recv) = conn.open_bi().await?;
        let write = async {
            send.write_all(bytes).await?;
            send.finish()?;
            Ok::<(), UplinkError>(())
        };
        let read = async {
            let reply = recv.read_to_end(MAX_REPLY_BYTES + 16).await?;
            Ok::<Reply, UplinkError>(Reply::decode(&reply)?)
        };
        tokio::pin!(write, read);
        tokio::select! {
            w = &mut write => match w {
                Ok(()) => read.await,
                // The collector stopped reading: its reply says why.
                Err(e) => read.await.map_err(|_| e),
            },
            r = &mut read => r,
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| UplinkError::Timeout(timeout))?
}

/// Exponential backoff with full jitter.
struct Backoff {
    min_ms: u64,
    max_ms: u64,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    fn new(cfg: &config::Uplink) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id()).rotate_left(32);
        Backoff {
            min_ms: cfg.backoff_min_ms.max(1),
            max_ms: cfg.backoff_max_ms.max(cfg.backoff_min_ms.max(1)),
            attempt: 0,
            rng: seed | 1,
        }
    }

    fn next(&mut self) -> Duration {
        let ceil = self
            .min_ms
            .saturating_mul(1u64 << self.attempt.min(20))
            .min(self.max_ms);
        self.attempt = self.attempt.saturating_add(1);
        // xorshift64: jitter only, no cryptographic use.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        Duration::from_millis(
            self.min_ms + self.rng % ceil.saturating_sub(self.min_ms).saturating_add(1),
        )
    }

    fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// Counters the uplink keeps for status and tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct UplinkStats {
    pub acked: u64,
    /// Bytes of the acknowledged batches as sent (deltas or in full).
    pub acked_bytes: u64,
    /// Batches acknowledged that went as deltas.
    pub acked_deltas: u64,
    /// Deltas the collector could not resolve, sent again in full.
    pub resent_full: u64,
    pub connects: u64,
    pub failures: u64,
}

pub struct Uplink {
    cfg: config::Uplink,
    spool: Arc<Mutex<Spool>>,
    wake: Arc<Notify>,
    budget: Budget,
    pub stats: Arc<Mutex<UplinkStats>>,
    /// The zstd context of the batches the uplink encodes in full (the
    /// batches' level and dictionary), made on first use.
    compressor: Option<Compressor>,
    /// The zstd context of the deltas (the batches' level, the dictionary
    /// of [`Uplink::delta_dicts`]), made when the first delta is written.
    delta_compressor: Option<Compressor>,
    level: i32,
    /// The batches' dictionary.
    dict: Option<&'static Dictionary>,
    /// The newest batch the collector acknowledged: deltas are written on it.
    base: Option<Arc<Base>>,
    /// The dictionaries deltas may be compressed with, the one in use last;
    /// empty: deltas are not sent (configured so, or the collector reads
    /// none).
    delta_dicts: Vec<Option<&'static Dictionary>>,
}

/// The dictionaries deltas try, the first last: the newest this build
/// knows, then the batches' own (`batch_dict`), which every collector that
/// takes the batches in full knows.
fn delta_dictionaries(batch_dict: Option<&'static Dictionary>) -> Vec<Option<&'static Dictionary>> {
    let newest = batch::DICTIONARIES.last();
    let mut v = vec![batch_dict];
    if newest.map(|d| d.id) != batch_dict.map(|d| d.id) {
        v.push(newest);
    }
    v
}

/// Steps deltas down after a collector answered one "malformed": to the
/// next dictionary, or to none (every batch in full). Returns what deltas
/// use now.
fn step_down(delta_dicts: &mut Vec<Option<&'static Dictionary>>) -> Option<Option<u32>> {
    delta_dicts.pop();
    delta_dicts.last().map(|d| d.map(|d| d.id))
}

/// One batch's exchange, as its task ends.
struct Sent {
    seq: u64,
    /// Bytes sent.
    bytes: usize,
    /// The base, when it went as a delta.
    on: Option<u64>,
    /// The batch in full, to become the base once acknowledged.
    base: Base,
    reply: Result<Reply, UplinkError>,
}

enum Outcome {
    /// The connection failed or the collector asked to wait: back off.
    Backoff,
    /// Asked to stop.
    Stop,
}

impl Uplink {
    pub fn new(cfg: &config::Config, spool: Arc<Mutex<Spool>>) -> Uplink {
        let base = spool.lock().ok().and_then(|s| s.base()).map(Arc::new);
        Uplink {
            compressor: None,
            delta_compressor: None,
            level: cfg.batch.zstd_level,
            dict: batch::dictionary(cfg.batch.dictionary),
            base,
            delta_dicts: if cfg.uplink.delta {
                delta_dictionaries(batch::dictionary(cfg.batch.dictionary))
            } else {
                Vec::new()
            },
            cfg: cfg.uplink.clone(),
            spool,
            wake: Arc::new(Notify::new()),
            budget: Budget::new(
                cfg.uplink.rate_limit_bytes_per_sec,
                cfg.uplink.monthly_cap_bytes,
                cfg.device.data_dir.join("uplink-budget"),
            ),
            stats: Arc::new(Mutex::new(UplinkStats::default())),
        }
    }

    /// Rung by the batcher after each spool push.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Runs until `stop` turns true (then returns at once; whatever is
    /// unacknowledged stays in the spool).
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) -> Result<(), UplinkError> {
        let client = tls::client_config(&self.cfg)?;
        let mut backoff = Backoff::new(&self.cfg);
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            if self.pending_count() == 0 {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = stop.changed() => return Ok(()),
                    // The spool may fill from another path (restart); look again.
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
                continue;
            }
            let link = tokio::select! {
                r = connect(&self.cfg, &client) => r,
                _ = stop.changed() => return Ok(()),
            };
            match link {
                Ok(link) => {
                    self.bump(|s| s.connects += 1);
                    log::info!(
                        "uplink: connected to {} from {:?}",
                        self.cfg.endpoint,
                        link.endpoint.local_addr().ok()
                    );
                    match self.drain(&link, &mut stop, &mut backoff).await {
                        Outcome::Stop => {
                            link.conn.close(0u32.into(), b"agent stopping");
                            return Ok(());
                        }
                        Outcome::Backoff => link.conn.close(0u32.into(), b"reconnecting"),
                    }
                }
                Err(e) => {
                    self.bump(|s| s.failures += 1);
                    log::warn!("uplink: {e}");
                }
            }
            let wait = backoff.next();
            log::info!("uplink: retrying in {wait:?}");
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return Ok(()),
            }
        }
    }

    fn bump(&self, f: impl FnOnce(&mut UplinkStats)) {
        if let Ok(mut s) = self.stats.lock() {
            f(&mut s);
        }
    }

    fn pending_count(&self) -> usize {
        self.spool.lock().map_or(0, |s| s.len())
    }

    /// The oldest batch not in flight, loaded and verified. Batches that
    /// fail verification are quarantined by the spool and skipped.
    fn next_batch(&self, in_flight: &HashSet<u64>) -> Option<(u64, Vec<u8>, Batch)> {
        let mut spool = self.spool.lock().ok()?;
        loop {
            let seq = spool.pending().find(|s| !in_flight.contains(s))?;
            match spool.load_decoded(seq) {
                Ok((bytes, b)) => return Some((seq, bytes, b)),
                Err(LoadError::Io { seq, source }) => {
                    log::error!("uplink: cannot read spool batch {seq}: {source}");
                    return None;
                }
                Err(e) => log::warn!("uplink: {e}"),
            }
        }
    }

    /// The zstd context of the batches the uplink encodes, made on first
    /// use.
    fn compressor(&mut self) -> Result<&mut Compressor, batch::EncodeError> {
        match &mut self.compressor {
            Some(z) => Ok(z),
            empty => Compressor::new(self.level, self.dict).map(|z| empty.insert(z)),
        }
    }

    /// A spooled batch in full as it is sent, and the digest that names it:
    /// a batch in parts (format version 3) goes with its parts joined, as
    /// the collector stores it, so any collector reads it and a delta on it
    /// names the digest the collector has.
    fn full_form(&mut self, full: Vec<u8>, b: &Batch) -> Result<(Vec<u8>, [u8; 32]), String> {
        let info = batch::read_frame_info(&full).map_err(|e| e.to_string())?;
        if !info.parts {
            return Ok((full, info.digest));
        }
        let joined = self
            .compressor()
            .and_then(|z| z.encode(b))
            .map_err(|e| e.to_string())?;
        let digest = batch::read_frame_info(&joined)
            .map_err(|e| e.to_string())?
            .digest;
        Ok((joined, digest))
    }

    /// What goes on the wire for a batch: a delta on the base when that is
    /// smaller than `full`, else `full`; and the base used.
    fn wire_form(&mut self, full: Vec<u8>, b: &Batch) -> (Vec<u8>, Option<u64>) {
        let (Some(base), Some(dict)) = (self.base.clone(), self.delta_dicts.last().copied()) else {
            return (full, None);
        };
        if base.batch.header.seq == b.header.seq {
            return (full, None);
        }
        let z = match &mut self.delta_compressor {
            Some(z) => Ok(z),
            empty => Compressor::new(self.level, dict).map(|z| empty.insert(z)),
        };
        match z.and_then(|z| z.encode_delta(b, &base)) {
            Ok(d) if d.len() < full.len() => (d, Some(base.batch.header.seq)),
            Ok(_) => (full, None),
            Err(e) => {
                log::warn!("uplink: batch {} not encoded as a delta: {e}", b.header.seq);
                (full, None)
            }
        }
    }

    /// The collector has batch `seq` (sent as `bytes`, a delta on `on`):
    /// it leaves the spool, and becomes the base when it is the newest
    /// acknowledged.
    fn acknowledged(&mut self, seq: u64, bytes: usize, on: Option<u64>, base: Base) {
        let newest = self.base.as_ref().is_none_or(|b| b.batch.header.seq < seq);
        if newest {
            self.base = Some(Arc::new(base));
        }
        if let Ok(mut spool) = self.spool.lock() {
            let waited = spool
                .queued_at(seq)
                .and_then(|t| t.elapsed().ok())
                .unwrap_or_default();
            log::info!(
                "uplink: batch {seq} acknowledged {} ms after it was spooled ({} bytes{})",
                waited.as_millis(),
                bytes,
                on.map_or(String::new(), |b| format!(", a delta on batch {b}"))
            );
            let r = if newest {
                spool.retire(seq)
            } else {
                spool.remove(seq)
            };
            if let Err(e) = r {
                log::error!("uplink: cannot remove acknowledged batch {seq}: {e}");
            }
        }
    }

    fn timeout_for(&self, n: usize) -> Duration {
        // Generous: a slow link at the configured rate, plus round trips.
        let rate = self.cfg.rate_limit_bytes_per_sec.max(16 * 1024);
        Duration::from_secs(30 + n as u64 / rate)
    }

    async fn drain(
        &mut self,
        link: &Link,
        stop: &mut watch::Receiver<bool>,
        backoff: &mut Backoff,
    ) -> Outcome {
        let conn = &link.conn;
        let mut source_check = tokio::time::interval(SOURCE_RECHECK);
        source_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut in_flight: HashSet<u64> = HashSet::new();
        let mut tasks: JoinSet<Sent> = JoinSet::new();
        let mut capped = false;
        loop {
            // Dispatch oldest first while there is room and budget.
            let mut delay = None;
            while in_flight.len() < MAX_IN_FLIGHT {
                // Each delta goes on the batch before (without a base, the
                // first acknowledgement makes one).
                if !self.delta_dicts.is_empty() && !in_flight.is_empty() {
                    break;
                }
                let Some((seq, full, b)) = self.next_batch(&in_flight) else {
                    break;
                };
                let (full, digest) = match self.full_form(full, &b) {
                    Ok(f) => f,
                    Err(e) => {
                        log::error!("uplink: spool batch {seq}: {e}");
                        break;
                    }
                };
                let (bytes, on) = self.wire_form(full, &b);
                let base = Base { batch: b, digest };
                let n = bytes.len() as u64;
                if !self.budget.cap_allows(n) {
                    if !capped {
                        log::warn!(
                            "uplink: monthly cap of {} bytes reached ({} used): holding batches in the spool",
                            self.cfg.monthly_cap_bytes,
                            self.budget.used()
                        );
                    }
                    capped = true;
                    delay = Some(CAP_RECHECK);
                    break;
                }
                capped = false;
                let wait = self.budget.rate_wait(n);
                if !wait.is_zero() {
                    delay = Some(wait);
                    break;
                }
                in_flight.insert(seq);
                let conn = conn.clone();
                let timeout = self.timeout_for(bytes.len());
                tasks.spawn(async move {
                    let reply = send_batch(&conn, &bytes, timeout).await;
                    Sent {
                        seq,
                        bytes: bytes.len(),
                        on,
                        base,
                        reply,
                    }
                });
            }
            let sleep = tokio::time::sleep(delay.unwrap_or(Duration::from_secs(3600)));
            tokio::select! {
                Some(joined) = tasks.join_next() => {
                    let Ok(Sent { seq, bytes: n, on, base, reply }) = joined else { continue };
                    in_flight.remove(&seq);
                    match reply {
                        Ok(Reply::Stored) => {
                            backoff.reset();
                            self.budget.spent(n as u64);
                            self.bump(|s| {
                                s.acked += 1;
                                s.acked_bytes += n as u64;
                                s.acked_deltas += u64::from(on.is_some());
                            });
                            self.acknowledged(seq, n, on, base);
                        }
                        Ok(Reply::NeedFull(m)) => {
                            // The collector lacks the base: the batch (and the
                            // next ones) go in full until a new base is acknowledged.
                            log::warn!("uplink: {m}");
                            self.budget.spent(n as u64);
                            self.bump(|s| s.resent_full += 1);
                            if self.base.as_ref().map(|b| b.batch.header.seq) == on {
                                self.base = None;
                            }
                        }
                        Ok(Reply::Malformed(m)) if on.is_some() => {
                            self.budget.spent(n as u64);
                            self.delta_compressor = None;
                            match step_down(&mut self.delta_dicts) {
                                Some(d) => log::warn!(
                                    "uplink: collector does not take batch {seq} as a delta ({m}): deltas with dictionary {} from now on",
                                    d.unwrap_or(0)
                                ),
                                None => log::warn!(
                                    "uplink: collector does not take batch {seq} as a delta ({m}): sending every batch in full"
                                ),
                            }
                        }
                        Ok(Reply::Malformed(m)) => {
                            log::error!("uplink: collector rejected batch {seq} as malformed: {m}");
                            if let Ok(mut spool) = self.spool.lock() {
                                if let Err(e) = spool.reject(seq, &m) {
                                    log::error!("uplink: cannot quarantine batch {seq}: {e}");
                                }
                            }
                        }
                        Ok(Reply::Refused(m)) => {
                            log::error!("uplink: collector refused batch {seq}: {m}; it stays in the spool");
                            return Outcome::Backoff;
                        }
                        Ok(Reply::Retry(m)) => {
                            log::warn!("uplink: collector could not store batch {seq}: {m}");
                            return Outcome::Backoff;
                        }
                        Err(e) => {
                            self.bump(|s| s.failures += 1);
                            log::warn!("uplink: batch {seq}: {e}");
                            return Outcome::Backoff;
                        }
                    }
                }
                _ = self.wake.notified() => {}
                _ = sleep, if delay.is_some() => {}
                _ = source_check.tick() => {
                    if link.source_moved() {
                        log::warn!(
                            "uplink: the route to {} no longer leaves from {:?}: reconnecting",
                            self.cfg.endpoint,
                            link.endpoint.local_addr().ok()
                        );
                        return Outcome::Backoff;
                    }
                }
                e = conn.closed() => {
                    self.bump(|s| s.failures += 1);
                    log::warn!("uplink: connection lost: {e}");
                    return Outcome::Backoff;
                }
                _ = stop.changed() => return Outcome::Stop,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uplink_socket_takes_datagrams_from_its_peer_only() {
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let stranger = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let s = connected_socket(peer.local_addr().unwrap()).unwrap();
        assert_eq!(s.peer_addr().unwrap(), peer.local_addr().unwrap());
        let local = s.local_addr().unwrap();
        assert_eq!(local.ip(), std::net::Ipv4Addr::LOCALHOST);
        stranger.send_to(b"stranger", local).unwrap();
        peer.send_to(b"peer", local).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = s.recv_from(&mut buf).unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&b"peer"[..], peer.local_addr().unwrap())
        );
        // quinn-udp names the destination in each sendmsg: accepted.
        s.send_to(b"reply", peer.local_addr().unwrap()).unwrap();
        peer.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let (n, from) = peer.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"reply"[..], local));
    }

    #[test]
    fn source_moves_when_the_route_leaves_from_another_address() {
        let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
        // The route to 127.0.0.1 leaves from 127.0.0.1.
        assert!(!source_moved("127.0.0.1:40000".parse().unwrap(), peer));
        // A socket connected from 127.0.0.2 (an address gone stale) has moved.
        assert!(source_moved("127.0.0.2:40000".parse().unwrap(), peer));
    }

    #[test]
    fn deltas_step_down_from_the_newest_dictionary_to_the_batches_own_then_to_none() {
        let id = |d: Option<&Option<&Dictionary>>| d.map(|d| d.map(|d| d.id));
        let newest = batch::DICTIONARIES.last().map(|d| d.id);
        assert!(newest > Some(1), "a dictionary newer than the batches' own");
        let mut d = delta_dictionaries(batch::dictionary(1));
        assert_eq!(id(d.last()), Some(newest));
        assert_eq!(step_down(&mut d), Some(Some(1)));
        assert_eq!(step_down(&mut d), None);
        assert!(d.is_empty());
        // Batches without a dictionary: deltas with the newest, then none.
        let mut d = delta_dictionaries(None);
        assert_eq!(id(d.last()), Some(newest));
        assert_eq!(step_down(&mut d), Some(None));
        // Batches with the newest already: one step to every batch in full.
        let mut d = delta_dictionaries(batch::DICTIONARIES.last());
        assert_eq!(step_down(&mut d), None);
    }

    #[test]
    fn backoff_grows_and_stays_within_bounds() {
        let cfg = config::Uplink {
            backoff_min_ms: 100,
            backoff_max_ms: 1000,
            ..config::Uplink::default()
        };
        let mut b = Backoff::new(&cfg);
        let waits: Vec<Duration> = (0..50).map(|_| b.next()).collect();
        assert!(waits
            .iter()
            .all(|w| *w >= Duration::from_millis(100) && *w <= Duration::from_millis(1000)));
        // Jitter: late waits are not all equal.
        let late: HashSet<_> = waits[10..].iter().collect();
        assert!(late.len() > 5);
        b.reset();
        assert!(b.next() <= Duration::from_millis(100));
    }
}
