//! Trains the zstd dictionary for batch bodies from the project's own
//! records: batches written by `osect-agent replay --batch-out`.
//!
//! ```text
//! cargo run -p osect-wire --example train_dict -- BATCH_DIR... OUT.zdict
//! ```
//!
//! Every `*.osb` under the given directories is decoded, its records cut
//! into chunks, and each chunk encoded as a batch body; and every batch
//! is written as the delta body the uplink sends, on the batch before it in
//! its directory. zstd trains on those bodies, so the dictionary learns the
//! encoding's own framing (log paths, field names, tags, references) as
//! well as common values. `wire/dict/README.md` has
//! the exact command that made the shipped dictionary.
use osect_wire::batch::{decode, delta_body_parts, encode_body};
use std::path::{Path, PathBuf};

const ROWS_PER_SAMPLE: usize = 32;
/// 64 KiB: on the 30-minute plant, deltas take 0.139 of the original
/// sensor's bytes with 16 KiB, 0.113 with 32 KiB and 0.096 with 64 KiB.
const DICT_BYTES: usize = 64 * 1024;

fn batches_under(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            batches_under(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "osb") {
            out.push(p);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let out = args
        .pop()
        .ok_or("usage: train_dict BATCH_DIR... OUT.zdict")?;
    if args.is_empty() {
        return Err("usage: train_dict BATCH_DIR... OUT.zdict".into());
    }
    let mut files = Vec::new();
    for d in &args {
        batches_under(d, &mut files)?;
    }
    files.sort();
    let mut batches = Vec::new();
    for f in &files {
        let b = decode(&std::fs::read(f)?).map_err(|e| format!("{}: {e}", f.display()))?;
        batches.push((f.parent().map(Path::to_path_buf), b));
    }
    // In sequence order within a directory: a delta stands on the batch before.
    batches.sort_by_key(|(dir, b)| (dir.clone(), b.header.seq));
    let mut samples = Vec::new();
    for (i, (dir, b)) in batches.iter().enumerate() {
        for chunk in b.records.chunks(ROWS_PER_SAMPLE) {
            samples.push(encode_body(chunk)?);
        }
        if let Some((base_dir, base)) = i.checked_sub(1).map(|p| &batches[p]) {
            if base_dir == dir {
                samples.push(delta_body_parts(&b.records, &base.records)?.0);
            }
        }
    }
    let total: usize = samples.iter().map(Vec::len).sum();
    let dict = zstd::dict::from_samples(&samples, DICT_BYTES)?;
    std::fs::write(&out, &dict)?;
    println!(
        "{}: {} bytes from {} samples ({total} bytes) of {} batches",
        out.display(),
        dict.len(),
        samples.len(),
        files.len()
    );
    Ok(())
}
