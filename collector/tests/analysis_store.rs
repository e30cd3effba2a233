//! The analysis over a real store: every stored batch analysed exactly
//! once, duplicates changing nothing, a backlog arriving out of order
//! analysed in record time order, and `reanalyse` giving the same ledger.
//! Batches are the real agent's, of the traffic generator's plant.

use osect_collector::analyse::Analyser;
use osect_collector::ledger::AlertFilter;
use osect_collector::store::Store;
use osect_testkit::procs::bin;
use osect_trafficgen::day::{plant_day, Event};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const SECONDS: u64 = 900;

/// Day `day`'s 60 s batches as the agent sends them.
fn day_batches(dir: &Path, day: u64, events: &[Event]) -> Vec<Vec<u8>> {
    let pcap = dir.join(format!("day{day}.pcap"));
    std::fs::write(&pcap, plant_day(day, SECONDS, 1, events).to_pcap()).unwrap();
    let out = dir.join(format!("batches{day}"));
    let st = Command::new(bin("osect-agent", "osect-agent"))
        .arg("replay")
        .arg(&pcap)
        .arg("--out")
        .arg(dir.join(format!("logs{day}")))
        .arg("--batch-out")
        .arg(&out)
        .args(["--interval", "60"])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let mut files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

fn insert(store: &mut Store, frames: &[Vec<u8>], seq_base: u64) {
    for (i, data) in frames.iter().enumerate() {
        // Each day's replay numbers its batches from 1; the sensor's
        // sequence goes on across days.
        let mut b = osect_wire::batch::decode(data).unwrap();
        b.header.seq = seq_base + i as u64 + 1;
        b.header.device_id = "OSS-0001".into();
        b.header.site = "plant-a".into();
        let data = osect_wire::batch::encode(&b, 3, None).unwrap();
        let info = osect_wire::batch::read_frame_info(&data).unwrap();
        store
            .insert(
                &info,
                "plant-a",
                &[1; 32],
                &data,
                info.header.interval_end_us,
                "test",
            )
            .unwrap();
    }
}

fn analyse_all(store: &mut Store) -> usize {
    let mut a = Analyser::new(osect_collector::cli::registry());
    let mut n = 0;
    loop {
        let k = a.run_pending(store).unwrap();
        if k == 0 {
            return n;
        }
        n += k;
    }
}

/// The ledger as JSON per item, and the alerts by what they are about
/// (kind, item, first seen, count).
type Snapshot = (BTreeMap<String, String>, Vec<(String, String, i64, u64)>);

fn snapshot(store: &Store) -> Snapshot {
    let s = store.site_state("plant-a").unwrap();
    let mut ledger = BTreeMap::new();
    for d in s.devices.values() {
        ledger.insert(
            format!("device {}", d.key),
            serde_json::to_string(d).unwrap(),
        );
    }
    for (k, p) in &s.pairs {
        ledger.insert(format!("pair {k}"), serde_json::to_string(p).unwrap());
    }
    for (k, o) in &s.operations {
        ledger.insert(format!("op {k}"), serde_json::to_string(o).unwrap());
    }
    let mut alerts: Vec<_> = store
        .alerts(Some("plant-a"), &AlertFilter::default())
        .unwrap()
        .into_iter()
        .map(|a| (a.kind.as_str().to_owned(), a.item, a.first_seen, a.count))
        .collect();
    alerts.sort();
    (ledger, alerts)
}

#[test]
fn each_batch_once_duplicates_change_nothing_and_reanalyse_gives_the_same_ledger() {
    let work = tempfile::tempdir().unwrap();
    let day0 = day_batches(work.path(), 0, &[]);
    let day2 = day_batches(work.path(), 2, &Event::ALL);
    let mut store = Store::open(&work.path().join("store")).unwrap();
    store
        .change_site("plant-a", "test", "baseline", |s| {
            s.meta
                .config
                .set_learning(SECONDS as i64 + 60)
                .map_err(|e| e.to_string())
        })
        .unwrap();
    insert(&mut store, &day0, 0);
    insert(&mut store, &day2, 100);
    let n = analyse_all(&mut store);
    assert_eq!(n, day0.len() + day2.len());
    let first = snapshot(&store);
    println!(
        "{} batches: {} ledger items, {} alerts",
        n,
        first.0.len(),
        first.1.len()
    );
    assert!(
        first.1.len() >= 9,
        "day 2's nine events gave {} alerts",
        first.1.len()
    );

    // The same batches again (a retry, a re-import): stored once, analysed once.
    insert(&mut store, &day0, 0);
    insert(&mut store, &day2, 100);
    assert_eq!(analyse_all(&mut store), 0);
    assert_eq!(snapshot(&store), first);

    let mut a = Analyser::new(osect_collector::cli::registry());
    assert_eq!(a.reanalyse(&mut store, "plant-a", "test").unwrap(), n);
    let again = snapshot(&store);
    assert_eq!(again.0.len(), first.0.len());
    for (k, v) in &first.0 {
        assert_eq!(Some(v), again.0.get(k), "{k} differs after reanalyse");
    }
    assert_eq!(again.1, first.1);
}

#[test]
fn a_backlog_arriving_in_reverse_is_analysed_in_record_time_order() {
    let work = tempfile::tempdir().unwrap();
    let day0 = day_batches(work.path(), 0, &[]);
    let day2 = day_batches(work.path(), 2, &Event::ALL);
    let run = |reverse: bool| {
        let mut store = Store::open(&work.path().join(format!("store-{reverse}"))).unwrap();
        store
            .change_site("plant-a", "test", "baseline", |s| {
                s.meta
                    .config
                    .set_learning(SECONDS as i64 + 60)
                    .map_err(|e| e.to_string())
            })
            .unwrap();
        insert(&mut store, &day0, 0);
        analyse_all(&mut store);
        // After an outage the sensor's backlog arrives at once; here even
        // newest first.
        let mut frames: Vec<(u64, Vec<u8>)> = day2
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, f)| (i as u64, f))
            .collect();
        if reverse {
            frames.reverse();
        }
        for (i, f) in frames {
            insert(&mut store, &[f], 100 + i);
        }
        analyse_all(&mut store);
        snapshot(&store)
    };
    let in_order = run(false);
    let reversed = run(true);
    assert_eq!(
        reversed.1, in_order.1,
        "alerts differ when the backlog arrives reversed"
    );
    let start = osect_trafficgen::day::day_start(2);
    for (kind, item, first_seen, _) in &in_order.1 {
        assert!(
            *first_seen >= start,
            "{kind} {item}: alert at {first_seen}, before the day's records"
        );
    }
}
