//! Period diff: what a site had in one time range and not in another.
//!
//! Items are compared by the days they were active (in the site's time
//! zone), so ranges count in whole days; changed devices come from the
//! attribute history within the second range.

use crate::model::{DaySet, DeviceKey, HistoryEntry, Micros};
use crate::site::SiteState;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: Micros,
    /// Exclusive.
    pub to: Micros,
}

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Diff {
    pub devices_added: Vec<DeviceKey>,
    pub devices_removed: Vec<DeviceKey>,
    /// Devices with attribute changes in the second period, with them.
    pub devices_changed: Vec<(DeviceKey, Vec<HistoryEntry>)>,
    pub pairs_added: Vec<String>,
    pub pairs_removed: Vec<String>,
    pub operations_added: Vec<String>,
    pub operations_removed: Vec<String>,
}

impl Diff {
    /// (added, removed, changed) counts per item type, for the summary line.
    pub fn counts(&self) -> [(usize, usize); 3] {
        [
            (self.devices_added.len(), self.devices_removed.len()),
            (self.pairs_added.len(), self.pairs_removed.len()),
            (self.operations_added.len(), self.operations_removed.len()),
        ]
    }
}

fn active(
    days: &DaySet,
    first: Micros,
    last: Micros,
    p: Period,
    day: impl Fn(Micros) -> i64,
) -> bool {
    first < p.to && last >= p.from && days.any_in(day(p.from), day(p.to - 1))
}

/// The diff of period `b` against period `a`; `history` is the site's
/// attribute history (at least that of `b`).
pub fn diff(state: &SiteState, history: &[HistoryEntry], a: Period, b: Period) -> Diff {
    let day = |t: Micros| state.meta.config.day_of(t);
    let mut d = Diff::default();
    for dev in state.devices.values() {
        let in_a = active(&dev.days, dev.first_seen, dev.last_seen, a, day);
        let in_b = active(&dev.days, dev.first_seen, dev.last_seen, b, day);
        match (in_a, in_b) {
            (false, true) => d.devices_added.push(dev.key.clone()),
            (true, false) => d.devices_removed.push(dev.key.clone()),
            _ => {}
        }
    }
    for p in state.pairs.values() {
        let in_a = active(&p.days, p.first_seen, p.last_seen, a, day);
        let in_b = active(&p.days, p.first_seen, p.last_seen, b, day);
        match (in_a, in_b) {
            (false, true) => d.pairs_added.push(p.key.id()),
            (true, false) => d.pairs_removed.push(p.key.id()),
            _ => {}
        }
    }
    for o in state.operations.values() {
        let in_a = active(&o.days, o.first_seen, o.last_seen, a, day);
        let in_b = active(&o.days, o.first_seen, o.last_seen, b, day);
        match (in_a, in_b) {
            (false, true) => d.operations_added.push(o.id()),
            (true, false) => d.operations_removed.push(o.id()),
            _ => {}
        }
    }
    let mut changed: std::collections::BTreeMap<DeviceKey, Vec<HistoryEntry>> = Default::default();
    for h in history.iter().filter(|h| h.ts >= b.from && h.ts < b.to) {
        // A new device's first values are its arrival, not a change.
        if h.old.is_some() && !d.devices_added.contains(&h.device) {
            changed.entry(h.device.clone()).or_default().push(h.clone());
        }
    }
    d.devices_changed = changed.into_iter().collect();
    d
}
