//! What a device may write: the log paths, fields and types the project's
//! schemas define, and nothing else.
//!
//! A unit stands in the customer's plant and its key can be taken, so a
//! batch's sections are untrusted. Each section must have exactly the
//! fields, in order and with their types, of a schema the engine writes, or
//! of the folded form batches carry for the logs the engine folds (the
//! per-transaction fields dropped, `ts_end` and `count` added). Anything
//! else is refused with a short reason the collector counts per device.
//! Decoded records point at the engine's own schemas, so nothing a device
//! sends adds a schema to the process.

use osect_wire::batch::{Refusal, SchemaPolicy};
use osect_wire::{FieldType, LogSchema, Record, Value};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The schemas a collector takes.
#[derive(Debug)]
pub struct AllowList {
    by_path: HashMap<&'static str, Vec<&'static LogSchema>>,
}

/// A row of `schema` with every time set and the rest unset: enough for the
/// engine's fold to show the form it gives the log.
fn sample_row(schema: &'static LogSchema) -> Record {
    Record {
        schema,
        values: schema
            .fields
            .iter()
            .map(|f| match f.ty {
                FieldType::Time => Value::Time(0),
                _ => Value::Unset,
            })
            .collect(),
    }
}

/// At most this many characters of a device's string go into a reason.
const SHOWN: usize = 64;

/// A device's string as a reason shows it: escaped and cut.
pub fn shown(s: &str) -> String {
    let cut: String = s.chars().take(SHOWN).collect();
    let more = if cut.len() < s.len() { "..." } else { "" };
    format!("{:?}{more}", cut)
}

impl AllowList {
    /// Takes exactly `schemas`.
    pub fn new(schemas: impl IntoIterator<Item = &'static LogSchema>) -> AllowList {
        let mut by_path: HashMap<&'static str, Vec<&'static LogSchema>> = HashMap::new();
        for s in schemas {
            let forms = by_path.entry(s.path).or_default();
            if !forms.contains(&s) {
                forms.push(s);
            }
        }
        AllowList { by_path }
    }

    /// Every schema the project's sensors write: the engine's logs, and the
    /// folded form of those its batches fold, as the engine's own fold makes
    /// it (from a row of each log).
    pub fn project() -> &'static AllowList {
        static LIST: OnceLock<AllowList> = OnceLock::new();
        LIST.get_or_init(|| {
            let logs = osect_engine::protocols::log_schemas();
            let folded: Vec<&'static LogSchema> = logs
                .iter()
                .flat_map(|s| osect_engine::batch::aggregate(vec![sample_row(s)]))
                .map(|r| r.schema)
                .collect();
            AllowList::new(logs.into_iter().chain(folded))
        })
    }

    /// Whether some schema of the log `path` is taken.
    pub fn knows(&self, path: &str) -> bool {
        self.by_path.contains_key(path)
    }

    /// How many schemas are taken (folded forms included).
    pub fn len(&self) -> usize {
        self.by_path.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }
}

impl SchemaPolicy for AllowList {
    fn resolve(
        &self,
        path: &str,
        fields: &[(String, FieldType)],
    ) -> Result<&'static LogSchema, Refusal> {
        let refuse = |reason, detail| Err(Refusal { reason, detail });
        let Some(forms) = self.by_path.get(path) else {
            return refuse("unknown log", shown(path));
        };
        let same = |s: &&&'static LogSchema| {
            s.fields.len() == fields.len()
                && s.fields
                    .iter()
                    .zip(fields)
                    .all(|(f, (n, t))| f.name == n && f.ty == *t)
        };
        if let Some(s) = forms.iter().find(same) {
            return Ok(s);
        }
        // Name what is wrong: a field no form has, a known field with
        // another type, or known fields in an order or set none has.
        for (name, ty) in fields {
            let known: Vec<FieldType> = forms
                .iter()
                .flat_map(|s| s.fields.iter())
                .filter(|f| f.name == name)
                .map(|f| f.ty)
                .collect();
            if known.is_empty() {
                return refuse("unknown field", format!("{path}: {}", shown(name)));
            }
            if !known.contains(ty) {
                return refuse(
                    "field type",
                    format!(
                        "{path}: {name} is {}, the schema has {}",
                        ty.zeek_name(),
                        known[0].zeek_name()
                    ),
                );
            }
        }
        refuse(
            "field list",
            format!(
                "{path}: {} fields in an order or set no schema of the log has",
                fields.len()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use osect_wire::batch::intern_schema;
    use osect_wire::record::field;

    static MODBUS: LogSchema = LogSchema {
        path: "modbus",
        fields: &[
            field("ts", FieldType::Time),
            field("tid", FieldType::Count),
            field("func", FieldType::String),
        ],
    };

    fn owned(s: &LogSchema) -> Vec<(String, FieldType)> {
        s.fields.iter().map(|f| (f.name.to_owned(), f.ty)).collect()
    }

    #[test]
    fn exact_schemas_and_folded_forms_are_taken_and_the_rest_named() {
        let folded: Vec<(String, FieldType)> = [
            ("ts", FieldType::Time),
            ("func", FieldType::String),
            ("ts_end", FieldType::Time),
            ("count", FieldType::Count),
        ]
        .iter()
        .map(|(n, t)| (n.to_string(), *t))
        .collect();
        let folded_schema = intern_schema("modbus", &folded).unwrap();
        let list = AllowList::new([&MODBUS, folded_schema]);
        assert_eq!(list.len(), 2);
        assert!(std::ptr::eq(
            list.resolve("modbus", &owned(&MODBUS)).unwrap(),
            &MODBUS
        ));
        assert!(std::ptr::eq(
            list.resolve("modbus", &folded).unwrap(),
            folded_schema
        ));
        let reason = |path: &str, fields: &[(String, FieldType)]| {
            let r = list.resolve(path, fields).unwrap_err();
            (r.reason, r.detail)
        };
        assert_eq!(
            reason("../../../../osect-traversal-proof", &owned(&MODBUS)),
            (
                "unknown log",
                "\"../../../../osect-traversal-proof\"".into()
            )
        );
        let mut extra = owned(&MODBUS);
        extra.push(("evil\n".into(), FieldType::String));
        assert_eq!(
            reason("modbus", &extra),
            ("unknown field", "modbus: \"evil\\n\"".into())
        );
        let mut typed = owned(&MODBUS);
        typed[2].1 = FieldType::Count;
        assert_eq!(
            reason("modbus", &typed),
            (
                "field type",
                "modbus: func is count, the schema has string".into()
            )
        );
        let mut swapped = owned(&MODBUS);
        swapped.swap(1, 2);
        assert_eq!(reason("modbus", &swapped).0, "field list");
        assert_eq!(reason("modbus", &owned(&MODBUS)[..2]).0, "field list");
    }

    #[test]
    fn shown_strings_are_escaped_and_cut() {
        assert_eq!(shown("a\tb"), "\"a\\tb\"");
        let long = "x".repeat(200);
        assert_eq!(shown(&long), format!("{:?}...", "x".repeat(SHOWN)));
    }

    /// Every log the engine writes is taken, and so is the folded form of
    /// each log it folds; nothing else.
    #[test]
    fn the_project_list_takes_what_the_engine_writes_and_folds() {
        let list = AllowList::project();
        let logs = osect_engine::protocols::log_schemas();
        assert!(logs.len() >= 20, "{} logs", logs.len());
        for s in &logs {
            assert!(std::ptr::eq(list.resolve(s.path, &owned(s)).unwrap(), *s));
        }
        // The folded form as the descriptor declares it: `ts`, the fields
        // but the per-event ones, `ts_end`, `count`.
        let folding: Vec<_> = osect_engine::protocols::REGISTRY
            .iter()
            .flat_map(|d| d.info.logs)
            .filter_map(|l| Some((l.schema, l.fold.per_event()?)))
            .collect();
        assert!(folding.len() >= 10, "{} folded logs", folding.len());
        for (s, per_event) in &folding {
            let mut f: Vec<(String, FieldType)> = owned(s)
                .into_iter()
                .filter(|(n, _)| n != "ts" && !per_event.contains(&n.as_str()))
                .collect();
            f.insert(0, ("ts".into(), FieldType::Time));
            f.push(("ts_end".into(), FieldType::Time));
            f.push(("count".into(), FieldType::Count));
            assert_eq!(
                list.resolve(s.path, &f).unwrap().fields.len(),
                f.len(),
                "{}",
                s.path
            );
        }
        assert_eq!(list.len(), logs.len() + folding.len());
    }
}
