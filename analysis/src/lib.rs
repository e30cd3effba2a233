//! The core's analysis of what the sensors saw.
//!
//! Sans-IO, like `quinn-proto`: a site's batches of decoded records go in
//! ([`SiteState::analyse`]), the asset ledger, the communication map, the
//! baseline and the alerts come out ([`SiteState::take_changes`]). No
//! sockets, no database and no clock: the collector persists the state in
//! its store, in the transaction that marks a batch analysed, and passes
//! the time in where only a clock can tell (`tick`).
//!
//! Per site, a learning period (7 days by default) learns what is normal;
//! afterwards what is new alerts, except inside maintenance windows, where
//! it is learned (critical kinds still alert). Protocol knowledge (which
//! logs carry operations, what an operation does) comes from the engine's
//! per-protocol descriptors through [`Registry`].
#![deny(unsafe_code)]

pub mod config;
pub mod coverage;
pub mod diff;
pub mod model;
mod registry;
mod site;

pub use config::{SiteConfig, Subnet, Window, Zone};
pub use model::*;
pub use registry::Registry;
pub use site::{ActError, BatchInput, Changes, SensorState, SiteMeta, SiteState};
