//! The xmpp decoder: one conversation through the engine's streaming contract.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    osect_fuzz::run("xmpp", data);
});
