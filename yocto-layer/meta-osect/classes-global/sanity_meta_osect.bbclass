# Warns when meta-osect is in BBLAYERS but the distro does not enable it:
# every bbappend of the layer stays inert until DISTRO_FEATURES has "osect".

addhandler osect_sanity_handler
osect_sanity_handler[eventmask] = "bb.event.SanityCheck"
osect_sanity_handler[doc] = "Warns when the layer is present but DISTRO_FEATURES lacks osect"
python osect_sanity_handler() {
    skip = d.getVar('SKIP_META_OSECT_SANITY_CHECK') == "1"
    if not skip and not bb.utils.contains('DISTRO_FEATURES', 'osect', True, False, d):
        bb.warn("meta-osect is included but 'osect' is not in DISTRO_FEATURES: "
                "its bbappends stay inert. Use DISTRO = \"osect\" or set "
                "SKIP_META_OSECT_SANITY_CHECK = \"1\" to silence this warning.")
}
