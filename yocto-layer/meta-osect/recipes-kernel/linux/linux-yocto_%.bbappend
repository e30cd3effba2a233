require ${@bb.utils.contains('DISTRO_FEATURES', 'osect', 'linux-osect.inc', '', d)}
