//! IEC 60870-5-104: `iec104`, one row per APDU: APCI format (I, S, U),
//! sequence numbers, U-format function, and for I-format APDUs the ASDU's
//! type id, cause of transmission, originator, common address, first
//! information object address and number of objects.
//!
//! Recognised by the APCI start byte 0x68 with a length of 4 to 253 and a
//! consistent control field; every APDU starts with that header, so a
//! session joined mid-stream is decoded from its next APDU.
//!
//! Uplink aggregation key: `uid apci_type u_function type_id cot
//! common_address`.

pub mod descriptor;

use crate::bytes::Error;
use crate::flow::id::{ConnId, Transport};
use crate::flow_dir_fields;
use crate::over_ip::common::{self, next_frame, Row};
use crate::over_ip::{AppParser, Ctx, Dir};
use osect_wire::record::field;
use osect_wire::{FieldType, LogSchema, Value};

pub static IEC104: LogSchema = LogSchema {
    path: "iec104",
    fields: flow_dir_fields![
        field("apci_type", FieldType::String),
        field("apci_tx", FieldType::Count),
        field("apci_rx", FieldType::Count),
        field("u_function", FieldType::String),
        field("type_id", FieldType::Count),
        field("type_name", FieldType::String),
        field("cot", FieldType::Count),
        field("cot_name", FieldType::String),
        field("negative", FieldType::Bool),
        field("test", FieldType::Bool),
        field("originator", FieldType::Count),
        field("common_address", FieldType::Count),
        field("ioa", FieldType::Count),
        field("num_objects", FieldType::Count),
    ],
};

/// A checked APCI and, for I-format, the ASDU header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Apdu {
    I {
        tx: u16,
        rx: u16,
        asdu: Option<Asdu>,
    },
    S {
        rx: u16,
    },
    U {
        function: u8,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asdu {
    pub type_id: u8,
    pub sequence: bool,
    pub count: u8,
    pub cause: u8,
    pub negative: bool,
    pub test: bool,
    pub originator: u8,
    pub common_address: u16,
    pub ioa: Option<u32>,
}

/// Length of the APDU at the start of `b`.
pub fn frame_len(b: &[u8]) -> Result<usize, Error> {
    match b {
        [] => Err(Error::Truncated),
        [0x68] => Err(Error::Truncated),
        [0x68, len, ..] if (4..=253).contains(len) => {
            let n = 2 + usize::from(*len);
            match b.get(..n) {
                Some(f) if parse(f).is_some() => Ok(n),
                Some(_) => Err(Error::malformed("IEC 104 APDU", 2)),
                None if b.len() >= 6 && parse_control(&b[2..6], *len).is_none() => {
                    Err(Error::malformed("IEC 104 control field", 2))
                }
                None => Err(Error::Truncated),
            }
        }
        [0x68, ..] => Err(Error::malformed("IEC 104 APDU length", 1)),
        _ => Err(Error::malformed("IEC 104 start byte", 0)),
    }
}

fn parse_control(c: &[u8], len: u8) -> Option<Apdu> {
    let c0 = *c.first()?;
    if c0 & 1 == 0 {
        let tx = u16::from_le_bytes([c0, *c.get(1)?]) >> 1;
        let rx = u16::from_le_bytes([*c.get(2)?, *c.get(3)?]) >> 1;
        return (len > 4 && c[2] & 1 == 0).then_some(Apdu::I { tx, rx, asdu: None });
    }
    if len != 4 {
        return None;
    }
    match c0 & 3 {
        1 => (c0 == 1 && c[1] == 0).then(|| Apdu::S {
            rx: u16::from_le_bytes([c[2], c[3]]) >> 1,
        }),
        _ => {
            let f = c0 & 0xfc;
            // Exactly one of the six function bits is set.
            (f.count_ones() == 1 && c[1] == 0 && c[2] == 0 && c[3] == 0)
                .then_some(Apdu::U { function: f })
        }
    }
}

/// Parses one whole APDU.
pub fn parse(f: &[u8]) -> Option<Apdu> {
    let len = *f.get(1)?;
    if *f.first()? != 0x68 || f.len() != 2 + usize::from(len) {
        return None;
    }
    let apci = parse_control(f.get(2..6)?, len)?;
    if let Apdu::I { tx, rx, .. } = apci {
        let a = f.get(6..)?;
        let vsq = *a.get(1)?;
        let cot = *a.get(2)?;
        let asdu = Asdu {
            type_id: *a.first()?,
            sequence: vsq & 0x80 != 0,
            count: vsq & 0x7f,
            cause: cot & 0x3f,
            negative: cot & 0x40 != 0,
            test: cot & 0x80 != 0,
            originator: *a.get(3)?,
            common_address: u16::from_le_bytes([*a.get(4)?, *a.get(5)?]),
            ioa: a
                .get(6..9)
                .map(|i| u32::from(i[0]) | u32::from(i[1]) << 8 | u32::from(i[2]) << 16),
        };
        return Some(Apdu::I {
            tx,
            rx,
            asdu: Some(asdu),
        });
    }
    Some(apci)
}

/// Recognises an IEC 104 APDU: a whole U or S frame, or an I frame whose
/// ASDU has a type id of the standard (text starting with "h" and a
/// plausible length byte is not enough).
pub fn probe(t: Transport, _id: &ConnId, _dir: Dir, data: &[u8]) -> Option<Box<dyn AppParser>> {
    if t != Transport::Tcp {
        return None;
    }
    let n = frame_len(data).ok()?;
    let known = match parse(&data[..n])? {
        Apdu::I { asdu, .. } => asdu.is_some_and(|a| !type_name(a.type_id).starts_with("unknown")),
        _ => true,
    };
    known.then(|| Box::new(Iec104::default()) as Box<dyn AppParser>)
}

#[derive(Default)]
pub struct Iec104 {
    roles_seen: bool,
}

impl AppParser for Iec104 {
    fn service(&self) -> &'static str {
        "iec104"
    }

    fn parse(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, data: &[u8]) -> usize {
        let mut pos = 0;
        while let Some(f) = next_frame(data, &mut pos, frame_len) {
            if let Some(a) = parse(f) {
                self.apdu(ctx, dir, &a);
            }
        }
        pos
    }
}

impl Iec104 {
    fn apdu(&mut self, ctx: &mut Ctx<'_, '_>, dir: Dir, a: &Apdu) {
        if !self.roles_seen {
            self.roles_seen = true;
            let (c, s) = (common::orig_host(ctx), common::resp_host(ctx));
            ctx.out
                .assets
                .observe_role(ctx.ts, s, descriptor::OUTSTATION);
            ctx.out
                .assets
                .observe_role(ctx.ts, c, descriptor::CONTROLLER);
        }
        let count = |v: u64| Value::Count(v);
        let row = Row::flow_dir(ctx, &IEC104, dir);
        let row = match *a {
            Apdu::I { tx, rx, asdu } => {
                let row = row
                    .push("I")
                    .push(count(u64::from(tx)))
                    .push(count(u64::from(rx)))
                    .push(Value::Unset);
                match asdu {
                    Some(s) => row
                        .push(count(u64::from(s.type_id)))
                        .push(type_name(s.type_id))
                        .push(count(u64::from(s.cause)))
                        .push(cot_name(s.cause))
                        .push(Value::Bool(s.negative))
                        .push(Value::Bool(s.test))
                        .push(count(u64::from(s.originator)))
                        .push(count(u64::from(s.common_address)))
                        .push(s.ioa.map_or(Value::Unset, |i| count(u64::from(i))))
                        .push(count(u64::from(s.count))),
                    None => (0..10).fold(row, |r, _| r.push(Value::Unset)),
                }
            }
            Apdu::S { rx } => (0..10).fold(
                row.push("S")
                    .push(Value::Unset)
                    .push(count(u64::from(rx)))
                    .push(Value::Unset),
                |r, _| r.push(Value::Unset),
            ),
            Apdu::U { function } => (0..10).fold(
                row.push("U")
                    .push(Value::Unset)
                    .push(Value::Unset)
                    .push(u_function(function)),
                |r, _| r.push(Value::Unset),
            ),
        };
        row.emit(ctx);
    }
}

pub fn u_function(f: u8) -> &'static str {
    match f {
        0x04 => "STARTDT act",
        0x08 => "STARTDT con",
        0x10 => "STOPDT act",
        0x20 => "STOPDT con",
        0x40 => "TESTFR act",
        0x80 => "TESTFR con",
        _ => "unknown",
    }
}

pub fn type_name(t: u8) -> String {
    let n = match t {
        1 => "M_SP_NA_1",
        3 => "M_DP_NA_1",
        5 => "M_ST_NA_1",
        7 => "M_BO_NA_1",
        9 => "M_ME_NA_1",
        11 => "M_ME_NB_1",
        13 => "M_ME_NC_1",
        15 => "M_IT_NA_1",
        20 => "M_PS_NA_1",
        21 => "M_ME_ND_1",
        30 => "M_SP_TB_1",
        31 => "M_DP_TB_1",
        32 => "M_ST_TB_1",
        33 => "M_BO_TB_1",
        34 => "M_ME_TD_1",
        35 => "M_ME_TE_1",
        36 => "M_ME_TF_1",
        37 => "M_IT_TB_1",
        38 => "M_EP_TD_1",
        39 => "M_EP_TE_1",
        40 => "M_EP_TF_1",
        45 => "C_SC_NA_1",
        46 => "C_DC_NA_1",
        47 => "C_RC_NA_1",
        48 => "C_SE_NA_1",
        49 => "C_SE_NB_1",
        50 => "C_SE_NC_1",
        51 => "C_BO_NA_1",
        58 => "C_SC_TA_1",
        59 => "C_DC_TA_1",
        60 => "C_RC_TA_1",
        61 => "C_SE_TA_1",
        62 => "C_SE_TB_1",
        63 => "C_SE_TC_1",
        64 => "C_BO_TA_1",
        70 => "M_EI_NA_1",
        100 => "C_IC_NA_1",
        101 => "C_CI_NA_1",
        102 => "C_RD_NA_1",
        103 => "C_CS_NA_1",
        104 => "C_TS_NA_1",
        105 => "C_RP_NA_1",
        106 => "C_CD_NA_1",
        107 => "C_TS_TA_1",
        110 => "P_ME_NA_1",
        111 => "P_ME_NB_1",
        112 => "P_ME_NC_1",
        113 => "P_AC_NA_1",
        120 => "F_FR_NA_1",
        121 => "F_SR_NA_1",
        122 => "F_SC_NA_1",
        123 => "F_LS_NA_1",
        124 => "F_AF_NA_1",
        125 => "F_SG_NA_1",
        126 => "F_DR_TA_1",
        127 => "F_SC_NB_1",
        _ => return format!("unknown-{t}"),
    };
    n.to_owned()
}

pub fn cot_name(c: u8) -> String {
    let n = match c {
        1 => "per/cyc",
        2 => "back",
        3 => "spont",
        4 => "init",
        5 => "req",
        6 => "act",
        7 => "actcon",
        8 => "deact",
        9 => "deactcon",
        10 => "actterm",
        11 => "retrem",
        12 => "retloc",
        13 => "file",
        20 => "inrogen",
        21..=36 => return format!("inro{}", c - 20),
        37 => "reqcogen",
        38..=41 => return format!("reqco{}", c - 37),
        44 => "unknown type",
        45 => "unknown cause",
        46 => "unknown asdu address",
        47 => "unknown object address",
        _ => return format!("unknown-{c}"),
    };
    n.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        // STARTDT act.
        assert_eq!(
            parse(&[0x68, 4, 0x07, 0, 0, 0]),
            Some(Apdu::U { function: 0x04 })
        );
        // S-format acknowledging 5.
        assert_eq!(parse(&[0x68, 4, 0x01, 0, 0x0a, 0]), Some(Apdu::S { rx: 5 }));
        // I-format interrogation: tx 0, rx 0, type 100, act, CA 1, IOA 0.
        let i = [0x68, 0x0e, 0, 0, 0, 0, 100, 1, 6, 0, 1, 0, 0, 0, 0, 20];
        let Some(Apdu::I { asdu: Some(a), .. }) = parse(&i) else {
            panic!("not an I-format APDU")
        };
        assert_eq!(
            (a.type_id, a.cause, a.common_address, a.ioa),
            (100, 6, 1, Some(0))
        );
        assert_eq!(frame_len(&i[..5]), Err(Error::Truncated));
        assert_eq!(
            frame_len(&[0x68, 4, 0x0f, 0, 0, 0]),
            Err(Error::malformed("IEC 104 APDU", 2))
        );
        assert_eq!(
            frame_len(&[0x68, 2]),
            Err(Error::malformed("IEC 104 APDU length", 1))
        );
    }
}
