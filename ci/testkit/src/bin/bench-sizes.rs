//! `bench-sizes OURS_DIR PER_EVENT_DIR`: bytes over the air for the same
//! records, two ways.
//!
//! - OURS_DIR: the agent's batches (`replay --batch-out`, as `run` spools
//!   them): their sizes are what the uplink sends (QUIC/TLS framing aside).
//! - PER_EVENT_DIR: batches of the same capture and interval without
//!   aggregation; each is written as the original OsecT sensor shipped a
//!   minute: one Zeek TSV file per log, in a tar, compressed with zstd
//!   level 10.
use osect_wire::batch;
use osect_wire::{Format, LogWriter};
use std::collections::BTreeMap;
use std::path::Path;

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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [ours, per_event] = args.as_slice() else {
        return Err("usage: bench-sizes OURS_DIR PER_EVENT_DIR".into());
    };
    let ours = batches(Path::new(ours))?;
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
    println!(
        "ratio                                   {:.3} (target: at most 0.5)",
        ours_bytes as f64 / original.max(1) as f64
    );
    Ok(())
}
