//! Stored records out: Zeek TSV or JSON logs per device and time range, and
//! the summary the demo prints.

use crate::allow::{shown, AllowList};
use crate::store::{Store, StoreError};
use osect_wire::{Format, LogSchema, LogWriter, Record, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An output file could not be written.
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Which batches to read.
pub struct Selection<'a> {
    pub device: Option<&'a str>,
    pub site: Option<&'a str>,
    pub from_us: i64,
    pub to_us: i64,
}

fn in_range(rec: &Record, sel: &Selection<'_>) -> bool {
    match rec.get("ts") {
        Some(Value::Time(t)) => *t >= sel.from_us && *t < sel.to_us,
        _ => true,
    }
}

/// Calls `each(device, record)` for every stored record selected, oldest
/// batch first per device.
pub fn for_each_record(
    store: &Store,
    sel: &Selection<'_>,
    mut each: impl FnMut(&str, &Record) -> Result<(), ExportError>,
) -> Result<usize, ExportError> {
    let mut n = 0;
    for b in store.list(sel.device, sel.site, sel.from_us, sel.to_us)? {
        let batch = store.load_stored(&b)?;
        for rec in batch.records.iter().filter(|r| in_range(r, sel)) {
            each(&b.device, rec)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Writes `OUT/<device>/<log>.log` (TSV) or `<log>.json` (JSON lines) and
/// returns how many records it wrote. Records of a log the project does not
/// write, or of a device whose serial cannot be a folder name, are skipped
/// and logged.
/// When one log arrives with two field lists (aggregated and per-event
/// rows), the second gets its own file, `<log>-2.log`.
pub fn export(
    store: &Store,
    sel: &Selection<'_>,
    format: Format,
    out: &Path,
) -> Result<usize, ExportError> {
    type Writer = LogWriter<File>;
    let mut writers: HashMap<(String, *const LogSchema), (PathBuf, Writer)> = HashMap::new();
    let mut names: HashMap<(String, &'static str), usize> = HashMap::new();
    let ext = if format == Format::Tsv { "log" } else { "json" };
    let known = AllowList::project();
    let mut skipped: HashMap<(String, &'static str), usize> = HashMap::new();
    let n = for_each_record(store, sel, |device, rec| {
        // File names come from the project's log paths and folder names from
        // serials that are plain names, never from other strings a device sent.
        if !known.knows(rec.schema.path) || !file_name_ok(device) {
            *skipped
                .entry((device.to_owned(), rec.schema.path))
                .or_default() += 1;
            return Ok(());
        }
        let key = (device.to_owned(), rec.schema as *const LogSchema);
        if !writers.contains_key(&key) {
            let k = names
                .entry((device.to_owned(), rec.schema.path))
                .or_insert(0);
            *k += 1;
            let file = if *k == 1 {
                format!("{}.{ext}", rec.schema.path)
            } else {
                format!("{}-{k}.{ext}", rec.schema.path)
            };
            let dir = out.join(device);
            let path = dir.join(file);
            let w = std::fs::create_dir_all(&dir)
                .and_then(|()| File::create(&path))
                .and_then(|f| LogWriter::new(f, rec.schema, format, sel.from_us.max(0)))
                .map_err(|source| ExportError::Write {
                    path: path.clone(),
                    source,
                })?;
            writers.insert(key.clone(), (path, w));
        }
        if let Some((path, w)) = writers.get_mut(&key) {
            w.write(rec).map_err(|source| ExportError::Write {
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    })?;
    let close = sel.to_us.min(crate::store::now_us());
    for (_, (path, w)) in writers {
        w.close(close)
            .and_then(|mut f| f.flush())
            .map_err(|source| ExportError::Write { path, source })?;
    }
    for ((device, path), k) in &skipped {
        log::warn!(
            "export: {k} records of device {} in log {} not written: not a name the export \
             may use for a file or folder",
            shown(device),
            shown(path)
        );
    }
    Ok(n - skipped.values().sum::<usize>())
}

/// Whether `s` may name a file or folder inside the export folder: 1 to 255
/// of `A-Z a-z 0-9 . _ -`, and not `.` or `..`.
pub fn file_name_ok(s: &str) -> bool {
    osect_wire::name::name_within(s, 255) && s != "." && s != ".."
}

/// Connection uids remembered per device by the summary.
const MAX_UIDS: usize = 1_000_000;

fn value_text(v: &Value) -> String {
    let mut s = String::new();
    osect_wire::zeek::tsv_row(
        &mut s,
        &Record {
            schema: &EMPTY,
            values: vec![v.clone()],
        },
    );
    s.trim_end().to_owned()
}

static EMPTY: LogSchema = LogSchema {
    path: "",
    fields: &[],
};

fn count_of(rec: &Record) -> u64 {
    match rec.get("count") {
        Some(Value::Count(n)) => *n,
        _ => 1,
    }
}

/// What the core received: per device, its hosts and vendors, connections
/// by protocol and service, and the operations (industrial ones, and file
/// transfers) with their counts.
pub fn summary(
    store: &Store,
    sel: &Selection<'_>,
    out: &mut impl Write,
) -> Result<(), ExportError> {
    #[derive(Default)]
    struct Dev {
        logs: BTreeMap<String, u64>,
        conns: BTreeMap<(String, String), u64>,
        uids: HashSet<String>,
        ops: BTreeMap<(String, String), u64>,
        vendors: BTreeMap<String, String>,
    }
    let mut devs: BTreeMap<String, Dev> = BTreeMap::new();
    for_each_record(store, sel, |device, rec| {
        let d = devs.entry(device.to_owned()).or_default();
        let path = rec.schema.path;
        *d.logs.entry(path.to_owned()).or_default() += 1;
        // A long connection is reported every interval: count it once.
        let uid = rec.get("uid").map(value_text);
        let first_seen = match uid {
            Some(u) => d.uids.len() >= MAX_UIDS || d.uids.insert(u),
            None => true,
        };
        if path == "conn" && first_seen {
            let proto = rec.get("proto").map(value_text).unwrap_or_default();
            let service = rec.get("service").map(value_text).unwrap_or_default();
            *d.conns.entry((proto, service)).or_default() += 1;
        }
        // Industrial logs and the IT logs that name operations (FTP
        // transfers), by their protocol's descriptor: the operation is what
        // the log's key fields name ("-" for logs that name none).
        if let Some((_, log)) = osect_engine::protocols::log(path)
            .filter(|(protocol, log)| protocol.info.industrial || log.operation.is_some())
        {
            let op = log.operation.as_ref().map_or_else(
                || "-".to_owned(),
                |spec| osect_wire::protocol::operation_name(spec, rec),
            );
            *d.ops.entry((path.to_owned(), op)).or_default() += count_of(rec);
        }
        // Vendors from the asset ledger's rows, by the fields the engine
        // names: the ledger has joined what each protocol heard to its device.
        if path == osect_engine::asset::ASSET.path {
            let set = |f: &&str| rec.get(f).filter(|v| !matches!(v, Value::Unset));
            if let Some(vendor) = osect_engine::protocols::VENDOR_FIELDS.iter().find_map(set) {
                let host = ["mac", "ips"]
                    .iter()
                    .find_map(set)
                    .map(value_text)
                    .unwrap_or_else(|| "-".into());
                if d.vendors.len() < 10_000 {
                    d.vendors.insert(host, value_text(vendor));
                }
            }
        }
        Ok(())
    })?;
    let w = |out: &mut dyn Write, s: String| -> Result<(), ExportError> {
        writeln!(out, "{s}").map_err(|source| ExportError::Write {
            path: PathBuf::from("<stdout>"),
            source,
        })
    };
    let rows = store.devices()?;
    for (device, d) in &devs {
        let row = rows.iter().find(|r| &r.device == device);
        w(
            out,
            format!(
                "== device {device} (site {}, agent {}, {} batches)",
                row.map_or("-", |r| if r.site.is_empty() { "-" } else { &r.site }),
                row.map_or("-", |r| &r.agent_version),
                row.map_or(0, |r| r.batches)
            ),
        )?;
        w(out, format!("-- hosts and vendors ({})", d.vendors.len()))?;
        for (host, vendor) in &d.vendors {
            w(out, format!("   {host:<40} {vendor}"))?;
        }
        w(out, "-- connections by protocol/service".into())?;
        for ((proto, service), n) in &d.conns {
            w(out, format!("   {proto:<6} {service:<20} {n}"))?;
        }
        w(out, "-- operations (log, operation: count)".into())?;
        for ((log, op), n) in &d.ops {
            w(out, format!("   {log:<22} {op:<36} {n}"))?;
        }
        w(out, "-- records per log".into())?;
        for (log, n) in &d.logs {
            w(out, format!("   {log:<22} {n}"))?;
        }
    }
    Ok(())
}
