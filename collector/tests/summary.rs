//! `summary` on stored batches: who made each device comes from the asset
//! ledger's rows, by the vendor fields the engine names.

mod support;

use osect_collector::export::{self, Selection};
use osect_collector::store::Store;
use osect_wire::batch;
use osect_wire::{FieldType, Record, Value};

const T0: i64 = 1_700_000_000_000_000;

/// A row of the project's `path` log at `T0`, with the named fields set and
/// the others unset.
fn row(path: &str, set: &[(&str, Value)]) -> Record {
    let schema = support::project_schema(path);
    let mut r = support::row(schema, T0 + 5, "");
    for (f, v) in schema.fields.iter().zip(r.values.iter_mut()) {
        let given = set.iter().find(|(n, _)| *n == f.name);
        match given {
            Some((_, value)) => *v = value.clone(),
            None if f.ty != FieldType::Time => *v = Value::Unset,
            None => {}
        }
    }
    r
}

fn summary_of(records: Vec<Record>) -> String {
    let d = tempfile::tempdir().unwrap();
    let mut store = Store::open(d.path()).unwrap();
    let frame = support::encode("OSS-1", "site-a", 1, T0, records);
    let info = batch::read_frame_info(&frame).unwrap();
    store
        .insert(&info, "site-a", &[1; 32], &frame, T0, "test")
        .unwrap();
    let sel = Selection {
        device: None,
        site: None,
        from_us: i64::MIN,
        to_us: i64::MAX,
    };
    let mut out = Vec::new();
    export::summary(&store, &sel, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The "hosts and vendors" lines of a summary, as (host, vendor).
fn vendors(summary: &str) -> Vec<(String, String)> {
    summary
        .lines()
        .skip_while(|l| !l.starts_with("-- hosts and vendors"))
        .skip(1)
        .take_while(|l| !l.starts_with("--"))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_owned(), w.collect::<Vec<_>>().join(" ")))
        })
        .collect()
}

#[test]
fn vendors_come_from_the_ledger_by_the_engines_vendor_fields() {
    let ied = row(
        "asset",
        &[
            ("mac", Value::from("00:50:c2:4f:90:6f")),
            ("oui_vendor", Value::from("IEEE Registration Authority")),
            ("vendor", Value::from("ACME Grid")),
        ],
    );
    let hmi = row(
        "asset",
        &[
            ("mac", Value::from("00:0c:29:3a:10:14")),
            ("oui_vendor", Value::from("VMware, Inc.")),
        ],
    );
    // The identify response names the server's vendor on a row whose first
    // address is the client's: only the ledger's row says whose it is.
    let identify = row(
        "mms",
        &[
            ("id.orig_h", Value::from("192.168.10.20")),
            ("vendor_name", Value::from("ACME Grid")),
        ],
    );
    let s = summary_of(vec![ied, hmi, identify]);
    let want = |h: &str, v: &str| (h.to_owned(), v.to_owned());
    assert_eq!(
        vendors(&s),
        [
            want("00:0c:29:3a:10:14", "VMware, Inc."),
            want("00:50:c2:4f:90:6f", "ACME Grid"),
        ],
        "{s}"
    );
}
