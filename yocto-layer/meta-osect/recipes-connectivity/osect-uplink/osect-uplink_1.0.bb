SUMMARY = "osect sensor LTE uplink: bearer, wwan interface, watchdog"
DESCRIPTION = "Brings up a ModemManager bearer with the provisioned APN, \
configures the wwan interface and default route with systemd-networkd \
(raw IP where the modem needs it), keeps mirror ports without addresses, \
and a watchdog that reconnects and resets a hung USB modem."
require recipes-osect/include/osect-common.inc
require recipes-osect/include/osect-overlay.inc

OSECT_OVERLAY_FILES = " \
    usr/lib/systemd/network/20-osect-wwan-dhcp.network \
    usr/lib/systemd/network/30-osect-mirror.network \
    usr/lib/systemd/system/osect-uplink-watchdog.service \
    usr/lib/systemd/system/osect-uplink-watchdog.timer \
    usr/lib/systemd/system/osect-uplink.service \
    usr/libexec/osect/uplink \
"

inherit allarch systemd

S = "${OSECT_UNPACKDIR}"

do_install() {
    osect_install_overlay
}

SYSTEMD_SERVICE:${PN} = "osect-uplink.service osect-uplink-watchdog.timer"
FILES:${PN} += "${nonarch_libdir}"
RDEPENDS:${PN} = "coreutils iproute2 iputils-ping libmbim libqmi modemmanager systemd"
