//! What SLMP is to the engine and the core.
//!
//! Commands: device reads (0x04xx, 0x06xx) read the device range; device
//! writes (0x14xx, 0x16xx) write it; remote RUN, STOP and PAUSE; latch
//! clear and RESET restart; file commands (0x18xx) move files.

use crate::asset::{IdentitySource, Role};
use crate::flow::id::Transport;
use crate::protocols::{hex_field, other, with_area_from, Descriptor, Recognition};
use osect_wire::protocol::ProtocolInfo;
use osect_wire::protocol::{Control, Fold, LogInfo, OpClass, OperationSpec};
use osect_wire::Record;

pub const SERVER: Role = Role::new("slmp_server");
pub const CLIENT: Role = Role::new("slmp_client");

/// The model a CPU model read returns.
pub const IDENTITY: IdentitySource = IdentitySource::read("slmp");

pub static DESCRIPTOR: Descriptor = Descriptor {
    info: ProtocolInfo {
        name: "slmp",
        logs: &[LogInfo {
            schema: &super::SLMP,
            fold: Fold::Yes {
                per_event: &["serial"],
            },
            operation: Some(OperationSpec {
                key: &["command", "subcommand"],
                classify,
            }),
        }],
        industrial: true,
    },
    recognition: Recognition::Probe {
        probe: super::probe,
        precedence: 40,
        ports: &[(Transport::Udp, 45238)],
    },
    roles: &[SERVER, CLIENT],
    identities: &[IDENTITY],
};

fn classify(rec: &Record) -> OpClass {
    let class = match hex_field(rec, "command") {
        Some(0x0401 | 0x0403 | 0x0406 | 0x0601 | 0x0613) => OpClass::read(),
        Some(0x1401 | 0x1402 | 0x1403 | 0x1406 | 0x1601 | 0x1613) => {
            OpClass::control(Control::MemoryWrite)
        }
        Some(0x1001) => return OpClass::control(Control::Run),
        Some(0x1002) => return OpClass::control(Control::Stop),
        Some(0x1003) => return OpClass::control(Control::Pause),
        Some(0x1005 | 0x1006) => return OpClass::control(Control::Restart),
        Some(c) if c >> 8 == 0x18 => return OpClass::control(Control::FileTransfer),
        _ => return other(),
    };
    with_area_from(class, rec, ["device", "head_device", "points"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::tests::classify_row;
    use osect_wire::protocol::Access;

    // slmp.log rows of the trafficgen plant capture.
    #[test]
    fn commands() {
        let fixed = |c| [("command", c), ("subcommand", "0x0000")];
        let cmd = |c, f: &[_]| classify_row(classify, &super::super::SLMP, &fixed(c), f);
        let read = [("device", "D"), ("head_device", "100"), ("points", "2")];
        assert_eq!(cmd("0x0401", &read), OpClass::read().with_area("D", 100, 2));
        let write = [("device", "D"), ("head_device", "200"), ("points", "1")];
        assert_eq!(
            cmd("0x1401", &write),
            OpClass::control(Control::MemoryWrite).with_area("D", 200, 1)
        );
        assert_eq!(cmd("0x1001", &[]).control, Some(Control::Run));
        assert_eq!(cmd("0x1002", &[]).control, Some(Control::Stop));
        assert_eq!(cmd("0x1003", &[]).control, Some(Control::Pause));
        assert_eq!(cmd("0x1006", &[]).control, Some(Control::Restart));
        assert_eq!(cmd("0x1827", &[]).control, Some(Control::FileTransfer));
        assert_eq!(cmd("0x0e94", &[]).access, Some(Access::Other));
    }
}
