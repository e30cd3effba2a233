//! Trains the zstd dictionary for batch bodies from Zeek TSV logs.
//!
//! ```text
//! cargo run -p osect-wire --example train_dict -- DIR... OUT.zdict
//! ```
//!
//! Every `*.log` under the given directories is read as Zeek TSV, cut into
//! chunks of rows, and each chunk encoded as a batch body; zstd trains on
//! those bodies, so the dictionary learns the encoding's own framing (log
//! paths, field names, tags) as well as common values.
use osect_wire::batch::{encode_body, intern_schema};
use osect_wire::zeek::parse_tsv_value;
use osect_wire::{FieldType, Record};
use std::path::{Path, PathBuf};

const ROWS_PER_SAMPLE: usize = 16;
const DICT_BYTES: usize = 16 * 1024;

fn logs_under(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            logs_under(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "log") {
            out.push(p);
        }
    }
    Ok(())
}

/// The rows of one Zeek TSV log as records; `None` when it is not one.
fn read_log(path: &Path) -> Option<Vec<Record>> {
    let text = std::fs::read_to_string(path).ok()?;
    let (mut log, mut names, mut types) = (None, None, None);
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("#path\t") {
            log = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("#fields\t") {
            names = Some(v.split('\t').map(str::to_owned).collect::<Vec<_>>());
        } else if let Some(v) = line.strip_prefix("#types\t") {
            types = Some(
                v.split('\t')
                    .map(FieldType::from_zeek_name)
                    .collect::<Option<Vec<_>>>()?,
            );
        } else if !line.starts_with('#') {
            rows.push(line.to_owned());
        }
    }
    let fields: Vec<(String, FieldType)> = names?.into_iter().zip(types?).collect();
    let schema = intern_schema(&log?, &fields).ok()?;
    rows.iter()
        .map(|row| {
            let values = fields
                .iter()
                .zip(row.split('\t'))
                .map(|((_, ty), cell)| parse_tsv_value(*ty, cell))
                .collect::<Option<Vec<_>>>()?;
            (values.len() == fields.len()).then_some(Record { schema, values })
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let out = args.pop().ok_or("usage: train_dict DIR... OUT.zdict")?;
    if args.is_empty() {
        return Err("usage: train_dict DIR... OUT.zdict".into());
    }
    let mut files = Vec::new();
    for d in &args {
        logs_under(d, &mut files)?;
    }
    files.sort();
    let mut samples = Vec::new();
    for f in &files {
        let Some(recs) = read_log(f) else {
            eprintln!("skipping {}: not a Zeek TSV log", f.display());
            continue;
        };
        for chunk in recs.chunks(ROWS_PER_SAMPLE) {
            samples.push(encode_body(chunk)?);
        }
    }
    let total: usize = samples.iter().map(Vec::len).sum();
    eprintln!("training on {} samples, {total} bytes", samples.len());
    let dict = zstd::dict::from_samples(&samples, DICT_BYTES)?;
    std::fs::write(&out, &dict)?;
    println!(
        "{}: {} bytes from {} samples of {} logs",
        out.display(),
        dict.len(),
        samples.len(),
        files.len()
    );
    Ok(())
}
