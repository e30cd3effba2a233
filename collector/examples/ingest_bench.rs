//! Ingest with analysis, measured: stores batches as the QUIC server does
//! (one durable insert each) and analyses them as the worker does, then
//! prints batches/s and records/s by wall and CPU time, and the store's
//! growth per sensor-day.
//!
//! `cargo run --release -p osect-collector --example ingest_bench -- DIR SENSORS`
//! where DIR holds one sensor's `.osb` batches (`osect-agent replay
//! --batch-out DIR --interval 60`); each simulated sensor sends the same
//! batches under its own serial and site.

use osect_collector::analyse::Analyser;
use osect_collector::store::Store;
use osect_wire::batch::{self, Batch};
use std::time::Instant;

/// User plus system CPU time of this process, in seconds.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(sensors)) = (args.first(), args.get(1)) else {
        return Err("usage: ingest_bench BATCH_DIR SENSORS".into());
    };
    let sensors: usize = sensors.parse()?;
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    let batches: Vec<Batch> = files
        .iter()
        .map(|f| batch::decode(&std::fs::read(f)?).map_err(|e| e.to_string().into()))
        .collect::<Result<_, Box<dyn std::error::Error>>>()?;
    let span_us: i64 = batches
        .iter()
        .map(|b| b.header.interval_end_us - b.header.interval_start_us)
        .sum();
    let records: usize = batches.iter().map(|b| b.records.len()).sum();
    let mut frames = Vec::new();
    for s in 0..sensors {
        for b in &batches {
            let mut b = b.clone();
            b.header.device_id = format!("SIM-{s:04}");
            b.header.site = format!("site-{s:04}");
            let data = batch::encode(&b, 3, None)?;
            frames.push((batch::read_frame_info(&data)?, data));
        }
    }
    let work = tempfile::tempdir()?;
    let mut store = Store::open(work.path())?;
    let mut analyser = Analyser::new(osect_collector::cli::registry());
    let key = [7u8; 32];
    let (t0, c0) = (Instant::now(), cpu_secs());
    for (i, (info, data)) in frames.iter().enumerate() {
        store.insert(
            info,
            &info.header.site,
            &key,
            data,
            osect_collector::store::now_us(),
            "bench",
        )?;
        // The worker's rounds: analysis follows ingest closely.
        if i % 64 == 63 {
            while analyser.run_pending(&mut store)? > 0 {}
        }
    }
    while analyser.run_pending(&mut store)? > 0 {}
    let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_secs() - c0);
    let n = frames.len() as f64;
    let db = work.path().join("collector.sqlite");
    let bytes = std::fs::metadata(&db)?.len()
        + std::fs::metadata(db.with_extension("sqlite-wal")).map_or(0, |m| m.len());
    let sensor_days = sensors as f64 * span_us as f64 / 86_400e6;
    println!(
        "{} batches ({} records each on average, {} sensors x {} batches of 60 s)",
        frames.len(),
        records / batches.len().max(1),
        sensors,
        batches.len()
    );
    println!(
        "ingest with analysis: {:.0} batches/s, {:.0} records/s by wall time ({wall:.2} s); {:.0} batches/s by CPU time ({cpu:.2} s)",
        n / wall,
        n * (records as f64 / batches.len().max(1) as f64) / wall,
        n / cpu.max(1e-9)
    );
    println!(
        "store: {:.1} MiB, {:.1} MiB per sensor-day",
        bytes as f64 / 1_048_576.0,
        bytes as f64 / 1_048_576.0 / sensor_days.max(1e-9)
    );
    Ok(())
}
