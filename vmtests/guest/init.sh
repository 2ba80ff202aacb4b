#!/bin/sh
# vmtests initramfs /init (busybox). Everything that needs a program runs
# here, where busybox is static and in memory: an exec from the 9p root costs
# ~60x the host's under TCG. Steps: load the modules the kernel lacks, mount
# the host's / read-only over 9p under a tmpfs overlay, the per-run share at
# /run/vmtests (its job.env names the checkout), the checkout read-write, the
# kernel filesystems BPF tests use; find the virtio-serial port; hand over to
# the share's run.sh inside the new root.
/bin/busybox --install -s /bin
export PATH=/bin

stamp() {
    read -r up _ </proc/uptime
    echo "vmtests-init: $up $*"
}

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

stamp modules loaded
opts=trans=virtio,version=9p2000.L,msize=512000
new=/newroot
mkdir -p /lower /rw $new
mount -t 9p -o "$opts,cache=loose,ro" hostroot /lower || fail "mount 9p hostroot"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay $new \
    || fail "mount overlay"
mkdir -p $new/run/vmtests
mount -t 9p -o "$opts" vmtests $new/run/vmtests || fail "mount 9p vmtests"
. $new/run/vmtests/job.env
export PATH=/bin
# /tmp first: a checkout under /tmp (CI clones anywhere) must stay visible.
mount -t tmpfs -o mode=1777 tmpfs $new/tmp
mkdir -p "$new$CHECKOUT"
mount -t 9p -o "$opts,cache=mmap" checkout "$new$CHECKOUT" || fail "mount 9p checkout"

stamp root and checkout mounted
for fs in proc sys dev; do
    mount --move "/$fs" "$new/$fs"
done
mkdir -p $new/dev/pts $new/dev/shm
mount -t devpts devpts $new/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $new/dev/shm
mount -t bpf bpf $new/sys/fs/bpf || fail "mount bpffs"
mount -t tracefs tracefs $new/sys/kernel/tracing
mount -t debugfs debugfs $new/sys/kernel/debug
mount -t cgroup2 cgroup2 $new/sys/fs/cgroup
ip link set lo up

for d in $new/sys/class/virtio-ports/*; do
    read -r name <"$d/name" && [ "$name" = pybpf.out ] && export VMTESTS_PORT="/dev/${d##*/}"
done
[ -n "${VMTESTS_PORT:-}" ] || fail "no virtio-serial port pybpf.out"
stamp switching root
exec switch_root $new /bin/sh /run/vmtests/run.sh
