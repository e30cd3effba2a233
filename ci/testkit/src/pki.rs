//! A throw-away PKI with the factory's shape (see `provisioning/`):
//!
//! ```text
//! root CA ──► device CA ──► device certificates (CN = serial), devices.crl
//! core CA ──► collector server certificate (what the agent pins)
//! ```
//!
//! plus the material the security tests need: a device of another CA, an
//! expired device, a revoked one.

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SanType, SerialNumber,
};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

pub struct Ca {
    cert: Certificate,
    key: KeyPair,
}

impl Ca {
    pub fn new(cn: &str, issuer: Option<&Ca>) -> Result<Ca, rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        p.not_before = OffsetDateTime::now_utc() - Duration::days(1);
        p.not_after = OffsetDateTime::now_utc() + Duration::days(3650);
        let cert = match issuer {
            Some(i) => p.signed_by(&key, &i.cert, &i.key)?,
            None => p.self_signed(&key)?,
        };
        Ok(Ca { cert, key })
    }

    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A leaf certificate: `(chain PEM (leaf + this CA), key PEM)`.
    pub fn issue(
        &self,
        cn: &str,
        serial: u64,
        server: bool,
        not_after: OffsetDateTime,
    ) -> Result<(String, String), rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.serial_number = Some(SerialNumber::from(serial));
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.not_before = OffsetDateTime::now_utc() - Duration::days(30);
        p.not_after = not_after;
        if server {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            p.subject_alt_names = vec![
                SanType::DnsName(cn.try_into()?),
                SanType::DnsName("localhost".try_into()?),
            ];
        } else {
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        let cert = p.signed_by(&key, &self.cert, &self.key)?;
        Ok((
            format!("{}{}", cert.pem(), self.cert.pem()),
            key.serialize_pem(),
        ))
    }

    /// A CRL revoking `serials`.
    pub fn crl(&self, serials: &[u64]) -> Result<String, rcgen::Error> {
        let now = OffsetDateTime::now_utc();
        CertificateRevocationListParams {
            this_update: now - Duration::minutes(1),
            next_update: now + Duration::days(30),
            crl_number: SerialNumber::from(serials.len() as u64 + 1),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|s| RevokedCertParams {
                    serial_number: SerialNumber::from(*s),
                    revocation_time: now - Duration::minutes(1),
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&self.cert, &self.key)
        .and_then(|c| c.pem())
    }
}

/// Files of a test PKI in one directory.
pub struct Files {
    pub dir: PathBuf,
}

impl Files {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `identity-<serial>/{device.crt, device.key, core-ca.crt}` as the agent reads them.
    pub fn identity(&self, serial: &str) -> PathBuf {
        self.dir.join(format!("identity-{serial}"))
    }
}

impl Files {
    /// An agent configuration (TOML) for device `identity` of this PKI with
    /// its data and spool in `data`, sending to the collector on loopback
    /// `port`, with short back-offs for tests.
    pub fn agent_config(&self, identity: &str, data: &Path, port: u16) -> String {
        let id = self.identity(identity);
        format!(
            "[device]\nid = \"{identity}\"\ndata_dir = \"{data}\"\n[spool]\ndir = \"{data}/spool\"\n\
             [uplink]\nenabled = true\nendpoint = \"127.0.0.1:{port}\"\nserver_name = \"{SERVER_NAME}\"\n\
             ca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\nbackoff_min_ms = 100\nbackoff_max_ms = 1000\nkeepalive_secs = 2\n",
            id.join("core-ca.crt").display(),
            id.join("device.crt").display(),
            id.join("device.key").display(),
            data = data.display(),
        )
    }
}

pub const SERVER_NAME: &str = "collector.osect";

/// Makes a PKI in `dir`: `core-ca.crt`, `server.crt`/`server.key`,
/// `client-ca.pem` (device CA + root), `devices.crl` (empty), one identity
/// per serial in `devices` (serials 100, 101, ...), and for the security
/// tests `identity-OTHER-CA`, `identity-EXPIRED` and `identity-REVOKED`
/// (whose serial is in `devices-revoked.crl`).
pub fn make(dir: &Path, devices: &[&str]) -> Result<Files, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let root = Ca::new("osect test root CA", None)?;
    let device_ca = Ca::new("osect test device CA", Some(&root))?;
    let core_ca = Ca::new("osect test core CA", None)?;
    let other_ca = Ca::new("someone else's CA", None)?;
    let files = Files {
        dir: dir.to_owned(),
    };
    let w = |name: &str, text: &str| std::fs::write(dir.join(name), text);
    w("core-ca.crt", &core_ca.pem())?;
    let (chain, key) = core_ca.issue(
        SERVER_NAME,
        1,
        true,
        OffsetDateTime::now_utc() + Duration::days(365),
    )?;
    w("server.crt", &chain)?;
    w("server.key", &key)?;
    w(
        "client-ca.pem",
        &format!("{}{}", device_ca.pem(), root.pem()),
    )?;
    w("devices.crl", &device_ca.crl(&[])?)?;
    let year = OffsetDateTime::now_utc() + Duration::days(365);
    let write_identity = |serial: &str, chain: String, key: String| -> std::io::Result<()> {
        let d = files.identity(serial);
        std::fs::create_dir_all(&d)?;
        std::fs::write(d.join("device.crt"), chain)?;
        std::fs::write(d.join("device.key"), key)?;
        std::fs::write(d.join("core-ca.crt"), core_ca.pem())
    };
    for (i, serial) in devices.iter().enumerate() {
        let (c, k) = device_ca.issue(serial, 100 + i as u64, false, year)?;
        write_identity(serial, c, k)?;
    }
    let (c, k) = other_ca.issue("OTHER-CA", 500, false, year)?;
    write_identity("OTHER-CA", c, k)?;
    let (c, k) = device_ca.issue(
        "EXPIRED",
        501,
        false,
        OffsetDateTime::now_utc() - Duration::days(1),
    )?;
    write_identity("EXPIRED", c, k)?;
    let (c, k) = device_ca.issue("REVOKED", 502, false, year)?;
    write_identity("REVOKED", c, k)?;
    w("devices-revoked.crl", &device_ca.crl(&[502])?)?;
    Ok(files)
}
