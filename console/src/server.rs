//! Serving the router: HTTPS with rustls from a certificate and key, or
//! plain HTTP on a loopback address only.

use crate::web::{self, App};
use axum_server::tls_rustls::RustlsConfig;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "plain HTTP is allowed only on a loopback address, not {0}: give --cert and --key to serve HTTPS there"
    )]
    PlainNotLoopback(SocketAddr),
    #[error("{file}: {message}")]
    Tls { file: String, message: String },
    #[error("listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Start(#[from] web::StartError),
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

/// The certificate chain and key for HTTPS.
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Refuses plain HTTP anywhere but loopback.
pub fn check_listen(addr: SocketAddr, tls: Option<&Tls>) -> Result<(), ServeError> {
    if tls.is_none() && !addr.ip().is_loopback() {
        return Err(ServeError::PlainNotLoopback(addr));
    }
    Ok(())
}

fn tls_error(file: &Path, message: impl std::fmt::Display) -> ServeError {
    ServeError::Tls {
        file: file.display().to_string(),
        message: message.to_string(),
    }
}

/// A rustls server configuration (ring provider, TLS 1.2 and 1.3) from PEM files.
pub fn rustls_config(tls: &Tls) -> Result<rustls::ServerConfig, ServeError> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| tls_error(p, e));
    let cert_pem = read(&tls.cert)?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_error(&tls.cert, e))?;
    if certs.is_empty() {
        return Err(tls_error(&tls.cert, "no PEM certificate in the file"));
    }
    let key_pem = read(&tls.key)?;
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| tls_error(&tls.key, e))?
        .ok_or_else(|| tls_error(&tls.key, "no PEM private key in the file"))?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| tls_error(&tls.cert, e))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| tls_error(&tls.key, format!("does not go with the certificate: {e}")))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// Serves `app` on an already bound listener until `shutdown` completes,
/// then lets requests in flight finish (at most 5 s).
pub async fn serve(
    app: Arc<App>,
    listener: std::net::TcpListener,
    tls: Option<&Tls>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        h.graceful_shutdown(Some(Duration::from_secs(5)));
    });
    listener.set_nonblocking(true)?;
    let service = web::router(app).into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        Some(tls) => {
            let cfg = RustlsConfig::from_config(Arc::new(rustls_config(tls)?));
            axum_server::from_tcp_rustls(listener, cfg)
                .handle(handle)
                .serve(service)
                .await?
        }
        None => {
            axum_server::from_tcp(listener)
                .handle(handle)
                .serve(service)
                .await?
        }
    }
    Ok(())
}

/// Binds `addr` after checking it is allowed.
pub fn bind(addr: SocketAddr, tls: Option<&Tls>) -> Result<std::net::TcpListener, ServeError> {
    check_listen(addr, tls)?;
    std::net::TcpListener::bind(addr).map_err(|source| ServeError::Listen { addr, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_loopback() {
        let tls = Tls {
            cert: "c".into(),
            key: "k".into(),
        };
        let lo: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let lo6: SocketAddr = "[::1]:8080".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let lan: SocketAddr = "192.0.2.10:443".parse().unwrap();
        assert!(check_listen(lo, None).is_ok());
        assert!(check_listen(lo6, None).is_ok());
        let e = check_listen(any, None).unwrap_err().to_string();
        assert!(e.contains("loopback") && e.contains("--cert"), "{e}");
        assert!(check_listen(lan, None).is_err());
        assert!(check_listen(lan, Some(&tls)).is_ok());
    }
}
