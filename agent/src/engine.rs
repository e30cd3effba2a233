//! The sans-IO packet engine: frames in, records out.
//!
//! Call order: [`Engine::handle_packet`] for every frame in time order;
//! [`Engine::end_interval`] at each interval boundary (interim connection
//! records, address and asset records for the interval); [`Engine::finish`]
//! at the end of input. [`Engine::take_records`] drains what was produced.
