//! The fleet list: which site each device serves, written by the fleet
//! registry (`osect-provision`) and re-read by `serve` when it changes.
//!
//! One line per assigned device, `<serial>\t<site>\t<customer>\t<state>`,
//! state `active` or `suspended`; `#` starts a comment. Names are 1 to 64 of
//! `A-Z a-z 0-9 . _ -`. A batch belongs to the site the list assigns its
//! sender to, whatever its header says: a device holding a stolen key must
//! not be able to put records into another customer's site.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use osect_wire::name::{valid_name, MAX_NAME};
/// Most devices one list may assign: a bound on what a list can make the
/// collector keep in memory.
pub const MAX_DEVICES: usize = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Active,
    /// Contract suspended: batches are refused (and stay in the unit's
    /// spool) without the certificate being revoked.
    Suspended,
}

/// Where the registry assigns a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub site: String,
    pub customer: String,
    pub state: State,
}

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("fleet list {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("fleet list {path} line {line}: {message}")]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// A parsed fleet list.
#[derive(Clone, Debug, Default)]
pub struct FleetList {
    devices: HashMap<String, Assignment>,
}

impl FleetList {
    pub fn load(path: &Path) -> Result<FleetList, FleetError> {
        let text = std::fs::read_to_string(path).map_err(|source| FleetError::Read {
            path: path.to_owned(),
            source,
        })?;
        FleetList::parse(&text, path)
    }

    /// Parses the list's text; `path` only names it in errors. A list with
    /// one bad line is refused whole, so a half-written or damaged list never
    /// moves a device.
    pub fn parse(text: &str, path: &Path) -> Result<FleetList, FleetError> {
        let mut devices = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let fail = |message: String| FleetError::Line {
                path: path.to_owned(),
                line: i + 1,
                message,
            };
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let [serial, site, customer, state] = cols.as_slice() else {
                return Err(fail(format!(
                    "{} tab-separated columns, expected 4 (device, site, customer, state)",
                    cols.len()
                )));
            };
            for (what, v) in [("device", serial), ("site", site), ("customer", customer)] {
                if !valid_name(v) {
                    return Err(fail(format!(
                        "{what} {v:?} is not a name (1 to {MAX_NAME} of A-Z a-z 0-9 . _ -)"
                    )));
                }
            }
            let state = match *state {
                "active" => State::Active,
                "suspended" => State::Suspended,
                other => {
                    return Err(fail(format!(
                        "state {other:?}, expected active or suspended"
                    )))
                }
            };
            if devices.len() >= MAX_DEVICES {
                return Err(fail(format!("more than {MAX_DEVICES} devices")));
            }
            let a = Assignment {
                site: (*site).to_owned(),
                customer: (*customer).to_owned(),
                state,
            };
            if devices.insert((*serial).to_owned(), a).is_some() {
                return Err(fail(format!("device {serial} listed twice")));
            }
        }
        Ok(FleetList { devices })
    }

    /// A list assigning only `device`, active, to `site` (what an operator
    /// states for one returned unit).
    pub fn single(device: &str, site: &str) -> FleetList {
        let a = Assignment {
            site: site.to_owned(),
            customer: String::new(),
            state: State::Active,
        };
        FleetList {
            devices: HashMap::from([(device.to_owned(), a)]),
        }
    }

    pub fn get(&self, device: &str) -> Option<&Assignment> {
        self.devices.get(device)
    }

    pub fn len(&self) -> usize {
        self.devices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }
}

/// Why a device's batch is not taken, with the counter's reason key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attribution {
    /// Store under this site. `claimed` is the header's site when it differs
    /// (the mismatch is logged).
    Site {
        site: String,
        claimed: Option<String>,
    },
    /// The device is not in the fleet list.
    Unknown,
    /// The device's contract is suspended.
    Suspended,
    /// No fleet list, and the header's site is not a name (nor empty).
    BadSite,
}

/// The site a batch from `device` claiming `header_site` is stored under.
/// Without a fleet list (the demo, setups from before the registry) the
/// header's site is taken if it is a name or empty (unassigned).
pub fn attribute(fleet: Option<&FleetList>, device: &str, header_site: &str) -> Attribution {
    let Some(fleet) = fleet else {
        if !header_site.is_empty() && !valid_name(header_site) {
            return Attribution::BadSite;
        }
        return Attribution::Site {
            site: header_site.to_owned(),
            claimed: None,
        };
    };
    match fleet.get(device) {
        None => Attribution::Unknown,
        Some(a) if a.state == State::Suspended => Attribution::Suspended,
        Some(a) => Attribution::Site {
            site: a.site.clone(),
            claimed: (a.site != header_site).then(|| header_site.to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FleetList, FleetError> {
        FleetList::parse(text, Path::new("fleet.list"))
    }

    #[test]
    fn lines_parse_and_comments_are_skipped() {
        let f = parse(
            "# osect fleet list\nOSS-1\tplant-a\tacme\tactive\r\n\n  # note\nOSS-2\tplant-b\tacme\tsuspended\n",
        )
        .unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(
            f.get("OSS-1"),
            Some(&Assignment {
                site: "plant-a".into(),
                customer: "acme".into(),
                state: State::Active
            })
        );
        assert_eq!(f.get("OSS-2").map(|a| a.state), Some(State::Suspended));
        assert_eq!(f.get("OSS-3"), None);
    }

    #[test]
    fn bad_lines_are_refused_with_their_line_number() {
        for (text, want) in [
            ("OSS-1\tplant-a\tacme\n", "line 1: 3 tab-separated columns"),
            ("#\nOSS-1\t../x\tacme\tactive\n", "line 2: site \"../x\""),
            ("OSS-1\tplant-a\tacme\tgone\n", "state \"gone\""),
            (
                "OSS-1\tplant-a\tacme\tactive\nOSS-1\tplant-b\tacme\tactive\n",
                "line 2: device OSS-1 listed twice",
            ),
            (&format!("{}\ts\tc\tactive\n", "x".repeat(65)), "device"),
            ("OSS 1\ts\tc\tactive\n", "device \"OSS 1\""),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{e:?} lacks {want:?}");
            assert!(e.starts_with("fleet list fleet.list line"), "{e}");
        }
    }

    #[test]
    fn the_registry_decides_the_site() {
        let f = parse("OSS-1\tplant-a\tacme\tactive\nOSS-2\tplant-b\tbeta\tsuspended\n").unwrap();
        assert_eq!(
            attribute(Some(&f), "OSS-1", "plant-a"),
            Attribution::Site {
                site: "plant-a".into(),
                claimed: None
            }
        );
        assert_eq!(
            attribute(Some(&f), "OSS-1", "plant-b"),
            Attribution::Site {
                site: "plant-a".into(),
                claimed: Some("plant-b".into())
            }
        );
        assert_eq!(
            attribute(Some(&f), "OSS-2", "plant-b"),
            Attribution::Suspended
        );
        assert_eq!(
            attribute(Some(&f), "OSS-9", "plant-a"),
            Attribution::Unknown
        );
        assert_eq!(
            attribute(None, "OSS-9", "anything"),
            Attribution::Site {
                site: "anything".into(),
                claimed: None
            }
        );
        assert_eq!(
            attribute(None, "OSS-9", ""),
            Attribution::Site {
                site: String::new(),
                claimed: None
            }
        );
        assert_eq!(attribute(None, "OSS-9", "../b"), Attribution::BadSite);
        // With a list, the header's site is only compared, never used.
        assert_eq!(
            attribute(Some(&f), "OSS-1", "../b"),
            Attribution::Site {
                site: "plant-a".into(),
                claimed: Some("../b".into())
            }
        );
    }
}
