//! Typed values and log schemas.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

/// A string value. Most record strings (uids, MAC addresses, operation
/// names) are short: they are kept inline, without a heap allocation.
pub type Text = compact_str::CompactString;

/// A Zeek field type, written verbatim in a TSV log's `#types` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    Time,
    Interval,
    String,
    Addr,
    Port,
    Count,
    Int,
    Double,
    Bool,
    Enum,
    SetString,
    VectorString,
    VectorCount,
    VectorInterval,
}

impl FieldType {
    pub fn zeek_name(self) -> &'static str {
        match self {
            FieldType::Time => "time",
            FieldType::Interval => "interval",
            FieldType::String => "string",
            FieldType::Addr => "addr",
            FieldType::Port => "port",
            FieldType::Count => "count",
            FieldType::Int => "int",
            FieldType::Double => "double",
            FieldType::Bool => "bool",
            FieldType::Enum => "enum",
            FieldType::SetString => "set[string]",
            FieldType::VectorString => "vector[string]",
            FieldType::VectorCount => "vector[count]",
            FieldType::VectorInterval => "vector[interval]",
        }
    }

    pub fn from_zeek_name(name: &str) -> Option<FieldType> {
        Some(match name {
            "time" => FieldType::Time,
            "interval" => FieldType::Interval,
            "string" => FieldType::String,
            "addr" => FieldType::Addr,
            "port" => FieldType::Port,
            "count" => FieldType::Count,
            "int" => FieldType::Int,
            "double" => FieldType::Double,
            "bool" => FieldType::Bool,
            "enum" => FieldType::Enum,
            "set[string]" => FieldType::SetString,
            "vector[string]" => FieldType::VectorString,
            "vector[count]" => FieldType::VectorCount,
            "vector[interval]" => FieldType::VectorInterval,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub ty: FieldType,
}

/// Shorthand for schema tables: `field("ts", FieldType::Time)`.
pub const fn field(name: &'static str, ty: FieldType) -> Field {
    Field { name, ty }
}

/// A log: Zeek's path name and its columns, in order.
#[derive(Debug, PartialEq, Eq)]
pub struct LogSchema {
    pub path: &'static str,
    pub fields: &'static [Field],
}

impl LogSchema {
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

/// One field's value. Times and intervals are integer microseconds, the
/// precision Zeek prints, so values compare exactly.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Unset,
    Bool(bool),
    Count(u64),
    Int(i64),
    Double(f64),
    Time(i64),
    Interval(i64),
    Str(Text),
    Addr(IpAddr),
    Port(u16),
    /// A set or vector of strings; an empty list is written `(empty)`.
    Strings(Vec<String>),
    Counts(Vec<u64>),
    Intervals(Vec<i64>),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(Text::from(s))
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(Text::from(s))
    }
}
impl From<Text> for Value {
    fn from(s: Text) -> Self {
        Value::Str(s)
    }
}
impl From<IpAddr> for Value {
    fn from(a: IpAddr) -> Self {
        Value::Addr(a)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Unset, Into::into)
    }
}

/// A row of a log. `values` has one entry per schema field.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub schema: &'static LogSchema,
    pub values: Vec<Value>,
}

impl Record {
    /// Drops the record with the test for owned memory made in line: most
    /// values own none, where the generic drop of a `Value` is a call per
    /// value (7% of a replay writing every record).
    pub fn free(self) {
        for v in self.values {
            match v {
                Value::Str(t) => drop(t),
                Value::Strings(v) => drop(v),
                Value::Counts(v) => drop(v),
                Value::Intervals(v) => drop(v),
                Value::Unset
                | Value::Bool(_)
                | Value::Count(_)
                | Value::Int(_)
                | Value::Double(_)
                | Value::Time(_)
                | Value::Interval(_)
                | Value::Addr(_)
                | Value::Port(_) => {}
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.schema.index_of(name).and_then(|i| self.values.get(i))
    }
}

/// Values used together as a map key (aggregating rows, joining the rows of
/// several workers): equal and hashed field by field, doubles by their bits.
#[derive(Clone, Debug)]
pub struct Key(pub Vec<Value>);

impl Value {
    fn same(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Double(a), Value::Double(b)) => a.to_bits() == b.to_bits(),
            (a, b) => a == b,
        }
    }

    fn hash_into<H: Hasher>(&self, h: &mut H) {
        std::mem::discriminant(self).hash(h);
        match self {
            Value::Unset => {}
            Value::Bool(b) => b.hash(h),
            Value::Count(n) => n.hash(h),
            Value::Int(n) | Value::Time(n) | Value::Interval(n) => n.hash(h),
            Value::Double(d) => d.to_bits().hash(h),
            Value::Str(s) => s.hash(h),
            Value::Addr(a) => a.hash(h),
            Value::Port(p) => p.hash(h),
            Value::Strings(v) => v.hash(h),
            Value::Counts(v) => v.hash(h),
            Value::Intervals(v) => v.hash(h),
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.0.len() == other.0.len() && self.0.iter().zip(&other.0).all(|(a, b)| a.same(b))
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.len().hash(h);
        for v in &self.0 {
            v.hash_into(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn keys_compare_by_value_and_doubles_by_bits() {
        let a = Key(vec![
            Value::from("READ"),
            Value::Double(f64::NAN),
            Value::Count(3),
        ]);
        let b = Key(vec![
            Value::from("READ"),
            Value::Double(f64::NAN),
            Value::Count(3),
        ]);
        let c = Key(vec![
            Value::from("READ"),
            Value::Double(f64::NAN),
            Value::Int(3),
        ]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let set: HashSet<Key> = [a, b, c].into_iter().collect();
        assert_eq!(set.len(), 2);
    }
}
