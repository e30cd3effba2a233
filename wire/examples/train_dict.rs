//! Trains the zstd dictionary for batch bodies from the project's own
//! records: batches written by `osect-agent replay --batch-out`.
//!
//! ```text
//! cargo run -p osect-wire --example train_dict -- BATCH_DIR... OUT.zdict
//! ```
//!
//! Every `*.osb` under the given directories is decoded, its records cut
//! into chunks, and each chunk encoded as a batch body; zstd trains on those
//! bodies, so the dictionary learns the encoding's own framing (log paths,
//! field names, tags) as well as common values. `wire/dict/README.md` has
//! the exact command that made the shipped dictionary.
use osect_wire::batch::{decode, encode_body};
use std::path::{Path, PathBuf};

const ROWS_PER_SAMPLE: usize = 32;
const DICT_BYTES: usize = 16 * 1024;

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
    let mut samples = Vec::new();
    for f in &files {
        let b = decode(&std::fs::read(f)?).map_err(|e| format!("{}: {e}", f.display()))?;
        for chunk in b.records.chunks(ROWS_PER_SAMPLE) {
            samples.push(encode_body(chunk)?);
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
