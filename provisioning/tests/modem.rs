//! The AT code against the modem simulator on a pseudo-terminal, one test per
//! simulator script. The simulator stands in for a USB LTE modem: the code
//! under test opens its tty path exactly as it would open /dev/ttyUSB2.

use osect_provision::modem::at::{AtError, AtPort, Expect};
use osect_provision::modem::net::{Apn, Auth, Registration};
use osect_provision::modem::sim::SimState;
use osect_provision::modem::{Locator, Modem, Session, Timing};
use osect_provision::modem_sim::{ModemSim, Profile, Script};
use std::time::Duration;

const IMEI: &str = "867698041234567";
const ICCID: &str = "8988239000001234567";
const IMSI: &str = "901280001234567";

fn timing(ms: u64) -> Timing {
    Timing {
        command: Duration::from_millis(ms),
        reappear: Duration::from_secs(5),
        registration: Duration::from_secs(1),
    }
}

fn start(script: Script) -> (tempfile::TempDir, ModemSim) {
    let d = tempfile::tempdir().unwrap();
    let sim = ModemSim::start(Profile::new(script, IMEI, ICCID, IMSI), d.path()).unwrap();
    (d, sim)
}

fn apn() -> Apn {
    Apn {
        apn: "iot.example".into(),
        auth: Auth::Chap,
        user: "sensor".into(),
        password: "s3cret".into(),
        pdp_type: "IPV4V6".into(),
    }
}

#[test]
fn normal_modem_answers_every_query() {
    let (_d, sim) = start(Script::Normal);
    let mut m = Modem::open(&sim.tty(), &timing(2000)).unwrap();
    let info = m.identify().unwrap();
    assert_eq!(info.manufacturer, "Quectel");
    assert_eq!(info.model, "EG25");
    assert_eq!(info.imei, IMEI);
    assert_eq!(m.sim_state().unwrap(), SimState::Ready);
    // AT+CCID is refused by this modem; the Quectel variant answers, padded with F.
    assert_eq!(m.iccid().unwrap(), ICCID);
    assert!(sim.commands().iter().any(|c| c == "AT+QCCID"));
    assert_eq!(m.imsi().unwrap(), IMSI);
    assert_eq!(m.apn().unwrap(), None);
    m.set_apn(&apn()).unwrap();
    assert_eq!(
        m.apn().unwrap(),
        Some(("IPV4V6".into(), "iot.example".into()))
    );
    assert_eq!(sim.apn(), Some(("IPV4V6".into(), "iot.example".into())));
    assert!(sim
        .commands()
        .iter()
        .any(|c| c == "AT+CGAUTH=1,2,\"sensor\",\"s3cret\""));
    assert_eq!(m.registration().unwrap(), Registration::Home);
    let sig = m.signal().unwrap();
    assert_eq!(sig.rssi_dbm, Some(-73));
    assert_eq!(sig.rsrp_dbm, Some(-89));
    assert_eq!(m.operator().unwrap().as_deref(), Some("OSECT Mobile"));
    m.clear_apn().unwrap();
    assert_eq!(sim.apn(), None);
}

#[test]
fn echo_on_is_tolerated() {
    let (_d, sim) = start(Script::Normal);
    // Without ATE0 the modem echoes every command back before its reply.
    let mut p = AtPort::open(&sim.tty()).unwrap();
    let t = Duration::from_secs(2);
    assert_eq!(
        p.command("AT+CGSN", Expect::Text(&[]), t).unwrap(),
        vec![IMEI]
    );
    assert_eq!(
        p.command("AT+CSQ", Expect::Prefix("+CSQ:"), t).unwrap(),
        vec!["20,99"]
    );
    let e = p.command("AT+NOSUCH", Expect::Nothing, t).unwrap_err();
    assert!(matches!(e, AtError::Error { .. }), "{e}");
}

#[test]
fn missing_sim_is_reported_as_such() {
    let (_d, sim) = start(Script::SimMissing);
    let mut m = Modem::open(&sim.tty(), &timing(2000)).unwrap();
    assert_eq!(m.sim_state().unwrap(), SimState::NotInserted);
    let e = m.imsi().unwrap_err().to_string();
    assert_eq!(
        e,
        "modem replied +CME ERROR: 10 (SIM not inserted) to AT+CIMI"
    );
    assert_eq!(m.registration().unwrap(), Registration::NotSearching);
}

#[test]
fn pin_locked_sim_needs_the_right_pin() {
    let (_d, sim) = start(Script::PinLocked);
    let mut m = Modem::open(&sim.tty(), &timing(2000)).unwrap();
    assert_eq!(m.sim_state().unwrap(), SimState::PinRequired);
    assert!(m
        .imsi()
        .unwrap_err()
        .to_string()
        .contains("SIM PIN required"));
    let e = m.enter_pin("9999").unwrap_err().to_string();
    assert_eq!(
        e,
        "modem replied +CME ERROR: 16 (incorrect password) to AT+CPIN=<pin>"
    );
    assert!(m.enter_pin("12a4").is_err(), "not digits");
    m.enter_pin("1234").unwrap();
    assert_eq!(m.sim_state().unwrap(), SimState::Ready);
    assert_eq!(m.imsi().unwrap(), IMSI);
}

#[test]
fn unregistered_modem_keeps_searching() {
    let (_d, sim) = start(Script::NotRegistered);
    let mut m = Modem::open(&sim.tty(), &timing(2000)).unwrap();
    assert_eq!(m.registration().unwrap(), Registration::Searching);
    assert_eq!(m.signal().unwrap().rssi_dbm, None);
    assert_eq!(m.operator().unwrap(), None);
}

#[test]
fn slow_replies_in_pieces_are_waited_for_and_time_out() {
    let (_d, sim) = start(Script::Slow);
    let mut m = Modem::open(&sim.tty(), &timing(3000)).unwrap();
    assert_eq!(m.imei().unwrap(), IMEI);
    assert_eq!(m.iccid().unwrap(), ICCID);
    drop(m);
    let mut p = AtPort::open(&sim.tty()).unwrap();
    let e = p
        .command("AT+CGSN", Expect::Text(&[]), Duration::from_millis(200))
        .unwrap_err();
    assert!(matches!(e, AtError::Timeout { .. }), "{e}");
    assert!(e.to_string().contains("no reply to AT+CGSN"), "{e}");
    // The late reply to AT+CGSN is not taken for the next command's.
    let t = Duration::from_secs(3);
    assert_eq!(
        p.command("AT+CIMI", Expect::Text(&[]), t).unwrap(),
        vec![IMSI]
    );
}

#[test]
fn urcs_in_the_middle_of_replies_are_set_aside() {
    let (_d, sim) = start(Script::UrcMidReply);
    let mut m = Modem::open(&sim.tty(), &timing(2000)).unwrap();
    let info = m.identify().unwrap();
    assert_eq!(info.imei, IMEI);
    assert_eq!(info.firmware, "EG25GGBR07A08M2G");
    assert_eq!(m.iccid().unwrap(), ICCID);
    assert_eq!(m.imsi().unwrap(), IMSI);
    // An unsolicited +CEREG arrives in the reply to AT+CEREG? itself.
    assert_eq!(m.registration().unwrap(), Registration::Home);
    assert_eq!(m.signal().unwrap().rssi_dbm, Some(-73));
    m.set_apn(&apn()).unwrap();
    assert_eq!(
        m.apn().unwrap(),
        Some(("IPV4V6".into(), "iot.example".into()))
    );
    drop(m);
    let mut p = AtPort::open(&sim.tty()).unwrap();
    let t = Duration::from_secs(2);
    assert_eq!(
        p.command("AT+CIMI", Expect::Text(&[]), t).unwrap(),
        vec![IMSI]
    );
    let urcs: Vec<&str> = p.urcs().collect();
    assert!(
        urcs.iter().any(|u| u.starts_with("+QIND") || u == &"RING"),
        "{urcs:?}"
    );
}

#[test]
fn cme_errors_are_mapped_to_messages() {
    let (_d, sim) = start(Script::CmeError);
    let mut m = Modem::open(&sim.tty(), &timing(2000)).unwrap();
    let e = m.sim_state().unwrap_err().to_string();
    assert_eq!(e, "modem replied +CME ERROR: 13 (SIM failure) to AT+CPIN?");
    let e = m.iccid().unwrap_err().to_string();
    assert!(e.contains("SIM failure"), "{e}");
}

#[test]
fn vanished_modem_is_found_again_by_imei_on_another_tty() {
    let (d, sim) = start(Script::Vanish);
    let first = sim.tty();
    let patterns = vec![format!("{}/ttyUSB*", d.path().display())];
    let mut s = Session::connect(
        &Locator::Path(first.clone()),
        &patterns,
        Some(IMEI),
        &timing(1000),
    )
    .unwrap();
    // Enough commands to pass the point where the modem resets.
    for _ in 0..6 {
        assert_eq!(s.step(|m| m.imsi()).unwrap(), IMSI);
    }
    assert!(sim.has_vanished());
    assert_ne!(sim.tty(), first);
    assert_eq!(s.path(), sim.tty().as_path());
    assert_eq!(s.step(|m| m.iccid()).unwrap(), ICCID);
}

#[test]
fn auto_finds_the_modem_with_the_expected_imei() {
    let d = tempfile::tempdir().unwrap();
    let _other = ModemSim::start(
        Profile::new(Script::Normal, "867698049999999", ICCID, IMSI),
        d.path(),
    )
    .unwrap();
    let sim = ModemSim::start(Profile::new(Script::Normal, IMEI, ICCID, IMSI), d.path()).unwrap();
    let patterns = vec![format!("{}/ttyUSB*", d.path().display())];
    let s = Session::connect(&Locator::Auto, &patterns, Some(IMEI), &timing(1000)).unwrap();
    assert_eq!(s.info().imei, IMEI);
    assert_eq!(s.path(), sim.tty().as_path());
    let e = Session::connect(
        &Locator::Auto,
        &patterns,
        Some("867698040000000"),
        &Timing {
            reappear: Duration::ZERO,
            ..timing(500)
        },
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("no modem found") && e.contains("867698040000000"),
        "{e}"
    );
}

#[test]
fn modem_resetting_while_being_opened_is_found_again() {
    let d = tempfile::tempdir().unwrap();
    let mut p = Profile::new(Script::Vanish, IMEI, ICCID, IMSI);
    // Gone in the middle of identification (AT, ATE0, AT+CMEE=1, AT+CGMI, ...).
    p.vanish_after = 4;
    let sim = ModemSim::start(p, d.path()).unwrap();
    let first = sim.tty();
    let patterns = vec![format!("{}/ttyUSB*", d.path().display())];
    let mut s = Session::connect(
        &Locator::Path(first.clone()),
        &patterns,
        Some(IMEI),
        &timing(1000),
    )
    .unwrap();
    assert!(sim.has_vanished());
    assert_eq!(s.info().imei, IMEI);
    assert_ne!(s.path(), first.as_path());
    assert_eq!(s.step(|m| m.imsi()).unwrap(), IMSI);
}

#[test]
fn huawei_iccid_and_creg_fallbacks() {
    let d = tempfile::tempdir().unwrap();
    let mut p = Profile::new(Script::Normal, IMEI, ICCID, IMSI);
    p.manufacturer = "huawei".into();
    p.iccid_command = "AT^ICCID?";
    p.eps = false;
    let sim = ModemSim::start(p, d.path()).unwrap();
    let mut m = Modem::open(&sim.tty(), &timing(2000)).unwrap();
    assert_eq!(m.iccid().unwrap(), ICCID);
    assert_eq!(m.registration().unwrap(), Registration::Home);
    let cmds = sim.commands();
    for c in ["AT+CCID", "AT+QCCID", "AT^ICCID?", "AT+CEREG?", "AT+CREG?"] {
        assert!(cmds.iter().any(|x| x == c), "{c} not tried: {cmds:?}");
    }
}
