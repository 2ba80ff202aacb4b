#!/bin/sh
# vmtests stage 2, the host's /bin/sh as PID 1 in the guest: run pytest on the
# checkout, report over the virtio-serial port, power off. init.sh mounted
# everything and exported VMTESTS_PORT; builtins only, every exec is slow.
. /run/vmtests/job.env
exec >"$VMTESTS_PORT" 2>&1
# 5.10 charges BPF memory to RLIMIT_MEMLOCK; later kernels use memcg.
ulimit -l unlimited

read -r up _ </proc/uptime
read -r release </proc/sys/kernel/osrelease
echo "@@vmtests booted release=$release uptime=$up"
cd "$CHECKOUT" && "$PYTHON" -m pytest "$@"
rc=$?
read -r up _ </proc/uptime
echo "@@vmtests exit=$rc uptime=$up"
sync
echo o >/proc/sysrq-trigger
sleep 10
