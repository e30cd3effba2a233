//! Customers, contracts, billing, suspension, termination and the fleet list,
//! through the real `osect-provision` binary. Each worked example has its
//! arithmetic written out. The collector is a small script here standing in
//! for `osect-collector delete` and `residue`, so each of its answers (clean,
//! rows left, no residue command) can be given; the real collector's
//! deletion runs in e2e.rs.

mod support;

use osect_provision::registry::Registry;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use support::{Options, Station};

const FAKE_COLLECTOR: &str = r#"#!/bin/sh
# delete: removes the site's directory in the store (unless the store holds a
# file 'stubborn'); residue: counts what is left (or, when the store holds a
# file 'old', answers as a collector without the residue command).
cmd=$1; shift
store=; site=
while [ $# -gt 0 ]; do
  case $1 in --store) store=$2; shift ;; --site) site=$2; shift ;; esac
  shift
done
echo "$cmd $site" >> "$store/calls"
case $cmd in
  delete)
    n=$(ls "$store/$site" 2>/dev/null | wc -l)
    [ -f "$store/stubborn" ] || rm -rf "${store:?}/$site"
    echo "deleted $n batch(es) of site $site" ;;
  residue)
    if [ -f "$store/old" ]; then echo "error: unrecognized subcommand 'residue'" >&2; exit 2; fi
    n=$(ls "$store/$site" 2>/dev/null | wc -l)
    printf '{"site": "%s", "rows": %d, "tables": {"batches": %d}}\n' "$site" "$n" "$n" ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
"#;

struct World {
    _tmp: tempfile::TempDir,
    s: Station,
    store: PathBuf,
    fleet: PathBuf,
}

impl World {
    fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let script = tmp.path().join("osect-collector");
        std::fs::write(&script, FAKE_COLLECTOR).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let store = tmp.path().join("store");
        std::fs::create_dir(&store).unwrap();
        let s = Station::with(Options {
            collector: script.display().to_string(),
            collector_store: store.clone(),
            ..Options::default()
        });
        let fleet = s.path("fleet.txt");
        World {
            _tmp: tmp,
            s,
            store,
            fleet,
        }
    }

    /// Runs a command with the fleet list option; must succeed.
    fn ok(&self, args: &[&str]) -> String {
        let mut a = vec!["--fleet-list", self.fleet.to_str().unwrap()];
        a.extend_from_slice(args);
        self.s.ok(&a)
    }

    fn fail(&self, args: &[&str]) -> String {
        let mut a = vec!["--fleet-list", self.fleet.to_str().unwrap()];
        a.extend_from_slice(args);
        self.s.fail(&a)
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let out = self.ok(&a);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }

    fn site(&self, site: &str) {
        self.s.site(site, "core.invalid:4433");
    }

    fn customer(&self, id: &str, sites: &[&str]) {
        self.s.customer(id, sites);
    }

    fn unit(&self, serial: &str, site: &str) {
        self.s.bound_unit(serial, site);
    }

    /// A site of a new customer, a unit bound to it and its contract.
    fn applied(
        &self,
        customer: &str,
        site: &str,
        serial: &str,
        applied: &str,
        opening: &str,
    ) -> String {
        self.site(site);
        self.customer(customer, &[site]);
        self.unit(serial, site);
        self.contract(customer, site, applied, opening, serial)
    }

    fn contract(
        &self,
        customer: &str,
        site: &str,
        applied: &str,
        opening: &str,
        dev: &str,
    ) -> String {
        let v = self.json(&[
            "contract",
            "add",
            "--customer",
            customer,
            "--site",
            site,
            "--applied",
            applied,
            "--opening",
            opening,
            "--device",
            dev,
        ]);
        v["contract"].as_i64().unwrap().to_string()
    }

    fn record(&self, id: &str, events: &[(&str, &str)]) {
        for (e, on) in events {
            self.ok(&["contract", "record", id, e, "--on", on]);
        }
    }

    fn fleet(&self) -> Vec<String> {
        std::fs::read_to_string(&self.fleet)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    }

    fn invoice(&self, customer: &str, month: &str, issued: &str) -> Value {
        self.json(&[
            "invoice",
            "make",
            "--customer",
            customer,
            "--month",
            month,
            "--issued",
            issued,
        ])
    }
}

fn lines_yen(inv: &Value) -> Vec<(String, i64)> {
    inv["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap().to_string(),
                l["yen"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn sum(inv: &Value) -> (i64, i64, i64) {
    (
        inv["subtotal"].as_i64().unwrap(),
        inv["tax"].as_i64().unwrap(),
        inv["total"].as_i64().unwrap(),
    )
}

#[test]
fn a_contract_from_application_to_deletion_of_the_data() {
    let w = World::new();
    let id = w.applied("acme", "plant-a", "OSD-000001", "2025-03-03", "2025-04-17");
    assert_eq!(w.fleet(), ["OSD-000001\tplant-a\tacme\tactive"]);

    // Requested opening Thu 2025-04-17: 9 business days before = Fri 04-04
    // (16, 15, 14, 11, 10, 9, 8, 7, 4); delivered 04-01, in time. Installed
    // 04-07, tested 04-14 (by 2 business days before: 04-15). Opened on the
    // day the terms give: 04-17.
    w.record(
        &id,
        &[
            ("accept", "2025-03-05"),
            ("ship", "2025-03-28"),
            ("deliver", "2025-04-01"),
            ("install", "2025-04-07"),
            ("test", "2025-04-14"),
        ],
    );
    w.ok(&["contract", "record", &id, "open"]);
    let c = w.json(&["contract", "show", &id]);
    assert_eq!(c["state"], "open");
    assert_eq!(c["dates"]["delivery_deadline"], "2025-04-04");
    assert_eq!(c["dates"]["delivery_delay_days"], 0);
    assert_eq!(c["dates"]["test_deadline"], "2025-04-15");
    assert_eq!(c["opened_on"], "2025-04-17");
    assert_eq!(c["dates"]["possession_from"], "2025-04-01");
    assert_eq!(c["equipment_owned_from"], Value::Null);

    // April (30 days), opened on the 17th: initial fee 250,000; monthly
    // 60,000 x 14 / 30 = 28,000. Subtotal 278,000, tax 10% 27,800, total
    // 305,800, due at the end of May.
    let april = w.invoice("acme", "2025-04", "2025-05-01");
    assert_eq!(
        lines_yen(&april),
        [("initial".into(), 250_000), ("monthly".into(), 28_000)]
    );
    assert_eq!(sum(&april), (278_000, 27_800, 305_800));
    assert_eq!(april["due_on"], "2025-05-31");
    let april_id = april["id"].as_i64().unwrap().to_string();
    // Paid on the due date: no interest; the sensor and dongle are the
    // customer's from that payment (annex 1, 4.3).
    let p = w.json(&[
        "payment",
        "add",
        "--invoice",
        &april_id,
        "--yen",
        "305800",
        "--on",
        "2025-05-31",
    ]);
    assert_eq!(
        (p["interest_days"].as_i64(), p["interest_yen"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(
        w.json(&["contract", "show", &id])["equipment_owned_from"],
        "2025-05-31"
    );

    // May whole: 60,000 + 6,000 tax.
    assert_eq!(
        sum(&w.invoice("acme", "2025-05", "2025-06-01")),
        (60_000, 6_000, 66_000)
    );

    // Suspended from 06-10, resumed 07-01: June is still billed whole
    // (art. 19-2), 60,000 + 6,000, and the line says it was suspended.
    w.ok(&[
        "suspend",
        &id,
        "--reason",
        "unpaid fees",
        "--on",
        "2025-06-10",
        "--notice",
        "2025-06-03",
    ]);
    assert_eq!(w.fleet(), ["OSD-000001\tplant-a\tacme\tsuspended"]);
    w.ok(&["resume", &id, "--on", "2025-07-01"]);
    assert_eq!(w.fleet(), ["OSD-000001\tplant-a\tacme\tactive"]);
    let june = w.invoice("acme", "2025-06", "2025-07-01");
    assert_eq!(sum(&june), (60_000, 6_000, 66_000));
    assert!(
        june["lines"][0]["description"]
            .as_str()
            .unwrap()
            .contains("suspended 2025-06-10..2025-07-01"),
        "{june}"
    );
    // July, issued 08-01, before June's invoice is paid.
    assert_eq!(
        sum(&w.invoice("acme", "2025-07", "2025-08-01")),
        (60_000, 6_000, 66_000)
    );
    // June's 66,000 is due 07-31 and paid 08-20, 20 days late: interest for
    // 08-01 .. 08-19 = 19 days, 66,000 x 0.145 x 19 / 365 = 498.16 -> 498,
    // billed on the next invoice.
    let june_id = june["id"].as_i64().unwrap().to_string();
    let p = w.json(&[
        "payment",
        "add",
        "--invoice",
        &june_id,
        "--yen",
        "66000",
        "--on",
        "2025-08-20",
    ]);
    assert_eq!(
        (p["interest_days"].as_i64(), p["interest_yen"].as_i64()),
        (Some(19), Some(498))
    );

    // Terminated by the customer on 08-03 (August: 31 days): 60,000 x 3 / 31
    // = 5,806.45 -> 5,806; the interest 498 comes on this invoice, without
    // tax. Tax 10% of 5,806 = 580.6 -> 580. Total 5,806 + 498 + 580 = 6,884.
    std::fs::create_dir(w.store.join("plant-a")).unwrap();
    std::fs::write(w.store.join("plant-a/batch-1"), b"x").unwrap();
    let out = w.ok(&[
        "terminate",
        &id,
        "--by",
        "customer",
        "--reason",
        "plant closed",
        "--notice",
        "2025-07-01",
        "--on",
        "2025-08-03",
    ]);
    assert!(out.contains("to be deleted on 2025-08-04"), "{out}");
    assert!(
        out.contains("OSD-000001 is the customer's since 2025-05-31: not expected back"),
        "{out}"
    );
    assert!(w.fleet().is_empty(), "{:?}", w.fleet());
    let aug = w.invoice("acme", "2025-08", "2025-09-01");
    assert_eq!(
        lines_yen(&aug),
        [("monthly".into(), 5_806), ("interest".into(), 498)]
    );
    assert_eq!(sum(&aug), (6_304, 580, 6_884));
    let e = w.fail(&[
        "invoice",
        "make",
        "--customer",
        "acme",
        "--month",
        "2025-09",
        "--issued",
        "2025-10-01",
    ]);
    assert!(e.contains("nothing to bill acme for 2025-09"), "{e}");

    // The invoice as CSV and HTML.
    let (csv, html) = (w.s.path("aug.csv"), w.s.path("aug.html"));
    let aug_id = aug["id"].as_i64().unwrap().to_string();
    let text = w.ok(&[
        "invoice",
        "show",
        &aug_id,
        "--csv",
        csv.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(text.contains("total           6,884 yen"), "{text}");
    let csv = std::fs::read_to_string(csv).unwrap();
    assert!(csv.lines().any(|l| l.ends_with(",total,,6884,")), "{csv}");
    assert!(
        csv.lines()
            .any(|l| l.contains(",monthly,") && l.contains(",5806,10")),
        "{csv}"
    );
    assert!(std::fs::read_to_string(html)
        .unwrap()
        .contains("<th class=n>6,884</th>"));

    // The deletion is not due before 08-04; then the store is emptied and
    // proven empty.
    w.ok(&["deletions", "--run", "--today", "2025-08-03"]);
    assert!(w.store.join("plant-a/batch-1").exists());
    let out = w.ok(&["deletions", "--run", "--today", "2025-08-04"]);
    assert!(out.contains("deleted, nothing left in the store"), "{out}");
    assert!(!w.store.join("plant-a").exists());
    let d = w.json(&["deletions"]);
    assert_eq!(d[0]["residue_rows"], 0);
    assert_eq!(d[0]["customer"], "acme");
    // Done once: a second run does nothing.
    w.ok(&["deletions", "--run", "--today", "2025-08-05"]);
    let calls = std::fs::read_to_string(w.store.join("calls")).unwrap();
    assert_eq!(calls, "delete plant-a\nresidue plant-a\n");
    // Every change is in the audit log.
    let audit = w.ok(&["registry", "audit", "--limit", "200"]);
    for action in [
        "customer-add",
        "contract-apply",
        "contract-open",
        "contract-suspend",
        "contract-resume",
        "contract-terminate",
        "invoice",
        "payment",
        "deletion-scheduled",
        "deletion",
    ] {
        assert!(
            audit.contains(&format!(" {action} ")),
            "{action} missing:\n{audit}"
        );
    }
}

#[test]
fn opening_and_termination_on_the_same_day_and_a_late_delivery() {
    let w = World::new();
    w.site("plant-b");
    w.customer("beta", &["plant-b"]);
    w.unit("OSD-000002", "plant-b");
    // Requested opening Thu 2024-11-14; the deadline is Thu 10-31 (9 business
    // days before, counting over Mon 11-04, the substitute holiday, and the
    // weekend); delivered Tue 11-05, two business days late. Delay days from
    // Fri 11-01 (8 business days before) to 11-05: 5. Opening 11-19.
    let id = w.contract("beta", "plant-b", "2024-10-01", "2024-11-14", "OSD-000002");
    w.record(
        &id,
        &[
            ("accept", "2024-10-02"),
            ("ship", "2024-10-30"),
            ("deliver", "2024-11-05"),
        ],
    );
    let c = w.json(&["contract", "show", &id]);
    assert_eq!(c["dates"]["delivery_delay_days"], 5);
    assert_eq!(c["dates"]["opening"], "2024-11-19");
    assert_eq!(c["dates"]["installation_deadline"], "2024-11-13");
    // Not installed: the opening still comes and billing starts (art. 31 (16)).
    w.ok(&["contract", "record", &id, "open"]);
    // Terminated the same day: 1 day (art. 19): 60,000 x 1 / 30 = 2,000;
    // initial fee 250,000; tax 25,200; total 277,200.
    w.ok(&[
        "terminate",
        &id,
        "--by",
        "operator",
        "--reason",
        "art. 14 (2)",
        "--notice",
        "2024-11-18",
        "--on",
        "2024-11-19",
    ]);
    let nov = w.invoice("beta", "2024-11", "2024-12-02");
    assert_eq!(
        lines_yen(&nov),
        [("initial".into(), 250_000), ("monthly".into(), 2_000)]
    );
    assert_eq!(sum(&nov), (252_000, 25_200, 277_200));
    assert!(nov["lines"][1]["description"]
        .as_str()
        .unwrap()
        .contains("1/30 x 60,000"));
}

#[test]
fn a_unit_received_back_leaves_its_contract_and_the_fleet_list() {
    let w = World::new();
    let id = w.applied(
        "lambda",
        "plant-l",
        "OSD-000050",
        "2025-04-01",
        "2025-05-07",
    );
    assert_eq!(w.fleet(), ["OSD-000050\tplant-l\tlambda\tactive"]);
    let unit = w.s.unit("unit-l");
    let out = w.ok(&[
        "receive-return",
        "OSD-000050",
        "--device-dir",
        unit.to_str().unwrap(),
    ]);
    assert!(out.contains("contract 1 has no sensor now"), "{out}");
    assert!(w.fleet().is_empty(), "{:?}", w.fleet());
    let c = w.json(&["contract", "show", &id]);
    assert_eq!(c["device"], Value::Null);
    let last = c["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["event"], "return", "{c}");
    assert_eq!(
        last["detail"],
        "sensor OSD-000050 received back, to be wiped"
    );
}

#[test]
fn a_late_installation_does_not_move_the_opening() {
    let w = World::new();
    // Requested opening Wed 2025-05-07; installation due by 4 business days
    // before (04-28: 05-02, 05-01, 04-30, 04-28, Showa Day 04-29 skipped),
    // done 04-30; the opening test done 05-09, after its deadline 05-01. The
    // late installation is the customer's: the opening stays 05-07 and
    // billing starts then, before the test (art. 3 (2), 31 (16)).
    let id = w.applied("kappa", "plant-k", "OSD-000040", "2025-04-01", "2025-05-07");
    w.record(
        &id,
        &[
            ("accept", "2025-04-02"),
            ("ship", "2025-04-15"),
            ("deliver", "2025-04-17"),
            ("install", "2025-04-30"),
            ("test", "2025-05-09"),
        ],
    );
    w.ok(&["contract", "record", &id, "open"]);
    let c = w.json(&["contract", "show", &id]);
    assert_eq!(c["dates"]["test_delay_days"], 0);
    assert_eq!(c["opened_on"], "2025-05-07");
    // May from the 7th: 60,000 x 25 / 31 = 48,387.09 -> 48,387.
    let may = w.invoice("kappa", "2025-05", "2025-06-02");
    assert_eq!(
        lines_yen(&may),
        [("initial".into(), 250_000), ("monthly".into(), 48_387)]
    );
}

#[test]
fn a_price_change_in_mid_month_and_equipment_failures() {
    let w = World::new();
    let id = w.applied("gamma", "plant-c", "OSD-000003", "2025-01-06", "2025-03-03");
    w.record(
        &id,
        &[
            ("accept", "2025-01-07"),
            ("ship", "2025-02-03"),
            ("deliver", "2025-02-05"),
            ("open", "2025-03-03"),
        ],
    );
    w.ok(&[
        "price",
        "set",
        "--item",
        "monthly",
        "--value",
        "66000",
        "--from",
        "2025-07-16",
    ]);
    w.ok(&[
        "price",
        "set",
        "--item",
        "dongle",
        "--value",
        "15000",
        "--from",
        "2020-01-01",
    ]);
    // Dongle failures (annex 1, 2.5): a natural failure within a year of the
    // delivery (2025-02-05) is free, a year and a day later it is bought
    // again; one the customer caused is always charged.
    w.ok(&[
        "contract",
        "failure",
        &id,
        "--equipment",
        "dongle",
        "--cause",
        "natural",
        "--on",
        "2025-07-10",
    ]);
    w.ok(&[
        "contract",
        "failure",
        &id,
        "--equipment",
        "dongle",
        "--cause",
        "customer",
        "--on",
        "2025-07-20",
    ]);
    // The SIM taken out of the sensor (sim-swap records the new one) is the
    // customer's from that day (annex 1, 4.4).
    {
        let mut r = Registry::open(&w.s.path("registry.sqlite")).unwrap();
        let tx = r.begin("tester").unwrap();
        tx.set_sim(
            "OSD-000003",
            "8981000000000000001",
            "440100000000001",
            false,
        )
        .unwrap();
        tx.set_sim("OSD-000003", "8981000000000000002", "440100000000002", true)
            .unwrap();
        tx.commit().unwrap();
    }
    let c = w.json(&["contract", "show", &id]);
    assert_eq!(c["sims_owned"][0][0], "8981000000000000001", "{c}");
    assert_eq!(c["sims_owned"].as_array().unwrap().len(), 1, "{c}");
    let out = w.ok(&[
        "contract",
        "failure",
        &id,
        "--equipment",
        "sim",
        "--cause",
        "natural",
        "--on",
        "2025-07-21",
    ]);
    assert!(out.contains("old SIM now belongs to the customer"), "{out}");
    let e = w.fail(&[
        "contract",
        "failure",
        &id,
        "--equipment",
        "sensor",
        "--cause",
        "customer",
        "--on",
        "2025-07-22",
    ]);
    assert!(e.contains("needs --charge YEN"), "{e}");
    w.ok(&[
        "contract",
        "failure",
        &id,
        "--equipment",
        "sensor",
        "--cause",
        "customer",
        "--on",
        "2025-07-22",
        "--charge",
        "40000",
    ]);
    // July (31 days): 60,000 until 07-15, 66,000 from 07-16:
    // (60,000 x 15 + 66,000 x 16) / 31 = 1,956,000 / 31 = 63,096.77 -> 63,096.
    // Charges: dongle 15,000, sensor repair 40,000. Subtotal 118,096,
    // tax 11,809.6 -> 11,809, total 129,905.
    let july = w.invoice("gamma", "2025-07", "2025-08-01");
    assert_eq!(
        lines_yen(&july),
        [
            ("monthly".into(), 63_096),
            ("charge".into(), 15_000),
            ("charge".into(), 40_000)
        ]
    );
    assert_eq!(sum(&july), (118_096, 11_809, 129_905));
    w.ok(&[
        "contract",
        "failure",
        &id,
        "--equipment",
        "dongle",
        "--cause",
        "natural",
        "--on",
        "2026-02-06",
    ]);
    let c = w.json(&["contract", "show", &id]);
    let last = c["events"].as_array().unwrap().last().unwrap().clone();
    assert!(
        last["detail"]
            .as_str()
            .unwrap()
            .contains("charged 15,000 yen"),
        "{last}"
    );
}

/// Each command fails with its message and leaves registry and fleet list
/// as they were.
fn refused_unchanged(w: &World, cases: &[(Vec<&str>, &str)]) {
    let before = dump(w);
    for (args, want) in cases {
        let e = w.fail(args);
        assert!(e.contains(want), "{args:?}: {e}");
        assert_eq!(dump(w), before, "{args:?} changed the registry");
    }
}

fn dump(w: &World) -> String {
    let mut s = w.s.registry_dump();
    s.push_str(&std::fs::read_to_string(&w.fleet).unwrap_or_default());
    s
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let w = World::new();
    let id = w.applied("delta", "plant-d", "OSD-000004", "2025-05-01", "2025-06-02");
    w.record(
        &id,
        &[
            ("accept", "2025-05-02"),
            ("ship", "2025-05-12"),
            ("deliver", "2025-05-14"),
        ],
    );
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "contract",
                "add",
                "--customer",
                "nobody",
                "--site",
                "plant-d",
                "--applied",
                "2025-05-01",
                "--opening",
                "2025-06-02",
            ],
            "unknown customer nobody",
        ),
        (
            vec!["contract", "record", &id, "install", "--on", "2025-04-30"],
            "before contract 1's application on 2025-05-01",
        ),
        (
            vec!["contract", "record", &id, "install", "--on", "2025-05-13"],
            "before contract 1's last event",
        ),
        (
            vec!["contract", "record", &id, "install", "--on", "2025-13-01"],
            "not a date",
        ),
        (
            vec!["contract", "record", &id, "launch"],
            "unknown event \"launch\"",
        ),
        (
            vec![
                "terminate",
                &id,
                "--by",
                "customer",
                "--reason",
                "x",
                "--notice",
                "2025-05-20",
                "--on",
                "2025-05-21",
            ],
            "only an opened contract can be terminated",
        ),
        (
            vec!["suspend", &id, "--reason", "x"],
            "only an open contract can be suspended",
        ),
        (
            vec![
                "invoice",
                "make",
                "--customer",
                "nobody",
                "--month",
                "2025-06",
            ],
            "unknown customer nobody",
        ),
        (
            vec![
                "customer",
                "add",
                "bad name",
                "--name",
                "x",
                "--billing-contact",
                "x",
                "--delivery-contact",
                "x",
                "--delivery-address",
                "x",
            ],
            "not a customer id",
        ),
        (
            vec![
                "price",
                "set",
                "--item",
                "monthly",
                "--value",
                "-1",
                "--from",
                "2025-01-01",
            ],
            "negative",
        ),
    ];
    refused_unchanged(&w, &cases);
    // Opened on 06-02: a termination dated before it is refused.
    w.ok(&["contract", "record", &id, "open", "--on", "2025-06-02"]);
    let inv = w.invoice("delta", "2025-06", "2025-07-01");
    let inv_id = inv["id"].as_i64().unwrap().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "terminate",
                &id,
                "--by",
                "customer",
                "--reason",
                "x",
                "--notice",
                "2025-05-20",
                "--on",
                "2025-06-01",
            ],
            "before contract 1's opening on 2025-06-02",
        ),
        (
            vec![
                "terminate",
                &id,
                "--by",
                "nobody",
                "--reason",
                "x",
                "--notice",
                "2025-05-20",
            ],
            "customer (art. 13) or operator (art. 14)",
        ),
        (
            vec![
                "payment",
                "add",
                "--invoice",
                &inv_id,
                "--yen",
                "-100",
                "--on",
                "2025-07-10",
            ],
            "a payment is a positive amount of yen, not -100",
        ),
        (
            vec![
                "payment",
                "add",
                "--invoice",
                &inv_id,
                "--yen",
                "0",
                "--on",
                "2025-07-10",
            ],
            "not 0",
        ),
        (
            vec![
                "payment",
                "add",
                "--invoice",
                &inv_id,
                "--yen",
                "99999999",
                "--on",
                "2025-07-10",
            ],
            "exceeds what is left",
        ),
        (
            vec![
                "payment",
                "add",
                "--invoice",
                "999",
                "--yen",
                "100",
                "--on",
                "2025-07-10",
            ],
            "unknown invoice 999",
        ),
        (
            vec![
                "payment",
                "add",
                "--invoice",
                &inv_id,
                "--yen",
                "100",
                "--on",
                "2025-06-30",
            ],
            "before invoice",
        ),
        (
            vec![
                "invoice",
                "make",
                "--customer",
                "delta",
                "--month",
                "2025-06",
            ],
            "already issued",
        ),
    ];
    refused_unchanged(&w, &cases);
}

#[test]
fn customers_are_kept_apart_in_the_fleet_list() {
    let w = World::new();
    for s in ["north", "south", "spare-site"] {
        w.site(s);
    }
    w.customer("acme", &["north"]);
    w.customer("zenith", &["south"]);
    // A site belongs to one customer.
    let e = w.fail(&[
        "contract",
        "add",
        "--customer",
        "zenith",
        "--site",
        "north",
        "--applied",
        "2025-01-06",
        "--opening",
        "2025-02-03",
    ]);
    assert!(
        e.contains("site north belongs to customer acme, not zenith"),
        "{e}"
    );
    w.unit("OSD-000010", "north");
    w.unit("OSD-000011", "south");
    w.unit("OSD-000012", "spare-site");
    let a = w.contract("acme", "north", "2025-01-06", "2025-02-03", "OSD-000010");
    w.contract("zenith", "south", "2025-01-06", "2025-02-03", "OSD-000011");
    // Shipping the unit of an accepted contract records the contract's
    // shipping (dated today).
    w.record(&a, &[("accept", "2025-01-07")]);
    w.ok(&["ship", "OSD-000010"]);
    let c = w.json(&["contract", "show", &a]);
    assert_eq!(c["state"], "shipped");
    assert_eq!(c["events"][3]["event"], "ship");
    assert_eq!(c["events"][3]["detail"], "recorded by ship");
    // A customer's site is not decommissioned under a live contract.
    let e = w.fail(&["decommission", "--site", "north"]);
    assert!(
        e.contains("site north still has contract(s) 1 (shipped)"),
        "{e}"
    );
    // A unit already serving a contract cannot serve another.
    let e = w.fail(&["contract", "device", &a, "OSD-000011"]);
    assert!(e.contains("OSD-000011 already serves contract 2"), "{e}");
    let text = std::fs::read_to_string(&w.fleet).unwrap();
    assert!(
        text.contains("# OSD-000012 at site spare-site: the site has no customer"),
        "{text}"
    );
    assert_eq!(
        w.fleet(),
        [
            "OSD-000010\tnorth\tacme\tactive",
            "OSD-000011\tsouth\tzenith\tactive"
        ]
    );
    // Written on demand too, the same.
    std::fs::remove_file(&w.fleet).unwrap();
    let out = w.ok(&["registry", "fleet-list"]);
    assert!(out.contains("(2 device(s))"), "{out}");
    assert_eq!(std::fs::read_to_string(&w.fleet).unwrap(), text);
    let e = w.s.fail(&["registry", "fleet-list"]);
    assert!(e.contains("no fleet list configured"), "{e}");
    // Written whole through a temporary file: no temporary is left behind.
    let names: Vec<String> = std::fs::read_dir(w.fleet.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("fleet"))
        .collect();
    assert_eq!(names, ["fleet.txt"]);
}

#[test]
fn a_deletion_is_proven_or_reported_unproven() {
    let w = World::new();
    for s in ["east", "west"] {
        w.site(s);
        std::fs::create_dir(w.store.join(s)).unwrap();
        std::fs::write(w.store.join(s).join("batch-1"), b"x").unwrap();
    }
    w.customer("acme", &["east"]);
    w.customer("zenith", &["west"]);
    w.unit("OSD-000020", "east");
    w.unit("OSD-000021", "west");
    for (c, s, d) in [
        ("acme", "east", "OSD-000020"),
        ("zenith", "west", "OSD-000021"),
    ] {
        let id = w.contract(c, s, "2025-01-06", "2025-02-03", d);
        w.record(
            &id,
            &[
                ("accept", "2025-01-07"),
                ("ship", "2025-01-08"),
                ("deliver", "2025-01-09"),
                ("open", "2025-02-03"),
            ],
        );
    }
    // The store keeps what it was told to delete: the registry says so and
    // the command fails.
    std::fs::write(w.store.join("stubborn"), b"").unwrap();
    w.ok(&[
        "terminate",
        "1",
        "--by",
        "customer",
        "--reason",
        "x",
        "--notice",
        "2025-02-10",
        "--on",
        "2025-03-31",
    ]);
    let e = w.fail(&["deletions", "--run", "--today", "2025-04-01"]);
    assert!(e.contains("1 deletion(s) not proven clean"), "{e}");
    assert_eq!(w.json(&["deletions"])[0]["residue_rows"], 1);
    assert!(w
        .ok(&["due", "--today", "2025-04-02"])
        .contains("deletion of the stored data of site east"));
    // Run again once the store deletes: proven, and the other customer's
    // data is untouched.
    std::fs::remove_file(w.store.join("stubborn")).unwrap();
    w.ok(&["deletions", "--run", "--today", "2025-04-02"]);
    assert_eq!(w.json(&["deletions"])[0]["residue_rows"], 0);
    assert!(!w.store.join("east").exists());
    assert!(w.store.join("west/batch-1").exists());
    // A collector without the residue command: deleted, not proven.
    std::fs::write(w.store.join("old"), b"").unwrap();
    w.ok(&[
        "terminate",
        "2",
        "--by",
        "operator",
        "--reason",
        "x",
        "--notice",
        "2025-02-10",
        "--on",
        "2025-03-31",
    ]);
    let e = w.fail(&["deletions", "--run", "--today", "2025-04-02"]);
    assert!(e.contains("not proven"), "{e}");
    assert!(!w.store.join("west").exists());
    let d = w.json(&["deletions"]);
    assert_eq!(d[1]["residue_rows"], Value::Null);
    assert_eq!(d[1]["residue"], "the collector has no residue command");
}

#[test]
fn the_calendar_and_due_listings() {
    let w = World::new();
    let v = w.json(&["calendar", "--date", "2024-11-14"]);
    assert_eq!(v["business_day"], true);
    assert_eq!(v["business_days_before"]["9"], "2024-10-31");
    let v = w.json(&["calendar", "--date", "2026-09-22"]);
    assert_eq!(v["closed"], "national holiday (休日)");
    let year = w.ok(&["calendar", "--year", "2025"]);
    assert!(
        year.contains("2025-02-24 national holiday (休日)"),
        "{year}"
    );
    assert!(year.contains("2025-12-30 operator closing day"), "{year}");

    let id = w.applied("eps", "plant-e", "OSD-000030", "2025-10-01", "2025-11-17");
    w.record(&id, &[("accept", "2025-10-02")]);
    // Requested opening Mon 11-17: delivery by 9 business days before = Tue
    // 11-04 (14, 13, 12, 11, 10, 7, 6, 5, 4; Mon 11-03 is Culture Day).
    let due = w.json(&["due", "--today", "2025-10-27", "--days", "10"]);
    let first = &due[0];
    assert_eq!(first["date"], "2025-11-04");
    assert_eq!(first["overdue"], false);
    assert!(first["what"]
        .as_str()
        .unwrap()
        .starts_with("delivery to the customer by 2025-11-04"));
    let later = w.ok(&["due", "--today", "2025-11-05", "--days", "0"]);
    assert!(later.contains("2025-11-04 MISSED"), "{later}");
}
