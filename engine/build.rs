//! Generates the IEEE OUI vendor table from Debian's `ieee-data` package
//! (`/usr/share/ieee-data/oui.csv`, or the file named by `OSECT_OUI_CSV`).
//! The registry is compiled in, never fetched at run time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

const DEFAULT_CSV: &str = "/usr/share/ieee-data/oui.csv";

fn main() {
    println!("cargo:rerun-if-env-changed=OSECT_OUI_CSV");
    let path = std::env::var("OSECT_OUI_CSV").unwrap_or_else(|_| DEFAULT_CSV.to_owned());
    println!("cargo:rerun-if-changed={path}");
    let text = match std::fs::read(&path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => panic!(
            "cannot read the IEEE OUI registry {path}: {e}. Install Debian's `ieee-data` \
             package (apt-get install ieee-data) or set OSECT_OUI_CSV to a copy of oui.csv"
        ),
    };
    let mut table: BTreeMap<u32, String> = BTreeMap::new();
    for (n, row) in csv_rows(&text).into_iter().enumerate().skip(1) {
        let (Some(reg), Some(hex), Some(org)) = (row.first(), row.get(1), row.get(2)) else {
            continue;
        };
        if reg != "MA-L" {
            continue;
        }
        let Ok(oui) = u32::from_str_radix(hex.trim(), 16) else {
            panic!("{path}: row {n}: bad assignment {hex:?}");
        };
        let org = org.trim().trim_end_matches(',').trim();
        if !org.is_empty() {
            table.insert(oui, org.to_owned());
        }
    }
    assert!(
        table.len() > 1000,
        "{path}: only {} OUI rows: not the IEEE registry",
        table.len()
    );

    // Names are shared by many prefixes: store each once.
    let mut names: Vec<&str> = table.values().map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();
    let mut out = String::new();
    let _ = writeln!(out, "static OUI_NAMES: [&str; {}] = [", names.len());
    for n in &names {
        let _ = writeln!(out, "    {n:?},");
    }
    out.push_str("];\n");
    let _ = writeln!(out, "static OUI_KEYS: [u32; {}] = [", table.len());
    for k in table.keys() {
        let _ = writeln!(out, "    0x{k:06x},");
    }
    out.push_str("];\n");
    let _ = writeln!(out, "static OUI_NAME_INDEX: [u16; {}] = [", table.len());
    for v in table.values() {
        let i = names.binary_search(&v.as_str()).unwrap_or(0);
        let _ = writeln!(out, "    {i},");
    }
    out.push_str("];\n");
    assert!(
        names.len() <= usize::from(u16::MAX),
        "too many OUI names for u16 indexes"
    );
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("oui.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        panic!("cannot write {}: {e}", dest.display());
    }
}

/// RFC 4180 rows: quoted fields may hold commas, quotes ("") and newlines.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\r') => {}
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}
