//! Which customer a site belongs to, from the fleet list the registry
//! writes (`<device-serial>\t<site>\t<customer>\t<state>`, `#` comments).
//! Without a list (the demo) every site belongs to [`DEFAULT_CUSTOMER`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

pub const DEFAULT_CUSTOMER: &str = "default";

#[derive(Debug, Default)]
pub struct Fleet {
    /// Whether a list was read at all: with one, a site it does not name
    /// belongs to no customer (operators only).
    listed: bool,
    sites: HashMap<String, String>,
    devices: HashMap<String, String>,
}

impl Fleet {
    /// Parses a fleet list; lines that are not four tab-separated fields
    /// are skipped and reported with their line number.
    pub fn parse(text: &str, source: &str) -> Fleet {
        let mut fleet = Fleet {
            listed: true,
            ..Fleet::default()
        };
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            match f.as_slice() {
                [serial, site, customer, _state]
                    if !serial.is_empty() && !site.is_empty() && !customer.is_empty() =>
                {
                    fleet
                        .sites
                        .insert((*site).to_owned(), (*customer).to_owned());
                    fleet
                        .devices
                        .insert((*serial).to_owned(), (*site).to_owned());
                }
                _ => log::warn!(
                    "{source} line {}: expected <serial>\\t<site>\\t<customer>\\t<state>, skipped",
                    i + 1
                ),
            }
        }
        fleet
    }

    /// The customer a site belongs to; `None` for a site the list does not name.
    pub fn customer_of(&self, site: &str) -> Option<&str> {
        if !self.listed {
            return Some(DEFAULT_CUSTOMER);
        }
        self.sites.get(site).map(String::as_str)
    }

    /// The registry's site of a device; the batch header's site otherwise
    /// (a device cannot move itself to another customer's site this way
    /// once it is listed).
    pub fn site_of<'a>(&'a self, device: &str, header_site: &'a str) -> &'a str {
        self.devices.get(device).map_or(header_site, String::as_str)
    }

    /// Every site the list names.
    pub fn sites(&self) -> impl Iterator<Item = &str> {
        self.sites.keys().map(String::as_str)
    }
}

/// The fleet list, read again when its modification time changes.
pub struct FleetSource {
    path: Option<PathBuf>,
    cached: Mutex<(Option<SystemTime>, Arc<Fleet>)>,
}

impl FleetSource {
    pub fn new(path: Option<PathBuf>) -> FleetSource {
        FleetSource {
            path,
            cached: Mutex::new((None, Arc::new(Fleet::default()))),
        }
    }

    /// The current list. A list that cannot be read keeps the last one read
    /// (and, before any, gives no site to any customer).
    pub fn current(&self) -> Arc<Fleet> {
        let Ok(mut cached) = self.cached.lock() else {
            return Arc::new(Fleet::default());
        };
        let Some(path) = &self.path else {
            return cached.1.clone();
        };
        let mtime = std::fs::metadata(path).and_then(|m| m.modified());
        match mtime {
            Ok(m) if cached.0 == Some(m) => {}
            Ok(m) => match std::fs::read_to_string(path) {
                Ok(text) => {
                    *cached = (
                        Some(m),
                        Arc::new(Fleet::parse(&text, &path.display().to_string())),
                    )
                }
                Err(e) => log::warn!(
                    "fleet list {}: {e}; keeping the last one read",
                    path.display()
                ),
            },
            Err(e) => {
                if cached.0.is_none() && !cached.1.listed {
                    cached.1 = Arc::new(Fleet {
                        listed: true,
                        ..Fleet::default()
                    });
                }
                log::warn!(
                    "fleet list {}: {e}; keeping the last one read",
                    path.display()
                );
            }
        }
        cached.1.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sites_and_customers_and_skips_bad_lines() {
        let f = Fleet::parse(
            "# serial site customer state\nSN-1\tplant-a\tacme\tactive\nbroken line\nSN-2\tplant-b\tglobex\tsuspended\n",
            "test",
        );
        assert_eq!(f.customer_of("plant-a"), Some("acme"));
        assert_eq!(f.customer_of("plant-b"), Some("globex"));
        assert_eq!(f.customer_of("plant-c"), None);
        assert_eq!(f.site_of("SN-2", "plant-a"), "plant-b");
        assert_eq!(f.site_of("SN-9", "plant-x"), "plant-x");
    }

    #[test]
    fn without_a_list_every_site_is_the_default_customers() {
        let f = FleetSource::new(None).current();
        assert_eq!(f.customer_of("anything"), Some(DEFAULT_CUSTOMER));
    }

    #[test]
    fn a_changed_list_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fleet.tsv");
        std::fs::write(&path, "SN-1\tplant-a\tacme\tactive\n").unwrap();
        let src = FleetSource::new(Some(path.clone()));
        assert_eq!(src.current().customer_of("plant-a"), Some("acme"));
        std::fs::write(&path, "SN-1\tplant-a\tglobex\tactive\n").unwrap();
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(src.current().customer_of("plant-a"), Some("globex"));
    }

    #[test]
    fn a_missing_list_gives_no_site_to_any_customer() {
        let src = FleetSource::new(Some(PathBuf::from("/nonexistent/fleet.tsv")));
        assert_eq!(src.current().customer_of("plant-a"), None);
    }
}
