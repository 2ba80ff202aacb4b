#!/bin/bash
# vmtests for CI: boot other kernels under qemu (TCG) and run the vm-marked
# subset of the suite in each. .ci/run calls this after the host suite.
#
#   .ci/vmtests.sh            # CI: kernel 6.1 (~1-2 min warm, ~2-3 min cold)
#   .ci/vmtests.sh 5.10 6.1 6.12 7.x   # the full matrix (see vmtests/README.md)
#   .ci/vmtests.sh --arch arm64 [6.1 6.12]   # arm64 guests (default 6.1)
#
# Installs qemu and a static busybox on a fresh machine; kernels (and the
# arm64 guests' userland) are cached under ~/.cache/pybpf-vmtests (or
# $PYBPF_VMTESTS_CACHE) between runs.
set -euo pipefail
cd "$(dirname "$0")/.."

arch=amd64
if [[ "${1:-}" == "--arch" ]]; then
    arch=$2
    shift 2
fi

packages=(qemu-system-x86 busybox-static zstd xz-utils)
[[ "$arch" == arm64 ]] && packages+=(qemu-system-arm)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$pkg")
done
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

kernels=("$@")
if [[ "$arch" == arm64 ]]; then
    # One VM may take at most 6 minutes in all (fetch excluded): CI's budget.
    ((${#kernels[@]})) || kernels=(6.1)
    exec python3 -m vmtests run --arch arm64 --timeout 360 "${kernels[@]}"
fi

# The harness's own pure parts (cpio, bzImage, modinfo, junit, host mirror).
python3 -m pytest -q -p no:cacheprovider vmtests/tests

# One VM may take at most 6 minutes in all (fetch excluded): CI's budget.
((${#kernels[@]})) || kernels=(6.1)
exec python3 -m vmtests run --timeout 360 "${kernels[@]}"
