//! The crash state file (`agent-state`): what survives a power cut or
//! `kill -9`, see the `run` module docs.

use crate::spool::write_atomic;
use std::path::Path;

/// What survives a crash: see the module docs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct State {
    pub last_seq: u64,
    /// Start of the interval open when the state was written; 0 after a
    /// clean stop.
    pub open_start_us: i64,
    pub open_packets: u64,
    /// Lost intervals not yet reported in a batch header: how many, the
    /// start of the last one, the packets they had seen.
    pub lost_intervals: u64,
    pub lost_start_us: i64,
    pub lost_packets: u64,
}

impl State {
    pub fn load(path: &Path) -> State {
        let Ok(text) = std::fs::read_to_string(path) else {
            return State::default();
        };
        let mut s = State::default();
        for line in text.lines() {
            let mut it = line.split_whitespace();
            match (it.next(), it.next().and_then(|v| v.parse::<i64>().ok())) {
                (Some("last_seq"), Some(v)) => s.last_seq = v.max(0) as u64,
                (Some("open_start_us"), Some(v)) => s.open_start_us = v,
                (Some("open_packets"), Some(v)) => s.open_packets = v.max(0) as u64,
                (Some("lost_intervals"), Some(v)) => s.lost_intervals = v.max(0) as u64,
                (Some("lost_start_us"), Some(v)) => s.lost_start_us = v,
                (Some("lost_packets"), Some(v)) => s.lost_packets = v.max(0) as u64,
                _ => log::warn!("{}: ignoring line {line:?}", path.display()),
            }
        }
        s
    }

    pub fn save(&self, path: &Path) {
        let text = format!(
            "last_seq {}\nopen_start_us {}\nopen_packets {}\nlost_intervals {}\nlost_start_us {}\nlost_packets {}\n",
            self.last_seq,
            self.open_start_us,
            self.open_packets,
            self.lost_intervals,
            self.lost_start_us,
            self.lost_packets
        );
        if let Err(e) = write_atomic(path, text.as_bytes()) {
            log::error!("cannot write {}: {e}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_tolerates_junk() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("agent-state");
        assert_eq!(State::load(&p), State::default());
        let s = State {
            last_seq: 41,
            open_start_us: 1_700_000_000_000_000,
            open_packets: 77,
            lost_intervals: 2,
            lost_start_us: 1_699_999_940_000_000,
            lost_packets: 5,
        };
        s.save(&p);
        assert_eq!(State::load(&p), s);
        std::fs::write(&p, "last_seq 5\ngarbage\nopen_packets x\n").unwrap();
        assert_eq!(State::load(&p).last_seq, 5);
    }
}
