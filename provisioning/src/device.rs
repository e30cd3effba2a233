//! A device's data directory (`/data` on the unit, any directory in tests)
//! and the agent configuration written to it.
//!
//! ```text
//! DIR/identity/device.key   PKCS#8 PEM, ECDSA P-256, mode 0600, agent's user
//! DIR/identity/device.csr   the request the station signed
//! DIR/identity/device.crt   device certificate (CN = serial) + device CA
//! DIR/identity/core-ca.crt  the CA of the collector's certificate (pinned)
//! DIR/config/agent.toml     the agent's configuration
//! DIR/config/modem.env      APN and SIM PIN for osect-modem-setup (mode 0600)
//! DIR/spool/                batches not yet acknowledged by the collector
//! ```

use crate::files::{err, FileError};
use crate::pki::{self, CertInfo};
use crate::registry::{Device, Site};
use std::path::{Path, PathBuf};
use toml::{Table, Value};

pub struct DeviceDir {
    pub root: PathBuf,
}

impl DeviceDir {
    pub fn new(root: &Path) -> DeviceDir {
        DeviceDir {
            root: root.to_owned(),
        }
    }
    pub fn identity(&self) -> PathBuf {
        self.root.join("identity")
    }
    pub fn key(&self) -> PathBuf {
        self.identity().join("device.key")
    }
    pub fn csr(&self) -> PathBuf {
        self.identity().join("device.csr")
    }
    pub fn cert(&self) -> PathBuf {
        self.identity().join("device.crt")
    }
    pub fn core_ca(&self) -> PathBuf {
        self.identity().join("core-ca.crt")
    }
    pub fn config_dir(&self) -> PathBuf {
        self.root.join("config")
    }
    pub fn agent_config(&self) -> PathBuf {
        self.config_dir().join("agent.toml")
    }
    pub fn modem_env(&self) -> PathBuf {
        self.config_dir().join("modem.env")
    }
    pub fn spool(&self) -> PathBuf {
        self.root.join("spool")
    }

    /// The certificate the unit holds, if any.
    pub fn certificate(&self) -> Result<Option<CertInfo>, String> {
        let p = self.cert();
        match std::fs::read_to_string(&p) {
            Ok(pem) => pki::cert_info(&pem)
                .map(Some)
                .map_err(|e| format!("{}: {e}", p.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", p.display())),
        }
    }

    /// Whether anything of an identity is present.
    pub fn has_identity(&self) -> bool {
        self.key().exists() || self.cert().exists()
    }

    /// Checks that this directory is the unit the registry knows as `d`: its
    /// certificate names the serial and is the one on record, and its key
    /// matches the certificate.
    pub fn verify(&self, d: &Device) -> Result<CertInfo, String> {
        let cert = self.certificate()?.ok_or_else(|| {
            format!(
                "{} holds no device certificate; is this the unit {}?",
                self.root.display(),
                d.serial
            )
        })?;
        if cert.subject_cn != d.serial {
            return Err(format!(
                "{} belongs to device {}, not {}",
                self.root.display(),
                cert.subject_cn,
                d.serial
            ));
        }
        if d.cert_fingerprint.as_deref() != Some(cert.fingerprint.as_str()) {
            return Err(format!(
                "the certificate in {} (sha256 {}) is not the one on record for {}",
                self.root.display(),
                cert.fingerprint,
                d.serial
            ));
        }
        let key = pki::load_key(&self.key()).map_err(|e| e.to_string())?;
        let pem = std::fs::read_to_string(self.cert()).map_err(|e| e.to_string())?;
        if pki::cert_public_key(&pem).map_err(|e| e.to_string())? != key.public_key_der() {
            return Err(format!(
                "the key in {} does not match its certificate",
                self.key().display()
            ));
        }
        Ok(cert)
    }

    /// The spool's batch files, oldest name first (temporary files skipped).
    pub fn spool_files(&self) -> Result<Vec<PathBuf>, FileError> {
        let dir = self.spool();
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(err("cannot list", &dir)(e)),
        };
        let mut out = Vec::new();
        for e in rd {
            let e = e.map_err(err("cannot list", &dir))?;
            let name = e.file_name();
            let is_file = e
                .file_type()
                .map_err(err("cannot stat", &e.path()))?
                .is_file();
            if is_file && !name.to_string_lossy().starts_with('.') {
                out.push(e.path());
            }
        }
        out.sort();
        Ok(out)
    }

    /// The agent configuration as a TOML table (empty if absent).
    pub fn read_agent_config(&self) -> Result<Table, String> {
        let p = self.agent_config();
        match std::fs::read_to_string(&p) {
            Ok(t) => t
                .parse::<Table>()
                .map_err(|e| format!("{}: {e}", p.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Table::new()),
            Err(e) => Err(format!("cannot read {}: {e}", p.display())),
        }
    }
}

/// Edits one `[section]` of a config table, creating it if needed (a
/// non-table value under that name is replaced).
fn edit(t: &mut Table, name: &str, f: impl FnOnce(&mut Table)) {
    let mut sec = match t.remove(name) {
        Some(Value::Table(s)) => s,
        _ => Table::new(),
    };
    f(&mut sec);
    t.insert(name.to_string(), Value::Table(sec));
}

fn path_value(p: &Path) -> Value {
    Value::String(p.to_string_lossy().into_owned())
}

/// The site-independent configuration written at `factory`: the device's
/// identity, its files, and the core (uplink off until the unit has a site).
pub fn factory_config(dev: &DeviceDir, serial: &str, endpoint: &str, server_name: &str) -> Table {
    let mut t = Table::new();
    edit(&mut t, "device", |d| {
        d.insert("id".into(), Value::String(serial.into()));
        d.insert("data_dir".into(), path_value(&dev.root));
    });
    edit(&mut t, "spool", |s| {
        s.insert("dir".into(), path_value(&dev.spool()));
    });
    edit(&mut t, "uplink", |u| {
        u.insert("enabled".into(), Value::Boolean(false));
        u.insert("endpoint".into(), Value::String(endpoint.into()));
        u.insert("server_name".into(), Value::String(server_name.into()));
        u.insert("ca".into(), path_value(&dev.core_ca()));
        u.insert("cert".into(), path_value(&dev.cert()));
        u.insert("key".into(), path_value(&dev.key()));
    });
    t
}

/// Adds a site's settings to a device's configuration and turns the uplink on.
pub fn apply_site(t: &mut Table, site: &Site) {
    edit(t, "device", |d| {
        d.insert("site".into(), Value::String(site.site_id.clone()));
        d.insert(
            "labels".into(),
            Value::Array(site.labels.iter().cloned().map(Value::String).collect()),
        );
    });
    edit(t, "capture", |c| {
        c.insert("interface".into(), Value::String(site.interface.clone()));
    });
    edit(t, "batch", |b| {
        b.insert(
            "interval_secs".into(),
            Value::Integer(i64::try_from(site.batch_interval_secs).unwrap_or(i64::MAX)),
        );
    });
    edit(t, "uplink", |u| {
        u.insert("endpoint".into(), Value::String(site.core_endpoint.clone()));
        u.insert("enabled".into(), Value::Boolean(true));
    });
}

/// The settings `osect-modem-setup` reads (KEY=VALUE lines, never executed
/// by a shell). ModemManager's connect syntax cannot carry ',' or '='.
pub fn modem_env(m: &crate::config::ModemConfig) -> Result<String, String> {
    use crate::modem::net::Auth;
    let a = &m.apn;
    for (what, v) in [
        ("APN", &a.apn),
        ("APN user", &a.user),
        ("APN password", &a.password),
    ] {
        if v.chars()
            .any(|c| c == ',' || c == '=' || c == '"' || c.is_control())
        {
            return Err(format!(
                "{what} must not contain ',', '=', quotes or control characters"
            ));
        }
    }
    if !m.pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the SIM PIN must be digits".into());
    }
    let ip_type = match a.pdp_type.as_str() {
        "IP" => "ipv4",
        "IPV6" => "ipv6",
        _ => "ipv4v6",
    };
    let auth = match a.auth {
        Auth::None => "none",
        Auth::Pap => "pap",
        Auth::Chap => "chap",
    };
    Ok(format!(
        "# Written by osect-provision; read by osect-modem-setup.\n\
         OSECT_APN={}\nOSECT_APN_AUTH={auth}\nOSECT_APN_USER={}\nOSECT_APN_PASSWORD={}\n\
         OSECT_IP_TYPE={ip_type}\nOSECT_SIM_PIN={}\n",
        a.apn, a.user, a.password, m.pin
    ))
}

/// Gives a file to the agent's user (nothing if `user` is empty).
pub fn give_to(path: &Path, user: &str) -> Result<(), String> {
    if user.is_empty() {
        return Ok(());
    }
    let u = nix::unistd::User::from_name(user)
        .map_err(|e| format!("cannot look up user {user}: {e}"))?
        .ok_or_else(|| format!("agent user {user} does not exist on this system"))?;
    nix::unistd::chown(path, Some(u.uid), Some(u.gid))
        .map_err(|e| format!("cannot give {} to {user}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_settings_keep_factory_keys() {
        let dev = DeviceDir::new(Path::new("/data"));
        let mut t = factory_config(&dev, "OSD-000001", "core:4433", "collector.osect");
        let site = Site {
            site_id: "plant-7".into(),
            interface: "enp3s0".into(),
            batch_interval_secs: 30,
            core_endpoint: "core-eu:4433".into(),
            labels: vec!["line=2".into()],
            open: true,
        };
        apply_site(&mut t, &site);
        let text = toml::to_string(&t).unwrap();
        let back: Table = text.parse().unwrap();
        assert_eq!(back["device"]["id"].as_str(), Some("OSD-000001"));
        assert_eq!(back["device"]["site"].as_str(), Some("plant-7"));
        assert_eq!(back["capture"]["interface"].as_str(), Some("enp3s0"));
        assert_eq!(back["batch"]["interval_secs"].as_integer(), Some(30));
        assert_eq!(back["uplink"]["endpoint"].as_str(), Some("core-eu:4433"));
        assert_eq!(back["uplink"]["enabled"].as_bool(), Some(true));
        assert_eq!(
            back["uplink"]["key"].as_str(),
            Some("/data/identity/device.key")
        );
    }
}
