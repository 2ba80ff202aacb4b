#!/bin/sh
# vmtests initramfs /init (busybox): load the modules the kernel lacks, mount
# the host's / read-only over 9p under a tmpfs overlay, mount the per-run
# share at /run/vmtests and hand over to its run.sh inside the new root.
/bin/busybox --install -s /bin
export PATH=/bin

fail() {
    echo "vmtests-init: $*"
    echo "@@vmtests init-failed $*"
    poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

for m in $(cat /etc/vmtests-modules); do
    insmod "/lib/modules/$m.ko" || fail "insmod $m"
done

opts=trans=virtio,version=9p2000.L,msize=512000
mkdir -p /lower /rw /newroot
mount -t 9p -o "$opts,cache=loose,ro" hostroot /lower || fail "mount 9p hostroot"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot \
    || fail "mount overlay"
mkdir -p /newroot/run/vmtests
mount -t 9p -o "$opts" vmtests /newroot/run/vmtests || fail "mount 9p vmtests"
for fs in proc sys dev; do
    mount --move "/$fs" "/newroot/$fs"
done
exec switch_root /newroot /bin/sh /run/vmtests/run.sh
