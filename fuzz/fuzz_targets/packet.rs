//! The whole per-packet path: frames of any link type through the engine,
//! interval ends and the final flush, every record written as TSV and JSON.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| osect_fuzz::packet(data));
