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

/// I-Am of device `instance` from `vendor` (an unsigned of one or two
/// bytes).
pub fn i_am(instance: u32, vendor: u16) -> Vec<u8> {
    let mut v = vec![0x10, 0x00, 0xc4];
    v.extend_from_slice(&object_id(8, instance));
    v.extend_from_slice(&[0x22, 0x05, 0xc4, 0x91, 0x03]);
    match u8::try_from(vendor) {
        Ok(b) => v.extend_from_slice(&[0x21, b]),
        Err(_) => {
            v.push(0x22);
            v.extend_from_slice(&vendor.to_be_bytes());
        }
    }
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

/// ReadProperty request for element `index` of an array property.
pub fn read_property_index(
    invoke: u8,
    kind: u16,
    instance: u32,
    property: u8,
    index: u32,
) -> Vec<u8> {
    let mut v = read_property(invoke, kind, instance, property);
    v.extend(context(2, &unsigned_bytes(index)));
    v
}

/// ReadProperty complex ACK: the property (and array index, if given)
/// with its application-tagged value.
pub fn read_property_ack(
    invoke: u8,
    object: (u16, u32),
    property: u8,
    index: Option<u32>,
    value: &[u8],
) -> Vec<u8> {
    let mut v = vec![0x30, invoke, 0x0c];
    property_value(&mut v, object, (property, index), value);
    v
}

/// Object (0), property (1), array index (2) if given, and the value
/// inside tag 3, as ReadProperty-ACK and WriteProperty carry them.
fn property_value(
    v: &mut Vec<u8>,
    (kind, instance): (u16, u32),
    (property, index): (u8, Option<u32>),
    value: &[u8],
) {
    v.extend(context(0, &object_id(kind, instance)));
    v.extend(context(1, &[property]));
    if let Some(i) = index {
        v.extend(context(2, &unsigned_bytes(i)));
    }
    v.push(opening(3));
    v.extend_from_slice(value);
    v.push(closing(3));
}

/// ReadRange request by position: `count` items from item `reference`.
pub fn read_range_by_position(
    invoke: u8,
    (kind, instance): (u16, u32),
    property: u8,
    reference: u16,
    count: i8,
) -> Vec<u8> {
    let mut v = vec![0x00, 0x05, invoke, 26];
    v.extend(context(0, &object_id(kind, instance)));
    v.extend(context(1, &[property]));
    v.push(opening(3));
    v.push(0x22);
    v.extend_from_slice(&reference.to_be_bytes());
    v.extend_from_slice(&[0x31, count.to_be_bytes()[0]]);
    v.push(closing(3));
    v
}

/// WriteProperty request: the property (array element `index` if given),
/// its application-tagged value, and the priority if given.
pub fn write_property(
    invoke: u8,
    object: (u16, u32),
    property: (u8, Option<u32>),
    value: &[u8],
    priority: Option<u8>,
) -> Vec<u8> {
    let mut v = vec![0x00, 0x05, invoke, 15];
    property_value(&mut v, object, property, value);
    if let Some(p) = priority {
        v.extend(context(4, &[p]));
    }
    v
}

/// An unsigned in as few bytes as it needs (at least one).
fn unsigned_bytes(n: u32) -> Vec<u8> {
    let b = n.to_be_bytes();
    let skip = b.iter().take(3).take_while(|&&x| x == 0).count();
    b[skip..].to_vec()
}

/// An application-tagged Unsigned (2) or Enumerated (9).
pub fn app_unsigned(enumerated: bool, n: u32) -> Vec<u8> {
    let d = unsigned_bytes(n);
    let number = if enumerated { 9 } else { 2 };
    let mut v = vec![number << 4 | u8::try_from(d.len()).unwrap_or(4)];
    v.extend(d);
    v
}

/// An application-tagged REAL.
pub fn app_real(x: f32) -> Vec<u8> {
    let mut v = vec![0x44];
    v.extend_from_slice(&x.to_be_bytes());
    v
}

/// Error PDU for a confirmed service: class and code as enumerations.
pub fn error(invoke: u8, service: u8, class: u8, code: u8) -> Vec<u8> {
    vec![0x50, invoke, service, 0x91, class, 0x91, code]
}

/// A context tag `number` holding `data` (short lengths only).
fn context(number: u8, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(data.len() + 2);
    let len = u8::try_from(data.len()).unwrap_or(u8::MAX);
    if len < 5 {
        v.push(number << 4 | 0x08 | len);
    } else {
        v.extend_from_slice(&[number << 4 | 0x08 | 5, len]);
    }
    v.extend_from_slice(data);
    v
}

fn opening(number: u8) -> u8 {
    number << 4 | 0x0e
}

fn closing(number: u8) -> u8 {
    number << 4 | 0x0f
}

/// An application-tagged CharacterString (UTF-8).
pub fn app_string(text: &str) -> Vec<u8> {
    let mut v = vec![0x75, u8::try_from(text.len() + 1).unwrap_or(u8::MAX), 0];
    v.extend_from_slice(text.as_bytes());
    v
}

/// An application-tagged object identifier.
pub fn app_object(kind: u16, instance: u32) -> Vec<u8> {
    let mut v = vec![0xc4];
    v.extend_from_slice(&object_id(kind, instance));
    v
}

/// ReadPropertyMultiple request: each object with the properties to read.
pub fn read_property_multiple(invoke: u8, specs: &[(u16, u32, &[u8])]) -> Vec<u8> {
    let mut v = vec![0x00, 0x05, invoke, 0x0e];
    for (kind, instance, properties) in specs {
        v.extend(context(0, &object_id(*kind, *instance)));
        v.push(opening(1));
        for p in *properties {
            v.extend(context(0, &[*p]));
        }
        v.push(closing(1));
    }
    v
}

/// One result of a ReadPropertyMultiple ACK: a property and its encoded
/// values, or an access error (class, code) when `values` is `Err`.
pub type RpmResult<'a> = (u8, Result<&'a [Vec<u8>], (u8, u8)>);

/// The list of read access results of a ReadPropertyMultiple ACK (its
/// service data, without the APDU header).
pub fn rpm_results(kind: u16, instance: u32, results: &[RpmResult<'_>]) -> Vec<u8> {
    let mut v = context(0, &object_id(kind, instance));
    v.push(opening(1));
    for (property, result) in results {
        v.extend(context(2, &[*property]));
        match result {
            Ok(values) => {
                v.push(opening(4));
                for value in *values {
                    v.extend_from_slice(value);
                }
                v.push(closing(4));
            }
            Err((class, code)) => {
                v.extend_from_slice(&[opening(5), 0x91, *class, 0x91, *code, closing(5)]);
            }
        }
    }
    v.push(closing(1));
    v
}

/// ReadPropertyMultiple complex ACK carrying `results` whole.
pub fn read_property_multiple_ack(invoke: u8, results: &[u8]) -> Vec<u8> {
    let mut v = vec![0x30, invoke, 0x0e];
    v.extend_from_slice(results);
    v
}

/// One segment of a segmented complex ACK for `service`: sequence number,
/// proposed window 4, more-follows flag, then the segment's bytes.
pub fn complex_ack_segment(invoke: u8, service: u8, seq: u8, more: bool, part: &[u8]) -> Vec<u8> {
    let mut v = vec![if more { 0x3c } else { 0x38 }, invoke, seq, 4, service];
    v.extend_from_slice(part);
    v
}

/// Segment-ACK from the receiver of a segmented message.
pub fn segment_ack(invoke: u8, seq: u8) -> Vec<u8> {
    vec![0x40, invoke, seq, 4]
}

/// DeviceCommunicationControl request: minutes (0: none sent),
/// enable-disable (0 enable, 1 disable, 2 disable-initiation), password.
pub fn device_communication_control(
    invoke: u8,
    minutes: u16,
    state: u8,
    password: &str,
) -> Vec<u8> {
    let mut v = vec![0x00, 0x05, invoke, 17];
    if minutes != 0 {
        v.extend(context(0, &minutes.to_be_bytes()));
    }
    v.extend(context(1, &[state]));
    if !password.is_empty() {
        let mut s = vec![0];
        s.extend_from_slice(password.as_bytes());
        v.extend(context(2, &s));
    }
    v
}

/// ReinitializeDevice request: state (0 coldstart, 1 warmstart, ...) and
/// password.
pub fn reinitialize_device(invoke: u8, state: u8, password: &str) -> Vec<u8> {
    let mut v = vec![0x00, 0x05, invoke, 20];
    v.extend(context(0, &[state]));
    if !password.is_empty() {
        let mut s = vec![0];
        s.extend_from_slice(password.as_bytes());
        v.extend(context(1, &s));
    }
    v
}

/// Simple-ACK of a confirmed service.
pub fn simple_ack(invoke: u8, service: u8) -> Vec<u8> {
    vec![0x20, invoke, service]
}
