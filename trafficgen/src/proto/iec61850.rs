//! IEC 61850: GOOSE frames (IEC 61850-8-1 clause 18 and annex A) and MMS
//! (ISO 9506) on the ISO stack: COTP data carrying ISO session SPDUs
//! (8327), presentation PPDUs (8823) and ACSE APDUs (8650), as an IED and
//! its client exchange them.

use super::be16;
use super::s7::{cotp_connect, cotp_data, cotp_data_segmented};

/// A BER element: identifier bytes, definite length, contents.
pub fn ber(id: &[u8], v: &[u8]) -> Vec<u8> {
    let mut b = id.to_vec();
    match v.len() {
        n if n < 0x80 => b.push(n as u8),
        n if n < 0x100 => b.extend_from_slice(&[0x81, n as u8]),
        n => {
            b.push(0x82);
            be16(&mut b, u16::try_from(n).unwrap_or(u16::MAX));
        }
    }
    b.extend_from_slice(v);
    b
}

/// What one GOOSE message publishes.
pub struct Goose<'a> {
    pub appid: u16,
    pub gocb_ref: &'a str,
    pub dat_set: &'a str,
    pub go_id: &'a str,
    pub time_allowed_to_live: u16,
    /// Seconds since 1970 of the last state change.
    pub t_secs: u32,
    pub st_num: u32,
    pub sq_num: u32,
    pub conf_rev: u32,
    /// The data set's values: booleans, then the time of the change.
    pub values: &'a [bool],
}

fn unsigned(v: u32) -> Vec<u8> {
    let b = v.to_be_bytes();
    let skip = b.iter().take(3).take_while(|&&x| x == 0).count();
    let mut out = b[skip..].to_vec();
    if out[0] & 0x80 != 0 {
        out.insert(0, 0);
    }
    out
}

/// The Ethernet payload of a GOOSE message (APPID first).
pub fn goose(g: &Goose<'_>) -> Vec<u8> {
    let mut data = Vec::new();
    for &v in g.values {
        data.extend(ber(&[0x83], &[u8::from(v)]));
    }
    let mut t = g.t_secs.to_be_bytes().to_vec();
    t.extend_from_slice(&[0, 0, 0, 0x0a]);
    data.extend(ber(&[0x91], &t));
    let entries = u32::try_from(g.values.len() + 1).unwrap_or(u32::MAX);
    let pdu = [
        ber(&[0x80], g.gocb_ref.as_bytes()),
        ber(&[0x81], &unsigned(u32::from(g.time_allowed_to_live))),
        ber(&[0x82], g.dat_set.as_bytes()),
        ber(&[0x83], g.go_id.as_bytes()),
        ber(&[0x84], &t),
        ber(&[0x85], &unsigned(g.st_num)),
        ber(&[0x86], &unsigned(g.sq_num)),
        ber(&[0x87], &[0]),
        ber(&[0x88], &unsigned(g.conf_rev)),
        ber(&[0x89], &[0]),
        ber(&[0x8a], &unsigned(entries)),
        ber(&[0xab], &data),
    ]
    .concat();
    let apdu = ber(&[0x61], &pdu);
    let mut m = Vec::new();
    be16(&mut m, g.appid);
    be16(&mut m, u16::try_from(apdu.len() + 8).unwrap_or(u16::MAX));
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend(apdu);
    m
}

/// IEC 61850-8-1's TSAP for both ends.
pub const TSAP: u16 = 0x0001;
/// Presentation context of ACSE and of MMS.
const ACSE_CONTEXT: u8 = 1;
const MMS_CONTEXT: u8 = 3;
/// Object identifiers: ACSE (2.2.1.0.1), MMS abstract syntax
/// (1.0.9506.2.1), MMS application context (1.0.9506.2.3), BER (2.1.1).
const ACSE_OID: &[u8] = &[0x52, 0x01, 0x00, 0x01];
const MMS_OID: &[u8] = &[0x28, 0xca, 0x22, 0x02, 0x01];
const MMS_CONTEXT_OID: &[u8] = &[0x28, 0xca, 0x22, 0x02, 0x03];
const BER_OID: &[u8] = &[0x51, 0x01];

/// COTP connection request (`confirm == false`) or confirm with the
/// calling and called TSAPs ([`TSAP`] both, in IEC 61850).
pub fn connect(confirm: bool, calling: u16, called: u16) -> Vec<u8> {
    cotp_connect(confirm, calling, called)
}

/// A session SPDU: SI, length (one byte, or 0xff and two), parameters.
fn spdu(si: u8, params: &[u8]) -> Vec<u8> {
    let mut v = vec![si];
    if params.len() < 0xff {
        v.push(params.len() as u8);
    } else {
        v.push(0xff);
        be16(&mut v, u16::try_from(params.len()).unwrap_or(u16::MAX));
    }
    v.extend_from_slice(params);
    v
}

/// Fully-encoded user data: one PDV of presentation context `ctx`.
fn user_data(ctx: u8, value: &[u8]) -> Vec<u8> {
    ber(
        &[0x61],
        &ber(
            &[0x30],
            &[&[0x02, 1, ctx][..], &ber(&[0xa0], value)].concat(),
        ),
    )
}

/// ACSE user-information carrying an MMS PDU.
fn acse_user_information(mms: &[u8]) -> Vec<u8> {
    ber(
        &[0xbe],
        &ber(
            &[0x28],
            &[&[0x02, 1, MMS_CONTEXT][..], &ber(&[0xa0], mms)].concat(),
        ),
    )
}

/// Session Connect (`accept == false`) or Accept carrying a presentation
/// CP or CPA with an AARQ or AARE around the MMS initiate PDU.
pub fn associate(accept: bool, initiate: &[u8]) -> Vec<u8> {
    let context = ber(&[0xa1], &ber(&[0x06], MMS_CONTEXT_OID));
    let acse = if accept {
        let result = ber(&[0xa2], &[0x02, 1, 0]);
        let diagnostic = ber(&[0xa3], &ber(&[0xa1], &[0x02, 1, 0]));
        ber(
            &[0x61],
            &[context, result, diagnostic, acse_user_information(initiate)].concat(),
        )
    } else {
        ber(
            &[0x60],
            &[context, acse_user_information(initiate)].concat(),
        )
    };
    let mode = ber(&[0xa0], &[0x80, 1, 1]);
    let normal = if accept {
        let accepted = ber(
            &[0x30],
            &[&[0x80, 1, 0][..], &ber(&[0x81], BER_OID)].concat(),
        );
        [
            ber(&[0x83], &[0, 0, 0, 1]),
            ber(&[0xa5], &[accepted.clone(), accepted].concat()),
            user_data(ACSE_CONTEXT, &acse),
        ]
        .concat()
    } else {
        let def = |ctx: u8, oid: &[u8]| {
            ber(
                &[0x30],
                &[
                    &[0x02, 1, ctx][..],
                    &ber(&[0x06], oid),
                    &ber(&[0x30], &ber(&[0x06], BER_OID)),
                ]
                .concat(),
            )
        };
        [
            ber(&[0x81], &[0, 0, 0, 1]),
            ber(&[0x82], &[0, 0, 0, 1]),
            ber(
                &[0xa4],
                &[def(ACSE_CONTEXT, ACSE_OID), def(MMS_CONTEXT, MMS_OID)].concat(),
            ),
            user_data(ACSE_CONTEXT, &acse),
        ]
        .concat()
    };
    let ppdu = ber(&[0x31], &[mode, ber(&[0xa2], &normal)].concat());
    // Connect/Accept item (protocol options, version 2), session
    // requirements (duplex), and for a Connect the session selectors.
    let mut params = vec![0x05, 0x06, 0x13, 0x01, 0x00, 0x16, 0x01, 0x02];
    params.extend_from_slice(&[0x14, 0x02, 0x00, 0x02]);
    if !accept {
        params.extend_from_slice(&[0x33, 0x02, 0x00, 0x01, 0x34, 0x02, 0x00, 0x01]);
    }
    params.extend(spdu(0xc1, &ppdu));
    cotp_data(&spdu(if accept { 0x0e } else { 0x0d }, &params))
}

/// The session and presentation bytes around an MMS PDU: a data transfer
/// SPDU (after an empty Give Tokens).
fn transfer(mms: &[u8]) -> Vec<u8> {
    let mut v = vec![0x01, 0x00, 0x01, 0x00];
    v.extend(user_data(MMS_CONTEXT, mms));
    v
}

/// An MMS PDU in one COTP data TPDU.
pub fn data(mms: &[u8]) -> Vec<u8> {
    cotp_data(&transfer(mms))
}

/// An MMS PDU segmented over COTP data TPDUs of at most `max` bytes of
/// user data each, the end-of-TSDU mark on the last only.
pub fn data_segmented(mms: &[u8], max: usize) -> Vec<u8> {
    cotp_data_segmented(&transfer(mms), max)
}

/// initiate-RequestPDU (`response == false`) or initiate-ResponsePDU.
pub fn initiate(response: bool) -> Vec<u8> {
    // Version 1, the parameter CBBs and services an IEC 61850 server offers.
    let detail = [
        ber(&[0x80], &[1]),
        ber(&[0x81], &[0x05, 0xf1, 0x00]),
        ber(
            &[0x82],
            &[
                0x03, 0xee, 0x1c, 0x00, 0x00, 0x04, 0x08, 0x00, 0x00, 0x79, 0xef, 0x18,
            ],
        ),
    ]
    .concat();
    let body = [
        ber(&[0x80], &[0x00, 0xfd, 0xe8]),
        ber(&[0x81], &[5]),
        ber(&[0x82], &[5]),
        ber(&[0x83], &[10]),
        ber(&[0xa4], &detail),
    ]
    .concat();
    ber(&[if response { 0xa9 } else { 0xa8 }], &body)
}

/// A confirmed-RequestPDU (`response == false`) or confirmed-ResponsePDU.
pub fn confirmed(response: bool, invoke_id: u8, service: &[u8]) -> Vec<u8> {
    ber(
        &[if response { 0xa1 } else { 0xa0 }],
        &[&[0x02, 1, invoke_id][..], service].concat(),
    )
}

/// A domain-specific ObjectName.
fn domain_item(domain: &str, item: &str) -> Vec<u8> {
    ber(
        &[0xa1],
        &[
            ber(&[0x1a], domain.as_bytes()),
            ber(&[0x1a], item.as_bytes()),
        ]
        .concat(),
    )
}

/// A listOfVariable of one named variable.
fn variable(domain: &str, item: &str) -> Vec<u8> {
    ber(
        &[0xa0],
        &ber(&[0x30], &ber(&[0xa0], &domain_item(domain, item))),
    )
}

/// getNameList request for the VMD's domains (logical devices).
pub fn get_domain_names() -> Vec<u8> {
    ber(
        &[0xa1],
        &[ber(&[0xa0], &[0x80, 1, 9]), ber(&[0xa1], &[0x80, 0])].concat(),
    )
}

/// getNameList response listing `names`, none following.
pub fn name_list(names: &[&str]) -> Vec<u8> {
    let ids: Vec<u8> = names
        .iter()
        .flat_map(|n| ber(&[0x1a], n.as_bytes()))
        .collect();
    ber(&[0xa1], &[ber(&[0xa0], &ids), ber(&[0x81], &[0])].concat())
}

/// identify request, and its response with vendor, model and revision.
pub fn identify_request() -> Vec<u8> {
    vec![0x82, 0]
}

pub fn identify_response(vendor: &str, model: &str, revision: &str) -> Vec<u8> {
    ber(
        &[0xa2],
        &[
            ber(&[0x80], vendor.as_bytes()),
            ber(&[0x81], model.as_bytes()),
            ber(&[0x82], revision.as_bytes()),
        ]
        .concat(),
    )
}

/// read request of one variable, and a response with one integer.
pub fn read_request(domain: &str, item: &str) -> Vec<u8> {
    ber(&[0xa4], &ber(&[0xa1], &variable(domain, item)))
}

pub fn read_response(value: u8) -> Vec<u8> {
    ber(&[0xa4], &ber(&[0xa1], &[0x85, 1, value]))
}

/// write request of one boolean, and its success.
pub fn write_request(domain: &str, item: &str, value: bool) -> Vec<u8> {
    ber(
        &[0xa5],
        &[
            variable(domain, item),
            ber(&[0xa0], &[0x83, 1, u8::from(value)]),
        ]
        .concat(),
    )
}

pub fn write_response() -> Vec<u8> {
    ber(&[0xa5], &[0x81, 0])
}

/// fileDirectory request for `path`, and an empty answer.
pub fn file_directory_request(path: &str) -> Vec<u8> {
    ber(&[0xbf, 0x4d], &ber(&[0xa0], &ber(&[0x19], path.as_bytes())))
}

pub fn file_directory_response() -> Vec<u8> {
    // listOfDirectoryEntry [0] is explicitly tagged: an empty SEQUENCE OF.
    ber(&[0xbf, 0x4d], &[0xa0, 2, 0x30, 0, 0x81, 1, 0])
}

/// An information report of the data set `rpt_id` names: a report id, the
/// option fields, and a status (position, validity, time of the change as
/// seconds since 1970, and half a second) with a measured value.
pub fn information_report(rpt_id: &str, pos: u8, valid: bool, secs: u32, mag: f32) -> Vec<u8> {
    let mut t = secs.to_be_bytes().to_vec();
    t.extend_from_slice(&[0x80, 0, 0, 0x0a]);
    let status = [
        ber(&[0x85], &[pos]),
        ber(&[0x83], &[u8::from(valid)]),
        ber(&[0x91], &t),
    ]
    .concat();
    let results = [
        ber(&[0x8a], rpt_id.as_bytes()),
        ber(&[0x84], &[0x06, 0x64, 0x00]),
        ber(&[0xa2], &status),
        ber(&[0x87], &[&[8][..], &mag.to_be_bytes()].concat()),
    ]
    .concat();
    let report = [ber(&[0xa1], &ber(&[0x80], b"RPT")), ber(&[0xa0], &results)].concat();
    ber(&[0xa3], &ber(&[0xa0], &report))
}
