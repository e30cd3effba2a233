//! Modbus/TCP (MBAP header + PDU).

use super::be16;

/// An MBAP frame around `pdu`.
pub fn frame(tid: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(7 + pdu.len());
    be16(&mut v, tid);
    be16(&mut v, 0);
    be16(&mut v, u16::try_from(pdu.len() + 1).unwrap_or(u16::MAX));
    v.push(unit);
    v.extend_from_slice(pdu);
    v
}

/// Function 1-4 request: read `quantity` items from `address`.
pub fn read_request(function: u8, address: u16, quantity: u16) -> Vec<u8> {
    let mut v = vec![function];
    be16(&mut v, address);
    be16(&mut v, quantity);
    v
}

/// Function 3/4 response with register values.
pub fn registers_response(function: u8, regs: &[u16]) -> Vec<u8> {
    let mut v = vec![function, u8::try_from(regs.len() * 2).unwrap_or(u8::MAX)];
    for &r in regs {
        be16(&mut v, r);
    }
    v
}

/// Function 1/2 response with packed coil or input bits.
pub fn bits_response(function: u8, bits: &[u8]) -> Vec<u8> {
    let mut v = vec![function, u8::try_from(bits.len()).unwrap_or(u8::MAX)];
    v.extend_from_slice(bits);
    v
}

/// Function 6 request (and its echoed response).
pub fn write_single_register(address: u16, value: u16) -> Vec<u8> {
    let mut v = vec![6];
    be16(&mut v, address);
    be16(&mut v, value);
    v
}

/// Function 16 request.
pub fn write_multiple_registers(address: u16, regs: &[u16]) -> Vec<u8> {
    let mut v = vec![0x10];
    be16(&mut v, address);
    be16(&mut v, u16::try_from(regs.len()).unwrap_or(u16::MAX));
    v.push(u8::try_from(regs.len() * 2).unwrap_or(u8::MAX));
    for &r in regs {
        be16(&mut v, r);
    }
    v
}

/// Function 16 response: the address and quantity written.
pub fn write_multiple_response(address: u16, quantity: u16) -> Vec<u8> {
    let mut v = vec![0x10];
    be16(&mut v, address);
    be16(&mut v, quantity);
    v
}

/// Exception response: function with the high bit set, then the code.
pub fn exception(function: u8, code: u8) -> Vec<u8> {
    vec![function | 0x80, code]
}

/// Read Device Identification (function 43, MEI type 14): basic objects
/// from object 0.
pub fn read_device_id() -> Vec<u8> {
    vec![0x2b, 0x0e, 0x01, 0x00]
}

/// Schneider's Unity (UMAS) messaging in function 90: session 0, the
/// sub-function, its data.
pub fn umas(sub: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![0x5a, 0x00, sub];
    v.extend_from_slice(data);
    v
}
