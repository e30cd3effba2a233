//! Certificates, keys and revocation lists, and the server's TLS policy:
//! client certificates must chain to the device CA and not be revoked.

use quinn::crypto::rustls::QuicServerConfig;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use x509_parser::prelude::FromDer;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A PEM file holds nothing of the expected kind.
    #[error("{path}: no {what} found")]
    Empty { path: PathBuf, what: &'static str },
    /// rustls refused the material.
    #[error("TLS set-up: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client verifier could not be built (bad CA or CRL).
    #[error("client verifier: {0}")]
    Verifier(String),
    /// A CRL that x509-parser cannot read.
    #[error("{path}: bad revocation list: {message}")]
    Crl { path: PathBuf, message: String },
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::Empty {
            path: path.to_owned(),
            what: "certificate",
        });
    }
    Ok(certs)
}

pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })?
        .ok_or(TlsError::Empty {
            path: path.to_owned(),
            what: "private key",
        })
}

pub fn load_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let pem = read(path)?;
    rustls_pemfile::crls(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })
}

/// Serial numbers (big-endian bytes, no leading zeros) revoked by `crls`.
pub fn revoked_serials(
    path: &Path,
    crls: &[CertificateRevocationListDer<'_>],
) -> Result<HashSet<Vec<u8>>, TlsError> {
    let mut out = HashSet::new();
    for der in crls {
        let (_, crl) = x509_parser::revocation_list::CertificateRevocationList::from_der(der)
            .map_err(|e| TlsError::Crl {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        for r in crl.iter_revoked_certificates() {
            out.insert(trim_serial(r.raw_serial()));
        }
    }
    Ok(out)
}

fn trim_serial(s: &[u8]) -> Vec<u8> {
    let start = s.iter().position(|b| *b != 0).unwrap_or(s.len());
    s[start..].to_vec()
}

/// The peer's identity: subject CN, serial and key of its end-entity
/// certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerId {
    pub cn: String,
    pub serial: Vec<u8>,
    /// SHA-256 of the SubjectPublicKeyInfo: changes when a unit is
    /// provisioned again (new key), not when its certificate is renewed.
    pub key_sha256: Vec<u8>,
}

pub fn peer_id(cert: &CertificateDer<'_>) -> Option<PeerId> {
    let (_, c) = x509_parser::parse_x509_certificate(cert).ok()?;
    let cn = c
        .subject()
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_owned();
    Some(PeerId {
        cn,
        serial: trim_serial(c.raw_serial()),
        key_sha256: Sha256::digest(c.public_key().raw).to_vec(),
    })
}

/// What the server needs to build its TLS policy; the CRL is re-read on
/// every [`ServerTls::build`].
#[derive(Clone, Debug)]
pub struct ServerTls {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: PathBuf,
    pub crl: Option<PathBuf>,
    pub idle_timeout: Duration,
}

impl ServerTls {
    /// Builds the QUIC server config and returns the revoked serials too.
    pub fn build(&self) -> Result<(quinn::ServerConfig, HashSet<Vec<u8>>), TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for c in load_certs(&self.client_ca)? {
            roots.add(c)?;
        }
        let (crls, revoked) = match &self.crl {
            Some(p) => {
                let crls = load_crls(p)?;
                let revoked = revoked_serials(p, &crls)?;
                (crls, revoked)
            }
            None => (Vec::new(), HashSet::new()),
        };
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .with_crls(crls)
                .only_check_end_entity_revocation()
                .build()
                .map_err(|e| TlsError::Verifier(e.to_string()))?;
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_client_cert_verifier(verifier)
            .with_single_cert(load_certs(&self.cert)?, load_key(&self.key)?)?;
        tls.alpn_protocols = vec![osect_wire::batch::ALPN.to_vec()];
        let qsc = QuicServerConfig::try_from(tls).map_err(|e| TlsError::Verifier(e.to_string()))?;
        let mut cfg = quinn::ServerConfig::with_crypto(Arc::new(qsc));
        let mut tc = quinn::TransportConfig::default();
        tc.max_idle_timeout(self.idle_timeout.try_into().ok());
        tc.max_concurrent_bidi_streams(64u32.into());
        tc.max_concurrent_uni_streams(0u32.into());
        cfg.transport_config(Arc::new(tc));
        cfg.migration(true);
        Ok((cfg, revoked))
    }

    /// Modification times of the files whose change needs a rebuild.
    pub fn stamp(&self) -> Vec<Option<std::time::SystemTime>> {
        [Some(&self.client_ca), self.crl.as_ref()]
            .into_iter()
            .flatten()
            .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
            .collect()
    }
}
