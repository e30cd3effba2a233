//! The network side: PDP context (APN and its authentication), registration,
//! signal quality and operator.

use super::at::{self, AtError, Expect};
use super::Modem;
use serde::Deserialize;

/// The PDP context used for data.
pub const CID: u8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    #[default]
    None,
    Pap,
    Chap,
}

impl Auth {
    fn code(self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::Pap => 1,
            Auth::Chap => 2,
        }
    }
}

/// The APN settings of the data context.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Apn {
    pub apn: String,
    #[serde(default)]
    pub auth: Auth,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub password: String,
    /// `IP`, `IPV6` or `IPV4V6`.
    #[serde(default = "default_pdp")]
    pub pdp_type: String,
}

fn default_pdp() -> String {
    "IPV4V6".into()
}

/// Registration status (`+CEREG`/`+CREG` `<stat>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    NotSearching,
    Home,
    Searching,
    Denied,
    Unknown,
    Roaming,
    /// Other values (SMS-only, emergency-only, ...), kept as the number.
    Other(u8),
}

impl Registration {
    fn from_stat(n: u8) -> Registration {
        match n {
            0 => Registration::NotSearching,
            1 => Registration::Home,
            2 => Registration::Searching,
            3 => Registration::Denied,
            4 => Registration::Unknown,
            5 => Registration::Roaming,
            n => Registration::Other(n),
        }
    }

    pub fn is_registered(self) -> bool {
        matches!(self, Registration::Home | Registration::Roaming)
    }
}

impl std::fmt::Display for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Registration::NotSearching => f.write_str("not registered, not searching"),
            Registration::Home => f.write_str("registered, home network"),
            Registration::Searching => f.write_str("not registered, searching"),
            Registration::Denied => f.write_str("registration denied"),
            Registration::Unknown => f.write_str("unknown"),
            Registration::Roaming => f.write_str("registered, roaming"),
            Registration::Other(n) => write!(f, "status {n}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// From `AT+CSQ`, in dBm; None when the modem does not know.
    pub rssi_dbm: Option<i32>,
    /// From `AT+CESQ` (LTE), in dBm.
    pub rsrp_dbm: Option<i32>,
    /// From `AT+CESQ` (LTE), in dB.
    pub rsrq_db: Option<f32>,
}

impl Modem {
    /// The data context's current settings, if it is defined.
    pub fn apn(&mut self) -> Result<Option<(String, String)>, AtError> {
        let lines = self.cmd("AT+CGDCONT?", Expect::Prefix("+CGDCONT:"))?;
        for l in lines {
            let f = at::fields(&l);
            if f.first().map(String::as_str) == Some(&CID.to_string()) {
                let pdp = f
                    .get(1)
                    .map(|s| at::unquote(s).to_string())
                    .unwrap_or_default();
                let apn = f
                    .get(2)
                    .map(|s| at::unquote(s).to_string())
                    .unwrap_or_default();
                return Ok(Some((pdp, apn)));
            }
        }
        Ok(None)
    }

    /// Undefines the data context (a bare `+CGDCONT=<cid>`).
    pub fn clear_apn(&mut self) -> Result<(), AtError> {
        self.cmd(&format!("AT+CGDCONT={CID}"), Expect::Nothing)
            .map(|_| ())
    }

    /// Defines the data context and its authentication.
    pub fn set_apn(&mut self, apn: &Apn) -> Result<(), AtError> {
        let bad = |detail: String| AtError::Malformed {
            cmd: "AT+CGDCONT".into(),
            detail,
        };
        if !matches!(apn.pdp_type.as_str(), "IP" | "IPV6" | "IPV4V6") {
            return Err(bad(format!(
                "PDP type {:?} is not IP, IPV6 or IPV4V6",
                apn.pdp_type
            )));
        }
        let name = at::quote("APN", &apn.apn).map_err(bad)?;
        self.cmd(
            &format!("AT+CGDCONT={CID},\"{}\",{name}", apn.pdp_type),
            Expect::Nothing,
        )?;
        let user = at::quote("APN user", &apn.user).map_err(bad)?;
        let pass = at::quote("APN password", &apn.password).map_err(bad)?;
        let cmd = match apn.auth {
            Auth::None => format!("AT+CGAUTH={CID},0"),
            a => format!("AT+CGAUTH={CID},{},{user},{pass}", a.code()),
        };
        match self.cmd(&cmd, Expect::Nothing) {
            Ok(_) => Ok(()),
            // Without authentication, a modem lacking +CGAUTH needs nothing more.
            Err(e) if apn.auth == Auth::None && e.is_unsupported() => Ok(()),
            Err(e) => Err(match e {
                AtError::Cme { kind, code, .. } => AtError::Cme {
                    cmd: format!("AT+CGAUTH={CID},{},<user>,<password>", apn.auth.code()),
                    kind,
                    code,
                },
                other => other,
            }),
        }
    }

    /// Packet-domain registration: EPS (`+CEREG`), falling back to `+CREG`.
    pub fn registration(&mut self) -> Result<Registration, AtError> {
        match self.cmd("AT+CEREG?", Expect::Prefix("+CEREG:")) {
            Ok(lines) => solicited_stat("AT+CEREG?", &lines),
            Err(e) if e.is_unsupported() => {
                let lines = self.cmd("AT+CREG?", Expect::Prefix("+CREG:"))?;
                solicited_stat("AT+CREG?", &lines)
            }
            Err(e) => Err(e),
        }
    }

    pub fn signal(&mut self) -> Result<Signal, AtError> {
        let csq = self.query_one("AT+CSQ", Expect::Prefix("+CSQ:"))?;
        let rssi = at::fields(&csq)
            .first()
            .and_then(|s| s.parse::<i32>().ok())
            .ok_or_else(|| AtError::Malformed {
                cmd: "AT+CSQ".into(),
                detail: format!("{csq:?}"),
            })?;
        let rssi_dbm = (0..=31).contains(&rssi).then_some(-113 + 2 * rssi);
        let (mut rsrq_db, mut rsrp_dbm) = (None, None);
        match self.query_one("AT+CESQ", Expect::Prefix("+CESQ:")) {
            Ok(line) => {
                let f: Vec<Option<i32>> =
                    at::fields(&line).iter().map(|s| s.parse().ok()).collect();
                if let Some(Some(q)) = f.get(4) {
                    rsrq_db = (0..=34).contains(q).then(|| -20.0 + *q as f32 * 0.5);
                }
                if let Some(Some(p)) = f.get(5) {
                    rsrp_dbm = (0..=97).contains(p).then_some(-141 + *p);
                }
            }
            Err(e) if e.is_unsupported() => {}
            Err(e) => return Err(e),
        }
        Ok(Signal {
            rssi_dbm,
            rsrp_dbm,
            rsrq_db,
        })
    }

    /// The operator's name, if registered.
    pub fn operator(&mut self) -> Result<Option<String>, AtError> {
        let line = self.query_one("AT+COPS?", Expect::Prefix("+COPS:"))?;
        Ok(at::fields(&line).get(2).map(|s| at::unquote(s).to_string()))
    }
}

/// The `<stat>` of a solicited `+CEREG: <n>,<stat>[,...]` answer. An unsolicited
/// `+CEREG: <stat>[,"tac","ci",act]` arriving at the same time has either one
/// field or a quoted second field, so it is skipped.
fn solicited_stat(cmd: &str, lines: &[String]) -> Result<Registration, AtError> {
    for l in lines {
        let f = at::fields(l);
        if let (Some(_n), Some(stat)) = (f.first(), f.get(1)) {
            if let Ok(stat) = stat.parse::<u8>() {
                return Ok(Registration::from_stat(stat));
            }
        }
    }
    Err(AtError::Malformed {
        cmd: cmd.into(),
        detail: format!("no registration status in {lines:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solicited_registration_skips_urcs() {
        let lines = vec![
            "1,\"1A2B\",\"01A2B3C4\",7".to_string(),
            "5".to_string(),
            "2,5,\"1A2B\",\"01A2B3C4\",7".to_string(),
        ];
        assert_eq!(
            solicited_stat("AT+CEREG?", &lines).unwrap(),
            Registration::Roaming
        );
        assert!(solicited_stat("AT+CEREG?", &["1".to_string()]).is_err());
    }
}
