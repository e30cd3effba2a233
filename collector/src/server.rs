//! The QUIC ingest: accepts devices whose certificate chains to the device
//! CA and is not revoked, reads one batch per stream, checks it (see
//! [`crate::admit`]), stores it durably under the site the fleet list
//! assigns its device to, and only then acknowledges.

use crate::admit::{self, Admission, Policy};
use crate::fleet::FleetList;
use crate::store::Store;
use crate::tls::{self, PeerId, ServerTls};
use osect_wire::batch::{self, Reply};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

/// How often the CA, CRL and fleet list files are checked for changes.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

pub struct Server {
    pub listen: SocketAddr,
    pub tls: ServerTls,
    pub max_batch_bytes: usize,
    /// The fleet registry's list, re-read when it changes; `None` takes
    /// each batch's header site (the demo, setups without a registry).
    pub fleet_list: Option<PathBuf>,
    pub policy: Policy,
}

struct Shared {
    store: Mutex<Store>,
    revoked: RwLock<HashSet<Vec<u8>>>,
    fleet: RwLock<Option<Arc<FleetList>>>,
    policy: Policy,
    max_batch_bytes: usize,
    /// Batches being decoded and stored at once: each may hold a body of
    /// up to the policy's limit and its records in memory.
    checks: tokio::sync::Semaphore,
}

/// What tells that a file changed: modification time, length and inode (the
/// registry replaces the list by renaming a new file over it).
fn file_stamp(path: &Path) -> Option<(SystemTime, u64, u64)> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let ino = 0;
    Some((m.modified().ok()?, m.len(), ino))
}

impl Server {
    /// Serves until the process is stopped.
    pub async fn run(self, store: Store) -> Result<(), Box<dyn std::error::Error>> {
        let (cfg, revoked) = self.tls.build()?;
        let fleet = match &self.fleet_list {
            Some(p) => {
                let f = FleetList::load(p)?;
                log::info!("fleet list {}: {} devices", p.display(), f.len());
                Some(Arc::new(f))
            }
            None => {
                log::warn!("no fleet list: batches are stored under the site their header names");
                None
            }
        };
        let endpoint = quinn::Endpoint::server(cfg, self.listen)?;
        log::info!("listening on {}", endpoint.local_addr()?);
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            revoked: RwLock::new(revoked),
            fleet: RwLock::new(fleet),
            policy: self.policy,
            max_batch_bytes: self.max_batch_bytes,
            checks: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get().max(2)),
            ),
        });
        tokio::spawn(reload(endpoint.clone(), self.tls.clone(), shared.clone()));
        if let Some(p) = self.fleet_list {
            tokio::spawn(reload_fleet(p, shared.clone()));
        }
        while let Some(incoming) = endpoint.accept().await {
            let shared = shared.clone();
            tokio::spawn(async move {
                let remote = incoming.remote_address();
                match incoming.await {
                    Ok(conn) => serve_connection(conn, shared).await,
                    // A refused handshake: unknown CA, expired, revoked, no
                    // certificate. The reason is the TLS alert rustls raised.
                    Err(e) => log::warn!("refused connection from {remote}: {e}"),
                }
            });
        }
        Ok(())
    }
}

/// Rebuilds the TLS policy when the CA or the CRL file changes.
async fn reload(endpoint: quinn::Endpoint, tls: ServerTls, shared: Arc<Shared>) {
    let mut stamp = tls.stamp();
    loop {
        tokio::time::sleep(RELOAD_EVERY).await;
        let now = tls.stamp();
        if now == stamp {
            continue;
        }
        stamp = now;
        match tls.build() {
            Ok((cfg, revoked)) => {
                endpoint.set_server_config(Some(cfg));
                log::info!(
                    "reloaded client CA and revocation list ({} revoked)",
                    revoked.len()
                );
                if let Ok(mut r) = shared.revoked.write() {
                    *r = revoked;
                }
            }
            Err(e) => log::error!("keeping the previous TLS policy: {e}"),
        }
    }
}

/// Re-reads the fleet list when it changes; a list that does not parse
/// leaves the previous one in force.
async fn reload_fleet(path: PathBuf, shared: Arc<Shared>) {
    let mut stamp = file_stamp(&path);
    loop {
        tokio::time::sleep(RELOAD_EVERY).await;
        let now = file_stamp(&path);
        if now == stamp {
            continue;
        }
        stamp = now;
        match FleetList::load(&path) {
            Ok(f) => {
                log::info!(
                    "reloaded fleet list {} ({} devices)",
                    path.display(),
                    f.len()
                );
                if let Ok(mut w) = shared.fleet.write() {
                    *w = Some(Arc::new(f));
                }
            }
            Err(e) => log::error!("keeping the previous fleet list: {e}"),
        }
    }
}

async fn serve_connection(conn: quinn::Connection, shared: Arc<Shared>) {
    let remote = conn.remote_address();
    let peer = conn
        .peer_identity()
        .and_then(|i| {
            i.downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
                .ok()
        })
        .and_then(|certs| certs.first().and_then(tls::peer_id));
    let Some(peer) = peer else {
        log::warn!("refused {remote}: no readable client certificate subject CN");
        conn.close(1u32.into(), b"no device identity");
        return;
    };
    log::info!(
        "device {} connected from {remote} (key sha256 {})",
        peer.cn,
        batch::hex(&peer.key_sha256)
    );
    let mut addr = remote;
    loop {
        match conn.accept_bi().await {
            Ok((send, recv)) => {
                // QUIC migration: the modem reconnected with a new address.
                if conn.remote_address() != addr {
                    log::info!(
                        "device {}: address changed from {addr} to {}",
                        peer.cn,
                        conn.remote_address()
                    );
                    addr = conn.remote_address();
                }
                let shared = shared.clone();
                let peer = peer.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve_stream(send, recv, &peer, &shared).await {
                        log::warn!("device {}: stream failed: {e}", peer.cn);
                    }
                });
            }
            Err(e) => {
                log::info!(
                    "device {} from {}: connection ended: {e}",
                    peer.cn,
                    conn.remote_address()
                );
                return;
            }
        }
    }
}

async fn serve_stream(
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    peer: &PeerId,
    shared: &Arc<Shared>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let reply = match recv.read_to_end(shared.max_batch_bytes).await {
        Ok(data) => {
            let _permit = shared.checks.acquire().await?;
            let shared = shared.clone();
            let peer = peer.clone();
            tokio::task::spawn_blocking(move || check_and_store(&data, &peer, &shared)).await?
        }
        Err(quinn::ReadToEndError::TooLong) => {
            // Tell the device to stop sending the rest.
            let _ = recv.stop(0u32.into());
            Reply::Malformed(format!(
                "batch over the collector's limit of {} bytes",
                shared.max_batch_bytes
            ))
        }
        Err(e) => return Err(e.into()),
    };
    match &reply {
        Reply::Stored => {}
        Reply::Malformed(m) => log::warn!("device {}: malformed batch rejected: {m}", peer.cn),
        Reply::Refused(m) => log::warn!("device {}: batch refused: {m}", peer.cn),
        Reply::Retry(m) => log::error!("device {}: batch not stored: {m}", peer.cn),
        Reply::NeedFull(m) => log::info!("device {}: {m}", peer.cn),
    }
    send.write_all(&reply.encode()).await?;
    send.finish()?;
    // Wait until the reply is delivered (or the peer goes away).
    let _ = send.stopped().await;
    Ok(())
}

/// Verifies a batch against its sender and stores it. Blocking.
fn check_and_store(data: &[u8], peer: &PeerId, shared: &Shared) -> Reply {
    let fleet = shared.fleet.read().ok().and_then(|f| f.clone());
    // A delta's base, read under the lock, resolved after it.
    let base = match batch::read_frame_info(data).ok().and_then(|i| i.base) {
        Some(b) => match shared.store.lock() {
            Ok(store) => match store.base(&peer.cn, &peer.key_sha256, b.seq) {
                Ok(base) => base,
                Err(e) => return Reply::Retry(e.to_string()),
            },
            Err(_) => return Reply::Retry("store lock poisoned".into()),
        },
        None => None,
    };
    let a = Admission {
        device: &peer.cn,
        key_sha256: &peer.key_sha256,
        data,
        fleet: fleet.as_deref(),
        policy: &shared.policy,
        source: "uplink",
        base: base.as_ref(),
    };
    let revoked = shared
        .revoked
        .read()
        .is_ok_and(|r| r.contains(&peer.serial));
    // Decoded before the store is locked: other devices' batches go on.
    let checked = if revoked {
        let site = fleet
            .as_deref()
            .and_then(|f| f.get(&peer.cn))
            .map_or(String::new(), |a| a.site.clone());
        Err(admit::Refused {
            site,
            reason: "revoked".into(),
            reply: Reply::Refused(format!("certificate of {} is revoked", peer.cn)),
        })
    } else {
        admit::check(&a)
    };
    let Ok(mut store) = shared.store.lock() else {
        return Reply::Retry("store lock poisoned".into());
    };
    match checked {
        Ok(c) => admit::store(&mut store, &a, &c),
        Err(r) => admit::refuse(&store, &peer.cn, &r.site, &r.reason, r.reply),
    }
}
