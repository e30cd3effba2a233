SUMMARY = "osect sensor LTE uplink: bearer, wwan interface, watchdog"
DESCRIPTION = "Units that run the provisioning tool's ModemManager scripts \
at boot (bearer with the provisioned APN, wwan address and default route) \
and every minute (reconnect, modem reset), a USB power cycle for a modem \
that hangs, DNS from the bearer, and networkd configuration that keeps \
mirror ports without addresses."
require recipes-osect/include/osect-common.inc
require recipes-osect/include/osect-overlay.inc

OSECT_OVERLAY_FILES = " \
    usr/lib/systemd/network/20-osect-wwan-dhcp.network \
    usr/lib/systemd/network/30-osect-mirror.network \
    usr/lib/systemd/system/osect-uplink-watchdog.service \
    usr/lib/systemd/system/osect-uplink-watchdog.timer \
    usr/lib/systemd/system/osect-uplink.service \
    usr/libexec/osect/modem-dns \
    usr/libexec/osect/modem-usb-reset \
"

inherit allarch systemd

S = "${OSECT_UNPACKDIR}"

do_install() {
    osect_install_overlay
}

SYSTEMD_SERVICE:${PN} = "osect-uplink.service osect-uplink-watchdog.timer"
FILES:${PN} += "${nonarch_libdir}"
RDEPENDS:${PN} = "coreutils iproute2 libmbim libqmi modemmanager osect-provision systemd"
