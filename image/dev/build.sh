#!/usr/bin/env bash
# Builds the Debian-based dev image of the sensor: the same overlay files as
# the Yocto image (from yocto-layer/meta-osect), the agent and provisioning
# binaries built by cargo, on a minimal Debian bookworm with systemd, in a GPT
# disk with the Yocto image's partition layout (ESP, root-a, root-b, data).
#
#   image/dev/build.sh --out DIR --bin DIR [--data DIR] [--test-overlay DIR]
#
#   --out DIR           where disk.img (and disk.img.zst, disk.img.bmap) go
#   --bin DIR           holds osect-agent and osect-provision
#   --data DIR          content of the data partition (a provisioned device);
#                       empty when not given, as from the factory
#   --test-overlay DIR  extra files for the test image only (copied over /)
#   --no-compress       skip the .zst and .bmap (the boot test boots disk.img)
#
# The base system (Debian packages) is cached by the hash of its package list
# in $OSECT_IMAGE_CACHE (default /var/cache/osect-image), with the .deb files,
# so a rebuild takes seconds; a fresh machine downloads everything once.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAYER=$REPO/yocto-layer/meta-osect
CACHE=${OSECT_IMAGE_CACHE:-/var/cache/osect-image}
MIRROR=${OSECT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${OSECT_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}

OUT="" BIN="" DATA="" TEST_OVERLAY="" COMPRESS=1
while (($#)); do
    case $1 in
        --out) OUT=$2; shift 2 ;;
        --bin) BIN=$2; shift 2 ;;
        --data) DATA=$2; shift 2 ;;
        --test-overlay) TEST_OVERLAY=$2; shift 2 ;;
        --no-compress) COMPRESS=0; shift ;;
        *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -n "$OUT" ] && [ -n "$BIN" ] || { echo "usage: build.sh --out DIR --bin DIR [--data DIR] [--test-overlay DIR]" >&2; exit 2; }
for b in osect-agent osect-provision; do
    [ -x "$BIN/$b" ] || { echo "build.sh: $BIN/$b is missing or not executable" >&2; exit 1; }
done
for t in mmdebstrap genimage mkfs.vfat mcopy mke2fs; do
    command -v "$t" >/dev/null || { echo "build.sh: $t is not installed (ci/deps/apt-image.txt)" >&2; exit 1; }
done
EFI_LOADER=/usr/lib/systemd/boot/efi/systemd-bootx64.efi
[ -f "$EFI_LOADER" ] || { echo "build.sh: $EFI_LOADER missing (systemd-boot-efi)" >&2; exit 1; }

# The recipes whose files/ trees make the overlay, as in osect-sensor-image.
OVERLAY_RECIPES=(
    recipes-osect/osect-base
    recipes-osect/osect-agent
    recipes-connectivity/osect-firewall
    recipes-connectivity/osect-uplink
)

# Debian packages standing in for the Yocto image's IMAGE_INSTALL.
PACKAGES=(
    systemd systemd-sysv udev dbus kmod linux-image-amd64 initramfs-tools zstd
    iproute2 nftables chrony modemmanager libqmi-utils libmbim-utils
    iputils-ping e2fsprogs procps
)

# Modules the initramfs needs to find root on a virtio or SATA/NVMe disk.
INITRAMFS_MODULES="virtio_pci virtio_blk virtio_scsi sd_mod ahci nvme ext4"

mkdir -p "$OUT" "$CACHE/debs"
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/osect-image.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
t0=$SECONDS

# --- base system, cached by its definition
key=$( { printf '%s\n' "${PACKAGES[@]}" "$INITRAMFS_MODULES" "$MIRROR" "$SECURITY"; sed -n '/^# --- base system/,/^# --- end base/p' "$0"; } | sha256sum | cut -c1-16)
base=$CACHE/base-$key.tar
if [ ! -f "$base" ]; then
    echo "build.sh: building the Debian base system (cache key $key)"
    include=$(IFS=,; echo "${PACKAGES[*]}")
    mmdebstrap --variant=apt --mode=root --format=tar \
        --components=main --include="$include" \
        --aptopt='APT::Install-Recommends "false"' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-include=/usr/share/locale/locale.alias' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --skip=download/empty --skip=essential/unlink \
        --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
        --setup-hook="sync-in $CACHE/debs /var/cache/apt/archives/" \
        --essential-hook='mkdir -p "$1"/etc/initramfs-tools/conf.d "$1"/usr/share/initramfs-tools/modules.d' \
        --essential-hook="printf 'MODULES=list\nCOMPRESS=zstd\n' >\"\$1\"/etc/initramfs-tools/conf.d/osect" \
        --essential-hook="printf '%s\n' $INITRAMFS_MODULES >\"\$1\"/usr/share/initramfs-tools/modules.d/osect" \
        --customize-hook="sync-out /var/cache/apt/archives $CACHE/debs" \
        --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb' \
        bookworm "$WORK/base.tar" \
        "deb $MIRROR bookworm main" "deb $SECURITY bookworm-security main"
    mv "$WORK/base.tar" "$base"
    # Older base systems are of no use once their definition changed.
    find "$CACHE" -maxdepth 1 -name 'base-*.tar' ! -name "base-$key.tar" -delete
fi
# --- end base
t_base=$((SECONDS - t0))

ROOT=$WORK/root
ESP=$WORK/esp
mkdir -p "$ROOT" "$ESP/EFI/BOOT" "$ESP/loader/entries" "$WORK/data"
# Drivers a sensor never needs stay out of the root slot (and off the build
# disk: they are never unpacked).
DROP_MODULES=(sound drivers/gpu drivers/media drivers/infiniband drivers/net/wireless drivers/staging
              drivers/bluetooth drivers/isdn drivers/iio drivers/input/touchscreen net/bluetooth net/wireless
              net/mac80211 fs/btrfs fs/xfs fs/ocfs2 fs/gfs2 fs/nfs fs/smb fs/ceph drivers/md)
excludes=()
for d in "${DROP_MODULES[@]}"; do
    excludes+=("--exclude=./usr/lib/modules/*/kernel/$d")
done
# The unpacked root, the partition images and the disk need about 2.5 GiB.
free_kib=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
if ((free_kib < 2621440)); then
    echo "build.sh: only $((free_kib / 1024)) MiB free in $WORK; the image build needs about 2560 MiB (set TMPDIR to a roomier disk)" >&2
    exit 1
fi
tar -C "$ROOT" "${excludes[@]}" -xf "$base"

# --- the overlay, once, from the layer
for r in "${OVERLAY_RECIPES[@]}"; do
    cp -a "$LAYER/$r/files/." "$ROOT/"
done
# Stripped, as the Yocto packaging does.
install -s -m 0755 "$BIN/osect-agent" "$BIN/osect-provision" "$ROOT/usr/bin/"
if [ -d "$REPO/provisioning/scripts" ]; then
    install -d "$ROOT/usr/libexec/osect/provision"
    find "$REPO/provisioning/scripts" -maxdepth 1 -type f -exec install -m 0755 {} "$ROOT/usr/libexec/osect/provision/" \;
fi
if [ -n "$TEST_OVERLAY" ]; then
    cp -a "$TEST_OVERLAY/." "$ROOT/"
fi

# --- what the Yocto image recipe does at rootfs time
chroot "$ROOT" systemd-sysusers
# Units enabled by the layer's preset, and nothing of Debian's own that would
# fetch or listen.
mapfile -t enable < <(sed -n 's/^enable //p' "$ROOT"/usr/lib/systemd/system-preset/*-osect*.preset "$ROOT"/usr/lib/systemd/system-preset/*-test*.preset 2>/dev/null)
for u in "${enable[@]}"; do
    if [ -e "$ROOT/usr/lib/systemd/system/$u" ] || [ -e "$ROOT/lib/systemd/system/$u" ]; then
        chroot "$ROOT" systemctl enable "$u" >/dev/null 2>&1 || chroot "$ROOT" systemctl add-wants multi-user.target "$u"
    fi
done
for u in getty@.service serial-getty@.service console-getty.service systemd-networkd-wait-online.service \
         nftables.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
         fstrim.timer dpkg-db-backup.timer systemd-timesyncd.service; do
    ln -sf /dev/null "$ROOT/etc/systemd/system/$u"
done
chroot "$ROOT" systemctl set-default multi-user.target >/dev/null
ln -sf /run/osect/resolv.conf "$ROOT/etc/resolv.conf"
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id"
echo osect-sensor >"$ROOT/etc/hostname"
sed -i -e 's#^root:[^:]*:#root:*:#' "$ROOT/etc/shadow"
# Root is read-only; /var and /tmp are in memory, /data is data.mount's.
cat >"$ROOT/etc/fstab" <<'FSTAB'
PARTLABEL=root-a / ext4 ro,noatime 0 1
tmpfs /tmp tmpfs mode=1777,nosuid,nodev,size=64M 0 0
tmpfs /var tmpfs mode=0755,nosuid,nodev,size=64M 0 0
FSTAB
install -d "$ROOT/data" "$ROOT/efi"
# No package manager on the target.
chroot "$ROOT" dpkg --purge --force-remove-essential apt >/dev/null 2>&1 || true
rm -rf "$ROOT"/var/cache/* "$ROOT"/var/lib/apt "$ROOT"/var/log/* "$ROOT"/usr/share/doc

# --- boot: systemd-boot, the kernel and initrd on the ESP, slot A's entry
kver=$(basename "$(ls -d "$ROOT"/usr/lib/modules/*)")
cp "$EFI_LOADER" "$ESP/EFI/BOOT/BOOTX64.EFI"
cp "$ROOT/boot/vmlinuz-$kver" "$ESP/vmlinuz"
cp "$ROOT/boot/initrd.img-$kver" "$ESP/initrd.img"
cat >"$ESP/loader/loader.conf" <<'LOADER'
default root-a.conf
timeout 0
editor no
LOADER
cat >"$ESP/loader/entries/root-a.conf" <<ENTRY
title osect sensor (slot A)
linux /vmlinuz
initrd /initrd.img
options root=PARTLABEL=root-a ro rootwait console=ttyS0,115200 panic=10 systemd.gpt_auto=0 systemd.show_status=1 ${OSECT_EXTRA_CMDLINE:-}
ENTRY
chroot "$ROOT" depmod -a "$kver"
rm -f "$ROOT"/boot/initrd.img-* "$ROOT"/boot/vmlinuz-* "$ROOT"/vmlinuz* "$ROOT"/initrd.img*

if [ -n "$DATA" ]; then
    cp -a "$DATA/." "$WORK/data/"
fi

# --- the disk, with the layout of wic/osect-sensor-efi.wks.in
cat >"$WORK/genimage.cfg" <<CFG
image esp.vfat {
    vfat { label = "ESP" }
    srcpath = "$ESP"
    size = 128M
    temporary = true
}
image root-a.ext4 {
    ext4 { label = "root-a" use-mke2fs = true features = "^metadata_csum_seed" }
    srcpath = "$ROOT"
    size = 768M
    temporary = true
}
image data.ext4 {
    ext4 { label = "data" use-mke2fs = true }
    srcpath = "$WORK/data"
    size = 512M
    temporary = true
}
image disk.img {
    hdimage { partition-table-type = "gpt" align = 1M }
    partition esp { image = "esp.vfat" partition-type-uuid = "U" bootable = true }
    partition root-a { image = "root-a.ext4" partition-type-uuid = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709" }
    partition root-b { size = 768M partition-type-uuid = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709" }
    partition data { image = "data.ext4" partition-type-uuid = "L" }
}
CFG
rm -f "$OUT/disk.img" "$OUT/disk.img.zst" "$OUT/disk.img.bmap"
genimage --config "$WORK/genimage.cfg" --rootpath "$ROOT" --tmppath "$WORK/tmp" \
    --inputpath "$WORK" --outputpath "$OUT" >"$WORK/genimage.log" 2>&1 || { cat "$WORK/genimage.log" >&2; exit 1; }
if ((COMPRESS)); then
    bmaptool create -o "$OUT/disk.img.bmap" "$OUT/disk.img"
    zstd -q -T0 -10 "$OUT/disk.img" -o "$OUT/disk.img.zst"
fi
echo "build.sh: $OUT/disk.img ($(du -h --apparent-size "$OUT/disk.img" | cut -f1) apparent, $(du -h "$OUT/disk.img" | cut -f1) allocated), kernel $kver"
echo "build.sh: base system $t_base s (cached: $([ "$t_base" -lt 30 ] && echo yes || echo no)), total $((SECONDS - t0)) s"
