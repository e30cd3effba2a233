//! WebSocket frames after an HTTP upgrade, and what their payload carries.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    osect_fuzz::websocket(data);
});
