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

use osect_wire::batch::{intern_schema, Refusal, SchemaPolicy};
use osect_wire::{FieldType, LogSchema};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The schemas a collector takes.
#[derive(Debug)]
pub struct AllowList {
    by_path: HashMap<&'static str, Vec<&'static LogSchema>>,
}

/// The folded form of `schema`: `ts`, the fields not in `per_event`, then
/// `ts_end` and `count`; `None` for a log with no `ts` or that already
/// counts its rows (as the engine's fold does).
fn folded_fields(schema: &LogSchema, per_event: &[&str]) -> Option<Vec<(String, FieldType)>> {
    let ts = schema.index_of("ts")?;
    if schema.index_of("count").is_some() {
        return None;
    }
    let mut fields = vec![(schema.fields[ts].name.to_owned(), schema.fields[ts].ty)];
    fields.extend(
        schema
            .fields
            .iter()
            .filter(|f| !per_event.contains(&f.name))
            .map(|f| (f.name.to_owned(), f.ty)),
    );
    fields.push(("ts_end".into(), FieldType::Time));
    fields.push(("count".into(), FieldType::Count));
    Some(fields)
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
    /// The schemas in `logs`, plus the folded form of those whose path
    /// `folds` names (dropping the fields in `per_event`).
    pub fn new(
        logs: &[&'static LogSchema],
        folds: impl Fn(&str) -> bool,
        per_event: &[&str],
    ) -> Result<AllowList, String> {
        let mut by_path: HashMap<&'static str, Vec<&'static LogSchema>> = HashMap::new();
        for s in logs {
            let forms = by_path.entry(s.path).or_default();
            if !forms.contains(s) {
                forms.push(s);
            }
            if !folds(s.path) {
                continue;
            }
            if let Some(fields) = folded_fields(s, per_event) {
                let f = intern_schema(s.path, &fields)?;
                if !forms.contains(&f) {
                    forms.push(f);
                }
            }
        }
        Ok(AllowList { by_path })
    }

    /// Every schema the project's sensors write, from the engine's registry.
    pub fn project() -> Result<&'static AllowList, String> {
        static LIST: OnceLock<Result<AllowList, String>> = OnceLock::new();
        LIST.get_or_init(|| {
            AllowList::new(
                &osect_engine::protocols::log_schemas(),
                osect_engine::protocols::folds,
                osect_engine::batch::PER_EVENT_FIELDS,
            )
        })
        .as_ref()
        .map_err(|e| format!("the project's log schemas: {e}"))
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
    use osect_wire::record::field;
    use osect_wire::{Record, Value};

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
        let list = AllowList::new(&[&MODBUS], |p| p == "modbus", &["ts", "tid"]).unwrap();
        assert_eq!(list.len(), 2);
        assert!(std::ptr::eq(
            list.resolve("modbus", &owned(&MODBUS)).unwrap(),
            &MODBUS
        ));
        let folded: Vec<(String, FieldType)> = [
            ("ts", FieldType::Time),
            ("func", FieldType::String),
            ("ts_end", FieldType::Time),
            ("count", FieldType::Count),
        ]
        .iter()
        .map(|(n, t)| (n.to_string(), *t))
        .collect();
        assert_eq!(list.resolve("modbus", &folded).unwrap().fields.len(), 4);
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

    /// Every log the engine writes is taken, and so is every row the
    /// engine's own fold makes: the allow-list and the fold agree.
    #[test]
    fn the_project_list_takes_what_the_engine_writes_and_folds() {
        let list = AllowList::project().unwrap();
        let logs = osect_engine::protocols::log_schemas();
        assert!(logs.len() >= 20, "{} logs", logs.len());
        let mut folded = 0;
        for s in &logs {
            assert!(std::ptr::eq(list.resolve(s.path, &owned(s)).unwrap(), *s));
            let row = Record {
                schema: s,
                values: s
                    .fields
                    .iter()
                    .map(|f| match f.ty {
                        FieldType::Time => Value::Time(1),
                        _ => Value::Unset,
                    })
                    .collect(),
            };
            for r in osect_engine::batch::aggregate(vec![row]) {
                if !std::ptr::eq(r.schema, *s) {
                    folded += 1;
                }
                assert!(std::ptr::eq(
                    list.resolve(r.schema.path, &owned(r.schema)).unwrap(),
                    r.schema
                ));
            }
        }
        assert!(folded >= 10, "{folded} folded logs");
        assert_eq!(list.len(), logs.len() + folded);
    }
}
