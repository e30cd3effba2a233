//! What a decoder takes from a body: which log schemas, and how much.
//!
//! The agent's own tools decode anything the format can hold
//! ([`AnySchema`], [`Limits::FORMAT`]). A collector decodes batches from
//! devices whose keys may have been taken: it passes its own
//! [`SchemaPolicy`] (the project's schemas only) and tighter [`Limits`], so
//! a batch is refused before its records are built, and nothing a device
//! sends makes the process keep a schema it does not already know.

use super::schema::intern_schema;
use super::{MAX_BODY_BYTES, MAX_STR_BYTES};
use crate::record::{FieldType, LogSchema};

/// Why a schema is not taken: `reason` is short and fixed (a collector
/// counts refusals by it), `detail` names what was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub reason: &'static str,
    pub detail: String,
}

/// Decides which `'static` schema a body's section (log path, fields in
/// order with their types) is decoded under, or refuses it.
pub trait SchemaPolicy {
    fn resolve(
        &self,
        path: &str,
        fields: &[(String, FieldType)],
    ) -> Result<&'static LogSchema, Refusal>;
}

/// Takes any schema, interned for the life of the process (see
/// [`intern_schema`]): for batches this process made or a trusted file.
pub struct AnySchema;

impl SchemaPolicy for AnySchema {
    fn resolve(
        &self,
        path: &str,
        fields: &[(String, FieldType)],
    ) -> Result<&'static LogSchema, Refusal> {
        intern_schema(path, fields).map_err(|detail| Refusal {
            reason: "schemas",
            detail,
        })
    }
}

/// Bounds on one batch's content, checked while decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Uncompressed body bytes.
    pub body_bytes: usize,
    /// Records (rows of every section together).
    pub records: usize,
    /// Bytes of one string value or one item of a string list.
    pub str_bytes: usize,
}

impl Limits {
    /// What the format itself allows.
    pub const FORMAT: Limits = Limits {
        body_bytes: MAX_BODY_BYTES,
        records: usize::MAX,
        str_bytes: MAX_STR_BYTES,
    };
}
