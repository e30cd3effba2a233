//! Taking a batch from a device: whose it is, which site it belongs to,
//! whether its content is what the project writes, then the durable store.
//! Every refusal is counted per device and reason (`devices` shows them).

use crate::allow::{shown, AllowList};
use crate::fleet::{self, Attribution, FleetList};
use crate::store::{Inserted, Store, StoreError, StoredBase};
use osect_wire::batch::{self, DecodeError, FrameInfo, Limits, Reply};

/// What the collector takes from a device.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub schemas: &'static AllowList,
    pub limits: Limits,
}

/// Default bound on records per batch: twice the agent's default
/// `limits.records_per_interval` (which its capture workers share), so a
/// batch the agent writes is taken even where its bound was raised.
pub const DEFAULT_MAX_RECORDS: usize = 1_000_000;
/// Default bound on one string: the agent cuts free text at 1,024 bytes
/// (2,048 once non-UTF-8 bytes are widened).
pub const DEFAULT_MAX_STRING_BYTES: usize = 16 << 10;
/// Default bound on a batch's uncompressed body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 128 << 20;
/// Longest refusal detail kept in the store.
const MAX_DETAIL: usize = 256;

impl Policy {
    /// The project's schemas with the default bounds.
    pub fn project() -> Policy {
        Policy {
            schemas: AllowList::project(),
            limits: Limits {
                body_bytes: DEFAULT_MAX_BODY_BYTES,
                records: DEFAULT_MAX_RECORDS,
                str_bytes: DEFAULT_MAX_STRING_BYTES,
            },
        }
    }
}

/// One batch to take.
pub struct Admission<'a> {
    /// The sender's identity, its certificate's subject CN.
    pub device: &'a str,
    /// SHA-256 of the sender's SubjectPublicKeyInfo.
    pub key_sha256: &'a [u8],
    pub data: &'a [u8],
    /// The fleet registry's assignments; `None` takes the header's site.
    pub fleet: Option<&'a FleetList>,
    pub policy: &'a Policy,
    /// `uplink` or `import:<operator>`.
    pub source: &'a str,
    /// The stored batch a delta names as its base (same device and key),
    /// looked up by the caller from [`batch::FrameInfo::base`]; `None`
    /// when it is not stored or the batch is in full.
    pub base: Option<&'a StoredBase>,
}

/// zstd level of a batch that came as a delta or in parts, stored in full.
const STORE_LEVEL: i32 = 3;

thread_local! {
    /// Each thread that checks batches keeps its zstd contexts, the
    /// dictionaries digested once, rather than one per batch.
    static ZSTD: std::cell::RefCell<(batch::Decompressor, Option<batch::Compressor>)> =
        std::cell::RefCell::default();
}

/// Counts a refusal of a batch from `device` and returns the reply that
/// says it. A failure to count is logged, never turned into a retry.
pub fn refuse(store: &Store, device: &str, site: &str, reason: &str, reply: Reply) -> Reply {
    let detail = match &reply {
        Reply::Malformed(m) | Reply::Refused(m) | Reply::Retry(m) | Reply::NeedFull(m) => {
            m.as_str()
        }
        Reply::Stored => "",
    };
    let mut end = detail.len().min(MAX_DETAIL);
    while !detail.is_char_boundary(end) {
        end -= 1;
    }
    if let Err(e) = store.count_refusal(device, site, reason, &detail[..end]) {
        log::error!("device {device}: refusal ({reason}) not counted: {e}");
    }
    reply
}

/// The counter's reason and the reply for a body that does not decode.
fn decode_refusal(seq: u64, e: &DecodeError) -> (String, Reply) {
    match e {
        DecodeError::Refused(r) => (
            r.reason.to_owned(),
            Reply::Refused(format!("batch {seq}: {}: {}", r.reason, r.detail)),
        ),
        DecodeError::TooLarge { what, .. } => (
            format!("over limit: {what}"),
            Reply::Refused(format!("batch {seq}: {e}")),
        ),
        _ => (
            "malformed".to_owned(),
            Reply::Malformed(format!("batch {seq}: {e}")),
        ),
    }
}

/// A batch that passed [`check`], with the site it belongs to.
pub struct Checked {
    /// The batch as stored: for a delta, its resolved batch's.
    pub info: FrameInfo,
    /// A delta's resolved batch, or a batch in parts joined, encoded in
    /// full: what is stored in its place (`None`: the batch came in full
    /// and is stored as it came).
    pub full: Option<Vec<u8>>,
    pub site: String,
    /// The site refusals of this device are counted under: the registry's,
    /// empty without one (a header's site never makes a counter row).
    pub registry_site: String,
}

/// A batch [`check`] refuses: the site its counter goes under (the
/// registry's, empty without one, so that a device cannot make counter rows
/// by naming sites), the counter's reason and the reply.
pub struct Refused {
    pub site: String,
    pub reason: String,
    pub reply: Reply,
}

/// Checks a batch against its sender, the fleet list and the policy; needs
/// no store, so a large batch is decoded without holding it.
pub fn check(a: &Admission<'_>) -> Result<Checked, Refused> {
    // The registry's site, for the counters of refusals.
    let known_site = a
        .fleet
        .and_then(|f| f.get(a.device))
        .map_or(String::new(), |s| s.site.clone());
    let refused = |site: &str, reason: &str, reply| Refused {
        site: site.to_owned(),
        reason: reason.to_owned(),
        reply,
    };
    let info = batch::read_frame_info(a.data)
        .map_err(|e| refused(&known_site, "malformed", Reply::Malformed(e.to_string())))?;
    let h = &info.header;
    if h.device_id != a.device {
        return Err(refused(
            &known_site,
            "device mismatch",
            Reply::Refused(format!(
                "batch {} claims device {:?} but the certificate is {:?}",
                h.seq, h.device_id, a.device
            )),
        ));
    }
    // Serials name the device's folder in exports and the fleet list.
    if !fleet::valid_name(a.device) {
        return Err(refused(
            &known_site,
            "device name",
            Reply::Refused(format!(
                "device {} is not a name (1 to {} of A-Z a-z 0-9 . _ -)",
                shown(a.device),
                fleet::MAX_NAME
            )),
        ));
    }
    let site = match fleet::attribute(a.fleet, a.device, &h.site) {
        Attribution::BadSite => {
            return Err(refused(
                "",
                "site name",
                Reply::Refused(format!(
                    "batch {} names site {}, not a name (1 to {} of A-Z a-z 0-9 . _ -)",
                    h.seq,
                    shown(&h.site),
                    fleet::MAX_NAME
                )),
            ))
        }
        Attribution::Unknown => {
            return Err(refused(
                "",
                "unknown device",
                Reply::Refused(format!(
                    "device {} is not in the fleet list: batch {} kept until it is assigned",
                    a.device, h.seq
                )),
            ))
        }
        Attribution::Suspended => {
            return Err(refused(
                &known_site,
                "suspended",
                Reply::Refused(format!("device {} suspended", a.device)),
            ))
        }
        Attribution::Site { site, claimed } => {
            if let Some(claimed) = claimed {
                log::warn!(
                    "device {}: batch {} names site {:?} but the fleet list assigns it to {site}: \
                     stored under {site}",
                    a.device,
                    h.seq,
                    claimed
                );
            }
            site
        }
    };
    let Some(want) = info.base else {
        let decoded = ZSTD
            .with_borrow_mut(|(z, _)| z.decode_with(a.data, &a.policy.limits, a.policy.schemas));
        let batch = match decoded {
            Ok(b) => b,
            Err(e) => {
                let (reason, reply) = decode_refusal(h.seq, &e);
                return Err(refused(&known_site, &reason, reply));
            }
        };
        // A batch in parts is stored as the batch in full, its parts joined:
        // the digest it then has is the one a delta or a later full send of
        // it carries.
        if info.parts {
            let (info, full) = store_in_full(&batch).map_err(|e| {
                refused(
                    &known_site,
                    "malformed",
                    Reply::Malformed(format!("batch {}: joined rows do not encode: {e}", h.seq)),
                )
            })?;
            return Ok(Checked {
                info,
                full: Some(full),
                site,
                registry_site: known_site,
            });
        }
        return Ok(Checked {
            info,
            full: None,
            site,
            registry_site: known_site,
        });
    };
    // A delta: resolved against the base this device's key stored, and
    // stored in full. Without that base the device sends the batch again
    // in full.
    let need_full = |why: String| {
        refused(
            &known_site,
            "base missing",
            Reply::NeedFull(format!(
                "batch {} is a delta on batch {}: {why}; send it in full",
                h.seq, want.seq
            )),
        )
    };
    let Some(stored) = a.base else {
        return Err(need_full("this collector does not store that batch".into()));
    };
    if stored.digest != want.digest {
        return Err(need_full(format!(
            "the stored batch {} has another digest",
            want.seq
        )));
    }
    if stored.site != site {
        return Err(need_full(format!(
            "it was stored under site {}, this batch belongs to {site}",
            shown(&stored.site)
        )));
    }
    let base = batch::Base::from_frame(&stored.data)
        .map_err(|e| need_full(format!("the stored batch does not decode: {e}")))?;
    let resolved = ZSTD
        .with_borrow_mut(|(z, _)| {
            z.decode_delta_with(a.data, &base, &a.policy.limits, a.policy.schemas)
        })
        .map_err(|e| {
            let (reason, reply) = decode_refusal(h.seq, &e);
            refused(&known_site, &reason, reply)
        })?;
    let unencodable = |e: String| {
        refused(
            &known_site,
            "malformed",
            Reply::Malformed(format!("batch {}: resolved rows do not encode: {e}", h.seq)),
        )
    };
    let (info, full) = store_in_full(&resolved).map_err(unencodable)?;
    Ok(Checked {
        info,
        full: Some(full),
        site,
        registry_site: known_site,
    })
}

/// `batch` encoded in full as the collector stores it, and its frame's
/// facts.
fn store_in_full(batch: &batch::Batch) -> Result<(FrameInfo, Vec<u8>), String> {
    let full = ZSTD
        .with_borrow_mut(|(_, z)| {
            let z = match z {
                Some(z) => z,
                none => none.insert(batch::Compressor::new(
                    STORE_LEVEL,
                    batch::DICTIONARIES.last(),
                )?),
            };
            z.encode(batch)
        })
        .map_err(|e| e.to_string())?;
    let info = batch::read_frame_info(&full).map_err(|e| e.to_string())?;
    Ok((info, full))
}

impl Checked {
    /// The bytes to store for a batch that came as `sent`.
    pub fn stored<'a>(&'a self, sent: &'a [u8]) -> &'a [u8] {
        self.full.as_deref().unwrap_or(sent)
    }
}

/// Stores a checked batch. Blocking.
pub fn store(store: &mut Store, a: &Admission<'_>, c: &Checked) -> Reply {
    let (h, site) = (&c.info.header, &c.site);
    let data = c.stored(a.data);
    match store.insert(
        &c.info,
        site,
        a.key_sha256,
        data,
        crate::store::now_us(),
        a.source,
    ) {
        Ok(Inserted::New) => {
            log::info!(
                "device {} batch {} stored under site {site:?} ({} records, {} bytes{}, digest {})",
                a.device,
                h.seq,
                h.record_count,
                a.data.len(),
                if c.full.is_some() {
                    " as a delta or in parts"
                } else {
                    ""
                },
                batch::hex(&c.info.digest)
            );
            Reply::Stored
        }
        Ok(Inserted::SelftestReplaced) => {
            log::info!(
                "device {} self-test batch stored in place of the previous one",
                a.device
            );
            Reply::Stored
        }
        Ok(Inserted::Duplicate) => {
            log::info!("device {} batch {} already stored", a.device, h.seq);
            Reply::Stored
        }
        Err(e @ StoreError::Conflict { .. }) => refuse(
            store,
            a.device,
            &c.registry_site,
            "sequence conflict",
            Reply::Refused(e.to_string()),
        ),
        Err(e) => Reply::Retry(e.to_string()),
    }
}

/// [`check`], then [`store`] or count the refusal.
pub fn admit(st: &mut Store, a: &Admission<'_>) -> Reply {
    match check(a) {
        Ok(c) => store(st, a, &c),
        Err(r) => refuse(st, a.device, &r.site, &r.reason, r.reply),
    }
}

/// Writes the refused-batches counters as an aligned table (nothing when
/// there are none).
pub fn write_refusals(
    rows: &[crate::store::RefusalRow],
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nrefused batches")?;
    writeln!(
        out,
        "{:<20} {:<14} {:<24} {:>8}  last",
        "device", "site", "reason", "count"
    )?;
    for r in rows {
        writeln!(
            out,
            "{:<20} {:<14} {:<24} {:>8}  {}",
            r.device,
            if r.site.is_empty() { "-" } else { &r.site },
            r.reason,
            r.count,
            r.last_detail
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use osect_wire::batch::{Batch, Header};
    use osect_wire::{FieldType, Record, Value};

    fn frame(device: &str, site: &str, records: Vec<Record>) -> Vec<u8> {
        let b = Batch {
            header: Header {
                device_id: device.into(),
                site: site.into(),
                seq: 1,
                ..Header::default()
            },
            records,
        };
        batch::encode(&b, 3, None).unwrap()
    }

    /// What `check` says of a batch from `device` naming `site`.
    fn reason(device: &str, site: &str) -> Result<String, String> {
        checked(device, &frame(device, site, Vec::new()))
    }

    fn checked(device: &str, data: &[u8]) -> Result<String, String> {
        let policy = Policy::project();
        let a = Admission {
            device,
            key_sha256: &[1; 32],
            data,
            fleet: None,
            policy: &policy,
            source: "test",
            base: None,
        };
        match check(&a) {
            Ok(c) => Ok(c.site),
            Err(r) => {
                // Never a site the device named: counter rows stay bounded.
                assert_eq!(r.site, "");
                Err(r.reason)
            }
        }
    }

    #[test]
    fn names_that_could_become_paths_are_refused() {
        assert_eq!(reason("OSS-1", "plant-a"), Ok("plant-a".into()));
        assert_eq!(reason("OSS-1", ""), Ok(String::new()));
        assert_eq!(reason("../../x", "plant-a"), Err("device name".into()));
        assert_eq!(reason("OSS-1", "../../x"), Err("site name".into()));
        assert_eq!(reason("OSS-1", "plant a"), Err("site name".into()));
        // A log the project does not write, from a batch naming a site.
        let bogus = batch::intern_schema("bogus", &[("ts".into(), FieldType::Time)]).unwrap();
        let rec = Record {
            schema: bogus,
            values: vec![Value::Time(1)],
        };
        assert_eq!(
            checked("OSS-1", &frame("OSS-1", "plant-x", vec![rec])),
            Err("unknown log".into())
        );
    }
}
