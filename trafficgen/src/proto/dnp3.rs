//! DNP3 over TCP: link frame with CRC blocks, transport and application
//! layers (IEEE 1815).

fn crc(data: &[u8]) -> u16 {
    let mut c: u16 = 0;
    for &b in data {
        c ^= u16::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xa6bc
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A link frame from `src` to `dst` carrying one transport segment with
/// the application fragment `app`.
pub fn frame(dir_master: bool, dst: u16, src: u16, app: &[u8]) -> Vec<u8> {
    segment(dir_master, dst, src, 0xc0, app)
}

/// The link frames of a fragment cut into transport segments of at most
/// `size` bytes (FIR on the first, FIN on the last, sequence numbers from
/// 0).
pub fn segments(dir_master: bool, dst: u16, src: u16, app: &[u8], size: usize) -> Vec<Vec<u8>> {
    let n = app.len().div_ceil(size.max(1));
    app.chunks(size.max(1))
        .enumerate()
        .map(|(i, c)| {
            let fir = if i == 0 { 0x40 } else { 0 };
            let fin = if i + 1 == n { 0x80 } else { 0 };
            segment(dir_master, dst, src, fir | fin | (i as u8 & 0x3f), c)
        })
        .collect()
}

/// A link frame carrying one transport segment: transport header
/// `transport` (FIN 0x80, FIR 0x40, sequence) and `chunk`, at most 249
/// bytes.
pub fn segment(dir_master: bool, dst: u16, src: u16, transport: u8, chunk: &[u8]) -> Vec<u8> {
    let mut user = vec![transport];
    user.extend_from_slice(chunk);
    let ctrl = if dir_master { 0xc4 } else { 0x44 };
    let mut h = vec![
        0x05,
        0x64,
        u8::try_from(5 + user.len()).unwrap_or(u8::MAX),
        ctrl,
    ];
    h.extend_from_slice(&dst.to_le_bytes());
    h.extend_from_slice(&src.to_le_bytes());
    let c = crc(&h);
    h.extend_from_slice(&c.to_le_bytes());
    for block in user.chunks(16) {
        h.extend_from_slice(block);
        h.extend_from_slice(&crc(block).to_le_bytes());
    }
    h
}

/// Application request: control (FIR|FIN, sequence), function, objects.
pub fn request(seq: u8, function: u8, objects: &[u8]) -> Vec<u8> {
    let mut v = vec![0xc0 | (seq & 0x0f), function];
    v.extend_from_slice(objects);
    v
}

/// Application response with internal indications.
pub fn response(seq: u8, function: u8, iin: u16, objects: &[u8]) -> Vec<u8> {
    let mut v = vec![0xc0 | (seq & 0x0f), function];
    v.extend_from_slice(&iin.to_be_bytes());
    v.extend_from_slice(objects);
    v
}

/// Class 0 data request object header (group 60 variation 1, all).
pub const CLASS0: [u8; 3] = [60, 1, 0x06];

/// Binary inputs with flags (group 1 variation 2), points 0..n.
pub fn binary_inputs(values: &[bool]) -> Vec<u8> {
    let mut v = vec![
        1,
        2,
        0x00,
        0,
        u8::try_from(values.len().saturating_sub(1)).unwrap_or(0),
    ];
    v.extend(values.iter().map(|&b| if b { 0x81 } else { 0x01 }));
    v
}

/// CROB (group 12 variation 1) select/operate object for one index.
pub fn crob(index: u8, code: u8) -> Vec<u8> {
    let mut v = vec![12, 1, 0x17, 1, index, code, 1];
    v.extend_from_slice(&100u32.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.push(0);
    v
}

/// Unsolicited response: control FIR|FIN|CON|UNS, function 0x82.
pub fn unsolicited(seq: u8, iin: u16, objects: &[u8]) -> Vec<u8> {
    let mut v = vec![0xf0 | (seq & 0x0f), 0x82];
    v.extend_from_slice(&iin.to_be_bytes());
    v.extend_from_slice(objects);
    v
}

/// Application confirmation (function 0) of a response, or of an
/// unsolicited response (UNS bit set).
pub fn confirm(seq: u8, unsolicited: bool) -> Vec<u8> {
    let uns = if unsolicited { 0x10 } else { 0 };
    vec![0xc0 | uns | (seq & 0x0f), 0x00]
}

/// Class 1, 2 and 3 event data object headers (group 60 variations 2 to
/// 4, all), as Enable and Disable Unsolicited name them.
pub const CLASSES_123: [u8; 9] = [60, 2, 0x06, 60, 3, 0x06, 60, 4, 0x06];
