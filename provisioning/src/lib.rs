//! `osect-provision`: factory identity, LTE modem and SIM set-up, the fleet
//! registry, send-back swap, returns, wipe and decommissioning.

pub mod calendar;
pub mod config;
pub mod device;
pub mod external;
pub mod files;
pub mod flows;
pub mod modem;
pub mod modem_sim;
pub mod pki;
pub mod registry;
pub mod terms;
pub mod wipe;
