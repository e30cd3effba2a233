SUMMARY = "osect sensor firewall: default-drop inbound nftables ruleset"
DESCRIPTION = "The sensor listens on nothing: inbound packets are dropped \
unless they answer a connection the sensor opened; nothing is forwarded."
require recipes-osect/include/osect-common.inc
require recipes-osect/include/osect-overlay.inc

OSECT_OVERLAY_FILES = " \
    usr/lib/osect/nftables.conf \
    usr/lib/systemd/system/osect-firewall.service \
"

inherit allarch systemd

S = "${OSECT_UNPACKDIR}"

do_install() {
    osect_install_overlay
}

SYSTEMD_SERVICE:${PN} = "osect-firewall.service"
FILES:${PN} += "${nonarch_libdir}"
RDEPENDS:${PN} = "nftables"
