//! The ModemManager scripts (`scripts/osect-modem-setup`,
//! `scripts/osect-modem-watchdog`) run with the `modem.env` that `factory`
//! writes. ModemManager needs D-Bus and udev, so a small stand-in `mmcli`
//! answers in `mmcli -K` format from a state directory and records its calls,
//! and a stand-in `ip` records the interface set-up.

mod support;

use osect_provision::modem_sim::Script;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{script_modem, Options, Station};

const FAKE_MMCLI: &str = r#"#!/bin/sh
S=$FAKE_STATE
echo "$*" >> "$S/calls"
M=/org/freedesktop/ModemManager1/Modem/0
case "$*" in
"-L -K")
    [ -e "$S/present" ] || { echo "modem-list.length : 0"; exit 0; }
    echo "modem-list.length : 1"
    echo "modem-list.value[1] : $M" ;;
"-m $M -K")
    echo "modem.generic.manufacturer : Quectel"
    echo "modem.generic.model : EG25"
    echo "modem.generic.revision : EG25GGBR07A08M2G"
    echo "modem.generic.equipment-identifier : 867698040000091"
    if [ -e "$S/nosim" ]; then echo "modem.generic.sim : --"; else echo "modem.generic.sim : /org/freedesktop/ModemManager1/SIM/0"; fi
    if [ -e "$S/locked" ]; then echo "modem.generic.unlock-required : sim-pin"; else echo "modem.generic.unlock-required : --"; fi
    echo "modem.generic.signal-quality.value : 61"
    echo "modem.3gpp.registration-state : $(cat "$S/reg" 2>/dev/null || echo home)"
    echo "modem.3gpp.operator-name : OSECT Mobile"
    if [ -e "$S/connected" ]; then
        echo "modem.generic.bearers.length : 1"
        echo "modem.generic.bearers.value[1] : /org/freedesktop/ModemManager1/Bearer/0"
    else
        echo "modem.generic.bearers.length : 0"
    fi ;;
"-i /org/freedesktop/ModemManager1/SIM/0 --pin="*)
    [ "${*##*--pin=}" = 1234 ] || { echo "error: couldn't send PIN" >&2; exit 1; }
    rm -f "$S/locked" ;;
"-i /org/freedesktop/ModemManager1/SIM/0 -K")
    echo "sim.properties.iccid : 89882390000000000091"
    echo "sim.properties.imsi : 901280000000091" ;;
"-m $M --3gpp-set-initial-eps-bearer-settings="*) ;;
"-m $M -e") ;;
"-m $M --simple-connect="*)
    [ -e "$S/refuse" ] && { echo "error: couldn't connect" >&2; exit 1; }
    touch "$S/connected" ;;
"-b /org/freedesktop/ModemManager1/Bearer/0 -K")
    if [ -e "$S/connected" ]; then echo "bearer.status.connected : yes"; else echo "bearer.status.connected : no"; fi
    echo "bearer.status.interface : wwan0"
    echo "bearer.ipv4-config.method : static"
    echo "bearer.ipv4-config.address : 10.64.1.2"
    echo "bearer.ipv4-config.prefix : 30"
    echo "bearer.ipv4-config.gateway : 10.64.1.1"
    echo "bearer.ipv4-config.mtu : 1430" ;;
"-m $M -r") rm -f "$S/connected" ;;
*) echo "error: unexpected arguments: $*" >&2; exit 2 ;;
esac
"#;

struct Rig {
    _dir: tempfile::TempDir,
    state: PathBuf,
    bin: PathBuf,
    env_file: PathBuf,
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

impl Rig {
    /// A unit provisioned by the real `factory`, whose modem.env the scripts read.
    fn new(pin: &'static str) -> Rig {
        let s = Station::with(Options {
            pin,
            ..Options::default()
        });
        let m = script_modem(
            &s,
            if pin.is_empty() {
                Script::Normal
            } else {
                Script::PinLocked
            },
            91,
        );
        let unit = s.unit("unit");
        s.ok(&[
            "factory",
            "--serial",
            "OSD-000091",
            "--device-dir",
            unit.to_str().unwrap(),
            "--modem",
            m.tty().to_str().unwrap(),
            "--no-selftest",
        ]);
        let dir = tempfile::tempdir().unwrap();
        let env_file = dir.path().join("modem.env");
        std::fs::copy(unit.join("config/modem.env"), &env_file).unwrap();
        let state = dir.path().join("state");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&state).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        write_exec(&bin.join("mmcli"), FAKE_MMCLI);
        write_exec(
            &bin.join("ip"),
            "#!/bin/sh\necho \"$*\" >> \"$FAKE_STATE/ip\"\n",
        );
        std::fs::write(state.join("present"), "").unwrap();
        if !pin.is_empty() {
            std::fs::write(state.join("locked"), "").unwrap();
        }
        Rig {
            _dir: dir,
            state,
            bin,
            env_file,
        }
    }

    fn run(&self, name: &str, wait: &str) -> Output {
        Command::new("/bin/sh")
            .arg(script(name))
            .env("PATH", format!("{}:/usr/bin:/bin", self.bin.display()))
            .env("FAKE_STATE", &self.state)
            .env("OSECT_MODEM_ENV", &self.env_file)
            .env("OSECT_MODEM_WAIT", wait)
            .env("OSECT_WATCHDOG_STATE", self.state.join("watchdog"))
            .env("OSECT_MODEM_SETUP", script("osect-modem-setup"))
            .output()
            .unwrap()
    }

    fn read(&self, f: &str) -> String {
        std::fs::read_to_string(self.state.join(f)).unwrap_or_default()
    }

    fn touch(&self, f: &str) {
        std::fs::write(self.state.join(f), "").unwrap();
    }
}

fn write_exec(p: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn setup_unlocks_connects_and_configures_the_interface() {
    let r = Rig::new("1234");
    let env = std::fs::read_to_string(&r.env_file).unwrap();
    assert!(
        env.contains("OSECT_APN=iot.osect.test\n") && env.contains("OSECT_SIM_PIN=1234\n"),
        "{env}"
    );
    let o = r.run("osect-modem-setup", "3");
    assert!(o.status.success(), "{}", out(&o));
    let calls = r.read("calls");
    assert!(calls.contains("--pin=1234"), "{calls}");
    assert!(
        calls.contains("--simple-connect=apn=iot.osect.test,ip-type=ipv4v6,user=sensor,password=pw,allowed-auth=chap"),
        "{calls}"
    );
    let ip = r.read("ip");
    assert!(ip.contains("addr add 10.64.1.2/30 dev wwan0"), "{ip}");
    assert!(
        ip.contains("route replace default via 10.64.1.1 dev wwan0"),
        "{ip}"
    );
    assert!(ip.contains("link set wwan0 mtu 1430"), "{ip}");
    assert!(out(&o).contains("IMEI 867698040000091"), "{}", out(&o));
}

#[test]
fn setup_failures_have_distinct_exit_codes() {
    let r = Rig::new("");
    std::fs::write(r.state.join("reg"), "searching").unwrap();
    let o = r.run("osect-modem-setup", "1");
    assert_eq!(o.status.code(), Some(4), "{}", out(&o));
    assert!(out(&o).contains("not registered on a network after 1 s (state: searching)"));
    std::fs::remove_file(r.state.join("reg")).unwrap();

    r.touch("nosim");
    let o = r.run("osect-modem-setup", "1");
    assert_eq!(o.status.code(), Some(3), "{}", out(&o));
    assert!(out(&o).contains("no SIM card"));
    std::fs::remove_file(r.state.join("nosim")).unwrap();

    r.touch("refuse");
    let o = r.run("osect-modem-setup", "1");
    assert_eq!(o.status.code(), Some(5), "{}", out(&o));
    std::fs::remove_file(r.state.join("refuse")).unwrap();

    std::fs::remove_file(r.state.join("present")).unwrap();
    let o = r.run("osect-modem-setup", "1");
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("no modem appeared within 1 s"));
    assert_eq!(r.read("ip"), "", "nothing configured on failure");

    // A PIN-locked SIM without a PIN in modem.env.
    r.touch("present");
    r.touch("locked");
    let o = r.run("osect-modem-setup", "1");
    assert_eq!(o.status.code(), Some(3), "{}", out(&o));
    assert!(out(&o).contains("OSECT_SIM_PIN is not set"));
}

#[test]
fn watchdog_reconnects_then_resets_the_modem() {
    let r = Rig::new("");
    // Link up: nothing to do.
    r.touch("connected");
    let o = r.run("osect-modem-watchdog", "1");
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(r.read("watchdog").trim(), "0");
    // Link down, reconnect works.
    std::fs::remove_file(r.state.join("connected")).unwrap();
    let o = r.run("osect-modem-watchdog", "1");
    assert!(o.status.success(), "{}", out(&o));
    assert!(r.read("calls").contains("--simple-connect="));
    // Link down and the network refuses: counted, then a modem reset.
    std::fs::remove_file(r.state.join("connected")).unwrap();
    r.touch("refuse");
    for n in 1..=2 {
        let o = r.run("osect-modem-watchdog", "1");
        assert_eq!(o.status.code(), Some(1), "{}", out(&o));
        assert_eq!(r.read("watchdog").trim(), n.to_string());
    }
    assert!(!r.read("calls").contains(" -r"));
    let o = r.run("osect-modem-watchdog", "1");
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("resetting modem"), "{}", out(&o));
    assert!(r.read("calls").lines().any(|l| l.ends_with(" -r")));
    assert_eq!(r.read("watchdog").trim(), "0");
}
