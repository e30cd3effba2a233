//! What a customer's contract end needs from the store: deleting
//! everything of a site, in every table that has a `site` column (whoever
//! added the table), and the residue check that proves nothing is left.

use crate::store::{now_us, Store, StoreError};
use rusqlite::{params, Connection, TransactionBehavior};
use std::collections::BTreeMap;

impl Store {
    /// Deletes everything stored of a site (the rows of every table with a
    /// `site` column: batches, refusals, and the analysis' tables, whoever
    /// adds them) or of a device (its batches and refusals), then rewrites
    /// the database file so the deleted rows are gone from the disk too.
    /// Returns the rows deleted per table.
    pub fn delete(
        &mut self,
        device: Option<&str>,
        site: Option<&str>,
        who: &str,
    ) -> Result<BTreeMap<String, u64>, StoreError> {
        let tx = self
            .db_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (column, value, tables) = match (site, device) {
            (Some(s), _) => ("site", s, tables_with_column(&tx, "site")?),
            (None, Some(d)) => ("device", d, vec!["batches".into(), "refusals".into()]),
            (None, None) => return Ok(BTreeMap::new()),
        };
        let mut out = BTreeMap::new();
        for t in tables {
            let n = tx.execute(
                &format!("DELETE FROM {} WHERE {column} = ?1", quoted(&t)),
                params![value],
            )?;
            out.insert(t, n as u64);
        }
        let summary: Vec<String> = out.iter().map(|(t, n)| format!("{t}={n}")).collect();
        tx.execute(
            "INSERT INTO audit (at, who, action, detail) VALUES (?1, ?2, 'delete', ?3)",
            params![
                now_us(),
                who,
                format!("{column}={value} {}", summary.join(" "))
            ],
        )?;
        tx.commit()?;
        self.db()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;")?;
        Ok(out)
    }

    /// The rows each table with a `site` column still holds for `site`.
    pub fn residue(&self, site: &str) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut out = BTreeMap::new();
        for t in tables_with_column(self.db(), "site")? {
            let n: i64 = self.db().query_row(
                &format!("SELECT COUNT(*) FROM {} WHERE site = ?1", quoted(&t)),
                params![site],
                |r| r.get(0),
            )?;
            out.insert(t, n as u64);
        }
        Ok(out)
    }
}

/// `residue`'s report: `{"site": ..., "rows": N, "tables": {"batches": 0, ...}}`.
pub fn residue_json(site: &str, tables: &BTreeMap<String, u64>) -> serde_json::Value {
    serde_json::json!({
        "site": site,
        "rows": tables.values().sum::<u64>(),
        "tables": tables,
    })
}

/// The tables (not SQLite's own) that have a column named `column`.
fn tables_with_column(db: &Connection, column: &str) -> Result<Vec<String>, StoreError> {
    let names: Vec<String> = db
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for t in names {
        let has: bool = db.query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)",
            params![t, column],
            |r| r.get(0),
        )?;
        if has {
            out.push(t);
        }
    }
    Ok(out)
}

/// A table name as an SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
