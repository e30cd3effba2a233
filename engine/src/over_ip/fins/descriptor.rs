//! What FINS is to the engine and the core.
//!
//! Commands: memory area read (0101, 0104) reads the area; write, fill and
//! transfer (0102, 0103, 0105) write it; program area read (0306) is a
//! program upload, write (0307) a download, clear (0308) other program
//! access; RUN (0401) and STOP (0402); file memory commands (22xx) move
//! files; controller data read (0501) reads. FINS rows carry their own
//! `count` (the words addressed), so batches do not fold them.

use crate::asset::{IdentitySource, Role};
use crate::flow::id::Transport;
use crate::protocols::{hex_field, other, with_area_from, Descriptor, Recognition};
use osect_wire::protocol::ProtocolInfo;
use osect_wire::protocol::{Control, Fold, LogInfo, OpClass, OperationSpec};
use osect_wire::Record;

pub const PLC: Role = Role::new("fins_plc");
pub const CLIENT: Role = Role::new("fins_client");

/// The controller data a controller returns.
pub const IDENTITY: IdentitySource = IdentitySource::read("fins");

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "fins",
        logs: &[LogInfo {
            schema: &super::FINS,
            fold: Fold::No,
            operation: Some(OperationSpec {
                key: &["command_name"],
                classify,
            }),
        }],
        industrial: true,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 50,
        ports: &[(Transport::Udp, 9600), (Transport::Tcp, 9600)],
    },
    roles: &[PLC, CLIENT],
    identities: &[IDENTITY],
};

fn classify(rec: &Record) -> OpClass {
    let class = match hex_field(rec, "command") {
        Some(0x0101 | 0x0104) => OpClass::read(),
        Some(0x0102 | 0x0103 | 0x0105) => OpClass::control(Control::MemoryWrite),
        Some(0x0306) => return OpClass::control(Control::ProgramUpload),
        Some(0x0307) => return OpClass::control(Control::ProgramDownload),
        Some(0x0308) => return OpClass::control(Control::ProgramAccess),
        Some(0x0401) => return OpClass::control(Control::Run),
        Some(0x0402) => return OpClass::control(Control::Stop),
        Some(0x0501 | 0x0502 | 0x0601 | 0x0620 | 0x0701) => return OpClass::read(),
        Some(c) if c >> 8 == 0x22 => return OpClass::control(Control::FileTransfer),
        _ => return other(),
    };
    with_area_from(class, rec, ["memory_area", "address", "count"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::tests::classify_row;
    use osect_wire::protocol::Access;

    // fins.log rows of the corpus and the trafficgen plant capture.
    #[test]
    fn commands() {
        let cmd = |c, f: &[_]| classify_row(classify, &super::super::FINS, &[("command", c)], f);
        let dm = [
            ("memory_area", "DM word"),
            ("address", "100"),
            ("count", "2"),
        ];
        assert_eq!(
            cmd("0x0101", &dm),
            OpClass::read().with_area("DM word", 100, 2)
        );
        assert_eq!(
            cmd("0x0102", &dm),
            OpClass::control(Control::MemoryWrite).with_area("DM word", 100, 2)
        );
        let wr = [("memory_area", "WR word"), ("address", "0")];
        assert_eq!(
            cmd("0x0104", &wr),
            OpClass::read().with_area("WR word", 0, 1)
        );
        assert_eq!(cmd("0x0401", &[]).control, Some(Control::Run));
        assert_eq!(cmd("0x0402", &[]).control, Some(Control::Stop));
        assert_eq!(cmd("0x0307", &[]).control, Some(Control::ProgramDownload));
        assert_eq!(cmd("0x0306", &[]).control, Some(Control::ProgramUpload));
        assert_eq!(cmd("0x0308", &[]).control, Some(Control::ProgramAccess));
        assert_eq!(cmd("0x2203", &[]).control, Some(Control::FileTransfer));
        assert_eq!(cmd("0x0501", &[]), OpClass::read());
        assert_eq!(cmd("0x0c01", &[]).access, Some(Access::Other));
    }
}
