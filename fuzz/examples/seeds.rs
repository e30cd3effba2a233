//! Writes seed inputs for every fuzz target from real captures:
//! `seeds CORPUS_DIR OUT_DIR` reads every pcap/pcapng under CORPUS_DIR and
//! fills `OUT_DIR/<target>/`. The seeds are made at run time and never
//! committed: the corpus stays outside the repository.

use osect_agent::pcap;
use osect_fuzz::{push_frame, LINKS};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Frames per `packet` seed: enough for handshakes and a few requests.
const FRAMES_PER_SEED: usize = 64;

fn captures(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            captures(&p, out)?;
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng")
        ) {
            out.push(p);
        }
    }
    Ok(())
}

/// The gap byte that advances the harness clock closest to `dt_us`.
fn gap_byte(dt_us: i64) -> u8 {
    if dt_us < 0 {
        return 255;
    }
    ((dt_us as f64 / 10_000.0).sqrt().round() as i64).clamp(0, 254) as u8
}

fn run(corpus: &Path, out: &Path) -> Result<usize, String> {
    let mut files = Vec::new();
    captures(corpus, &mut files).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let dir = out.join("packet");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut written = 0;
    for (i, file) in files.iter().enumerate() {
        let mut seed = Vec::new();
        let mut last_ts = None;
        let mut n = 0;
        // A damaged file still gives the frames before the damage.
        let _ = pcap::read_file(file, |ts, link, frame| {
            if n == FRAMES_PER_SEED {
                return;
            }
            if seed.is_empty() {
                let Some(idx) = LINKS.iter().position(|l| *l == link) else {
                    return;
                };
                seed.push(idx as u8);
            }
            push_frame(&mut seed, gap_byte(ts - last_ts.unwrap_or(ts)), frame);
            last_ts = Some(ts);
            n += 1;
        });
        if n > 0 {
            let path = dir.join(format!("{i:04}"));
            std::fs::write(&path, &seed).map_err(|e| format!("{}: {e}", path.display()))?;
            written += 1;
        }
    }
    Ok(written)
}

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [corpus, out] = args.as_slice() else {
        eprintln!("usage: seeds CORPUS_DIR OUT_DIR");
        return ExitCode::FAILURE;
    };
    match run(corpus, out) {
        Ok(n) => {
            println!("seeds: {n} inputs written under {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("seeds: {e}");
            ExitCode::FAILURE
        }
    }
}
