//! The device's side of mutual TLS: its certificate chain and key, and the
//! core's CA as the only trust anchor.

use quinn::crypto::rustls::QuicClientConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    /// rustls refused the material.
    #[error("TLS set-up: {0}")]
    Rustls(#[from] rustls::Error),
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::File {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let v = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::File {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    if v.is_empty() {
        return Err(TlsError::File {
            path: path.to_owned(),
            message: "no certificate in file".into(),
        });
    }
    Ok(v)
}

fn key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| TlsError::File {
            path: path.to_owned(),
            message: e.to_string(),
        })?
        .ok_or_else(|| TlsError::File {
            path: path.to_owned(),
            message: "no private key in file".into(),
        })
}

/// The QUIC client config: core CA pinned, device certificate presented,
/// ALPN `osect/1`, keep-alives so NAT bindings and the modem stay up.
pub fn client_config(cfg: &crate::config::Uplink) -> Result<quinn::ClientConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in certs(&cfg.ca)? {
        roots.add(c)?;
    }
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_client_auth_cert(certs(&cfg.cert)?, key(&cfg.key)?)?;
    tls.alpn_protocols = vec![osect_wire::batch::ALPN.to_vec()];
    let qc = QuicClientConfig::try_from(tls).map_err(|e| TlsError::File {
        path: cfg.ca.clone(),
        message: e.to_string(),
    })?;
    let mut c = quinn::ClientConfig::new(Arc::new(qc));
    let mut tc = quinn::TransportConfig::default();
    let keepalive = Duration::from_secs(cfg.keepalive_secs.max(1));
    tc.keep_alive_interval(Some(keepalive));
    tc.max_idle_timeout(
        Duration::from_secs(cfg.keepalive_secs.max(1) * 3 + 5)
            .try_into()
            .ok(),
    );
    c.transport_config(Arc::new(tc));
    Ok(c)
}
