//! The goose link-layer decoder on a frame's payload.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    osect_fuzz::run("goose", data);
});
