//! The registry: every protocol the engine decodes, listed once.
//!
//! Each protocol's folder holds a `descriptor.rs` with one [`Descriptor`]:
//! what the core is told ([`ProtocolInfo`]: its logs, whether batches fold
//! them, how a row names and classifies an operation), how the engine
//! recognises the protocol, the asset roles it implies and where it tells the
//! ledger what a device is (its identity sources and their ranks). Everything else
//! (the recognisers' order, the roles in `asset.log`, batch folding, the
//! collector's summary, the logs a collector accepts) reads [`REGISTRY`].
//! Adding a protocol is its folder and one line in [`each_protocol`], which
//! both declares the folder's module and lists its descriptor.
//!
//! The order of [`REGISTRY`] is the order `asset.log` lists a device's
//! roles in and the order Ethernet decoders are tried in; content probes go
//! by their [`Recognition::Probe`] precedence instead, because a probe that
//! accepts loosely must come after stricter ones whatever the listing.

use crate::asset::{IdentitySource, Role};
use crate::flow::id::Transport;
use crate::over_ethernet::Frame;
use crate::over_ip::{Output, Probe};
use osect_wire::protocol::{count_of, Access, LogInfo, OpClass, ProtocolInfo};
use osect_wire::record::Record;
use osect_wire::LogSchema;
use std::sync::OnceLock;

/// One protocol, as the engine and the core see it.
#[derive(Debug)]
pub struct Descriptor {
    /// Name, logs, folding and operations: the part the core reads.
    pub info: ProtocolInfo,
    pub recognition: Recognition,
    /// The roles a device can play in this protocol, in the order
    /// `asset.log` lists them (empty for protocols that say nothing about
    /// what a device is).
    pub roles: &'static [Role],
    /// Where the protocol tells the asset ledger what a device is, each
    /// with its rank (empty for protocols that do not).
    pub identities: &'static [IdentitySource],
}

/// How the engine finds a protocol in the traffic.
#[derive(Debug)]
pub enum Recognition {
    /// By the first payload of a TCP or UDP connection. Probes are tried
    /// by ascending `precedence` (unique across the registry).
    /// `ports` are its well-known ports, a hint only (probes recognise by
    /// content); the fuzz targets and their seeds reach the parser through
    /// them.
    Probe {
        probe: Probe,
        precedence: u16,
        ports: &'static [(Transport, u16)],
    },
    /// A decoder of non-IP Ethernet frames: `decode` returns true when the
    /// frame was its protocol's; `ethertype` is the protocol's own (the
    /// fuzz target feeds frames of it).
    Ethernet {
        decode: fn(&Frame<'_>, &mut Output<'_>) -> bool,
        ethertype: u16,
    },
}

/// Every protocol, one line each: its folder under `over_ip/` or
/// `over_ethernet/`, in registry order (see the module docs). The list
/// declares each folder's module in its layer ([`declare_modules`]) and
/// makes [`REGISTRY`]; `$then` is the macro handed the list, after `$arg`.
macro_rules! each_protocol {
    ($then:ident $($arg:tt)*) => {
        $then! {
            $($arg)*
            over_ip::modbus,
            over_ip::dnp3,
            over_ip::enip,
            over_ip::bacnet,
            over_ip::s7comm,
            over_ip::mms,
            over_ip::slmp,
            over_ip::fins,
            over_ip::iec104,
            over_ip::opcua,
            over_ip::cclink_ief_basic,
            over_ethernet::cclink_ie,
            over_ethernet::profinet_dcp,
            over_ethernet::goose,
            over_ip::dhcp,
            over_ip::browser,
            over_ip::dhcpv6,
            over_ip::nbns,
            over_ip::dns,
            over_ip::tls,
            over_ip::ssh,
            over_ip::http,
            over_ip::ntp,
            over_ip::quic,
            over_ip::snmp,
            over_ip::ssdp,
            over_ip::ftp,
            over_ip::mqtt,
            over_ip::smtp,
            over_ip::sip,
            over_ip::syslog,
            over_ip::xmpp,
            over_ethernet::lldp,
        }
    };
}
pub(crate) use each_protocol;

/// Declares, as `pub mod`, the protocols of the list that live in the layer
/// named first (`declare_modules! { over_ip; over_ip::modbus, ... }`).
macro_rules! declare_modules {
    (over_ip; over_ip::$name:ident, $($rest:tt)*) => {
        pub mod $name;
        $crate::protocols::declare_modules! { over_ip; $($rest)* }
    };
    (over_ethernet; over_ethernet::$name:ident, $($rest:tt)*) => {
        pub mod $name;
        $crate::protocols::declare_modules! { over_ethernet; $($rest)* }
    };
    ($layer:ident; $other:ident::$name:ident, $($rest:tt)*) => {
        $crate::protocols::declare_modules! { $layer; $($rest)* }
    };
    ($layer:ident;) => {};
}
pub(crate) use declare_modules;

macro_rules! registry {
    ($($layer:ident::$name:ident,)*) => {
        /// Every protocol, in the order of [`each_protocol`].
        pub static REGISTRY: &[&Descriptor] =
            &[$(&crate::$layer::$name::descriptor::DESCRIPTOR,)*];
        /// Each protocol's folder, as `REGISTRY` lists them.
        #[cfg(test)]
        static FOLDERS: &[&str] = &[$(concat!(stringify!($layer), "/", stringify!($name)),)*];
    };
}
each_protocol!(registry);

/// Who made a device, as the logs say: the fields of the asset ledger's
/// log ([`crate::asset::ASSET`]) that name a vendor, most trusted first.
/// `vendor` is what a device answered about itself, through the identity
/// sources the descriptors declare (whichever protocol carried it);
/// `oui_vendor` is the owner of its MAC's prefix. A protocol's own rows
/// name vendors too (an identify response's `vendor_name`), but only the
/// ledger knows which device of the row they belong to.
pub static VENDOR_FIELDS: &[&str] = &["vendor", "oui_vendor"];

/// The logs the engine writes itself rather than for one protocol.
pub static ENGINE_LOGS: &[&LogSchema] = &[
    &crate::flow::conn::CONN_LOG,
    &crate::asset::ASSET,
    &crate::neighbor::ARP_LOG,
    &crate::neighbor::NS_LOG,
    &crate::over_ip::fingerprint::FINGERPRINT_LOG,
];

/// Every log the engine can write: its own, then each protocol's. Batches
/// also carry the folded form of the logs [`folds`] names (the same fields
/// less the per-transaction ones, plus `ts_end` and `count`).
pub fn log_schemas() -> Vec<&'static LogSchema> {
    let protocols = REGISTRY
        .iter()
        .flat_map(|d| d.info.logs.iter().map(|l| l.schema));
    ENGINE_LOGS.iter().copied().chain(protocols).collect()
}

/// The protocol with this name.
pub fn protocol(name: &str) -> Option<&'static Descriptor> {
    REGISTRY.iter().copied().find(|d| d.info.name == name)
}

/// The protocol that writes the log `path`, and that log's description.
pub fn log(path: &str) -> Option<(&'static Descriptor, &'static LogInfo)> {
    REGISTRY
        .iter()
        .find_map(|d| d.info.log(path).map(|l| (*d, l)))
}

/// Whether batches fold the rows of the log `path`.
pub fn folds(path: &str) -> bool {
    log(path).is_some_and(|(_, l)| l.fold.per_event().is_some())
}

/// What the registry's order gives, worked out once.
struct Tables {
    probes: Vec<Probe>,
    ethernet: Vec<fn(&Frame<'_>, &mut Output<'_>) -> bool>,
    roles: Vec<&'static str>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut probes: Vec<(u16, Probe)> = Vec::new();
        let mut ethernet = Vec::new();
        let mut roles: Vec<&'static str> = Vec::new();
        for d in REGISTRY {
            match d.recognition {
                Recognition::Probe {
                    probe, precedence, ..
                } => probes.push((precedence, probe)),
                Recognition::Ethernet { decode, .. } => ethernet.push(decode),
            }
            for r in d.roles {
                // CC-Link IE Field Basic and CC-Link IE share master and slave.
                if !roles.contains(&r.as_str()) {
                    roles.push(r.as_str());
                }
            }
        }
        probes.sort_by_key(|(precedence, _)| *precedence);
        Tables {
            probes: probes.into_iter().map(|(_, p)| p).collect(),
            ethernet,
            roles,
        }
    })
}

/// The content probes, most specific first.
pub fn probes() -> &'static [Probe] {
    &tables().probes
}

/// The Ethernet decoders, in registry order.
pub fn ethernet_decoders() -> &'static [fn(&Frame<'_>, &mut Output<'_>) -> bool] {
    &tables().ethernet
}

/// Every role a descriptor declares, in `asset.log` order (at most 32: the
/// asset ledger keeps them as bits).
pub fn role_names() -> &'static [&'static str] {
    &tables().roles
}

/// A row that neither reads nor writes the device's data.
pub fn other() -> OpClass {
    OpClass {
        access: Some(Access::Other),
        ..OpClass::default()
    }
}

/// `class` with the area a row names in its `space`, `start` and `count`
/// fields (a count of 1 when `count` is unset); `class` unchanged when the
/// space or the start is unset.
pub fn with_area_from(class: OpClass, rec: &Record, [space, start, count]: [&str; 3]) -> OpClass {
    match (
        osect_wire::protocol::text_of(rec, space),
        count_of(rec, start),
    ) {
        (Some(space), Some(start)) => {
            class.with_area(&space, start, count_of(rec, count).unwrap_or(1))
        }
        _ => class,
    }
}

/// A numeric field written as hexadecimal text (`0x0401`).
pub fn hex_field(rec: &Record, field: &str) -> Option<u64> {
    let text = osect_wire::protocol::text_of(rec, field)?;
    u64::from_str_radix(text.strip_prefix("0x")?, 16).ok()
}

#[cfg(test)]
pub(crate) mod tests;
