SUMMARY = "osect sensor base system: /data partition, first boot, hardening"
DESCRIPTION = "The persistent /data mount, the first-boot preparation of \
/data, the agent's system user, kernel hardening sysctls, a volatile \
journal, the chronyd client configuration and the presets of what the \
sensor runs at boot."
require recipes-osect/include/osect-common.inc
require recipes-osect/include/osect-overlay.inc

OSECT_OVERLAY_FILES = " \
    usr/lib/osect/chrony.conf \
    usr/lib/sysctl.d/90-osect-hardening.conf \
    usr/lib/systemd/journald.conf.d/90-osect.conf \
    usr/lib/systemd/system-preset/80-osect.preset \
    usr/lib/systemd/system/chronyd.service.d/10-osect.conf \
    usr/lib/systemd/system/data.mount \
    usr/lib/systemd/system/osect-firstboot.service \
    usr/lib/sysusers.d/osect.conf \
    usr/lib/tmpfiles.d/osect.conf \
    usr/libexec/osect/firstboot \
"

inherit allarch systemd useradd

# The agent's user exists at build time: the root filesystem is read-only at
# run time. usr/lib/sysusers.d/osect.conf describes the same user.
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system osect"
USERADD_PARAM:${PN} = "--system --gid osect --home-dir /nonexistent --no-create-home --shell ${sbindir}/nologin osect"

S = "${OSECT_UNPACKDIR}"

do_install() {
    osect_install_overlay
    # The mount point of the data partition on the read-only root.
    install -d ${D}/data
}

SYSTEMD_SERVICE:${PN} = "data.mount osect-firstboot.service"
FILES:${PN} += "${nonarch_libdir} /data"
RDEPENDS:${PN} = "chrony e2fsprogs-e2fsck"
