//! The QUIC ingest: accepts devices whose certificate chains to the device
//! CA and is not revoked, reads one batch per stream, checks it, stores it
//! durably, and only then acknowledges.

use crate::store::{self, Inserted, Store, StoreError};
use crate::tls::{self, PeerId, ServerTls};
use osect_wire::batch::{self, Reply};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// How often the CA and CRL files are checked for changes.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

pub struct Server {
    pub listen: SocketAddr,
    pub tls: ServerTls,
    pub max_batch_bytes: usize,
}

struct Shared {
    store: Mutex<Store>,
    revoked: RwLock<HashSet<Vec<u8>>>,
    max_batch_bytes: usize,
}

impl Server {
    /// Serves until the process is stopped.
    pub async fn run(self, store: Store) -> Result<(), Box<dyn std::error::Error>> {
        let (cfg, revoked) = self.tls.build()?;
        let endpoint = quinn::Endpoint::server(cfg, self.listen)?;
        log::info!("listening on {}", endpoint.local_addr()?);
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            revoked: RwLock::new(revoked),
            max_batch_bytes: self.max_batch_bytes,
        });
        tokio::spawn(reload(endpoint.clone(), self.tls.clone(), shared.clone()));
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
    }
    send.write_all(&reply.encode()).await?;
    send.finish()?;
    // Wait until the reply is delivered (or the peer goes away).
    let _ = send.stopped().await;
    Ok(())
}

/// Verifies a batch against its sender and stores it. Blocking.
fn check_and_store(data: &[u8], peer: &PeerId, shared: &Shared) -> Reply {
    if shared
        .revoked
        .read()
        .is_ok_and(|r| r.contains(&peer.serial))
    {
        return Reply::Refused(format!("certificate of {} is revoked", peer.cn));
    }
    let info = match batch::read_frame_info(data) {
        Ok(i) => i,
        Err(e) => return Reply::Malformed(e.to_string()),
    };
    if info.header.device_id != peer.cn {
        return Reply::Refused(format!(
            "batch {} claims device {:?} but the certificate is {:?}",
            info.header.seq, info.header.device_id, peer.cn
        ));
    }
    if let Err(e) = batch::decode(data) {
        return Reply::Malformed(format!("batch {}: {e}", info.header.seq));
    }
    let Ok(mut store) = shared.store.lock() else {
        return Reply::Retry("store lock poisoned".into());
    };
    match store.insert(&info, &peer.key_sha256, data, store::now_us(), "uplink") {
        Ok(Inserted::New) => {
            log::info!(
                "device {} batch {} stored ({} records, {} bytes, digest {})",
                peer.cn,
                info.header.seq,
                info.header.record_count,
                data.len(),
                batch::hex(&info.digest)
            );
            Reply::Stored
        }
        Ok(Inserted::SelftestReplaced) => {
            log::info!(
                "device {} self-test batch stored in place of the previous one",
                peer.cn
            );
            Reply::Stored
        }
        Ok(Inserted::Duplicate) => {
            log::info!(
                "device {} batch {} already stored",
                peer.cn,
                info.header.seq
            );
            Reply::Stored
        }
        Err(e @ StoreError::Conflict { .. }) => Reply::Refused(e.to_string()),
        Err(e) => Reply::Retry(e.to_string()),
    }
}
