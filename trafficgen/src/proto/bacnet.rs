//! BACnet/IP: BVLC, NPDU and APDU (ASHRAE 135).

/// BVLC around an NPDU: 0x0a original-unicast, 0x0b original-broadcast.
pub fn bvlc(function: u8, npdu: &[u8]) -> Vec<u8> {
    let mut v = vec![0x81, function];
    v.extend_from_slice(
        &u16::try_from(npdu.len() + 4)
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    v.extend_from_slice(npdu);
    v
}

/// NPDU version 1 without routing, then the APDU.
pub fn npdu(expecting_reply: bool, apdu: &[u8]) -> Vec<u8> {
    let mut v = vec![1, if expecting_reply { 0x04 } else { 0 }];
    v.extend_from_slice(apdu);
    v
}

fn object_id(kind: u16, instance: u32) -> [u8; 4] {
    ((u32::from(kind) << 22) | (instance & 0x3f_ffff)).to_be_bytes()
}

/// Who-Is without a range.
pub fn who_is() -> Vec<u8> {
    vec![0x10, 0x08]
}

/// I-Am of device `instance` from `vendor`.
pub fn i_am(instance: u32, vendor: u8) -> Vec<u8> {
    let mut v = vec![0x10, 0x00, 0xc4];
    v.extend_from_slice(&object_id(8, instance));
    v.extend_from_slice(&[0x22, 0x05, 0xc4, 0x91, 0x03, 0x21, vendor]);
    v
}

/// ReadProperty confirmed request for `property` of an object.
pub fn read_property(invoke: u8, kind: u16, instance: u32, property: u8) -> Vec<u8> {
    let mut v = vec![0x00, 0x05, invoke, 0x0c, 0x0c];
    v.extend_from_slice(&object_id(kind, instance));
    v.extend_from_slice(&[0x19, property]);
    v
}

/// ReadProperty complex ACK with a REAL value.
pub fn read_property_ack_real(
    invoke: u8,
    kind: u16,
    instance: u32,
    property: u8,
    value: f32,
) -> Vec<u8> {
    let mut v = vec![0x30, invoke, 0x0c, 0x0c];
    v.extend_from_slice(&object_id(kind, instance));
    v.extend_from_slice(&[0x19, property, 0x3e, 0x44]);
    v.extend_from_slice(&value.to_be_bytes());
    v.push(0x3f);
    v
}

/// Error PDU for a confirmed service: class and code as enumerations.
pub fn error(invoke: u8, service: u8, class: u8, code: u8) -> Vec<u8> {
    vec![0x50, invoke, service, 0x91, class, 0x91, code]
}
