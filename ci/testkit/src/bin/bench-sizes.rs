//! `bench-sizes OURS_DIR PER_EVENT_DIR [SENT_BYTES] [--level N] [--levels]`: bytes over
//! the air for the same records, several ways.
//!
//! - OURS_DIR: the agent's batches (`replay --batch-out`, as `run` spools
//!   them, in full): their sizes, and their sizes as deltas each on the
//!   batch before (what the uplink sends when every batch is acknowledged
//!   before the next is sent) at the agent's level (`--level`, default 9)
//!   and dictionary.
//! - PER_EVENT_DIR: batches of the same capture and interval without
//!   aggregation; each is written as the original OsecT sensor shipped a
//!   minute: one Zeek TSV file per log, in a tar, compressed with zstd
//!   level 10.
//! - SENT_BYTES: what the agent's uplink sent for the same capture through
//!   QUIC (its acknowledged batch bytes), compared with the original too.
//! - `--levels`: bytes and CPU per batch, in full and as deltas, for zstd
//!   levels 1 to 19 with and without the dictionary.
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
            (Some(base), true) => batch::encode_delta(b, base, level, dict)?,
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let levels = args.iter().any(|a| a == "--levels");
    args.retain(|a| a != "--levels");
    // The agent's zstd level (`batch.zstd_level`), for the deltas.
    let level = match args.iter().position(|a| a == "--level") {
        Some(i) if i + 1 < args.len() => {
            let l = args.remove(i + 1).parse::<i32>()?;
            args.remove(i);
            l
        }
        _ => 9,
    };
    let (ours, per_event, sent) = match args.as_slice() {
        [o, p] => (o, p, None),
        [o, p, s] => (o, p, Some(s.parse::<u64>()?)),
        _ => {
            return Err(
                "usage: bench-sizes OURS_DIR PER_EVENT_DIR [SENT_BYTES] [--level N] [--levels]"
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
    // The agent's dictionary, as its frames name it (bytes 6 to 9).
    let dict_id = ours
        .first()
        .and_then(|b| b.get(6..10))
        .map_or(0, |d| u32::from_le_bytes([d[0], d[1], d[2], d[3]]));
    let dict = batch::dictionary(dict_id);
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
