//! The factory PKI.
//!
//! ```text
//! root CA (offline) ──► device CA (station) ──► device certificates (CN = serial)
//! core CA ──► collector server certificate (what the agent pins)
//! ```
//!
//! Device keys are made on the device and never read by the station: the
//! station signs a CSR. The device CA also signs `devices.crl`, which the
//! collector reloads to refuse revoked devices.

use crate::files::{self, err, FileError};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams,
    CertificateSigningRequestParams, DistinguishedName, DnType, DnValue, ExtendedKeyUsagePurpose,
    IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason, RevokedCertParams, SanType,
    SerialNumber, PKCS_ECDSA_P256_SHA256,
};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

pub const ROOT_CRT: &str = "root-ca.crt";
pub const ROOT_KEY: &str = "root-ca.key";
pub const DEVICE_CA_CRT: &str = "device-ca.crt";
pub const DEVICE_CA_KEY: &str = "device-ca.key";
pub const CORE_CA_CRT: &str = "core-ca.crt";
pub const CORE_CA_KEY: &str = "core-ca.key";
pub const CRL: &str = "devices.crl";
/// Device CA + root, the `--client-ca` file for the collector.
pub const CLIENT_CA_BUNDLE: &str = "client-ca.pem";

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{what}: {source}")]
    Rcgen { what: String, source: rcgen::Error },
    #[error("{0}")]
    Invalid(String),
}

fn rc(what: impl Into<String>) -> impl FnOnce(rcgen::Error) -> PkiError {
    let what = what.into();
    move |source| PkiError::Rcgen { what, source }
}

/// The station's PKI directory.
#[derive(Debug, Clone)]
pub struct Pki {
    pub dir: PathBuf,
}

/// A certificate as the registry records it.
#[derive(Debug, Clone)]
pub struct CertInfo {
    pub subject_cn: String,
    /// Hex of the serial number.
    pub serial: String,
    /// SHA-256 of the DER encoding, hex.
    pub fingerprint: String,
    /// SHA-256 of the SubjectPublicKeyInfo, hex: the key's identity, kept
    /// by a renewal, new when a unit is provisioned again. The collector
    /// deduplicates batches per device and key.
    pub key_sha256: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// A freshly issued device certificate.
pub struct Issued {
    /// Leaf followed by the device CA.
    pub chain_pem: String,
    pub info: CertInfo,
}

/// Random bytes from the kernel.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], PkiError> {
    let p = Path::new("/dev/urandom");
    let mut b = [0u8; N];
    std::fs::File::open(p)
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(err("cannot read", p))?;
    Ok(b)
}

fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut b: [u8; 16] = random_bytes()?;
    // Positive and without a leading zero byte, so its hex is stable.
    b[0] = (b[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&b))
}

fn dn(cn: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::OrganizationName, "osect-sensor");
    d.push(DnType::CommonName, cn);
    d
}

fn ca_params(cn: &str, years: i64, path_len: u8) -> Result<CertificateParams, PkiError> {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_len));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.key_identifier_method = KeyIdMethod::Sha256;
    p.serial_number = Some(random_serial()?);
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::hours(1);
    p.not_after = now + Duration::days(365 * years);
    Ok(p)
}

/// Parses the first certificate of a PEM text.
pub fn cert_info(pem: &str) -> Result<CertInfo, PkiError> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| PkiError::Invalid(format!("not a PEM certificate: {e}")))?;
    let (_, c) = x509_parser::parse_x509_certificate(&p.contents)
        .map_err(|e| PkiError::Invalid(format!("not an X.509 certificate: {e}")))?;
    let subject_cn = c
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or("")
        .to_string();
    Ok(CertInfo {
        subject_cn,
        serial: hex(c.tbs_certificate.raw_serial()),
        fingerprint: hex(&Sha256::digest(&p.contents)),
        key_sha256: hex(&Sha256::digest(c.tbs_certificate.subject_pki.raw)),
        not_before: c.validity().not_before.to_datetime(),
        not_after: c.validity().not_after.to_datetime(),
    })
}

/// The SubjectPublicKeyInfo of the first certificate in a PEM text.
pub fn cert_public_key(pem: &str) -> Result<Vec<u8>, PkiError> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| PkiError::Invalid(format!("not a PEM certificate: {e}")))?;
    let (_, c) = x509_parser::parse_x509_certificate(&p.contents)
        .map_err(|e| PkiError::Invalid(format!("not an X.509 certificate: {e}")))?;
    Ok(c.tbs_certificate.subject_pki.raw.to_vec())
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, PkiError> {
    let bad = || PkiError::Invalid(format!("bad hex serial {s:?}"));
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).map_err(|_| bad())?;
            if text.len() != 2 {
                return Err(bad());
            }
            u8::from_str_radix(text, 16).map_err(|_| bad())
        })
        .collect()
}

/// Makes the device's key and CSR. Runs on the device: the key is written
/// with mode 0600 and only the CSR is handed out.
pub fn make_key(txn: &mut files::FileTxn, key_path: &Path) -> Result<KeyPair, PkiError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(rc("cannot generate key"))?;
    txn.write(key_path, key.serialize_pem().as_bytes(), 0o600)?;
    Ok(key)
}

/// A CSR for `serial` signed by `key`.
pub fn make_csr(key: &KeyPair, serial: &str) -> Result<String, PkiError> {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(serial);
    p.serialize_request(key)
        .and_then(|r| r.pem())
        .map_err(rc("cannot make CSR"))
}

pub fn load_key(path: &Path) -> Result<KeyPair, PkiError> {
    let pem = std::fs::read_to_string(path).map_err(err("cannot read key", path))?;
    KeyPair::from_pem(&pem).map_err(rc(format!("key {}", path.display())))
}

fn dn_cn(d: &DistinguishedName) -> Option<String> {
    match d.get(&DnType::CommonName)? {
        DnValue::Utf8String(s) => Some(s.clone()),
        DnValue::PrintableString(s) => Some(s.as_str().to_string()),
        _ => None,
    }
}

impl Pki {
    pub fn new(dir: &Path) -> Pki {
        Pki {
            dir: dir.to_owned(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn crl_path(&self) -> PathBuf {
        self.path(CRL)
    }

    fn read(&self, name: &str) -> Result<String, PkiError> {
        let p = self.path(name);
        std::fs::read_to_string(&p).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                PkiError::Invalid(format!(
                    "{} is missing (create the PKI with `osect-provision pki init`)",
                    p.display()
                ))
            } else {
                PkiError::File(err("cannot read", &p)(e))
            }
        })
    }

    /// An issuer (its certificate re-made from the PEM, and its key).
    fn issuer(&self, crt: &str, key: &str) -> Result<(rcgen::Certificate, KeyPair), PkiError> {
        let key = KeyPair::from_pem(&self.read(key)?).map_err(rc(format!("CA key {key}")))?;
        let params = CertificateParams::from_ca_cert_pem(&self.read(crt)?)
            .map_err(rc(format!("CA certificate {crt}")))?;
        let cert = params.self_signed(&key).map_err(rc("cannot load CA"))?;
        Ok((cert, key))
    }

    /// Creates the root, device and core CAs, and an empty CRL (number 0) so
    /// the collector can start with `--crl` at once. Returns false (and
    /// changes nothing) if they already exist.
    pub fn init(&self, crl_valid_hours: u32) -> Result<bool, PkiError> {
        let names = [
            ROOT_CRT,
            ROOT_KEY,
            DEVICE_CA_CRT,
            DEVICE_CA_KEY,
            CORE_CA_CRT,
            CORE_CA_KEY,
        ];
        let present: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| self.path(n).exists())
            .collect();
        if present.len() == names.len() {
            return Ok(false);
        }
        if !present.is_empty() {
            return Err(PkiError::Invalid(format!(
                "{} holds part of a PKI ({}); refusing to overwrite it",
                self.dir.display(),
                present.join(", ")
            )));
        }
        files::ensure_dir(&self.dir, 0o700)?;
        let gen =
            || KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(rc("cannot generate key"));
        let root_key = gen()?;
        let root = ca_params("osect factory root CA", 20, 1)?
            .self_signed(&root_key)
            .map_err(rc("root CA"))?;
        let dev_key = gen()?;
        let dev = ca_params("osect device CA", 10, 0)?
            .signed_by(&dev_key, &root, &root_key)
            .map_err(rc("device CA"))?;
        let core_key = gen()?;
        let core = ca_params("osect core CA", 20, 0)?
            .self_signed(&core_key)
            .map_err(rc("core CA"))?;
        let mut txn = files::FileTxn::new();
        let r = (|| -> Result<(), PkiError> {
            txn.write(
                &self.path(ROOT_KEY),
                root_key.serialize_pem().as_bytes(),
                0o600,
            )?;
            txn.write(&self.path(ROOT_CRT), root.pem().as_bytes(), 0o644)?;
            txn.write(
                &self.path(DEVICE_CA_KEY),
                dev_key.serialize_pem().as_bytes(),
                0o600,
            )?;
            txn.write(&self.path(DEVICE_CA_CRT), dev.pem().as_bytes(), 0o644)?;
            txn.write(
                &self.path(CORE_CA_KEY),
                core_key.serialize_pem().as_bytes(),
                0o600,
            )?;
            txn.write(&self.path(CORE_CA_CRT), core.pem().as_bytes(), 0o644)?;
            let bundle = format!("{}{}", dev.pem(), root.pem());
            txn.write(&self.path(CLIENT_CA_BUNDLE), bundle.as_bytes(), 0o644)?;
            let crl = self.make_crl(&[], 0, crl_valid_hours)?;
            txn.write(&self.crl_path(), crl.as_bytes(), 0o644)?;
            Ok(())
        })();
        match r {
            Ok(()) => Ok(true),
            Err(e) => {
                txn.rollback();
                Err(e)
            }
        }
    }

    /// Signs a device CSR. The certificate's subject is `serial` whatever the
    /// CSR asks for, and the CSR must name the same serial.
    pub fn sign_device_csr(
        &self,
        csr_pem: &str,
        serial: &str,
        days: u32,
    ) -> Result<Issued, PkiError> {
        let mut csr = CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(rc(format!("CSR for {serial}")))?;
        let asked = dn_cn(&csr.params.distinguished_name).unwrap_or_default();
        if asked != serial {
            return Err(PkiError::Invalid(format!(
                "the CSR names {asked:?}, not the device {serial}"
            )));
        }
        let mut p = CertificateParams::default();
        p.distinguished_name = dn(serial);
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.use_authority_key_identifier_extension = true;
        p.serial_number = Some(random_serial()?);
        let now = OffsetDateTime::now_utc();
        p.not_before = now - Duration::minutes(10);
        p.not_after = now + Duration::days(i64::from(days));
        csr.params = p;
        let (ca, ca_key) = self.issuer(DEVICE_CA_CRT, DEVICE_CA_KEY)?;
        let cert = csr
            .signed_by(&ca, &ca_key)
            .map_err(rc("cannot sign device certificate"))?;
        let pem = cert.pem();
        let info = cert_info(&pem)?;
        Ok(Issued {
            chain_pem: format!("{pem}{}", self.read(DEVICE_CA_CRT)?),
            info,
        })
    }

    /// Issues the collector's server certificate under the core CA.
    pub fn server_cert(
        &self,
        name: &str,
        ips: &[IpAddr],
        days: u32,
        out_cert: &Path,
        out_key: &Path,
    ) -> Result<CertInfo, PkiError> {
        let mut p =
            CertificateParams::new(vec![name.to_string()]).map_err(rc(format!("name {name:?}")))?;
        p.subject_alt_names
            .extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
        p.distinguished_name = dn(name);
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.use_authority_key_identifier_extension = true;
        p.serial_number = Some(random_serial()?);
        let now = OffsetDateTime::now_utc();
        p.not_before = now - Duration::minutes(10);
        p.not_after = now + Duration::days(i64::from(days));
        let key =
            KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(rc("cannot generate key"))?;
        let (ca, ca_key) = self.issuer(CORE_CA_CRT, CORE_CA_KEY)?;
        let cert = p
            .signed_by(&key, &ca, &ca_key)
            .map_err(rc("cannot sign server certificate"))?;
        let chain = format!("{}{}", cert.pem(), self.read(CORE_CA_CRT)?);
        let mut txn = files::FileTxn::new();
        let r = txn
            .write(out_key, key.serialize_pem().as_bytes(), 0o600)
            .and_then(|()| txn.write(out_cert, chain.as_bytes(), 0o644));
        if let Err(e) = r {
            txn.rollback();
            return Err(e.into());
        }
        cert_info(&cert.pem())
    }

    /// The core CA certificate (what devices pin).
    pub fn core_ca_pem(&self) -> Result<String, PkiError> {
        self.read(CORE_CA_CRT)
    }

    /// Signs a CRL listing `revoked` (hex serial, revocation time) and returns
    /// its PEM. `number` must grow with every CRL issued.
    pub fn make_crl(
        &self,
        revoked: &[(String, OffsetDateTime)],
        number: u64,
        valid_hours: u32,
    ) -> Result<String, PkiError> {
        let now = OffsetDateTime::now_utc();
        let revoked_certs = revoked
            .iter()
            .map(|(serial, at)| {
                Ok(RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&unhex(serial)?),
                    revocation_time: *at,
                    reason_code: Some(RevocationReason::CessationOfOperation),
                    invalidity_date: None,
                })
            })
            .collect::<Result<Vec<_>, PkiError>>()?;
        let params = CertificateRevocationListParams {
            this_update: now - Duration::minutes(1),
            next_update: now + Duration::hours(i64::from(valid_hours.max(1))),
            crl_number: SerialNumber::from(number),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let (ca, ca_key) = self.issuer(DEVICE_CA_CRT, DEVICE_CA_KEY)?;
        params
            .signed_by(&ca, &ca_key)
            .and_then(|c| c.pem())
            .map_err(rc("cannot sign CRL"))
    }
}

/// The serials listed in a PEM CRL (for checks and `pki crl --show`).
pub fn crl_serials(pem: &str) -> Result<Vec<String>, PkiError> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| PkiError::Invalid(format!("not a PEM CRL: {e}")))?;
    let (_, crl) = x509_parser::parse_x509_crl(&p.contents)
        .map_err(|e| PkiError::Invalid(format!("not an X.509 CRL: {e}")))?;
    Ok(crl
        .iter_revoked_certificates()
        .map(|r| hex(r.raw_serial()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_certificate_chain_and_crl() {
        let d = tempfile::tempdir().unwrap();
        let pki = Pki::new(&d.path().join("pki"));
        assert!(pki.init(24).unwrap());
        assert!(!pki.init(24).unwrap(), "second init changes nothing");
        let empty = std::fs::read_to_string(pki.crl_path()).unwrap();
        assert!(crl_serials(&empty).unwrap().is_empty());
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let csr = make_csr(&key, "OSD-000001").unwrap();
        let e = pki.sign_device_csr(&csr, "OSD-000002", 30).err().unwrap();
        assert!(e.to_string().contains("names \"OSD-000001\""), "{e}");
        let issued = pki.sign_device_csr(&csr, "OSD-000001", 30).unwrap();
        assert_eq!(issued.info.subject_cn, "OSD-000001");
        assert_eq!(issued.chain_pem.matches("BEGIN CERTIFICATE").count(), 2);
        assert_eq!(
            cert_public_key(&issued.chain_pem).unwrap(),
            key.public_key_der()
        );
        assert_eq!(
            issued.info.key_sha256,
            hex(&Sha256::digest(key.public_key_der()))
        );
        let days = (issued.info.not_after - OffsetDateTime::now_utc()).whole_days();
        assert!((29..=30).contains(&days), "{days}");
        // The leaf verifies against the device CA.
        let ca_pem = std::fs::read_to_string(pki.path(DEVICE_CA_CRT)).unwrap();
        let (_, ca) = x509_parser::pem::parse_x509_pem(ca_pem.as_bytes()).unwrap();
        let ca = ca.parse_x509().unwrap();
        let (_, leaf) = x509_parser::pem::parse_x509_pem(issued.chain_pem.as_bytes()).unwrap();
        let leaf = leaf.parse_x509().unwrap();
        leaf.verify_signature(Some(ca.public_key())).unwrap();
        let crl = pki
            .make_crl(
                &[(issued.info.serial.clone(), OffsetDateTime::now_utc())],
                7,
                24,
            )
            .unwrap();
        assert_eq!(crl_serials(&crl).unwrap(), vec![issued.info.serial]);
    }
}
