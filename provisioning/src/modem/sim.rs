//! The SIM card: state and PIN (`AT+CPIN`), ICCID (standard and vendor
//! commands), IMSI.

use super::at::{self, AtError, CmeCode, Expect};
use super::Modem;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimState {
    Ready,
    PinRequired,
    PukRequired,
    NotInserted,
    /// Another `+CPIN:` answer (PH-SIM PIN, PIN2, ...), kept verbatim.
    Other(String),
}

impl std::fmt::Display for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimState::Ready => f.write_str("ready"),
            SimState::PinRequired => f.write_str("PIN required"),
            SimState::PukRequired => f.write_str("PUK required (SIM blocked)"),
            SimState::NotInserted => f.write_str("not inserted"),
            SimState::Other(s) => write!(f, "{s}"),
        }
    }
}

/// ICCID commands, standard first, then the vendor variants (Quectel, Huawei,
/// Sierra/Telit), each with the prefix its answer carries.
const ICCID_COMMANDS: &[(&str, &[&str])] = &[
    ("AT+CCID", &["+CCID:", "+ICCID:"]),
    ("AT+QCCID", &["+QCCID:"]),
    ("AT^ICCID?", &["^ICCID:"]),
    ("AT+ICCID", &["+ICCID:", "ICCID:"]),
];

impl Modem {
    pub fn sim_state(&mut self) -> Result<SimState, AtError> {
        match self.query_one("AT+CPIN?", Expect::Prefix("+CPIN:")) {
            Ok(s) => Ok(match at::unquote(&s) {
                "READY" => SimState::Ready,
                "SIM PIN" => SimState::PinRequired,
                "SIM PUK" => SimState::PukRequired,
                other => SimState::Other(other.to_string()),
            }),
            Err(e) => match e.cme() {
                Some(CmeCode::Num(10)) => Ok(SimState::NotInserted),
                Some(CmeCode::Text(t)) if t.eq_ignore_ascii_case("SIM not inserted") => {
                    Ok(SimState::NotInserted)
                }
                _ => Err(e),
            },
        }
    }

    /// Enters the PIN once. A wrong PIN is never retried: each try uses up one
    /// of the SIM's few attempts before it blocks.
    pub fn enter_pin(&mut self, pin: &str) -> Result<(), AtError> {
        if !(4..=8).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AtError::Malformed {
                cmd: "AT+CPIN".into(),
                detail: "the SIM PIN must be 4 to 8 digits".into(),
            });
        }
        // The command is not logged with the PIN in it.
        self.cmd(&format!("AT+CPIN=\"{pin}\""), Expect::Nothing)
            .map(|_| ())
            .map_err(|e| match e {
                AtError::Cme { kind, code, .. } => AtError::Cme {
                    cmd: "AT+CPIN=<pin>".into(),
                    kind,
                    code,
                },
                AtError::Error { .. } => AtError::Error {
                    cmd: "AT+CPIN=<pin>".into(),
                },
                other => other,
            })
    }

    /// The SIM's ICCID (18 to 20 digits), trying vendor commands in turn.
    pub fn iccid(&mut self) -> Result<String, AtError> {
        let mut last = None;
        for (cmd, prefixes) in ICCID_COMMANDS {
            match self.query_one(cmd, Expect::Text(prefixes)) {
                Ok(line) => return parse_iccid(cmd, &line),
                Err(e) if e.is_unsupported() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        // Last resort: read EF_ICCID (file 2FE2) through restricted SIM access.
        match self.query_one("AT+CRSM=176,12258,0,0,10", Expect::Prefix("+CRSM:")) {
            Ok(line) => parse_crsm_iccid(&line),
            Err(e) if e.is_unsupported() => Err(last.unwrap_or(e)),
            Err(e) => Err(e),
        }
    }

    pub fn imsi(&mut self) -> Result<String, AtError> {
        let line = self.query_one("AT+CIMI", Expect::Text(&["+CIMI:"]))?;
        let imsi = at::unquote(&line);
        if !(6..=15).contains(&imsi.len()) || !imsi.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AtError::Malformed {
                cmd: "AT+CIMI".into(),
                detail: format!("{imsi:?} is not an IMSI"),
            });
        }
        Ok(imsi.to_string())
    }
}

fn parse_iccid(cmd: &str, line: &str) -> Result<String, AtError> {
    // Some modems pad with a trailing F (odd digit count in BCD).
    let v = at::unquote(line).trim_end_matches(['F', 'f']);
    if !(18..=20).contains(&v.len()) || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AtError::Malformed {
            cmd: cmd.into(),
            detail: format!("{line:?} is not an ICCID"),
        });
    }
    Ok(v.to_string())
}

/// `+CRSM: 144,0,"98101430121181157002"`: BCD with swapped nibbles.
fn parse_crsm_iccid(line: &str) -> Result<String, AtError> {
    let f = at::fields(line);
    let cmd = "AT+CRSM=176,12258,0,0,10";
    let (Some(sw1), Some(data)) = (f.first(), f.get(2)) else {
        return Err(AtError::Malformed {
            cmd: cmd.into(),
            detail: format!("{line:?} has no data"),
        });
    };
    if sw1 != "144" {
        return Err(AtError::Malformed {
            cmd: cmd.into(),
            detail: format!("SIM status {sw1} (not 144: success)"),
        });
    }
    let raw: Vec<char> = at::unquote(data).chars().collect();
    let swapped: String = raw
        .chunks(2)
        .flat_map(|p| p.iter().rev().copied().collect::<Vec<_>>())
        .collect();
    parse_iccid(cmd, &swapped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iccid_forms() {
        assert_eq!(
            parse_iccid("AT+CCID", "\"89882390000012345678\"").unwrap(),
            "89882390000012345678"
        );
        assert_eq!(
            parse_iccid("AT+QCCID", "8988239000001234567F").unwrap(),
            "8988239000001234567"
        );
        assert!(parse_iccid("AT+CCID", "12AB").is_err());
        assert_eq!(
            parse_crsm_iccid("144,0,\"98882309000021436587\"").unwrap(),
            "89883290000012345678"
        );
        assert!(parse_crsm_iccid("148,4,\"\"").is_err());
    }
}
