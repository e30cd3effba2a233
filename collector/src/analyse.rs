//! Drives the analysis over stored batches: each batch is analysed once, in
//! the transaction that writes what it changed and marks it analysed, so a
//! crash at any point analyses nothing twice and nothing never.
//!
//! The worker follows the `batches` table by rowid (arrival order); within
//! one round, a site's batches are taken in interval order, so a backlog
//! that arrives together is analysed in record time order.

use crate::ledger::{self, LedgerError};
use crate::store::{now_us, Store};
use osect_analysis::{BatchInput, Registry, SiteState};
use osect_wire::batch;
use rusqlite::params;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Batches read per round.
const ROUND: usize = 256;
/// Sites whose state is kept in memory between rounds.
const CACHED_SITES: usize = 256;

pub struct Analyser {
    registry: Registry,
    /// Per site: the version the state was read or written at.
    cache: HashMap<String, (i64, SiteState)>,
    /// The highest batch rowid looked at.
    cursor: i64,
}

/// One stored batch not analysed yet.
struct Pending {
    rowid: i64,
    device: String,
    key: Vec<u8>,
    seq: i64,
    site: String,
    interval_start: i64,
    received: i64,
    data: Vec<u8>,
}

impl Analyser {
    pub fn new(registry: Registry) -> Analyser {
        Analyser {
            registry,
            cache: HashMap::new(),
            cursor: 0,
        }
    }

    /// The site's state as stored now, from memory when still current.
    fn state(&mut self, db: &rusqlite::Connection, site: &str) -> Result<SiteState, LedgerError> {
        let v = ledger::version(db, site)?;
        if let Some((cv, s)) = self.cache.remove(site) {
            if cv == v {
                return Ok(s);
            }
        }
        Ok(match ledger::load(db, site)? {
            Some((_, s)) => s,
            None => SiteState::new(site),
        })
    }

    fn keep(&mut self, version: i64, s: SiteState) {
        if self.cache.len() >= CACHED_SITES {
            if let Some(k) = self.cache.keys().next().cloned() {
                self.cache.remove(&k);
            }
        }
        self.cache.insert(s.site.clone(), (version, s));
    }

    /// Analyses stored batches not analysed yet, up to one round; returns
    /// how many.
    pub fn run_pending(&mut self, store: &mut Store) -> Result<usize, LedgerError> {
        let pending = {
            let db = store.db();
            let mut q = db.prepare_cached(
                "SELECT b.rowid, b.device, b.key_sha256, b.seq, b.site, b.interval_start,
                        b.received, b.data
                 FROM batches b
                 WHERE b.rowid > ?1 AND NOT EXISTS (SELECT 1 FROM analysed a
                     WHERE a.device = b.device AND a.key_sha256 = b.key_sha256 AND a.seq = b.seq)
                 ORDER BY b.rowid LIMIT ?2",
            )?;
            let rows = q.query_map(params![self.cursor, ROUND as i64], |r| {
                Ok(Pending {
                    rowid: r.get(0)?,
                    device: r.get(1)?,
                    key: r.get(2)?,
                    seq: r.get(3)?,
                    site: r.get(4)?,
                    interval_start: r.get(5)?,
                    received: r.get(6)?,
                    data: r.get(7)?,
                })
            })?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        let Some(last) = pending.last().map(|p| p.rowid) else {
            return Ok(0);
        };
        let n = pending.len();
        let mut by_site: BTreeMap<String, Vec<Pending>> = BTreeMap::new();
        for p in pending {
            by_site.entry(p.site.clone()).or_default().push(p);
        }
        for (site, mut batches) in by_site {
            batches.sort_by_key(|p| (p.interval_start, p.rowid));
            self.analyse_site(store, &site, &batches)?;
        }
        self.cursor = last;
        Ok(n)
    }

    fn analyse_site(
        &mut self,
        store: &mut Store,
        site: &str,
        batches: &[Pending],
    ) -> Result<(), LedgerError> {
        // Immediate: another analyser (a second collector on the same
        // store, `osect-collector analyse`) waits rather than analysing
        // from the same state; a batch it analysed meanwhile is skipped.
        let tx = store
            .db_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut state = self.state(&tx, site)?;
        for p in batches {
            let done: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM analysed
                     WHERE device = ?1 AND key_sha256 = ?2 AND seq = ?3)",
                )?
                .query_row(params![p.device, p.key, p.seq], |r| r.get(0))?;
            if done {
                continue;
            }
            match batch::decode(&p.data) {
                Ok(b) => state.analyse(
                    &self.registry,
                    &BatchInput {
                        sensor: &p.device,
                        seq: b.header.seq,
                        interval_start: b.header.interval_start_us,
                        interval_end: b.header.interval_end_us,
                        received: p.received,
                        health: &b.header.health,
                        records: &b.records,
                    },
                ),
                // Stored batches were checked on arrival; one that no longer
                // decodes is reported and passed over, not retried forever.
                Err(e) => log::error!(
                    "site {site}: stored batch {}/{} is damaged and was not analysed: {e}",
                    p.device,
                    p.seq
                ),
            }
            tx.prepare_cached(
                "INSERT INTO analysed (device, key_sha256, seq, site, at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![p.device, p.key, p.seq, site, now_us()])?;
        }
        let changes = state.take_changes();
        let version = ledger::save(&tx, &state, &changes)?;
        tx.commit()?;
        let new_alerts = changes
            .events
            .iter()
            .filter(|e| matches!(e, osect_analysis::AlertEvent::New(_)))
            .count();
        if new_alerts > 0 {
            log::info!("site {site}: {new_alerts} new alert(s)");
        }
        self.keep(version, state);
        Ok(())
    }

    /// Tells every site the time, for what only a clock can tell (sensors
    /// gone silent).
    pub fn tick(&mut self, store: &mut Store, now: i64) -> Result<(), LedgerError> {
        for site in store.analysed_sites()? {
            let tx = store
                .db_mut()
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut state = self.state(&tx, &site)?;
            state.tick(now);
            let changes = state.take_changes();
            if changes.is_empty() {
                let v = ledger::version(&tx, &site)?;
                drop(tx);
                self.keep(v, state);
                continue;
            }
            let version = ledger::save(&tx, &state, &changes)?;
            tx.commit()?;
            self.keep(version, state);
        }
        Ok(())
    }

    /// Analyses a site again from its first stored batch.
    pub fn reanalyse(
        &mut self,
        store: &mut Store,
        site: &str,
        by: &str,
    ) -> Result<usize, LedgerError> {
        store.clear_analysis(site, by)?;
        self.cache.remove(site);
        self.cursor = 0;
        let mut total = 0;
        loop {
            let n = self.run_pending(store)?;
            if n == 0 {
                break;
            }
            total += n;
        }
        Ok(total)
    }
}

/// How often the worker looks for new batches, and tells sites the time.
const POLL: Duration = Duration::from_millis(200);
const TICK: Duration = Duration::from_secs(60);

/// Runs the analysis beside ingest, on its own store connection, until
/// `stop` is set. Errors are logged and retried: ingest never waits on it.
pub fn spawn_worker(
    store_dir: PathBuf,
    registry: Registry,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut analyser = Analyser::new(registry);
        let mut store = None;
        let mut last_tick = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            if store.is_none() {
                match Store::open(&store_dir) {
                    Ok(s) => store = Some(s),
                    Err(e) => log::error!("analysis: {e}"),
                }
            }
            let Some(s) = store.as_mut() else {
                std::thread::sleep(POLL * 10);
                continue;
            };
            let busy = match analyser.run_pending(s) {
                Ok(n) => n > 0,
                Err(e) => {
                    log::error!("analysis: {e}");
                    analyser.cache.clear();
                    false
                }
            };
            if last_tick.elapsed() >= TICK {
                last_tick = Instant::now();
                if let Err(e) = analyser.tick(s, now_us()) {
                    log::error!("analysis: {e}");
                }
            }
            if !busy {
                std::thread::sleep(POLL);
            }
        }
    })
}
