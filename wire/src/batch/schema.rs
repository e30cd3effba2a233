//! Decoded log schemas: each distinct (path, fields) made `'static` once
//! per process, so decoded records use the same writers as the agent's own.

use super::MAX_SCHEMAS;
use crate::record::{Field, FieldType, LogSchema};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

type SchemaKey = (String, Vec<(String, &'static str)>);

/// The `'static` schema for a log path and fields, made once per distinct
/// schema and kept for the life of the process, so decoded records can use
/// the same writers as the agent's own. At most [`MAX_SCHEMAS`] are kept;
/// past that, new schemas are refused.
pub fn intern_schema(
    path: &str,
    fields: &[(String, FieldType)],
) -> Result<&'static LogSchema, String> {
    static TABLE: OnceLock<Mutex<HashMap<SchemaKey, &'static LogSchema>>> = OnceLock::new();
    let key: SchemaKey = (
        path.to_owned(),
        fields
            .iter()
            .map(|(n, t)| (n.clone(), t.zeek_name()))
            .collect(),
    );
    let mut table = TABLE
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .map_err(|_| "schema table poisoned".to_owned())?;
    if let Some(s) = table.get(&key) {
        return Ok(s);
    }
    if table.len() >= MAX_SCHEMAS {
        return Err(format!("more than {MAX_SCHEMAS} distinct log schemas"));
    }
    let leaked: &'static [Field] = Box::leak(
        fields
            .iter()
            .map(|(n, ty)| Field {
                name: Box::leak(n.clone().into_boxed_str()),
                ty: *ty,
            })
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let schema: &'static LogSchema = Box::leak(Box::new(LogSchema {
        path: Box::leak(path.to_owned().into_boxed_str()),
        fields: leaked,
    }));
    table.insert(key, schema);
    Ok(schema)
}
