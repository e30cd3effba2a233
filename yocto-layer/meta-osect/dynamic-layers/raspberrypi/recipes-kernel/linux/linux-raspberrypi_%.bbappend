# The same fragments as linux-yocto; the Raspberry Pi kernel merges them too.
FILESEXTRAPATHS:prepend:osect := "${THISDIR}/../../../../recipes-kernel/linux/files:"
require ${@bb.utils.contains('DISTRO_FEATURES', 'osect', 'recipes-kernel/linux/linux-osect.inc', '', d)}
