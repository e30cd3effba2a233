//! `bench-sizes OURS_DIR PER_EVENT_DIR [SENT_BYTES] [--level N] [--dictionary ID]
//! [--levels] [--breakdown]`: bytes over
//! the air for the same records, several ways.
//!
//! - OURS_DIR: the agent's batches (`replay --batch-out`, as `run` spools
//!   them, in full): their sizes, and their sizes as deltas each on the
//!   batch before (what the uplink sends when every batch is acknowledged
//!   before the next is sent) at the agent's level (`--level`, default 9)
//!   and the uplink's delta dictionary (the newest; `--dictionary ID`).
//! - PER_EVENT_DIR: batches of the same capture and interval without
//!   aggregation; each is written as the original OsecT sensor shipped a
//!   minute: one Zeek TSV file per log, in a tar, compressed with zstd
//!   level 10.
//! - SENT_BYTES: what the agent's uplink sent for the same capture through
//!   QUIC (its acknowledged batch bytes), compared with the original too.
//! - `--levels`: bytes and CPU per batch, in full and as deltas, for zstd
//!   levels 1 to 19 with and without the dictionary.
//! - `--breakdown`: where the bytes of the deltas go, per log and per
//!   column: what the compressed delta loses when that log or column is
//!   left out of its body (shares of the whole; they overlap where zstd
//!   matched one part against another, so they need not add up).
use osect_wire::batch;
use osect_wire::{Format, LogWriter};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// The encoded batches in `dir`.
fn batches(dir: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "osb") {
            v.push(std::fs::read(&p)?);
        }
    }
    Ok(v)
}

/// One ustar entry (header and data padded to 512 bytes).
fn tar_entry(out: &mut Vec<u8>, name: &str, data: &[u8], mtime: i64) {
    let mut h = [0u8; 512];
    let put = |h: &mut [u8; 512], at: usize, s: &[u8]| h[at..at + s.len()].copy_from_slice(s);
    put(&mut h, 0, name.as_bytes());
    put(&mut h, 100, b"0000644\0");
    put(&mut h, 108, b"0000000\0");
    put(&mut h, 116, b"0000000\0");
    put(&mut h, 124, format!("{:011o}\0", data.len()).as_bytes());
    put(&mut h, 136, format!("{:011o}\0", mtime.max(0)).as_bytes());
    put(&mut h, 148, b"        ");
    h[156] = b'0';
    put(&mut h, 257, b"ustar\x0000");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

/// CPU time of this thread.
fn cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Bytes and CPU time of encoding every batch at `level` with `dict`, in
/// full or each as a delta on the one before.
fn encode_all(
    decoded: &[batch::Batch],
    level: i32,
    dict: Option<&batch::Dictionary>,
    delta: bool,
) -> Result<(u64, Duration), Box<dyn std::error::Error>> {
    let mut bytes = 0u64;
    let mut base: Option<batch::Base> = None;
    let t0 = cpu();
    for b in decoded {
        let f = match (&base, delta) {
            (Some(base), true) => {
                let f = batch::encode_delta(b, base, level, dict)?;
                // What the collector resolves must be the batch, row for row.
                let back =
                    batch::decode_delta_with(&f, base, &batch::Limits::FORMAT, &batch::AnySchema)?;
                if back != *b {
                    return Err(format!("batch {} resolves to other rows", b.header.seq).into());
                }
                f
            }
            _ => batch::encode(b, level, dict)?,
        };
        bytes += f.len() as u64;
        if delta {
            // The digest is the full encoding's: the base as the collector has it.
            let digest = batch::read_frame_info(&f)?.digest;
            base = Some(batch::Base {
                batch: b.clone(),
                digest,
            });
        }
    }
    Ok((bytes, cpu() - t0))
}

/// Bytes of the deltas (each batch on the one before) per log and per
/// column, printed: raw body bytes and what leaving the part out of the
/// body takes off the compressed body.
fn breakdown(
    decoded: &[batch::Batch],
    level: i32,
    dict: Option<&batch::Dictionary>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut z = match dict {
        Some(d) => zstd::bulk::Compressor::with_dictionary(level, d.bytes)?,
        None => zstd::bulk::Compressor::new(level)?,
    };
    // (log, column) -> (raw bytes, compressed bytes it adds)
    let mut per: BTreeMap<(&str, String), (u64, u64)> = BTreeMap::new();
    // log -> (rows, rows on no base row)
    let mut counts: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut total = 0u64;
    let without =
        |z: &mut zstd::bulk::Compressor<'_>, body: &[u8], cut: &std::ops::Range<usize>| {
            let mut b = Vec::with_capacity(body.len());
            b.extend_from_slice(&body[..cut.start]);
            b.extend_from_slice(&body[cut.end..]);
            z.compress(&b).map(|c| c.len() as u64)
        };
    for pair in decoded.windows(2) {
        let (body, parts) = batch::delta_body_parts(&pair[1].records, &pair[0].records)?;
        let whole = z.compress(&body)?.len() as u64;
        total += whole;
        let mut logs: BTreeMap<&str, std::ops::Range<usize>> = BTreeMap::new();
        for p in &parts {
            let r = logs.entry(p.log).or_insert(p.bytes.clone());
            r.start = r.start.min(p.bytes.start);
            r.end = r.end.max(p.bytes.end);
            let name = match &p.what {
                batch::PartKind::Schema => "(schema)".to_owned(),
                batch::PartKind::References { rows, new } => {
                    let c = counts.entry(p.log).or_default();
                    c.0 += *rows as u64;
                    c.1 += *new as u64;
                    "(row references)".to_owned()
                }
                batch::PartKind::Column(c) => (*c).to_owned(),
            };
            let less = whole.saturating_sub(without(&mut z, &body, &p.bytes)?);
            let e = per.entry((p.log, name)).or_default();
            e.0 += p.bytes.len() as u64;
            e.1 += less;
        }
        for (log, r) in logs {
            let less = whole.saturating_sub(without(&mut z, &body, &r)?);
            let e = per.entry((log, "(whole log)".to_owned())).or_default();
            e.0 += r.len() as u64;
            e.1 += less;
        }
    }
    println!("\ndeltas each on the one before: {total} compressed body bytes");
    println!("log  column  raw bytes  compressed bytes it adds  share");
    let mut rows: Vec<_> = per.into_iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1 .1));
    for ((log, col), (raw, less)) in rows {
        if less * 500 < total {
            continue;
        }
        let new = match (col.as_str(), counts.get(log)) {
            ("(whole log)", Some((rows, new))) => format!("  ({new} of {rows} rows new)"),
            _ => String::new(),
        };
        println!(
            "{log}  {col}  {raw}  {less}  {:.1}%{new}",
            less as f64 * 100.0 / total.max(1) as f64
        );
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let levels = args.iter().any(|a| a == "--levels");
    let by_part = args.iter().any(|a| a == "--breakdown");
    args.retain(|a| a != "--levels" && a != "--breakdown");
    // The agent's zstd level (`batch.zstd_level`), for the deltas.
    let level = match args.iter().position(|a| a == "--level") {
        Some(i) if i + 1 < args.len() => {
            let l = args.remove(i + 1).parse::<i32>()?;
            args.remove(i);
            l
        }
        _ => 9,
    };
    // The deltas' dictionary (default: the newest, as the uplink's).
    let args_dict = match args.iter().position(|a| a == "--dictionary") {
        Some(i) if i + 1 < args.len() => {
            let d = args.remove(i + 1).parse::<u32>()?;
            args.remove(i);
            Some(d)
        }
        _ => None,
    };
    let (ours, per_event, sent) = match args.as_slice() {
        [o, p] => (o, p, None),
        [o, p, s] => (o, p, Some(s.parse::<u64>()?)),
        _ => {
            return Err(
                "usage: bench-sizes OURS_DIR PER_EVENT_DIR [SENT_BYTES] [--level N] [--dictionary ID] [--levels] [--breakdown]"
                    .into(),
            )
        }
    };
    let mut ours = batches(Path::new(ours))?;
    // In sequence order: a delta stands on the batch before.
    ours.sort_by_key(|b| batch::read_frame_info(b).map_or(0, |i| i.header.seq));
    let ours_bytes: u64 = ours.iter().map(|b| b.len() as u64).sum();
    let mut first = i64::MAX;
    let mut last = i64::MIN;
    let mut ours_records = 0u64;
    for b in &ours {
        let info = batch::read_frame_info(b)?;
        first = first.min(info.header.interval_start_us);
        last = last.max(info.header.interval_end_us);
        ours_records += info.header.record_count;
    }
    let mut original = 0u64;
    let mut tsv_raw = 0u64;
    let mut rows = 0u64;
    for bytes in batches(Path::new(per_event))? {
        let b = batch::decode(&bytes)?;
        let (open, close) = (b.header.interval_start_us, b.header.interval_end_us);
        let mut logs: BTreeMap<&str, LogWriter<Vec<u8>>> = BTreeMap::new();
        for r in &b.records {
            if !logs.contains_key(r.schema.path) {
                logs.insert(
                    r.schema.path,
                    LogWriter::new(Vec::new(), r.schema, Format::Tsv, open)?,
                );
            }
            if let Some(w) = logs.get_mut(r.schema.path) {
                w.write(r)?;
            }
            rows += 1;
        }
        let mut tar = Vec::new();
        for (path, w) in logs {
            let data = w.close(close)?;
            tsv_raw += data.len() as u64;
            tar_entry(&mut tar, &format!("{path}.log"), &data, close / 1_000_000);
        }
        tar.extend_from_slice(&[0u8; 1024]);
        original += zstd::bulk::compress(&tar, 10)?.len() as u64;
    }
    let hours = ((last - first) as f64 / 3.6e9).max(1e-9);
    println!("capture span                      {:.2} h", hours);
    println!(
        "original sensor (TSV/min, tar+zstd-10)  {:>10} bytes  {:>10.0} bytes/h  ({rows} rows, {tsv_raw} bytes of TSV)",
        original,
        original as f64 / hours
    );
    println!(
        "osect batches (aggregated, zstd)        {:>10} bytes  {:>10.0} bytes/h  ({ours_records} rows, {} batches)",
        ours_bytes,
        ours_bytes as f64 / hours,
        ours.len()
    );
    let decoded: Vec<batch::Batch> = ours
        .iter()
        .map(|b| batch::decode(b))
        .collect::<Result<_, _>>()?;
    // The uplink's deltas use the newest dictionary.
    let dict = match args_dict {
        Some(id) => batch::dictionary(id),
        None => batch::DICTIONARIES.last(),
    };
    let (chained, _) = encode_all(&decoded, level, dict, true)?;
    println!(
        "osect batches as deltas, each on the one before  {:>10} bytes  {:>10.0} bytes/h",
        chained,
        chained as f64 / hours
    );
    println!(
        "ratio in full                           {:.3}",
        ours_bytes as f64 / original.max(1) as f64
    );
    println!(
        "ratio as deltas                         {:.3} (target: at most 0.25)",
        chained as f64 / original.max(1) as f64
    );
    if let Some(sent) = sent {
        println!(
            "sent by the uplink through QUIC         {:>10} bytes  ratio {:.3} (target: at most 0.25)",
            sent,
            sent as f64 / original.max(1) as f64
        );
    }
    if by_part {
        breakdown(&decoded, level, dict)?;
    }
    if levels {
        let n = decoded.len().max(1) as f64;
        println!("\nzstd level  dictionary  full bytes/batch  full CPU ms/batch  delta bytes/batch  delta CPU ms/batch");
        for level in 1..=19 {
            for dict in [None, batch::DICTIONARIES.last()] {
                let (fb, ft) = encode_all(&decoded, level, dict, false)?;
                let (db, dt) = encode_all(&decoded, level, dict, true)?;
                println!(
                    "{level:>10}  {:>10}  {:>16.0}  {:>17.2}  {:>17.0}  {:>18.2}",
                    dict.map_or("none".to_owned(), |d| d.id.to_string()),
                    fb as f64 / n,
                    ft.as_secs_f64() * 1e3 / n,
                    db as f64 / n,
                    dt.as_secs_f64() * 1e3 / n
                );
            }
        }
    }
    Ok(())
}
