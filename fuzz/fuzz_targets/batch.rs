//! The batch decoder: a frame as a collector receives it, in full and as a
//! delta on a fixed base.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    osect_fuzz::batch_frame(data);
});
