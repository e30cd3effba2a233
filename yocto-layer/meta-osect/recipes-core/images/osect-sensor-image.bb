SUMMARY = "osect sensor appliance image"
DESCRIPTION = "Read-only, A/B-updatable image of the passive OT network \
sensor: the agent, the provisioning tool, the LTE uplink (ModemManager with \
libqmi and libmbim), a default-drop firewall, chrony, and nothing to log in \
with."
LICENSE = "MIT"

inherit core-image

IMAGE_FEATURES = "read-only-rootfs"
IMAGE_LINGUAS = ""

IMAGE_INSTALL = " \
    packagegroup-core-boot \
    osect-agent \
    osect-agent-systemd \
    osect-provision \
    osect-base \
    osect-firewall \
    osect-uplink \
    modemmanager \
    libqmi \
    libmbim \
    nftables \
    chrony \
    iproute2 \
    kernel-module-option \
    kernel-module-qmi-wwan \
    kernel-module-cdc-mbim \
    kernel-module-cdc-ether \
    kernel-module-cdc-acm \
    kernel-module-af-packet \
"

# No login prompt on any console: the appliance is never logged into.
SYSTEMD_DEFAULT_TARGET = "multi-user.target"
ROOTFS_POSTPROCESS_COMMAND += "osect_rootfs_lockdown; "

# The root account is locked, getty is masked, name resolution follows the
# uplink's bearer (written to /run/osect/resolv.conf), and machine-id is
# generated at every boot on the read-only root.
osect_rootfs_lockdown() {
    sed -i -e 's#^root:[^:]*:#root:*:#' ${IMAGE_ROOTFS}${sysconfdir}/shadow
    for unit in getty@.service serial-getty@.service console-getty.service \
                systemd-networkd-wait-online.service; do
        ln -sf /dev/null ${IMAGE_ROOTFS}${sysconfdir}/systemd/system/$unit
    done
    ln -sf /run/osect/resolv.conf ${IMAGE_ROOTFS}${sysconfdir}/resolv.conf
    : > ${IMAGE_ROOTFS}${sysconfdir}/machine-id
}

# A disk of 2 GiB at most once flashed; the wks file sizes the partitions.
IMAGE_ROOTFS_EXTRA_SPACE = "0"
IMAGE_OVERHEAD_FACTOR = "1.1"
