//! What IEC 61850 GOOSE is to the engine and the core.
//!
//! A GOOSE message publishes a data set's values to every subscriber: an
//! unsolicited report, neither a read nor a write of the publisher.
//!
//! Batches fold its rows: a publisher repeats its last message at the
//! heartbeat, each repetition with the next `sq_num`, the per-event field.
//! A state change increments `st_num` and sets `t` (`goose_t_sec`,
//! `goose_t_nanosec`) once, so each state is its own row, counted.
//! `time_allowed_to_live` stays in the key: steady at the heartbeat, it
//! shortens in the retransmission burst that follows a change, a few rows
//! that show the burst.

use crate::asset::Role;
use crate::protocols::{other, Descriptor, Recognition};
use osect_wire::protocol::{Fold, LogInfo, OpClass, OperationSpec, ProtocolInfo};
use osect_wire::Record;

pub const PUBLISHER: Role = Role::new("goose_publisher");

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "goose",
        logs: &[LogInfo {
            schema: &super::GOOSE,
            fold: Fold::Yes {
                per_event: &["sq_num"],
            },
            operation: Some(OperationSpec {
                key: &["gocb_ref", "dat_set"],
                classify,
            }),
        }],
        industrial: true,
    },
    recognition: Recognition::Ethernet {
        decode: super::handle,
        ethertype: super::ETHERTYPE,
    },
    roles: &[PUBLISHER],
    identities: &[],
};

fn classify(_: &Record) -> OpClass {
    other()
}

#[cfg(test)]
mod tests {
    use crate::protocols::tests::row;
    use osect_wire::Value;

    /// A message of the control block as a row: state `st`, repetition
    /// `sq`, at `ts` seconds.
    fn message(ts: u64, st: &str, sq: &str, tal: &str) -> osect_wire::Record {
        let mut r = row(
            &super::super::GOOSE,
            &[
                ("gocb_ref", "IED1LD0/LLN0$GO$gcbStatus"),
                ("dat_set", "IED1LD0/LLN0$StatusDS"),
                ("time_allowed_to_live", tal),
                ("st_num", st),
                ("sq_num", sq),
            ],
        );
        r.values[0] = Value::Time(ts as i64 * 1_000_000);
        r
    }

    #[test]
    fn heartbeats_fold_per_state() {
        // Three heartbeats of state 1, a change, a retransmission burst
        // with a shorter time allowed to live, then heartbeats of state 2.
        let rows = vec![
            message(0, "1", "7", "2000"),
            message(1, "1", "8", "2000"),
            message(2, "1", "9", "2000"),
            message(3, "2", "0", "20"),
            message(4, "2", "1", "2000"),
            message(5, "2", "2", "2000"),
        ];
        let folded = crate::batch::aggregate(rows);
        let got: Vec<_> = folded
            .iter()
            .map(|r| {
                let text = |f| osect_wire::protocol::text_of(r, f).unwrap_or_default();
                (text("st_num"), text("ts"), text("ts_end"), text("count"))
            })
            .collect();
        let want = [
            ("1", "0", "2000000", "3"),
            ("2", "3000000", "3000000", "1"),
            ("2", "4000000", "5000000", "2"),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
            .collect();
        assert_eq!(got, want);
        assert!(folded.iter().all(|r| r.get("sq_num").is_none()));
    }
}
