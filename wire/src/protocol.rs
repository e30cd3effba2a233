//! What a protocol tells the core about its logs: which schemas it writes,
//! whether a batch folds their rows, and which fields name an operation and
//! what that operation does (read, write, a controller's program or state
//! change). The sensor's engine declares one [`ProtocolInfo`] in each
//! protocol's own folder; the collector and the analysis read them instead of
//! keeping lists of log names of their own.

use crate::record::{LogSchema, Record, Value};
use serde::{Deserialize, Serialize};

/// One protocol, as the core sees it.
#[derive(Debug)]
pub struct ProtocolInfo {
    /// The protocol's name as `conn.log`'s `service` writes it (`s7comm`).
    pub name: &'static str,
    /// Every log the protocol writes.
    pub logs: &'static [LogInfo],
    /// True for industrial (OT) protocols: their operations are analysed
    /// and summarised per communication pair.
    pub industrial: bool,
}

/// One log of a protocol.
#[derive(Debug)]
pub struct LogInfo {
    pub schema: &'static LogSchema,
    /// Whether a batch folds this log's rows, and by which key.
    pub fold: Fold,
    /// How a row of this log names and classifies an operation; `None` for
    /// logs that carry no operation (identities, discovery).
    pub operation: Option<OperationSpec>,
}

/// How a batch carries a log's rows.
#[derive(Debug)]
pub enum Fold {
    /// Every row as it was made.
    No,
    /// Per interval, one row per distinct key, with `ts` of the first
    /// occurrence and, appended, `ts_end` of the last and `count`. The key
    /// is every field but `ts` and `per_event`: the fields that change with
    /// every transaction (transaction and invoke ids, sequence numbers) and
    /// say nothing about the operation.
    Yes { per_event: &'static [&'static str] },
}

impl Fold {
    /// The per-transaction fields of a folded log; `None` when it does not
    /// fold.
    pub fn per_event(&self) -> Option<&'static [&'static str]> {
        match self {
            Fold::No => None,
            Fold::Yes { per_event } => Some(per_event),
        }
    }

    /// The fields a folded row of `schema` keeps, as indexes into it: `ts`
    /// first, then the key's fields in schema order. `None` when the log
    /// does not fold or has no `ts`.
    pub fn kept_fields(&self, schema: &LogSchema) -> Option<Vec<usize>> {
        let per_event = self.per_event()?;
        let ts = schema.index_of("ts")?;
        let key = schema
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.name != "ts" && !per_event.contains(&f.name))
            .map(|(i, _)| i);
        Some(std::iter::once(ts).chain(key).collect())
    }
}

/// How a log's row names an operation.
#[derive(Debug)]
pub struct OperationSpec {
    /// The fields that together name the operation in the communication map
    /// (function code, command and sub-command, service, object): the first
    /// is the main one, the others refine it. Unset fields are skipped.
    pub key: &'static [&'static str],
    /// What the operation does, read from the row's values.
    pub classify: fn(&Record) -> OpClass,
}

/// Whether an operation reads or changes data in the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Read,
    Write,
    /// Neither (session set-up, diagnostics, replies without a request).
    Other,
}

/// A change to a controller's program, configuration or state: what the
/// core alerts on even where the baseline has seen it before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// A program or configuration block written to the controller.
    ProgramDownload,
    /// A program or block read from the controller.
    ProgramUpload,
    /// Access to the program area other than the two above (FINS program
    /// area reads and writes, S7 block deletion).
    ProgramAccess,
    Stop,
    Run,
    Pause,
    /// Reset or restart of the controller (SLMP remote RESET, CIP reset,
    /// BACnet ReinitializeDevice, DNP3 cold or warm restart).
    Restart,
    /// A file moved to or from the device (DNP3 file transfer).
    FileTransfer,
    /// A control command to the process (IEC 104 commands, DNP3 operate).
    Command,
    /// Communication of the device switched off or on (BACnet
    /// DeviceCommunicationControl).
    CommControl,
    /// Device memory or a property written (SLMP device memory writes, FINS
    /// memory area writes, BACnet WriteProperty, Modbus writes).
    MemoryWrite,
}

impl Control {
    pub fn as_str(self) -> &'static str {
        match self {
            Control::ProgramDownload => "program_download",
            Control::ProgramUpload => "program_upload",
            Control::ProgramAccess => "program_access",
            Control::Stop => "stop",
            Control::Run => "run",
            Control::Pause => "pause",
            Control::Restart => "restart",
            Control::FileTransfer => "file_transfer",
            Control::Command => "command",
            Control::CommControl => "comm_control",
            Control::MemoryWrite => "memory_write",
        }
    }
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Other => "other",
        }
    }
}

/// A range of addresses or objects an operation touches.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Area {
    /// The address space (Modbus `holding`, SLMP device `D`, FINS memory
    /// area `DM`, BACnet object type), empty where a protocol has one.
    pub space: String,
    pub start: u64,
    /// Addresses from `start`, at least 1.
    pub count: u64,
}

/// What [`OperationSpec::classify`] says of a row.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OpClass {
    pub access: Option<Access>,
    pub control: Option<Control>,
    pub area: Option<Area>,
}

impl OpClass {
    pub fn read() -> OpClass {
        OpClass {
            access: Some(Access::Read),
            ..OpClass::default()
        }
    }
    pub fn write() -> OpClass {
        OpClass {
            access: Some(Access::Write),
            ..OpClass::default()
        }
    }
    pub fn control(c: Control) -> OpClass {
        OpClass {
            access: Some(Access::Write),
            control: Some(c),
            area: None,
        }
    }
    pub fn with_area(mut self, space: &str, start: u64, count: u64) -> OpClass {
        self.area = Some(Area {
            space: space.to_owned(),
            start,
            count: count.max(1),
        });
        self
    }
}

impl ProtocolInfo {
    /// The log of this protocol with this path.
    pub fn log(&self, path: &str) -> Option<&'static LogInfo> {
        self.logs.iter().find(|l| l.schema.path == path)
    }
}

/// A row's field as text (strings as they are, numbers in decimal); `None`
/// when unset or absent.
pub fn text_of(rec: &Record, field: &str) -> Option<String> {
    Some(match rec.get(field)? {
        Value::Unset => return None,
        Value::Str(s) => s.to_string(),
        Value::Count(n) => n.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Port(p) => p.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Addr(a) => a.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Time(t) | Value::Interval(t) => t.to_string(),
        Value::Strings(v) => v.join(","),
        Value::Counts(v) => v.iter().map(u64::to_string).collect::<Vec<_>>().join(","),
        Value::Intervals(v) => v.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
    })
}

/// A row's numeric field; `None` when unset, absent or not a number.
pub fn count_of(rec: &Record, field: &str) -> Option<u64> {
    match rec.get(field)? {
        Value::Count(n) => Some(*n),
        Value::Int(n) => u64::try_from(*n).ok(),
        Value::Port(p) => Some(u64::from(*p)),
        Value::Str(s) => s.parse().ok(),
        _ => None,
    }
}

/// The operation's name in the map: the spec's key fields that are set,
/// joined by `/` (`WRITE_MULTIPLE_REGISTERS`, `0x1401/0x0000`).
pub fn operation_name(spec: &OperationSpec, rec: &Record) -> String {
    let parts: Vec<String> = spec.key.iter().filter_map(|f| text_of(rec, f)).collect();
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join("/")
    }
}
