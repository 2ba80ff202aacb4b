#!/bin/sh
# vmtests stage 2, run by the host's /bin/sh as PID 1 in the guest: mount the
# kernel filesystems BPF tests use and the checkout, run pytest, report over
# the virtio-serial port "pybpf.out", power off.
. /run/vmtests/job.env

port=
for d in /sys/class/virtio-ports/*; do
    [ "$(cat "$d/name" 2>/dev/null)" = pybpf.out ] && port="/dev/${d##*/}"
done
[ -n "$port" ] && exec >"$port" 2>&1

mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose checkout "$CHECKOUT"
ip link set lo up 2>/dev/null
# 5.10 charges BPF memory to RLIMIT_MEMLOCK; later kernels use memcg.
ulimit -l unlimited

read -r up _ </proc/uptime
echo "@@vmtests booted release=$(uname -r) uptime=$up"
cd "$CHECKOUT" && "$PYTHON" -m pytest "$@"
rc=$?
read -r up _ </proc/uptime
echo "@@vmtests exit=$rc uptime=$up"
sync
echo o >/proc/sysrq-trigger
sleep 5
