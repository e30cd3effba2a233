//! Operators: people allowed to import a returned device's spool files. An
//! operator holds a random token in a file; the store keeps only its
//! sha256. Every import is written to the audit table.

use crate::admit::{self, Admission, Policy};
use crate::fleet::FleetList;
use crate::store::{self, Inserted, Store, StoreError};
use osect_wire::batch;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A token file could not be read or written.
    #[error("token file {path}: {source}")]
    Token {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Unknown operator or wrong token.
    #[error("operator {0:?} not authenticated")]
    Denied(String),
    /// A site that is not a name.
    #[error("site {0:?} is not a name (1 to 64 of A-Z a-z 0-9 . _ -)")]
    Site(String),
}

pub fn add(store: &Store, name: &str, token_out: &Path) -> Result<(), OperatorError> {
    let err = |source| OperatorError::Token {
        path: token_out.to_owned(),
        source,
    };
    let mut raw = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut raw))
        .map_err(err)?;
    let token = batch::hex(&raw);
    let mut f = std::fs::OpenOptions::new();
    f.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut f, 0o600);
    f.open(token_out)
        .and_then(|mut f| writeln!(f, "{token}"))
        .map_err(err)?;
    store.set_operator(name, &Sha256::digest(token.as_bytes()))?;
    store.audit("cli", "operator-add", name)?;
    Ok(())
}

pub fn authenticate(store: &Store, name: &str, token_file: &Path) -> Result<(), OperatorError> {
    let token = std::fs::read_to_string(token_file).map_err(|source| OperatorError::Token {
        path: token_file.to_owned(),
        source,
    })?;
    let given = Sha256::digest(token.trim().as_bytes());
    let ok = store.operator_token(name)?.is_some_and(|want| {
        want.len() == given.len()
            && want
                .iter()
                .zip(given.iter())
                .fold(0u8, |a, (x, y)| a | (x ^ y))
                == 0
    });
    if !ok {
        let _ = store.audit(name, "import-denied", &token_file.display().to_string());
        return Err(OperatorError::Denied(name.to_owned()));
    }
    Ok(())
}

#[derive(Debug, Default)]
pub struct ImportReport {
    pub new: usize,
    pub duplicate: usize,
    pub refused: usize,
}

/// The returned unit whose spool files are imported.
pub struct Unit<'a> {
    pub device: &'a str,
    /// SHA-256 of the SubjectPublicKeyInfo of the certificate the unit sent
    /// under (as the operator read it from the unit or the fleet registry).
    pub key_sha256: &'a [u8; 32],
    /// The site the registry had the unit at; `None` takes the headers'.
    pub site: Option<&'a str>,
}

/// Stores spool files of a unit under its key, so they deduplicate against
/// what that key already sent, and under the registry's site for it when
/// given (a header naming another site is logged). Each file must decode,
/// verify, belong to that device and hold only the project's schemas within
/// the default limits; anything else is refused, logged and counted.
pub fn import(
    store: &mut Store,
    unit: &Unit<'_>,
    operator: &str,
    files: &[PathBuf],
) -> Result<ImportReport, OperatorError> {
    let (device, key_sha256) = (unit.device, unit.key_sha256);
    let fleet = match unit.site {
        Some(s) if !crate::fleet::valid_name(s) => {
            return Err(OperatorError::Site(s.to_owned()));
        }
        Some(s) => Some(FleetList::single(device, s)),
        None => None,
    };
    let mut r = ImportReport::default();
    let source = format!("import:{operator}");
    let policy = Policy::project();
    for f in files {
        let checked = std::fs::read(f)
            .map_err(|e| e.to_string())
            .and_then(|data| {
                let a = Admission {
                    device,
                    key_sha256,
                    data: &data,
                    fleet: fleet.as_ref(),
                    policy: &policy,
                    source: &source,
                    // Spool files are whole batches, never deltas.
                    base: None,
                };
                // Spool files are what the unit would have sent: the same
                // checks as the uplink's, the same counters.
                let c = admit::check(&a).map_err(|refused| {
                    let reply =
                        admit::refuse(store, device, &refused.site, &refused.reason, refused.reply);
                    format!("{reply:?}")
                })?;
                store
                    .insert(
                        &c.info,
                        &c.site,
                        key_sha256,
                        c.stored(&data),
                        store::now_us(),
                        &source,
                    )
                    .map_err(|e| e.to_string())
            });
        match checked {
            Ok(Inserted::New | Inserted::SelftestReplaced) => r.new += 1,
            Ok(Inserted::Duplicate) => r.duplicate += 1,
            Err(e) => {
                log::warn!("import {}: refused: {e}", f.display());
                r.refused += 1;
            }
        }
    }
    store.audit(
        operator,
        "import",
        &format!(
            "device={device} key={} new={} duplicate={} refused={}",
            batch::hex(key_sha256),
            r.new,
            r.duplicate,
            r.refused
        ),
    )?;
    Ok(r)
}

/// A key hash as given on the command line: 64 hex digits.
pub fn parse_key_sha256(s: &str) -> Result<[u8; 32], String> {
    let bad = || format!("{s:?}: expected the SHA-256 of a public key as 64 hex digits");
    if s.len() != 64 || !s.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(s.as_bytes().chunks(2)) {
        let digits = std::str::from_utf8(pair).map_err(|_| bad())?;
        *o = u8::from_str_radix(digits, 16).map_err(|_| bad())?;
    }
    Ok(out)
}
