//! What Modbus/TCP is to the engine and the core.
//!
//! Operations are classified by function (an exception response like its
//! request): reads of coils, discrete inputs, holding and input registers
//! with the range read; writes with the range written; function 23 (read
//! and write multiple registers) as the write it makes. Diagnostics (8),
//! the device identification of function 43 and the other services are
//! neither reads nor writes of the device's data.

use crate::asset::Role;
use crate::flow::id::Transport;
use crate::protocols::{other, Descriptor, Recognition};
use osect_wire::protocol::{count_of, text_of, Control, Fold, LogInfo, OpClass, OperationSpec};
use osect_wire::protocol::{Access, ProtocolInfo};
use osect_wire::Record;

pub const SERVER: Role = Role::new("modbus_server");
pub const CLIENT: Role = Role::new("modbus_client");

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "modbus",
        logs: &[
            LogInfo {
                schema: &super::MODBUS,
                fold: Fold::Yes {
                    per_event: &["tid"],
                },
                operation: Some(OperationSpec {
                    key: &["func"],
                    classify,
                }),
            },
            LogInfo {
                schema: &super::MODBUS_DETAILED,
                fold: Fold::Yes {
                    per_event: &["tid"],
                },
                operation: Some(OperationSpec {
                    key: &["func"],
                    classify,
                }),
            },
            LogInfo {
                schema: &super::MODBUS_READ_WRITE_MULTIPLE_REGISTERS,
                fold: Fold::Yes {
                    per_event: &["tid"],
                },
                operation: Some(OperationSpec {
                    key: &["func"],
                    classify,
                }),
            },
            LogInfo {
                schema: &super::MODBUS_MASK_WRITE_REGISTER,
                fold: Fold::Yes {
                    per_event: &["tid"],
                },
                operation: Some(OperationSpec {
                    key: &["func"],
                    classify,
                }),
            },
        ],
        industrial: true,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 100,
        ports: &[(Transport::Tcp, 502)],
    },
    roles: &[SERVER, CLIENT],
    identities: &[],
};

/// The function's data space and whether it reads or writes it.
fn function(name: &str) -> Option<(Access, &'static str)> {
    let name = name.strip_suffix("_EXCEPTION").unwrap_or(name);
    Some(match name {
        "READ_COILS" => (Access::Read, "coils"),
        "READ_DISCRETE_INPUTS" => (Access::Read, "discrete"),
        "READ_HOLDING_REGISTERS" => (Access::Read, "holding"),
        "READ_INPUT_REGISTERS" => (Access::Read, "input"),
        "WRITE_SINGLE_COIL" | "WRITE_MULTIPLE_COILS" => (Access::Write, "coils"),
        "WRITE_SINGLE_REGISTER"
        | "WRITE_MULTIPLE_REGISTERS"
        | "MASK_WRITE_REGISTER"
        | "READ_WRITE_MULTIPLE_REGISTERS" => (Access::Write, "holding"),
        _ => return None,
    })
}

/// The range a row names: `address`/`quantity` (`modbus_detailed`), the
/// written range of function 23, or one register for a mask write.
fn range(rec: &Record) -> Option<(u64, u64)> {
    if let Some(start) = count_of(rec, "write_start_address") {
        let n = match rec.get("write_registers") {
            Some(osect_wire::Value::Counts(v)) => v.len() as u64,
            _ => 1,
        };
        return Some((start, n));
    }
    let start = count_of(rec, "address")?;
    Some((start, count_of(rec, "quantity").unwrap_or(1)))
}

fn classify(rec: &Record) -> OpClass {
    let Some((access, space)) = text_of(rec, "func").and_then(|f| function(&f)) else {
        return other();
    };
    let class = match access {
        Access::Read => OpClass::read(),
        _ => OpClass::control(Control::MemoryWrite),
    };
    match range(rec) {
        Some((start, count)) => class.with_area(space, start, count),
        None => class,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::tests::row;
    use osect_wire::protocol::Area;

    fn area(space: &str, start: u64, count: u64) -> Option<Area> {
        Some(Area {
            space: space.into(),
            start,
            count,
        })
    }

    // Rows of modbus_detailed.log from the trafficgen plant capture and the
    // corpus (icsnpp-modbus-modbus_example).
    #[test]
    fn reads_and_writes_name_their_range() {
        let read = row(
            &super::super::MODBUS_DETAILED,
            &[
                ("func", "READ_HOLDING_REGISTERS"),
                ("address", "100"),
                ("quantity", "4"),
            ],
        );
        let c = classify(&read);
        assert_eq!(c.access, Some(Access::Read));
        assert_eq!(c.control, None);
        assert_eq!(c.area, area("holding", 100, 4));

        let write = row(
            &super::super::MODBUS_DETAILED,
            &[
                ("func", "WRITE_SINGLE_COIL"),
                ("address", "2"),
                ("quantity", "1"),
            ],
        );
        let c = classify(&write);
        assert_eq!(c.access, Some(Access::Write));
        assert_eq!(c.control, Some(Control::MemoryWrite));
        assert_eq!(c.area, area("coils", 2, 1));

        let multi = row(
            &super::super::MODBUS_DETAILED,
            &[
                ("func", "WRITE_MULTIPLE_REGISTERS"),
                ("address", "300"),
                ("quantity", "4"),
            ],
        );
        assert_eq!(classify(&multi).area, area("holding", 300, 4));
    }

    #[test]
    fn exceptions_diagnostics_and_rows_without_a_range() {
        let exc = row(
            &super::super::MODBUS,
            &[("func", "READ_WRITE_MULTIPLE_REGISTERS_EXCEPTION")],
        );
        let c = classify(&exc);
        assert_eq!(c.control, Some(Control::MemoryWrite));
        assert_eq!(c.area, None);
        let input = row(&super::super::MODBUS, &[("func", "READ_INPUT_REGISTERS")]);
        assert_eq!(classify(&input).access, Some(Access::Read));
        for f in [
            "DIAGNOSTICS",
            "ENCAP_INTERFACE_TRANSPORT",
            "REPORT_SLAVE_ID",
        ] {
            let c = classify(&row(&super::super::MODBUS, &[("func", f)]));
            assert_eq!(c.access, Some(Access::Other), "{f}");
            assert_eq!(c.control, None, "{f}");
        }
    }

    #[test]
    fn function_23_is_the_write_it_makes() {
        let rw = row(
            &super::super::MODBUS_READ_WRITE_MULTIPLE_REGISTERS,
            &[
                ("func", "READ_WRITE_MULTIPLE_REGISTERS"),
                ("write_start_address", "10"),
                ("write_registers", "1,2,3"),
                ("read_start_address", "0"),
                ("read_quantity", "8"),
            ],
        );
        let c = classify(&rw);
        assert_eq!(c.control, Some(Control::MemoryWrite));
        assert_eq!(c.area, area("holding", 10, 3));
    }
}
