//! SIGTERM and SIGINT: a flag the capture loops and file readers poll.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

pub(super) fn install_signal_handlers() -> std::io::Result<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let act = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for s in [Signal::SIGTERM, Signal::SIGINT] {
        // SAFETY: the handler only stores to an atomic.
        unsafe { sigaction(s, &act) }.map_err(std::io::Error::from)?;
    }
    Ok(())
}

pub(super) fn stopping() -> bool {
    STOP.load(Ordering::SeqCst)
}

pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}
