use super::*;
use osect_wire::{FieldType, Value};
use std::collections::HashSet;

/// A row of `schema` with the named fields set from their log text (as a
/// TSV log writes them) and every other field unset.
pub(crate) fn row(schema: &'static LogSchema, fields: &[(&str, &str)]) -> Record {
    let mut values = vec![Value::Unset; schema.fields.len()];
    for (name, text) in fields {
        let Some(i) = schema.index_of(name) else {
            panic!("{} has no field {name}", schema.path);
        };
        let parse = |t: &str| -> u64 {
            t.parse()
                .unwrap_or_else(|_| panic!("{}.{name}: {t:?} is not a count", schema.path))
        };
        values[i] = match schema.fields[i].ty {
            FieldType::Count => Value::Count(parse(text)),
            FieldType::Bool => Value::Bool(*text == "T"),
            FieldType::VectorCount => Value::Counts(text.split(',').map(parse).collect()),
            FieldType::SetString | FieldType::VectorString => {
                Value::Strings(text.split(',').map(str::to_owned).collect())
            }
            _ => Value::from(*text),
        };
    }
    Record { schema, values }
}

/// What `classify` says of a row of `schema` with `fields` and `more` set.
pub(crate) fn classify_row(
    classify: fn(&Record) -> OpClass,
    schema: &'static LogSchema,
    fields: &[(&str, &str)],
    more: &[(&str, &str)],
) -> OpClass {
    let all: Vec<(&str, &str)> = fields.iter().chain(more).copied().collect();
    classify(&row(schema, &all))
}

/// A protocol folder left out of the list would not even be compiled: every
/// folder with a descriptor is listed, once.
#[test]
fn every_protocol_folder_is_registered() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut on_disk = Vec::new();
    for layer in ["over_ip", "over_ethernet"] {
        let dir = src.join(layer);
        for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = e
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path();
            if path.join("descriptor.rs").is_file() {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                on_disk.push(format!("{layer}/{}", name.unwrap_or_default()));
            }
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = FOLDERS.iter().map(|f| f.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "protocol folders and the registry's list differ"
    );
}

#[test]
fn names_logs_and_precedences_are_unique() {
    let mut names = HashSet::new();
    let mut precedences = HashSet::new();
    let mut paths = HashSet::new();
    for d in REGISTRY {
        assert!(names.insert(d.info.name), "{} listed twice", d.info.name);
        if let Recognition::Probe {
            precedence, ports, ..
        } = d.recognition
        {
            assert!(
                precedences.insert(precedence),
                "{}: precedence {precedence} taken",
                d.info.name
            );
            // One port per transport at most: the fuzz targets are named
            // by the protocol and, after the first, by the transport.
            assert!(!ports.is_empty(), "{}: no well-known port", d.info.name);
            let transports: HashSet<_> = ports.iter().map(|(t, _)| *t).collect();
            assert_eq!(transports.len(), ports.len(), "{}: ports", d.info.name);
        }
    }
    for schema in log_schemas() {
        assert!(
            paths.insert(schema.path),
            "log {} written twice",
            schema.path
        );
    }
}

#[test]
fn every_log_is_reachable_and_consistent() {
    for d in REGISTRY {
        for l in d.info.logs {
            // The path finds this protocol's log again.
            let (owner, found) = log(l.schema.path).expect("registered log not found");
            assert!(
                std::ptr::eq(owner, *d),
                "{} found under {}",
                l.schema.path,
                owner.info.name
            );
            assert!(std::ptr::eq(found, l));
            let has = |f: &str| l.schema.index_of(f).is_some();
            if let Some(per_event) = l.fold.per_event() {
                // A folded row gains `count` and `ts_end` and is keyed by `ts`.
                assert!(has("ts"), "{} folds without ts", l.schema.path);
                // The per-event fields are the log's, and name no operation.
                for f in per_event {
                    assert!(
                        has(f) && *f != "ts",
                        "{}: per-event field {f} not in the log",
                        l.schema.path
                    );
                    let op = l.operation.as_ref().map_or(&[][..], |o| o.key);
                    assert!(
                        !op.contains(f),
                        "{}: {f} is per-event and names the operation",
                        l.schema.path
                    );
                }
                assert!(
                    !has("count"),
                    "{} folds but has its own count",
                    l.schema.path
                );
                assert!(!has("ts_end"), "{} folds but has ts_end", l.schema.path);
                assert!(d.info.industrial, "{} folds an IT log", l.schema.path);
            }
            if let Some(op) = &l.operation {
                assert!(!op.key.is_empty(), "{}: empty operation key", l.schema.path);
                for f in op.key {
                    assert!(has(f), "{}: key field {f} not in the log", l.schema.path);
                }
                // IT logs carry operations too where they change a device
                // (an FTP upload); they never fold, checked above.
                // An empty row classifies without panicking.
                let empty = Record {
                    schema: l.schema,
                    values: vec![Value::Unset; l.schema.fields.len()],
                };
                let _ = (op.classify)(&empty);
            }
        }
    }
}

#[test]
fn roles_fit_the_ledger_and_are_declared_once() {
    let names = role_names();
    assert!(
        names.len() <= 32,
        "{} roles: the ledger keeps 32",
        names.len()
    );
    let mut owners: Vec<(&str, &str)> = Vec::new();
    for d in REGISTRY {
        for r in d.roles {
            assert!(names.contains(&r.as_str()));
            owners.push((r.as_str(), d.info.name));
        }
    }
    // Only the two CC-Link protocols share roles.
    for (role, owner) in &owners {
        let others: Vec<_> = owners
            .iter()
            .filter(|(r, o)| r == role && o != owner)
            .map(|(_, o)| *o)
            .collect();
        assert!(
            others.is_empty() || role.starts_with("cclink_"),
            "{role} declared by {owner} and {others:?}"
        );
    }
}

#[test]
fn identity_sources_are_named_once_and_ranked_apart() {
    let mut names = HashSet::new();
    let mut lesser = HashSet::new();
    for d in REGISTRY {
        for s in d.identities {
            assert!(
                names.insert(s.as_str()),
                "identity source {} declared twice",
                s.as_str()
            );
            let rank = s.rank();
            assert!(rank <= IdentitySource::READ, "{}: rank {rank}", s.as_str());
            // Sources below a read never share a rank: two would take
            // turns overwriting the same field.
            assert!(
                rank == IdentitySource::READ || lesser.insert(rank),
                "{}: rank {rank} taken",
                s.as_str()
            );
        }
    }
    assert!(names.len() >= 9, "{} identity sources", names.len());
}

#[test]
fn every_recogniser_is_used_once_in_order() {
    let probes = REGISTRY
        .iter()
        .filter(|d| matches!(d.recognition, Recognition::Probe { .. }))
        .count();
    let ethernet = REGISTRY.len() - probes;
    assert_eq!(super::probes().len(), probes);
    assert_eq!(ethernet_decoders().len(), ethernet);
    // The loosest probes come last: Modbus (any MBAP frame with a known
    // function) after every other industrial one.
    let modbus = crate::over_ip::modbus::descriptor::DESCRIPTOR.recognition_precedence();
    for d in REGISTRY.iter().filter(|d| d.info.industrial) {
        if let Some(p) = d.recognition_precedence() {
            assert!(Some(p) <= modbus, "{} is tried after Modbus", d.info.name);
        }
    }
}

#[test]
fn the_collector_sees_every_log_the_engine_writes() {
    let all = log_schemas();
    for engine_log in [
        "conn",
        "asset",
        "arp",
        "ns",
        "fingerprint",
        "dns",
        "modbus",
        "cotp",
    ] {
        assert!(
            all.iter().any(|s| s.path == engine_log),
            "{engine_log} missing"
        );
    }
    assert!(folds("modbus") && folds("cotp"));
    assert!(!folds("conn") && !folds("cip_identity") && !folds("fins"));
}

impl Descriptor {
    fn recognition_precedence(&self) -> Option<u16> {
        match self.recognition {
            Recognition::Probe { precedence, .. } => Some(precedence),
            Recognition::Ethernet { .. } => None,
        }
    }
}

#[test]
fn vendor_fields_are_text_fields_of_the_asset_log() {
    for name in VENDOR_FIELDS {
        let f = crate::asset::ASSET
            .fields
            .iter()
            .find(|f| f.name == *name)
            .unwrap_or_else(|| panic!("asset.log has no {name} field"));
        assert_eq!(f.ty, FieldType::String, "{name}");
    }
}
