//! How settled a site's baseline is: days learned, new items per day (the
//! learning curve) and items per device.

use crate::model::{DeviceKey, Micros, DAY};
use crate::site::SiteState;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Still inside the learning period.
    Learning,
    /// Learning is over but new items kept appearing in the last days.
    Settling,
    /// No new item for [`SETTLED_DAYS`] days.
    Settled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Learning => "learning",
            Status::Settling => "settling",
            Status::Settled => "settled",
        }
    }
}

/// Days without a new item after which a baseline is settled.
pub const SETTLED_DAYS: i64 = 3;
/// Days of the learning curve shown.
pub const CURVE_DAYS: i64 = 14;

#[derive(Debug, Serialize)]
pub struct Coverage {
    pub status: Status,
    pub learning_start: Option<Micros>,
    pub learning_end: Option<Micros>,
    /// Days of records learned so far (up to the learning period).
    pub days_learned: f64,
    /// New devices, pairs and operations per day, oldest first, the last
    /// [`CURVE_DAYS`] days up to the site's latest record.
    pub curve: Vec<(i64, u64)>,
    pub devices: usize,
    pub pairs: usize,
    pub operations: usize,
    /// Of those, in the baseline.
    pub devices_learned: usize,
    pub pairs_learned: usize,
    pub operations_learned: usize,
    /// Per device: pairs it is part of and operations on them.
    pub items_per_device: Vec<(DeviceKey, usize, usize)>,
}

pub fn coverage(s: &SiteState) -> Coverage {
    let c = &s.meta.config;
    let now = s.meta.last_record;
    let today = c.day_of(now);
    let curve: Vec<(i64, u64)> = (today - CURVE_DAYS + 1..=today)
        .map(|d| (d, s.meta.new_per_day.get(&d).copied().unwrap_or(0)))
        .collect();
    let learning_end = c.learning_end();
    let days_learned = match (c.learning_start, learning_end) {
        (Some(start), Some(end)) => (now.min(end) - start).max(0) as f64 / DAY as f64,
        _ => 0.0,
    };
    let recent_new: u64 = curve
        .iter()
        .rev()
        .take(SETTLED_DAYS as usize)
        .map(|(_, n)| n)
        .sum();
    let status = if c.is_learning(now) {
        Status::Learning
    } else if recent_new > 0 {
        Status::Settling
    } else {
        Status::Settled
    };
    let mut per: BTreeMap<&DeviceKey, (usize, usize)> = BTreeMap::new();
    for p in s.pairs.values() {
        per.entry(&p.key.orig).or_default().0 += 1;
        per.entry(&p.key.resp).or_default().0 += 1;
    }
    for o in s.operations.values() {
        if let Some(p) = s.pairs.get(&o.pair) {
            per.entry(&p.key.orig).or_default().1 += 1;
            per.entry(&p.key.resp).or_default().1 += 1;
        }
    }
    Coverage {
        status,
        learning_start: c.learning_start,
        learning_end,
        days_learned,
        curve,
        devices: s.devices.len(),
        pairs: s.pairs.len(),
        operations: s.operations.len(),
        devices_learned: s.devices.values().filter(|d| d.learned.is_some()).count(),
        pairs_learned: s.pairs.values().filter(|p| p.learned.is_some()).count(),
        operations_learned: s
            .operations
            .values()
            .filter(|o| o.learned.is_some())
            .count(),
        items_per_device: s
            .devices
            .keys()
            .map(|k| {
                let (p, o) = per.get(k).copied().unwrap_or_default();
                (k.clone(), p, o)
            })
            .collect(),
    }
}
