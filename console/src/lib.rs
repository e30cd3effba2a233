//! `osect-console`: the core's web console and JSON API. It reads the
//! collector's store (a separate process from ingest, so a console failure
//! never stops batches from being acknowledged) and shows each user the
//! sites of their customer, or every site to the service operator's staff.

pub mod api;
pub mod auth;
pub mod csv;
pub mod db;
pub mod fleet;
pub mod i18n;
pub mod pages;
pub mod server;
pub mod site;
pub mod web;
