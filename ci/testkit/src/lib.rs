//! Test utilities for the uplink: an LTE-like UDP link emulator
//! ([`relay`]), a throw-away PKI shaped like the factory's ([`pki`]), and
//! helpers to run the project's binaries as real processes ([`procs`]).

pub mod pki;
pub mod procs;
pub mod relay;

/// xorshift64*: reproducible randomness for impairments and test plans
/// (seeded and printed, so a failing run can be repeated).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi].
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi.saturating_sub(lo) + 1)
    }
}

/// The reference corpus: `OSECT_CORPUS`, else `../shared/corpus` beside the
/// repository. Panics, naming where it looked, when it is missing.
pub fn corpus() -> std::path::PathBuf {
    let dir = std::env::var("OSECT_CORPUS").map_or_else(
        |_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"),
        std::path::PathBuf::from,
    );
    assert!(
        dir.is_dir(),
        "the corpus is missing: set OSECT_CORPUS (looked in {})",
        dir.display()
    );
    dir
}

/// Every case of the corpus that has a capture: `(case name, trace.pcap or
/// trace.pcapng)`, by name.
pub fn corpus_traces() -> Vec<(String, std::path::PathBuf)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(corpus()).into_iter().flatten().flatten() {
        let trace = ["trace.pcap", "trace.pcapng"]
            .iter()
            .map(|t| e.path().join(t))
            .find(|p| p.exists());
        if let Some(t) = trace {
            out.push((e.file_name().to_string_lossy().into_owned(), t));
        }
    }
    out.sort();
    out
}

/// A batch of `header` whose folded log comes in `parts` (format version
/// 3), each part a section written by column, as `run` writes an
/// interval's folded rows when their memory fills.
pub fn batch_in_parts(
    header: &osect_wire::batch::Header,
    parts: &[Vec<osect_wire::Record>],
) -> Result<Vec<u8>, osect_wire::batch::EncodeError> {
    use osect_wire::batch::{Compressor, Decompressor, Stager};
    let mut st = Stager::new(Compressor::new(3, None)?);
    for rows in parts {
        let Some(schema) = rows.first().map(|r| r.schema) else {
            continue;
        };
        let mut part = st.section(schema, rows.len() as u64)?;
        for col in 0..schema.fields.len() {
            for r in rows {
                part.put(
                    r.values
                        .get(col)
                        .cloned()
                        .unwrap_or(osect_wire::Value::Unset),
                )?;
            }
        }
        part.finish()?;
    }
    st.take()?.encode(header, &mut Decompressor::default())
}
