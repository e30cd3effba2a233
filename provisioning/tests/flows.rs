//! Every flow of `osect-provision`, run as the real binary against simulated
//! modems (pseudo-terminals standing in for USB LTE modems), with a temp
//! directory standing in for each unit's /data.

mod support;

use osect_provision::modem_sim::{Profile, Script};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use support::{device_line, script_modem, Options, Station};

fn factory(s: &Station, serial: &str, unit: &Path, tty: &Path) -> String {
    s.factory(serial, unit, tty)
}

fn factory_fails(s: &Station, serial: &str, unit: &Path, tty: &str) -> String {
    s.fail(&[
        "factory",
        "--serial",
        serial,
        "--device-dir",
        unit.to_str().unwrap(),
        "--modem",
        tty,
        "--no-selftest",
    ])
}

fn add_site(s: &Station, site: &str) {
    s.ok(&[
        "site",
        "add",
        "--site",
        site,
        "--interface",
        "enp2s0",
        "--batch-interval",
        "30",
        "--endpoint",
        "core-eu.invalid:4433",
        "--label",
        "plant=north",
        "--label",
        "line=2",
    ]);
}

fn cert_serial(unit: &Path) -> String {
    let pem = std::fs::read_to_string(unit.join("identity/device.crt")).unwrap();
    osect_provision::pki::cert_info(&pem).unwrap().serial
}

fn crl_serials(s: &Station) -> Vec<String> {
    let pem = std::fs::read_to_string(s.path("pki/devices.crl")).unwrap();
    osect_provision::pki::crl_serials(&pem).unwrap()
}

#[test]
fn factory_gives_identity_config_and_record() {
    let s = Station::new();
    let m = script_modem(&s, Script::Normal, 1);
    let unit = s.unit("unit1");
    let out = factory(&s, "OSD-000001", &unit, &m.tty());
    assert!(out.contains("IMEI 867698040000001"), "{out}");
    assert!(out.contains("OSD-000001 provisioned"), "{out}");

    let key = unit.join("identity/device.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(std::fs::read_to_string(&key)
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    let crt = std::fs::read_to_string(unit.join("identity/device.crt")).unwrap();
    assert_eq!(
        crt.matches("BEGIN CERTIFICATE").count(),
        2,
        "leaf + device CA"
    );
    let info = osect_provision::pki::cert_info(&crt).unwrap();
    assert_eq!(info.subject_cn, "OSD-000001");
    assert_eq!(
        std::fs::read(unit.join("identity/core-ca.crt")).unwrap(),
        std::fs::read(s.path("pki/core-ca.crt")).unwrap()
    );
    let cfg: toml::Table = std::fs::read_to_string(unit.join("config/agent.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(cfg["device"]["id"].as_str(), Some("OSD-000001"));
    assert_eq!(cfg["uplink"]["enabled"].as_bool(), Some(false));
    assert_eq!(cfg["uplink"]["key"].as_str(), key.to_str());
    assert_eq!(cfg["spool"]["dir"].as_str(), unit.join("spool").to_str());
    assert!(
        cfg.get("capture").is_none(),
        "site settings come with assign"
    );

    assert_eq!(m.apn(), Some(("IPV4V6".into(), "iot.osect.test".into())));
    let line = device_line(&s, "OSD-000001");
    assert!(
        line.contains("provisioned") && line.contains("imei=867698040000001"),
        "{line}"
    );
    assert!(line.contains(&info.fingerprint[..16]), "{line}");
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(&["registry", "devices", "--json"])).unwrap();
    assert_eq!(json[0]["serial"], "OSD-000001");
    assert_eq!(json[0]["state"], "provisioned");
    assert_eq!(json[0]["iccid"], "89882390000000000001");
    let audit = s.ok(&["registry", "audit"]);
    assert!(
        audit.contains("tester") && audit.contains("factory"),
        "{audit}"
    );

    // A second run finds the work done and changes nothing.
    let before = s.snapshot(&[&unit]);
    let out = factory(&s, "OSD-000001", &unit, &m.tty());
    assert!(out.contains("already provisioned"), "{out}");
    assert_eq!(before, s.snapshot(&[&unit]));
}

#[test]
fn factory_failures_name_the_step_and_change_nothing() {
    let s = Station::new();
    let unit = s.unit("unit");
    let before = s.snapshot(&[&unit]);
    for (n, script, step, why) in [
        (2, Script::SimMissing, "'sim'", "no SIM card"),
        (3, Script::PinLocked, "'sim'", "asks for a PIN"),
        (4, Script::CmeError, "'sim'", "+CME ERROR: 13 (SIM failure)"),
        (
            5,
            Script::NotRegistered,
            "'registration'",
            "not registered on a network after 2 s",
        ),
    ] {
        let m = script_modem(&s, script, n);
        let e = factory_fails(&s, "OSD-000002", &unit, m.tty().to_str().unwrap());
        assert!(e.contains(step) && e.contains(why), "{script:?}: {e}");
        assert!(e.contains("nothing was changed"), "{e}");
        assert_eq!(before, s.snapshot(&[&unit]), "{script:?}");
        // The APN set before registration failed is taken back.
        assert_eq!(m.apn(), None, "{script:?}");
    }
    let e = factory_fails(
        &s,
        "OSD-000002",
        &unit,
        s.ttys().join("ttyUSB-none").to_str().unwrap(),
    );
    assert!(
        e.contains("'modem'") && e.contains("cannot open modem port"),
        "{e}"
    );
    let e = factory_fails(&s, "bad serial", &unit, "auto");
    assert!(e.contains("not a device serial"), "{e}");
    assert_eq!(before, s.snapshot(&[&unit]));
}

#[test]
fn factory_enters_the_configured_pin() {
    let s = Station::with(Options {
        pin: "1234",
        ..Options::default()
    });
    let m = script_modem(&s, Script::PinLocked, 6);
    let unit = s.unit("unit");
    factory(&s, "OSD-000006", &unit, &m.tty());
    assert!(m.commands().iter().any(|c| c == "AT+CPIN=\"1234\""));
}

#[test]
fn factory_copes_with_slow_urc_and_vanishing_modems() {
    let s = Station::new();
    let mut slow = Profile::new(
        Script::Slow,
        "867698040000007",
        "89882390000000000007",
        "901280000000007",
    );
    slow.delay = std::time::Duration::from_millis(250);
    {
        let m = s.modem_with(slow);
        factory(&s, "OSD-000007", &s.unit("u7"), &m.tty());
        let m = script_modem(&s, Script::UrcMidReply, 8);
        factory(&s, "OSD-000008", &s.unit("u8"), &m.tty());
    }

    let m = script_modem(&s, Script::Vanish, 9);
    let first = m.tty();
    let out = factory(&s, "OSD-000009", &s.unit("u9"), &first);
    assert!(m.has_vanished(), "the modem reset during the flow");
    assert_ne!(m.tty(), first);
    assert_eq!(m.apn(), Some(("IPV4V6".into(), "iot.osect.test".into())));
    assert!(out.contains("OSD-000009 provisioned"), "{out}");

    // `auto` finds a modem among the candidate ttys.
    let unit = s.unit("u10");
    drop(m);
    let m = script_modem(&s, Script::Normal, 10);
    s.ok(&[
        "factory",
        "--serial",
        "OSD-000010",
        "--device-dir",
        unit.to_str().unwrap(),
        "--modem",
        "auto",
        "--no-selftest",
    ]);
    assert!(device_line(&s, "OSD-000010").contains("imei=867698040000010"));
    drop(m);
}

#[test]
fn identities_and_sims_are_not_shared() {
    let s = Station::new();
    let m = script_modem(&s, Script::Normal, 11);
    let u1 = s.unit("u1");
    factory(&s, "OSD-000011", &u1, &m.tty());
    // `auto` passes over the modem of a unit already provisioned.
    let u3 = s.unit("u3");
    let before = s.snapshot(&[&u3]);
    let e = s.fail(&[
        "factory",
        "--serial",
        "OSD-000014",
        "--device-dir",
        u3.to_str().unwrap(),
        "--modem",
        "auto",
        "--no-selftest",
    ]);
    assert!(e.contains("no modem found"), "{e}");
    assert_eq!(before, s.snapshot(&[&u3]));
    // The same modem and SIM in another unit is refused.
    let u2 = s.unit("u2");
    let before = s.snapshot(&[&u2]);
    let e = factory_fails(&s, "OSD-000012", &u2, m.tty().to_str().unwrap());
    assert!(e.contains("recorded for device OSD-000011"), "{e}");
    assert_eq!(before, s.snapshot(&[&u2]));
    // A unit that already holds an identity is not provisioned over.
    let m2 = script_modem(&s, Script::Normal, 13);
    let e = factory_fails(&s, "OSD-000013", &u1, m2.tty().to_str().unwrap());
    assert!(
        e.contains("already holds the identity of OSD-000011"),
        "{e}"
    );
}

#[test]
fn assign_ship_swap_and_their_refusals() {
    let s = Station::new();
    let (ma, mb, mc) = (
        script_modem(&s, Script::Normal, 21),
        script_modem(&s, Script::Normal, 22),
        script_modem(&s, Script::Normal, 23),
    );
    let (ua, ub, uc) = (s.unit("a"), s.unit("b"), s.unit("c"));
    factory(&s, "OSD-000021", &ua, &ma.tty());
    factory(&s, "OSD-000022", &ub, &mb.tty());
    factory(&s, "OSD-000023", &uc, &mc.tty());
    add_site(&s, "plant-7");
    let (a, b, c) = (
        ua.to_str().unwrap(),
        ub.to_str().unwrap(),
        uc.to_str().unwrap(),
    );

    let before = s.snapshot(&[&ua, &ub]);
    let e = s.fail(&[
        "assign",
        "OSD-000021",
        "--site",
        "nowhere",
        "--device-dir",
        a,
    ]);
    assert!(e.contains("unknown site nowhere"), "{e}");
    let e = s.fail(&[
        "assign",
        "OSD-999999",
        "--site",
        "plant-7",
        "--device-dir",
        a,
    ]);
    assert!(e.contains("unknown device OSD-999999"), "{e}");
    // The directory given is another unit's.
    let e = s.fail(&[
        "assign",
        "OSD-000021",
        "--site",
        "plant-7",
        "--device-dir",
        b,
    ]);
    assert!(
        e.contains("belongs to device OSD-000022, not OSD-000021"),
        "{e}"
    );
    let e = s.fail(&["ship", "OSD-000021"]);
    assert!(e.contains("has no site"), "{e}");
    assert_eq!(before, s.snapshot(&[&ua, &ub]));

    s.ok(&[
        "assign",
        "OSD-000021",
        "--site",
        "plant-7",
        "--device-dir",
        a,
    ]);
    let again = s.ok(&[
        "assign",
        "OSD-000021",
        "--site",
        "plant-7",
        "--device-dir",
        a,
    ]);
    assert!(again.contains("already assigned"), "{again}");
    let cfg: toml::Table = std::fs::read_to_string(ua.join("config/agent.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(cfg["device"]["site"].as_str(), Some("plant-7"));
    assert_eq!(cfg["capture"]["interface"].as_str(), Some("enp2s0"));
    assert_eq!(cfg["batch"]["interval_secs"].as_integer(), Some(30));
    assert_eq!(
        cfg["uplink"]["endpoint"].as_str(),
        Some("core-eu.invalid:4433")
    );
    assert_eq!(cfg["uplink"]["enabled"].as_bool(), Some(true));
    assert_eq!(cfg["device"]["labels"].as_array().unwrap().len(), 2);
    s.ok(&["ship", "OSD-000021"]);
    s.ok(&["activate", "OSD-000021"]);
    let e = s.fail(&[
        "assign",
        "OSD-000022",
        "--site",
        "plant-7",
        "--device-dir",
        a,
    ]);
    assert!(e.contains("belongs to device OSD-000021"), "{e}");

    // Swap to a unit that is not a spare in stock.
    s.ok(&[
        "assign",
        "OSD-000023",
        "--site",
        "plant-7",
        "--device-dir",
        c,
    ]);
    let before = s.snapshot(&[&ua, &ub, &uc]);
    let e = s.fail(&[
        "swap",
        "--site",
        "plant-7",
        "--replacement",
        "OSD-000023",
        "--failed",
        "OSD-000021",
        "--device-dir",
        c,
    ]);
    assert!(e.contains("already serves site plant-7"), "{e}");
    let e = s.fail(&[
        "swap",
        "--site",
        "plant-7",
        "--replacement",
        "OSD-999999",
        "--device-dir",
        b,
    ]);
    assert!(e.contains("unknown device OSD-999999"), "{e}");
    let e = s.fail(&[
        "swap",
        "--site",
        "elsewhere",
        "--replacement",
        "OSD-000022",
        "--device-dir",
        b,
    ]);
    assert!(e.contains("unknown site elsewhere"), "{e}");
    let e = s.fail(&[
        "swap",
        "--site",
        "plant-7",
        "--replacement",
        "OSD-000022",
        "--device-dir",
        a,
    ]);
    assert!(
        e.contains("belongs to device OSD-000021, not OSD-000022"),
        "{e}"
    );
    assert_eq!(before, s.snapshot(&[&ua, &ub, &uc]));

    let old_serial = cert_serial(&ua);
    assert!(!crl_serials(&s).contains(&old_serial));
    let out = s.ok(&[
        "swap",
        "--site",
        "plant-7",
        "--replacement",
        "OSD-000022",
        "--failed",
        "OSD-000021",
        "--device-dir",
        b,
        "--reason",
        "no power",
    ]);
    assert!(
        out.contains("OSD-000022 takes over site plant-7 from OSD-000021"),
        "{out}"
    );
    assert_eq!(
        crl_serials(&s),
        vec![old_serial.clone()],
        "the failed unit is revoked at once"
    );
    // Re-issuing the CRL keeps its entries and is audited.
    let crl_before = std::fs::read(s.path("pki/devices.crl")).unwrap();
    let out = s.ok(&["pki", "crl"]);
    assert!(out.contains("with 1 revoked certificate"), "{out}");
    assert_ne!(
        std::fs::read(s.path("pki/devices.crl")).unwrap(),
        crl_before
    );
    assert_eq!(crl_serials(&s), vec![old_serial]);
    assert!(s
        .ok(&["registry", "audit"])
        .contains("re-issued with 1 entries"));
    let cfg: toml::Table = std::fs::read_to_string(ub.join("config/agent.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(cfg["device"]["site"].as_str(), Some("plant-7"));
    assert_eq!(cfg["device"]["id"].as_str(), Some("OSD-000022"));
    assert!(device_line(&s, "OSD-000021").contains("failed"));
    assert!(
        device_line(&s, "OSD-000022").contains("shipped")
            && device_line(&s, "OSD-000022").contains("site=plant-7")
    );
    let hist = s.ok(&["registry", "history", "--site", "plant-7"]);
    assert!(
        hist.contains("OSD-000021") && hist.contains("replaced by OSD-000022"),
        "{hist}"
    );

    // A unit that is not a spare in stock cannot replace anything.
    let before = s.snapshot(&[&ua, &ub]);
    let e = s.fail(&[
        "swap",
        "--site",
        "plant-7",
        "--replacement",
        "OSD-000021",
        "--device-dir",
        a,
    ]);
    assert!(
        e.contains("OSD-000021 is not a spare in stock (state failed)"),
        "{e}"
    );
    assert_eq!(before, s.snapshot(&[&ua, &ub]));

    // The same failure cannot be swapped twice.
    let m4 = script_modem(&s, Script::Normal, 24);
    let ud = s.unit("d");
    factory(&s, "OSD-000024", &ud, &m4.tty());
    let before = s.snapshot(&[&ua, &ub, &ud]);
    let e = s.fail(&[
        "swap",
        "--site",
        "plant-7",
        "--replacement",
        "OSD-000024",
        "--failed",
        "OSD-000021",
        "--device-dir",
        ud.to_str().unwrap(),
    ]);
    assert!(
        e.contains("OSD-000021 no longer serves plant-7") && e.contains("already handled"),
        "{e}"
    );
    let e = s.fail(&[
        "swap",
        "--site",
        "plant-7",
        "--replacement",
        "OSD-000022",
        "--failed",
        "OSD-000021",
        "--device-dir",
        b,
    ]);
    assert!(e.contains("already serves site plant-7"), "{e}");
    assert_eq!(before, s.snapshot(&[&ua, &ub, &ud]));
}

#[test]
fn receive_return_wipes_and_restocks() {
    let s = Station::new();
    let m = script_modem(&s, Script::Normal, 31);
    let u = s.unit("u");
    let dir = u.to_str().unwrap();
    factory(&s, "OSD-000031", &u, &m.tty());
    add_site(&s, "plant-9");
    s.ok(&[
        "assign",
        "OSD-000031",
        "--site",
        "plant-9",
        "--device-dir",
        dir,
    ]);
    s.ok(&["ship", "OSD-000031"]);
    let key_pem = std::fs::read(u.join("identity/device.key")).unwrap();
    // A second name for the key's inode shows whether its blocks were overwritten.
    let witness = s.path("key-witness");
    std::fs::hard_link(u.join("identity/device.key"), &witness).unwrap();
    let serial = cert_serial(&u);

    // Wrong unit, wrong serial: refused, nothing changes.
    let m2 = script_modem(&s, Script::Normal, 32);
    let u2 = s.unit("u2");
    factory(&s, "OSD-000032", &u2, &m2.tty());
    let before = s.snapshot(&[&u, &u2]);
    let e = s.fail(&[
        "receive-return",
        "OSD-000031",
        "--device-dir",
        u2.to_str().unwrap(),
    ]);
    assert!(
        e.contains("holds the identity of OSD-000032, not OSD-000031"),
        "{e}"
    );
    let e = s.fail(&["receive-return", "OSD-000099", "--device-dir", dir]);
    assert!(e.contains("unknown device OSD-000099"), "{e}");
    // Un-sent batches and no operator token: the import step refuses.
    std::fs::write(u.join("spool/00000001.batch"), b"batch").unwrap();
    let before_spool = s.snapshot(&[&u, &u2]);
    let e = s.fail(&["receive-return", "OSD-000031", "--device-dir", dir]);
    assert!(e.contains("'import'") && e.contains("--token-file"), "{e}");
    assert_eq!(before_spool, s.snapshot(&[&u, &u2]));
    std::fs::remove_file(u.join("spool/00000001.batch")).unwrap();
    assert_eq!(before, s.snapshot(&[&u, &u2]));

    let out = s.ok(&[
        "receive-return",
        "OSD-000031",
        "--device-dir",
        dir,
        "--modem",
        m.tty().to_str().unwrap(),
    ]);
    assert!(out.contains("now stock"), "{out}");
    assert!(
        out.contains("SIM 89882390000000000031 listed for deactivation"),
        "{out}"
    );
    for sub in ["identity", "config", "spool"] {
        let left: Vec<_> = std::fs::read_dir(u.join(sub))
            .map(|r| r.collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{sub} still holds {left:?}");
    }
    let w = std::fs::read(&witness).unwrap();
    assert_eq!(w.len(), key_pem.len());
    assert!(w.iter().all(|&b| b == 0), "key blocks overwritten");
    assert!(crl_serials(&s).contains(&serial), "revoked on return");
    assert!(device_line(&s, "OSD-000031").contains("stock"));
    assert!(s
        .ok(&["registry", "sims"])
        .contains("89882390000000000031 device=OSD-000031"));
    let again = s.ok(&["receive-return", "OSD-000031", "--device-dir", dir]);
    assert!(again.contains("already received and wiped"), "{again}");

    // Back in stock, the unit gets a new identity; its old SIM is refused.
    let e = factory_fails(&s, "OSD-000031", &u, m.tty().to_str().unwrap());
    assert!(e.contains("recorded for deactivation"), "{e}");
    m.insert_sim("89882390000000000131", "901280000000131");
    factory(&s, "OSD-000031", &u, &m.tty());
    assert_ne!(cert_serial(&u), serial);

    // Retire.
    s.ok(&[
        "receive-return",
        "OSD-000032",
        "--device-dir",
        u2.to_str().unwrap(),
        "--retire",
    ]);
    assert!(device_line(&s, "OSD-000032").contains("retired"));
    let e = factory_fails(&s, "OSD-000032", &u2, m2.tty().to_str().unwrap());
    assert!(e.contains("retired device is never used again"), "{e}");
}

#[test]
fn sim_and_modem_swaps_check_the_expected_ids() {
    let s = Station::new();
    let m = script_modem(&s, Script::Normal, 41);
    let u = s.unit("u");
    factory(&s, "OSD-000041", &u, &m.tty());
    let writes = m.apn_writes();
    m.insert_sim("89882390000000000141", "901280000000141");
    let tty = m.tty();
    let t = tty.to_str().unwrap();
    let before = s.snapshot(&[&u]);
    let e = s.fail(&[
        "sim-swap",
        "OSD-000041",
        "--iccid",
        "89882390000000000999",
        "--modem",
        t,
    ]);
    assert!(
        e.contains("the SIM in the modem is 89882390000000000141, expected 89882390000000000999"),
        "{e}"
    );
    assert_eq!(before, s.snapshot(&[&u]));
    s.ok(&[
        "sim-swap",
        "OSD-000041",
        "--iccid",
        "89882390000000000141",
        "--modem",
        t,
    ]);
    assert!(m.apn_writes() > writes, "APN set up again");
    assert!(device_line(&s, "OSD-000041").contains("iccid=89882390000000000141"));
    let sims = s.ok(&["registry", "sims"]);
    assert!(
        sims.lines()
            .any(|l| l.starts_with("89882390000000000041") && l.contains("DEACTIVATE")),
        "{sims}"
    );
    let again = s.ok(&[
        "sim-swap",
        "OSD-000041",
        "--iccid",
        "89882390000000000141",
        "--modem",
        t,
    ]);
    assert!(again.contains("nothing to do"), "{again}");

    // A new modem with the SIM moved into it.
    drop(m);
    let m2 = s.modem(
        Script::Normal,
        "867698040000142",
        "89882390000000000141",
        "901280000000141",
    );
    let t2 = m2.tty();
    let before = s.snapshot(&[&u]);
    let e = s.fail(&[
        "modem-swap",
        "OSD-000041",
        "--imei",
        "867698040000999",
        "--modem",
        t2.to_str().unwrap(),
    ]);
    assert!(
        e.contains("has IMEI 867698040000142, expected 867698040000999"),
        "{e}"
    );
    assert_eq!(before, s.snapshot(&[&u]));
    s.ok(&[
        "modem-swap",
        "OSD-000041",
        "--imei",
        "867698040000142",
        "--modem",
        t2.to_str().unwrap(),
    ]);
    assert!(device_line(&s, "OSD-000041").contains("imei=867698040000142"));
    assert_eq!(m2.apn(), Some(("IPV4V6".into(), "iot.osect.test".into())));
}

#[test]
fn renew_keeps_the_key_and_records_the_new_certificate() {
    let s = Station::new();
    let m = script_modem(&s, Script::Normal, 51);
    let u = s.unit("u");
    factory(&s, "OSD-000051", &u, &m.tty());
    let key = std::fs::read(u.join("identity/device.key")).unwrap();
    let old = cert_serial(&u);
    let out = s.ok(&["renew", "OSD-000051", "--device-dir", u.to_str().unwrap()]);
    assert!(out.contains("nothing to do"), "{out}");
    assert_eq!(cert_serial(&u), old);
    s.ok(&[
        "renew",
        "OSD-000051",
        "--device-dir",
        u.to_str().unwrap(),
        "--force",
    ]);
    assert_ne!(cert_serial(&u), old);
    assert_eq!(std::fs::read(u.join("identity/device.key")).unwrap(), key);
    let pem = std::fs::read_to_string(u.join("identity/device.crt")).unwrap();
    let fp = osect_provision::pki::cert_info(&pem).unwrap().fingerprint;
    assert!(device_line(&s, "OSD-000051").contains(&fp[..16]));
}

#[test]
fn decommission_is_all_or_nothing_when_the_collector_is_unreachable() {
    let s = Station::new();
    let m = script_modem(&s, Script::Normal, 61);
    let u = s.unit("u");
    factory(&s, "OSD-000061", &u, &m.tty());
    add_site(&s, "plant-x");
    s.ok(&[
        "assign",
        "OSD-000061",
        "--site",
        "plant-x",
        "--device-dir",
        u.to_str().unwrap(),
    ]);
    s.ok(&["ship", "OSD-000061"]);
    let before = s.snapshot(&[&u]);
    let e = s.fail(&["decommission", "--site", "plant-x"]);
    assert!(
        e.contains("'delete site data'") && e.contains("cannot run /nonexistent/osect-collector"),
        "{e}"
    );
    assert_eq!(before, s.snapshot(&[&u]), "no revocation, no CRL change");
    let e = s.fail(&["decommission", "--site", "nowhere"]);
    assert!(e.contains("unknown site nowhere"), "{e}");
}

#[test]
fn a_corrupted_registry_is_refused_and_left_alone() {
    let s = Station::new();
    let m = script_modem(&s, Script::Normal, 71);
    let u = s.unit("u");
    factory(&s, "OSD-000071", &u, &m.tty());
    let reg = s.path("registry.sqlite");
    let mut bytes = std::fs::read(&reg).unwrap();
    // Garble the header and the first pages.
    for b in bytes.iter_mut().take(4096) {
        *b ^= 0x5a;
    }
    std::fs::write(&reg, &bytes).unwrap();
    let unit_before = support::tree(&u);
    for args in [
        vec!["registry", "devices"],
        vec![
            "assign",
            "OSD-000071",
            "--site",
            "s",
            "--device-dir",
            u.to_str().unwrap(),
        ],
        vec![
            "factory",
            "--serial",
            "OSD-000072",
            "--device-dir",
            u.to_str().unwrap(),
            "--modem",
            "auto",
            "--no-selftest",
        ],
    ] {
        let e = s.fail(&args);
        assert!(e.contains("is damaged or not a registry"), "{args:?}: {e}");
    }
    assert_eq!(std::fs::read(&reg).unwrap(), bytes);
    assert_eq!(unit_before, support::tree(&u));
    let e = s.fail(&[
        "--registry",
        s.path("missing.sqlite").to_str().unwrap(),
        "registry",
        "devices",
    ]);
    assert!(e.contains("does not exist"), "{e}");
    assert!(!s.path("missing.sqlite").exists());
}

#[test]
fn the_device_key_belongs_to_the_agent_user() {
    use std::os::unix::fs::MetadataExt;
    let s = Station::with(Options {
        agent_user: "nobody",
        ..Options::default()
    });
    let m = script_modem(&s, Script::Normal, 95);
    let unit = s.unit("u");
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .expect("user nobody");
    if nix::unistd::geteuid().is_root() {
        factory(&s, "OSD-000095", &unit, &m.tty());
        let key = std::fs::metadata(unit.join("identity/device.key")).unwrap();
        assert_eq!(key.uid(), nobody.uid.as_raw());
        assert_eq!(key.mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::metadata(unit.join("spool")).unwrap().uid(),
            nobody.uid.as_raw()
        );
    } else {
        // Without root the key cannot be given away: the flow stops and undoes itself.
        let before = s.snapshot(&[&unit]);
        let e = factory_fails(&s, "OSD-000095", &unit, m.tty().to_str().unwrap());
        assert!(e.contains("cannot give") && e.contains("to nobody"), "{e}");
        assert_eq!(before, s.snapshot(&[&unit]));
    }
}

#[test]
fn flows_started_together_wait_for_each_other() {
    let s = Station::new();
    let (m1, m2) = (
        script_modem(&s, Script::Normal, 96),
        script_modem(&s, Script::Normal, 97),
    );
    let (u1, u2) = (s.unit("u1"), s.unit("u2"));
    let spawn = |serial: &str, unit: &Path, tty: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_osect-provision"))
            .args([
                "--config",
                s.config.to_str().unwrap(),
                "--operator",
                "tester",
                "factory",
            ])
            .args(["--serial", serial, "--device-dir", unit.to_str().unwrap()])
            .args(["--modem", tty.to_str().unwrap(), "--no-selftest"])
            .output()
    };
    let (a, b) = std::thread::scope(|sc| {
        let a = sc.spawn(|| spawn("OSD-000096", &u1, &m1.tty()).unwrap());
        let b = sc.spawn(|| spawn("OSD-000097", &u2, &m2.tty()).unwrap());
        (a.join().unwrap(), b.join().unwrap())
    });
    for o in [&a, &b] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert!(device_line(&s, "OSD-000096").contains("provisioned"));
    assert!(device_line(&s, "OSD-000097").contains("provisioned"));
}

#[test]
fn a_unit_tied_to_a_contract_is_assigned_to_its_site_only() {
    let s = Station::new();
    let m = script_modem(&s, Script::Normal, 31);
    let unit = s.unit("u31");
    factory(&s, "OSD-000031", &unit, &m.tty());
    s.site("north", "core.invalid:4433");
    s.site("south", "core.invalid:4433");
    s.customer("acme", &["north"]);
    s.customer("zenith", &["south"]);
    s.ok(&[
        "contract",
        "add",
        "--customer",
        "acme",
        "--site",
        "north",
        "--applied",
        "2025-01-06",
        "--opening",
        "2025-02-03",
        "--device",
        "OSD-000031",
    ]);
    let before = s.snapshot(&[&unit]);
    let e = s.fail(&[
        "assign",
        "OSD-000031",
        "--site",
        "south",
        "--device-dir",
        unit.to_str().unwrap(),
    ]);
    assert!(
        e.contains("OSD-000031 serves contract 1 of acme at site north, not south"),
        "{e}"
    );
    assert_eq!(before, s.snapshot(&[&unit]));
    s.ok(&[
        "assign",
        "OSD-000031",
        "--site",
        "north",
        "--device-dir",
        unit.to_str().unwrap(),
    ]);
}
