//! `osect-collector`: the core's QUIC ingest. It accepts batches from
//! devices whose certificates chain to the device CA and are not revoked,
//! checks each batch against its sender, stores it durably, and only then
//! acknowledges it; it exports stored records as Zeek logs.

pub mod admit;
pub mod allow;
pub mod analyse;
pub mod cli;
pub mod export;
pub mod fleet;
pub mod ledger;
pub mod notify;
pub mod operator;
pub mod retention;
pub mod server;
pub mod store;
pub mod tls;
